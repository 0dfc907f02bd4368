// Any client can JOIN any channel name, and a node creates what nobody hosts
// (draft 2.1). Every hosted channel is in every PDU of its host, and a PDU
// is at most 48 datagrams: a node that created every channel it was asked
// for stopped announcing (its discovery machine faulted) after about 750 of
// the longest names. It creates at most maxHostedChannels (256) and refuses
// JOINs for more, and serves everyone else on.
import net from 'node:net';
import t from 'tap';
import { NodeProcess, uniqueGroup } from '../helpers/node-process.ts';
import { frame, RawClient } from '../helpers/raw-peer.ts';

const LIMIT = 256;
/** Channel names of the longest kind (64 bytes), all different. */
const longName = (i: number) => `#${String(i).padStart(4, '0')}${'x'.repeat(59)}`;

t.test(`a node creates at most ${LIMIT} channels for remote joiners, refuses more, and keeps serving and announcing`, async (t) => {
  const node = new NodeProcess({ id: 'limited', group: uniqueGroup() });
  t.teardown(() => node.stop());
  const port = Number((await node.waitEvent('node.started')).port);
  const clients: RawClient[] = [];
  t.teardown(() => clients.forEach((c) => c.close()));

  for (let i = 0; i < LIMIT + 8; i++) {
    const client = await RawClient.connect(port);
    clients.push(client);
    client.send(['JOIN', longName(i), `client${i}`]);
  }
  const welcomed = clients.slice(0, LIMIT);
  await Promise.all(welcomed.map((c) => c.waitFor((f) => f[0] === 'WELCOME', 15_000)));
  t.pass(`the first ${LIMIT} joiners got their WELCOME`);
  const refused = clients.slice(LIMIT);
  await node.until('refused joiners disconnected', () => refused.every((c) => c.closed), 15_000);
  t.ok(refused.every((c) => c.frames.length === 0), 'the others were disconnected without a WELCOME');
  // Its log lines come through a pipe, after the WELCOMEs on their sockets.
  const created = () => node.events.filter((e) => e.event === 'channel.created').length;
  await node.until(`${LIMIT} channels created`, () => created() >= LIMIT);

  // Several announcement rounds later the node is still whole and serving.
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(created(), LIMIT, `${LIMIT} channels created, not one more`);
  t.equal(node.event('node.fault'), undefined, 'no machine faulted');
  const last = welcomed[LIMIT - 1]!;
  last.send(['SAY', 'still here', 'm1']);
  const echo = await last.waitFor((f) => f[0] === 'SAY');
  t.same(echo.slice(0, 4), ['SAY', `client${LIMIT - 1}`, 'still here', 'm1'], 'a channel still answers');
  const later = await RawClient.connect(port);
  clients.push(later);
  later.send(['JOIN', longName(0), 'late']);
  await later.waitFor((f) => f[0] === 'WELCOME', 5000);
  t.pass('joining a channel it hosts is still possible at the limit');
});

t.test('a channel takes 512 members; the 513th JOIN is refused and the node serves on', async (t) => {
  // Until 7 December 2026 the 513th member's MEMBERS failed to encode on
  // the host: an exception that ended the process, every channel with it.
  const node = new NodeProcess({ id: 'crowded', group: uniqueGroup() });
  t.teardown(() => node.stop());
  const port = Number((await node.waitEvent('node.started')).port);
  // Members 1..511 only read and drop what they get (a MEMBERS after every
  // JOIN is 130,000 lists by the last one); the first and the 513th parse.
  const first = await RawClient.connect(port);
  first.send(['JOIN', '#crowd', 'm0']);
  await first.waitFor((f) => f[0] === 'WELCOME');
  const fillers: net.Socket[] = [];
  t.teardown(() => fillers.forEach((s) => s.destroy()));
  for (let i = 1; i < 512; i++) {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    socket.resume();
    socket.write(frame(['JOIN', '#crowd', `m${i}`]));
    fillers.push(socket);
  }
  await first.waitFor((f) => f[0] === 'MEMBERS' && f.length - 1 === 512, 20_000);
  t.pass('the members see 512 members');
  const extra = await RawClient.connect(port);
  t.teardown(() => extra.close());
  extra.send(['JOIN', '#crowd', 'm512']);
  await node.until('the 513th joiner disconnected', () => extra.closed, 15_000);
  t.same(extra.frames, [], 'the 513th joiner got no WELCOME');
  t.notOk(node.exited, 'the node is running');
  first.send(['SAY', 'still here', 's1']);
  const echo = await first.waitFor((f) => f[0] === 'SAY');
  t.same(echo.slice(0, 4), ['SAY', 'm0', 'still here', 's1'], 'the channel still answers');
});
