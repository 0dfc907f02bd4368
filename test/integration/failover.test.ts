// Issue: standby election and failover, with real node processes. A channel
// survives its host, its host and first standby together, a frozen host,
// and keeps every acknowledged message exactly once.
import t, { type Test } from 'tap';
import { NodeProcess, startNodes, uniqueGroup } from '../helpers/node-process.ts';

const PDU_MS = 200;

/** a hosts #f; b, c, d join; resolves once the host ranked its standbys. */
async function channelOfFour(t: Test, channel = '#f', extra: (id: string) => string[] = () => []) {
  const nodes = startNodes(uniqueGroup(), ['a', 'b', 'c', 'd'], extra, PDU_MS);
  t.teardown(() => Promise.all(nodes.map((n) => n.stop())));
  const [a, b, c, d] = nodes as [NodeProcess, NodeProcess, NodeProcess, NodeProcess];
  for (const n of nodes) await n.waitEvent('node.started');
  for (const n of nodes) await n.until('3 peers', () => n.events.filter((e) => e.event === 'peer.discovered').length >= 3);
  a.send(`/join ${channel}`);
  await a.waitEvent('member.joined', (e) => e.channel === channel);
  for (const n of [b, c, d]) n.send(`/join ${channel}`);
  for (const n of [b, c, d]) await n.waitEvent('member.joined', (e) => e.channel === channel && e.host === 'a');
  await a.waitEvent('standby.chosen', (e) => JSON.stringify(e.standbys) === '["b","c"]');
  return { nodes, a, b, c, d };
}

/** Until each node's /channels shows `channel` with these standbys. */
async function standbysKnown(nodes: NodeProcess[], standbys: string, channel = '#f') {
  for (const n of nodes) {
    await n.until(`${n.id} knows standbys ${standbys}`, () => {
      n.send('/channels');
      return n.lines.some((l) => l.startsWith(`* channel ${channel} `) && l.includes(`standbys=${standbys} `));
    });
  }
}

t.test('SIGKILL of the host: the first standby hosts with epoch + 1, everyone follows, chat continues', async (t) => {
  const { a, b, c, d } = await channelOfFour(t);
  await standbysKnown([b, c, d], 'b,c');
  a.signal('SIGKILL');
  const takeover = await b.waitEvent('takeover', (e) => e.channel === '#f');
  t.equal(takeover.epoch, 2, 'epoch + 1');
  for (const n of [c, d]) {
    const done = await n.waitEvent('failover.finished', (e) => e.channel === '#f');
    t.equal(done.host, 'b', `${n.id} rejoined b`);
    t.equal(done.epoch, 2);
  }
  c.send('/say #f after the crash');
  for (const n of [b, c, d]) await n.waitLine('[#f] <c> after the crash');
  await b.waitEvent('channel.member_joined', (e) => Array.isArray(e.members) && (e.members as string[]).length === 3);
});

t.test('SIGKILL of the host and the first standby together: the second standby takes over', async (t) => {
  const { a, b, c, d } = await channelOfFour(t);
  await standbysKnown([c, d], 'b,c');
  a.signal('SIGKILL');
  b.signal('SIGKILL');
  const takeover = await c.waitEvent('takeover', (e) => e.channel === '#f');
  t.equal(takeover.epoch, 2);
  const done = await d.waitEvent('failover.finished', (e) => e.channel === '#f');
  t.equal(done.host, 'c', 'd followed the second standby');
  d.send('/say #f still here');
  for (const n of [c, d]) await n.waitLine('[#f] <d> still here');
});

t.test('SIGSTOP of the host: failover by the liveness timer; SIGCONT leaves exactly one host', async (t) => {
  const { a, b, c, d } = await channelOfFour(t);
  await standbysKnown([c, d], 'b,c');
  a.signal('SIGSTOP');
  const suspected = await c.waitEvent('host.suspected', (e) => e.channel === '#f', 6000);
  t.equal(suspected.via, 'liveness', 'a frozen host is found by the timer path');
  await b.waitEvent('takeover', (e) => e.channel === '#f', 6000);
  for (const n of [c, d]) await n.waitEvent('failover.finished', (e) => e.channel === '#f' && e.host === 'b', 6000);
  c.send('/say #f while a sleeps');
  for (const n of [b, c, d]) await n.waitLine('[#f] <c> while a sleeps');

  a.signal('SIGCONT');
  // The woken node's own membership ends up with the new host, and it
  // hosts #f no longer.
  await a.waitEvent('channel.closed', (e) => e.channel === '#f', 8000);
  await a.until('a joined b', () => {
    a.send('/channels');
    return a.lines.some((l) => l.startsWith('* channel #f host=b epoch=2') && l.includes('joined(joined)'));
  });
  for (const n of [a, b, c, d]) {
    await n.until(`${n.id}: one host for #f`, () => {
      n.send('/channels');
      return n.lines.some((l) => l.startsWith('* channel #f host=b '));
    });
  }
  d.send('/say #f all together');
  for (const n of [a, b, c, d]) await n.waitLine('[#f] <d> all together');
});

t.test('a sender at 100 messages/s through a host kill: every echoed message arrives exactly once, in order', async (t) => {
  const { a, b, c, d } = await channelOfFour(t);
  await standbysKnown([b, c, d], 'b,c');
  const total = 300;
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      sent++;
      d.send(`/say #f m${sent}`);
      if (sent === 100) a.signal('SIGKILL');
      if (sent === total) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  // d's own echoes tell which messages were acknowledged; it re-sends the
  // rest after the failover, so eventually all are.
  await d.waitLine(`[#f] <d> m${total}`, 10000);
  const echoed = d.lines.filter((l) => l.startsWith('[#f] <d> m')).map((l) => l.slice('[#f] <d> '.length));
  t.equal(echoed.length, total, 'the sender saw every message acknowledged once');
  for (const n of [b, c]) {
    await n.waitLine(`[#f] <d> m${total}`, 10000);
    const got = n.lines.filter((l) => l.startsWith('[#f] <d> m')).map((l) => l.slice('[#f] <d> '.length));
    t.same(got, echoed, `${n.id} got every message exactly once in the sender's order`);
  }
  t.same(echoed, Array.from({ length: total }, (_, i) => `m${i + 1}`), "the author's order");
});

t.test('a member that exits while it is the standby: a new standby is announced', async (t) => {
  const { a, b, c, d } = await channelOfFour(t);
  b.send('/exit #f');
  const chosen = await a.waitEvent('standby.chosen', (e) => JSON.stringify(e.standbys) === '["c","d"]');
  t.ok(chosen, 'c and d are the standbys now');
  await standbysKnown([c, d], 'c,d');
});
