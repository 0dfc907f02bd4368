// Any client can JOIN any channel name, and a node creates what nobody hosts
// (draft 2.1). Every hosted channel is in every PDU of its host, and a PDU
// is at most 48 datagrams: a node that created every channel it was asked
// for stopped announcing (its discovery machine faulted) after about 750 of
// the longest names. It creates at most maxHostedChannels (256) and refuses
// JOINs for more, and serves everyone else on.
import t from 'tap';
import { NodeProcess, uniqueGroup } from '../helpers/node-process.ts';
import { RawClient } from '../helpers/raw-peer.ts';

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
