// A node's liveness actors: one per peer the discovery machine took in, each
// ending in one disconnection, replaced with the peer's incarnation.
import t from 'tap';
import type { DiscoveryEmitted, PeerRecord } from '../../machines/discovery.ts';
import { peerLivenessMachine, type PeerDisconnected } from '../../machines/peer-liveness.ts';
import { LivenessActors } from '../../lib/node/liveness-actors.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { timerSilence } from '../helpers/services.ts';

const X = 100;

function harness(report: () => void = () => {}) {
  const clock = new ManualClock();
  const disconnected: PeerDisconnected[] = [];
  const faults: unknown[] = [];
  const actors = new LivenessActors(
    peerLivenessMachine.provide({ actors: { silence: timerSilence(clock) }, actions: { report } }),
    clock,
    (event) => disconnected.push(event),
    (error) => faults.push(error),
  );
  const peer = (peerId: string, incarnation = 1): PeerRecord => ({ peerId, incarnation, address: '10.0.0.2', nick: peerId, port: 50000, timeoutMs: X });
  const discovered = (peerId: string): DiscoveryEmitted => ({ type: 'peerDiscovered', peer: peer(peerId) });
  const restarted = (peerId: string, incarnation: number): DiscoveryEmitted => ({ type: 'peerRestarted', peer: peer(peerId, incarnation), previousIncarnation: incarnation - 1 });
  return { clock, actors, disconnected, faults, discovered, restarted };
}

t.test('a discovered peer gets an actor, which ends in one disconnection after 4X of silence', async (t) => {
  const h = harness();
  h.actors.follow(h.discovered('p1'));
  h.actors.follow(h.discovered('p2'));
  t.equal(h.actors.stateOf('p1'), 'timerAlive');
  h.clock.advance(4 * X - 1);
  t.same(h.disconnected, []);
  h.clock.advance(1);
  t.same(h.disconnected, [
    { type: 'PEER_DISCONNECTED', peerId: 'p1', failTimer: 3 },
    { type: 'PEER_DISCONNECTED', peerId: 'p2', failTimer: 3 },
  ]);
  t.equal(h.actors.stateOf('p1'), undefined, 'the ended actor is gone');
  h.clock.advance(10 * X);
  t.equal(h.disconnected.length, 2, 'and nothing runs after it');
});

t.test('other discovery effects start nothing', async (t) => {
  const h = harness();
  h.actors.follow({ type: 'peerRejected', peerId: 'p1', address: '10.0.0.2', reason: 'table full' });
  h.actors.follow({ type: 'peerDisconnected', peerId: 'p1', failTimer: 3 });
  t.equal(h.actors.stateOf('p1'), undefined);
});

t.test('a new incarnation replaces the actor: the old one tells nothing more', async (t) => {
  const h = harness();
  h.actors.follow(h.discovered('p1'));
  h.clock.advance(3 * X);
  t.equal(h.actors.stateOf('p1'), 'maybeDisconnected');
  h.actors.follow(h.restarted('p1', 2));
  t.equal(h.actors.stateOf('p1'), 'timerAlive', 'a fresh actor, counting from now');
  h.clock.advance(2 * X);
  t.same(h.disconnected, [], 'the old actor would have ended at 4X');
  h.clock.advance(2 * X);
  t.same(h.disconnected.map((d) => d.peerId), ['p1'], 'the new one ends 4X after the restart');
});

t.test('a peer out of the table (disconnected), and stopAll, end actors without a further disconnection', async (t) => {
  const h = harness();
  h.actors.follow(h.discovered('p1'));
  h.actors.follow(h.discovered('p2'));
  h.actors.follow(h.discovered('p3'));
  h.actors.follow({ type: 'peerDisconnected', peerId: 'p1', failTimer: 3 });
  t.equal(h.actors.stateOf('p1'), undefined);
  t.equal(h.actors.stateOf('p2'), 'timerAlive', 'the others run on');
  h.actors.stopAll();
  h.clock.advance(10 * X);
  t.same(h.disconnected, []);
});

t.test('an actor that fails is reported as a fault, its peer disconnected and found again; the others go on', async (t) => {
  let reports = 0;
  const h = harness(() => {
    if (++reports === 1) throw new Error('report failed');
  });
  h.actors.follow(h.discovered('p1'));
  h.clock.advance(X);
  t.equal(h.faults.length, 1, 'the first suspicion report threw');
  t.same(h.disconnected, [{ type: 'PEER_DISCONNECTED', peerId: 'p1', failTimer: 0 }], 'a peer without figure 6 is not kept');
  t.equal(h.actors.stateOf('p1'), undefined);
  h.actors.follow(h.discovered('p2'));
  h.actors.follow(h.discovered('p1'));
  t.equal(h.actors.stateOf('p1'), 'timerAlive', 'its next PDU gives it a new actor');
  h.clock.advance(4 * X);
  t.same(h.disconnected.map((d) => d.peerId), ['p1', 'p2', 'p1']);
  t.equal(h.faults.length, 1);
});
