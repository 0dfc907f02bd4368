// What a stranger on the segment can do with PeerPDUs alone (no --secret):
// announce a channel at the largest epoch the wire carries. Until 7
// December 2026 each member's takeover at epoch + 1 then failed to encode
// its WELCOME and every node of the channel ended (machines/rules.ts
// nextNumber). Now the takeover ties at 2^53-1 and the channel lives on.
import t from 'tap';
import { MAX_WIRE_NUMBER } from '../../lib/wire/limits.ts';
import { encodePeerPdu } from '../../lib/wire/peer-pdu.ts';
import { pinnablePort } from '../helpers/ports.ts';
import { NodeProcess, startNodes, uniqueGroup } from '../helpers/node-process.ts';
import { sendDatagrams } from '../helpers/raw-peer.ts';

t.test("a stranger's PDUs announcing a channel at epoch 2^53-1 end no node, and the channel answers on", async (t) => {
  const group = uniqueGroup();
  const nodes = startNodes(group, ['a', 'b', 'c'], () => ['--join', '#c'], 200);
  t.teardown(() => Promise.all(nodes.map((n) => n.stop())));
  for (const n of nodes) await n.waitEvent('member.joined', (e) => e.channel === '#c');

  // A "host" whose port refuses: every member that follows it fails over.
  const port = await pinnablePort(); // free, and nobody listens: refused
  const pdu = (seq: number) =>
    encodePeerPdu({
      version: 1, peerId: 'zz-stranger', incarnation: 1, seq, rev: 1, nick: 'zz', port, interval: 200,
      channels: [{ name: '#c', epoch: MAX_WIRE_NUMBER, standbys: [], members: [] }], memberships: [], invites: [], hidden: [],
    });
  for (let seq = 1; seq <= 8; seq++) {
    await sendDatagrams(group, pdu(seq));
    await new Promise((r) => setTimeout(r, 100));
  }
  // Someone hosts #c at the top epoch: the stranger's, tied, and lower ids win ties.
  const top = (n: NodeProcess) => n.event('takeover', (e) => e.channel === '#c' && e.epoch === MAX_WIRE_NUMBER);
  const host = await nodes[0]!.until('a takeover at 2^53-1', () => nodes.find(top), 15_000);
  t.pass(`${host.id} took #c over at 2^53-1`);
  await new Promise((r) => setTimeout(r, 2000));
  for (const n of nodes as NodeProcess[]) t.notOk(n.exited, `${n.id} is running`);
  const [a] = nodes as [NodeProcess];
  a.send('/say #c still here');
  for (const n of nodes) await n.waitLine('[#c] <a> still here', 15_000);
  t.pass('a SAY reaches every member');
});

t.test("an invite from a host that is gone does not keep a /join of its channel from creating it", async (t) => {
  // Until 7 December 2026 the remembered invite sent every /join of the
  // name to the gone host, round after round, for good.
  const group = uniqueGroup();
  const node = new NodeProcess({ id: 'invitee', group, pduIntervalMs: 200 });
  t.teardown(() => node.stop());
  await node.waitEvent('node.started');
  const port = await pinnablePort();
  const ghost = encodePeerPdu({
    version: 1, peerId: 'ghost', incarnation: 1, seq: 1, rev: 1, nick: 'ghost', port, interval: 200,
    channels: [], memberships: [], invites: [{ channel: '#c', host: 'ghost', peerIds: ['invitee'] }], hidden: [],
  });
  await sendDatagrams(group, ghost);
  await node.waitEvent('invite.received', (e) => e.channel === '#c' && e.host === 'ghost');
  await node.waitEvent('peer.state', (e) => e.peer === 'ghost' && e.state === 'disconnected', 5_000);
  node.send('/join #c');
  await node.waitEvent('channel.created', (e) => e.channel === '#c', 10_000);
  await node.waitEvent('member.joined', (e) => e.channel === '#c' && e.host === 'invitee');
  t.pass('with its inviter gone, the channel is created here');
});
