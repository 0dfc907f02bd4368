// Discovery: PDU scheduling and the peer table (draft 2.2, 2.4).
import t from 'tap';
import { createActor } from 'xstate';
import { discoveryMachine, type DiscoveryEmitted } from '../../machines/discovery.ts';
import { SeededRandom } from '../../lib/random.ts';
import type { PeerPduPart } from '../../lib/wire/peer-pdu.ts';
import { ManualClock } from '../helpers/manual-clock.ts';

const INTERVAL = 250;

function harness(maxPeers = 1024) {
  const clock = new ManualClock();
  const emitted: DiscoveryEmitted[] = [];
  const actor = createActor(discoveryMachine, {
    clock,
    input: { peerId: 'me', incarnation: 1000, pduIntervalMs: INTERVAL, livenessTimeoutMs: INTERVAL, maxPeers, random: new SeededRandom(7) },
  });
  actor.on('*', (e) => emitted.push(e as DiscoveryEmitted));
  actor.start();
  const of = <T extends DiscoveryEmitted['type']>(type: T) => emitted.filter((e) => e.type === type) as Extract<DiscoveryEmitted, { type: T }>[];
  const receive = (p: Partial<PeerPduPart> & { peerId: string }, complete = true) => {
    const part: PeerPduPart = { version: 1, incarnation: 1, seq: 1, nick: p.peerId, port: 50000, interval: INTERVAL, channels: [], memberships: [], invites: [], part: 0, parts: 1, ...p };
    actor.send({ type: 'PDU_RECEIVED', part, complete: complete ? part : undefined, from: { address: '10.0.0.9', port: 47777 } });
  };
  return { clock, actor, emitted, of, receive, peers: () => actor.getSnapshot().context.peers };
}

t.test('announces at once, then every interval jittered into [0.8, 1.0] x interval', async (t) => {
  const h = harness();
  t.equal(h.of('sendPdu').length, 1, 'a PDU at start');
  let last = 0;
  for (let i = 0; i < 50; i++) {
    const before = h.of('sendPdu').length;
    let waited = 0;
    while (h.of('sendPdu').length === before) {
      h.clock.advance(1);
      waited++;
    }
    t.ok(waited >= 0.8 * INTERVAL && waited <= INTERVAL, `gap ${waited} ms`);
    last = h.of('sendPdu').at(-1)!.seq;
  }
  t.equal(last, 51, 'seq grows by one per PDU');
});

t.test('a change is announced within the coalescing window, several changes in one PDU', async (t) => {
  const h = harness();
  const before = h.of('sendPdu').length;
  h.actor.send({ type: 'ANNOUNCE' });
  h.actor.send({ type: 'ANNOUNCE' });
  h.actor.send({ type: 'ANNOUNCE' });
  h.clock.advance(5);
  t.equal(h.of('sendPdu').length, before + 1);
});

t.test('discovers a peer once, ignores its own PDUs, refreshes on later PDUs', async (t) => {
  const h = harness();
  h.receive({ peerId: 'me', incarnation: 1000 });
  t.equal(h.peers().size, 0, 'own PDU ignored');
  h.receive({ peerId: 'p1', seq: 1 });
  h.receive({ peerId: 'p1', seq: 2 });
  t.equal(h.of('peerDiscovered').length, 1);
  t.equal(h.of('peerUpdated').length, 2);
  t.equal(h.peers().get('p1')!.lastSeq, 2);
  t.equal(h.peers().get('p1')!.address, '10.0.0.9', "the peer's address comes from the datagram");
  // PDUs every interval keep it alive.
  for (let i = 0; i < 10; i++) {
    h.clock.advance(INTERVAL - 10);
    h.receive({ peerId: 'p1', seq: 3 + i });
  }
  t.same(h.of('peerLiveness'), [], 'no liveness change');
});

t.test('a silent peer goes maybeDisconnected, disconnected, and is removed', async (t) => {
  const h = harness();
  h.receive({ peerId: 'p1' });
  h.clock.advance(4 * INTERVAL);
  t.same(h.of('peerLiveness').map((e) => [e.state, e.failTimer]), [['maybeDisconnected', 1], ['maybeDisconnected', 2], ['maybeDisconnected', 3], ['disconnected', 3]]);
  t.same(h.of('peerRemoved'), [{ type: 'peerRemoved', peerId: 'p1' }]);
  t.equal(h.peers().size, 0);
  h.receive({ peerId: 'p1', seq: 9 });
  t.equal(h.of('peerDiscovered').length, 2, 'a removed peer that speaks again is discovered again');
});

t.test('a new incarnation is a restart; a late datagram of the old one and an old round are dropped', async (t) => {
  const h = harness();
  h.receive({ peerId: 'p1', incarnation: 5, seq: 10 });
  h.receive({ peerId: 'p1', incarnation: 6, seq: 1 });
  t.same(h.of('peerRestarted').map((e) => [e.peer.incarnation, e.previousIncarnation]), [[6, 5]]);
  const updates = h.of('peerUpdated').length;
  h.receive({ peerId: 'p1', incarnation: 5, seq: 11 });
  h.receive({ peerId: 'p1', incarnation: 6, seq: 0 });
  t.equal(h.of('peerUpdated').length, updates, 'both dropped');
  t.equal(h.peers().get('p1')!.incarnation, 6);
});

t.test('the peer table is bounded; another incarnation with our id is reported', async (t) => {
  const h = harness(2);
  h.receive({ peerId: 'p1' });
  h.receive({ peerId: 'p2' });
  h.receive({ peerId: 'p3' });
  t.equal(h.peers().size, 2);
  t.same(h.of('peerRejected').map((e) => [e.peerId, e.reason]), [['p3', 'table full']]);
  h.receive({ peerId: 'me', incarnation: 999 });
  t.same(h.of('peerRejected').at(-1)!.reason, 'id conflict');
});
