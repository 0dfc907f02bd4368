// A recorded PeerPDU sent again (docs/protocol.md 6, "Replay"): its HMAC tag
// is valid, so only the round it belongs to tells it from the real thing. A
// replay of the newest round of a frozen host must not keep it alive, or its
// channel would never fail over for as long as the replaying goes on; nor
// may it bring the host back once its peers dropped it.
import dgram from 'node:dgram';
import t from 'tap';
import { unpack } from 'msgpackr';
import { NodeProcess, uniqueGroup } from '../helpers/node-process.ts';

const PDU_MS = 200;
const SECRET = 'sesame';

t.test("replaying a frozen host's last PeerPDU every 50 ms: it is disconnected and failed over all the same, and stays gone", async (t) => {
  const group = uniqueGroup();
  const [address, port] = group.split(':') as [string, string];
  const args = ['--secret', SECRET, '--join', '#r'];
  const a = new NodeProcess({ id: 'a', group, args, pduIntervalMs: PDU_MS });
  t.teardown(() => a.stop());
  await a.waitEvent('member.joined', (e) => e.channel === '#r' && e.host === 'a');
  const b = new NodeProcess({ id: 'b', group, args, pduIntervalMs: PDU_MS });
  t.teardown(() => b.stop());
  await b.waitEvent('member.joined', (e) => e.channel === '#r' && e.host === 'a');

  // The recorder: on the segment, without the secret, keeping a's newest datagram.
  const recorder = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  t.teardown(() => recorder.close());
  let recorded: Buffer | undefined;
  recorder.on('message', (datagram) => {
    // Plain msgpack: a node without the secret refuses these (pdu_auth), a recorder needs only who sent it.
    if ((unpack(datagram) as { peerId?: unknown }).peerId === 'a') recorded = datagram;
  });
  await new Promise<void>((resolve) => recorder.bind(Number(port), () => resolve()));
  recorder.addMembership(address, '127.0.0.1');
  recorder.setMulticastInterface('127.0.0.1');
  await b.until('a datagram of a recorded', () => recorded);

  a.signal('SIGSTOP');
  const replay = setInterval(() => recorder.send(recorded!, Number(port), address), 50);
  t.teardown(() => clearInterval(replay));

  // On the old rule this never came: every replay refreshed a's timer.
  const disconnected = await b.waitEvent('peer.state', (e) => e.peer === 'a' && e.state === 'disconnected', 8000);
  t.equal(disconnected.failTimer, 3, 'disconnected by figure 6, replays or not');
  const suspected = await b.waitEvent('host.suspected', (e) => e.channel === '#r', 8000);
  t.equal(suspected.via, 'liveness', 'a frozen host is found by the timer path');
  const takeover = await b.waitEvent('takeover', (e) => e.channel === '#r', 8000);
  t.equal(takeover.epoch, 2, 'b hosts #r at the next epoch');

  // Ten more intervals of replays: a recording is no rediscovery.
  await new Promise((r) => setTimeout(r, 10 * PDU_MS));
  const rediscovered = b.events.filter((e) => e.event === 'peer.discovered' && e.peer === 'a' && b.events.indexOf(e) > b.events.indexOf(disconnected));
  t.same(rediscovered, [], 'a is not discovered again by its recording');
  t.equal(b.events.filter((e) => e.event === 'peer.state' && e.peer === 'a' && e.state === 'disconnected').length, 1, 'disconnected once, and out of the table since');
  const stale = b.events.filter((e) => e.event === 'pdu.stale' && e.peer === 'a');
  t.ok(stale.length >= 10, `each replay dropped and logged (debug): ${stale.length}`);

  // The real a, woken, is found again by its next round.
  clearInterval(replay);
  a.signal('SIGCONT');
  await b.waitEvent('peer.discovered', (e) => e.peer === 'a' && b.events.indexOf(e) > b.events.indexOf(disconnected), 6000);
});
