// Figure 6 of the draft, timer by timer, on an injected clock.
import t from 'tap';
import { createActor } from 'xstate';
import { peerLivenessMachine, type PeerDisconnected, type PeerLivenessChange } from '../../machines/peer-liveness.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { timerSilence } from '../helpers/services.ts';

const X = 100;

/** What the actor tells, and whom: suspicions and their end to its `report` action (the node), the disconnection as its output (to its owner). */
type Told = PeerLivenessChange & { to: 'report' | 'owner' };

/** A liveness actor as a node runs it, recording what it tells. */
function harness() {
  const clock = new ManualClock();
  const told: Told[] = [];
  const liveness = peerLivenessMachine.provide({
    actors: { silence: timerSilence(clock) },
    actions: { report: (_, change: PeerLivenessChange) => told.push({ ...change, to: 'report' }) },
  });
  const actor = createActor(liveness, { clock, input: { peerId: 'p1', timeoutMs: X } });
  actor.subscribe({
    complete: () => {
      const { peerId, failTimer }: PeerDisconnected = actor.getSnapshot().output!;
      told.push({ peerId, state: 'disconnected', failTimer, to: 'owner' });
    },
  });
  actor.start();
  const state = () => actor.getSnapshot().value as string;
  const pdu = () => actor.send({ type: 'PDU' });
  return { clock, told, state, pdu, actor };
}

t.test('a peer whose PDUs keep coming stays in timerAlive', async (t) => {
  const h = harness();
  for (let i = 0; i < 20; i++) {
    h.clock.advance(X - 1);
    h.pdu();
  }
  t.equal(h.state(), 'timerAlive');
  t.same(h.told, [], 'nothing worth telling');
});

t.test('timer <= 0 in timerAlive: maybeDisconnected with failTimer 1', async (t) => {
  const h = harness();
  h.clock.advance(X - 1);
  t.equal(h.state(), 'timerAlive');
  h.clock.advance(1);
  t.equal(h.state(), 'maybeDisconnected');
  t.same(h.told, [{ peerId: 'p1', state: 'maybeDisconnected', failTimer: 1, to: 'report' }]);
});

t.test('a PDU in maybeDisconnected goes through timerRefresh back to timerAlive, failTimer reset', async (t) => {
  const h = harness();
  h.clock.advance(2 * X);
  t.equal(h.state(), 'maybeDisconnected');
  h.pdu();
  t.equal(h.state(), 'timerAlive');
  t.same(h.told.at(-1), { peerId: 'p1', state: 'timerAlive', failTimer: 0, to: 'report' });
  // The timer restarted at the PDU: X more of silence before the next suspicion.
  h.clock.advance(X - 1);
  t.equal(h.state(), 'timerAlive');
  h.clock.advance(1);
  t.same(h.told.at(-1), { peerId: 'p1', state: 'maybeDisconnected', failTimer: 1, to: 'report' });
});

t.test('three expiries in maybeDisconnected: disconnected after 4X of silence, final', async (t) => {
  const h = harness();
  h.clock.advance(3 * X);
  t.same(h.told.map((e) => e.failTimer), [1, 2, 3]);
  t.equal(h.state(), 'maybeDisconnected');
  h.clock.advance(X - 1);
  t.equal(h.state(), 'maybeDisconnected', 'not yet at 4X - 1');
  h.clock.advance(1);
  t.equal(h.state(), 'disconnected');
  t.same(h.told.at(-1), { peerId: 'p1', state: 'disconnected', failTimer: 3, to: 'owner' });
  t.equal(h.actor.getSnapshot().status, 'done', 'disconnected is final');
  h.clock.advance(10 * X);
  t.equal(h.told.length, 4, 'no timer runs after the end');
});
