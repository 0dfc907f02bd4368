// Discovery: PDU scheduling and the peer table (draft 2.2, 2.4), with the
// node's intake and announcer around it.
import t from 'tap';
import { discoveryMachine, type DiscoveryEmitted } from '../../machines/discovery.ts';
import { createActor, fromCallback, type EventObject } from 'xstate';
import { peerLivenessMachine, type PeerLivenessChange, type SilenceInput } from '../../machines/peer-liveness.ts';
import { announcer } from '../../lib/node/announcer.ts';
import { LivenessActors } from '../../lib/node/liveness-actors.ts';
import { PeerIntake } from '../../lib/node/peer-intake.ts';
import { SeededRandom } from '../../lib/random.ts';
import { LONGEST_PDU_INTERVAL_MS } from '../../lib/wire/limits.ts';
import type { PeerPduPart } from '../../lib/wire/peer-pdu.ts';
import { ManualClock } from '../helpers/manual-clock.ts';

const INTERVAL = 250;

/**
 * The discovery machine as a node runs it: datagrams go through a PeerIntake
 * (which drops stale ones and passes on news), the intake's silence watch
 * and the node's announcer are its services.
 */
function harness(maxPeers = 1024) {
  const clock = new ManualClock();
  const emitted: DiscoveryEmitted[] = [];
  const intake = new PeerIntake(clock);
  const announced: number[] = [];
  /** revs of the announcements the intake passed to the node (the directory's side). */
  const announcements: number[] = [];
  /** What the liveness actors report (the node logs it): suspicions and their end. */
  const reports: PeerLivenessChange[] = [];
  const silence = fromCallback<EventObject, SilenceInput>(({ input, sendBack }) =>
    intake.watchSilence(input.peerId, input.timeoutMs, () => sendBack({ type: 'SILENT' }), () => sendBack({ type: 'PDU' })),
  );
  const machine = discoveryMachine.provide({
    actors: { announcer: announcer(clock, new SeededRandom(7), () => announced.push(clock.now())) },
  });
  const actor = createActor(machine, {
    clock,
    input: { peerId: 'me', pduIntervalMs: INTERVAL, livenessTimeoutMs: INTERVAL, maxPeers },
  });
  const liveness = new LivenessActors(
    peerLivenessMachine.provide({ actors: { silence }, actions: { report: (_, change: PeerLivenessChange) => reports.push(change) } }),
    clock,
    (disconnected) => actor.send(disconnected),
    (error) => {
      throw error;
    },
  );
  actor.on('*', (e) => {
    const effect = e as DiscoveryEmitted;
    emitted.push(effect);
    // What the node does with them (lib/node/node.ts onDiscovery).
    intake.follow(effect);
    liveness.follow(effect);
  });
  actor.start();
  const of = <T extends DiscoveryEmitted['type']>(type: T) => emitted.filter((e) => e.type === type) as Extract<DiscoveryEmitted, { type: T }>[];
  const receive = (p: Partial<PeerPduPart> & { peerId: string }) => {
    const part: PeerPduPart = { version: 1, incarnation: 1, seq: 1, rev: 1, nick: p.peerId, port: 50000, interval: INTERVAL, channels: [], memberships: [], invites: [], hidden: [], part: 0, parts: 1, ...p };
    const from = { address: '10.0.0.9', port: 47777 };
    const intake_ = intake.admit(part, from);
    if (intake_.peerNews) actor.send({ type: 'PDU_RECEIVED', part, from });
    if (intake_.announcement) announcements.push(intake_.announcement.rev);
  };
  return { clock, actor, emitted, reports, of, receive, announced, announcements, liveness, peers: () => actor.getSnapshot().context.peers };
}

t.test('announces at once, then every interval jittered into [0.8, 1.0] x interval', async (t) => {
  const h = harness();
  t.same(h.announced, [0], 'a PDU at start');
  h.clock.advance(50 * INTERVAL);
  const gaps = h.announced.slice(1).map((at, i) => at - h.announced[i]!);
  t.ok(gaps.length >= 50, `${gaps.length} PDUs in 50 intervals`);
  t.ok(gaps.every((gap) => gap >= 0.8 * INTERVAL && gap <= INTERVAL), `gaps within [${0.8 * INTERVAL}, ${INTERVAL}] ms`);
  t.ok(new Set(gaps).size > 10, 'and jittered');
});

t.test('a change is announced within the coalescing window, several changes in one PDU', async (t) => {
  const h = harness();
  const before = h.announced.length;
  h.actor.send({ type: 'ANNOUNCE' });
  h.actor.send({ type: 'ANNOUNCE' });
  h.actor.send({ type: 'ANNOUNCE' });
  h.clock.advance(5);
  t.equal(h.announced.length, before + 1);
});

t.test('discovers a peer once, ignores its own PDUs, learns a new nick; announcements go to the directory', async (t) => {
  const h = harness();
  h.receive({ peerId: 'me', incarnation: 1000 });
  t.equal(h.peers().size, 0, 'own PDU ignored');
  h.announcements.length = 0;
  h.receive({ peerId: 'p1', seq: 1 });
  h.receive({ peerId: 'p1', seq: 2 });
  t.equal(h.of('peerDiscovered').length, 1);
  t.same(h.announcements, [1], 'a round that announces the same (same rev) is no news');
  h.receive({ peerId: 'p1', seq: 3, rev: 2, nick: 'renamed' });
  t.same(h.announcements, [1, 2], 'a new rev is');
  t.equal(h.peers().get('p1')!.nick, 'renamed', 'and a new nick reaches the peer table');
  t.equal(h.peers().get('p1')!.address, '10.0.0.9', "the peer's address comes from the datagram");
  // Routine PDUs every interval keep it alive without reaching the machine.
  for (let i = 0; i < 10; i++) {
    h.clock.advance(INTERVAL - 10);
    h.receive({ peerId: 'p1', seq: 4 + i, rev: 2, nick: 'renamed' });
  }
  t.same(h.reports, [], 'no liveness change');
  t.same(h.announcements, [1, 2]);
});

t.test('a silent peer goes maybeDisconnected, disconnected, and is removed (one event)', async (t) => {
  const h = harness();
  h.receive({ peerId: 'p1' });
  // 4X, each expiry reported up to X/16 late by the intake's silence watch.
  h.clock.advance(4 * INTERVAL + (4 * INTERVAL) / 16);
  t.same(h.reports.map((e) => [e.state, e.failTimer]), [['maybeDisconnected', 1], ['maybeDisconnected', 2], ['maybeDisconnected', 3]], 'suspicions are reported');
  t.same(h.of('peerDisconnected'), [{ type: 'peerDisconnected', peerId: 'p1', failTimer: 3 }], 'the disconnection is the peer table\'s business');
  t.equal(h.peers().size, 0);
  h.receive({ peerId: 'p1', seq: 9 });
  t.equal(h.of('peerDiscovered').length, 2, 'a removed peer that speaks again is discovered again');
});

t.test('a suspected peer heard again is back in timerAlive, without a discovery event', async (t) => {
  const h = harness();
  h.receive({ peerId: 'p1' });
  h.clock.advance(2 * INTERVAL + (2 * INTERVAL) / 16);
  t.same(h.reports.map((e) => [e.state, e.failTimer]), [['maybeDisconnected', 1], ['maybeDisconnected', 2]]);
  const emitted = h.emitted.length;
  h.receive({ peerId: 'p1', seq: 2 });
  t.same(h.reports.at(-1), { peerId: 'p1', state: 'timerAlive', failTimer: 0 }, 'figure 6: PeerPDU arrives, timerRefresh, timerAlive');
  t.equal(h.liveness.stateOf('p1'), 'timerAlive');
  h.receive({ peerId: 'p1', seq: 3 });
  t.equal(h.reports.length, 3, 'the next datagram is routine again');
  t.equal(h.emitted.length, emitted, 'the discovery machine was not involved');
  h.clock.advance(4 * INTERVAL + (4 * INTERVAL) / 16);
  t.same(h.of('peerDisconnected').map((e) => e.peerId), ['p1'], 'silent again: the count starts from failTimer 0, disconnected after 4X');
  t.same(h.reports.slice(3).map((e) => e.failTimer), [1, 2, 3]);
});

t.test('a new incarnation is a restart; a late datagram of the old one and an old round are dropped', async (t) => {
  const h = harness();
  h.receive({ peerId: 'p1', incarnation: 5, seq: 10 });
  h.receive({ peerId: 'p1', incarnation: 6, seq: 1 });
  t.same(h.of('peerRestarted').map((e) => [e.peer.incarnation, e.previousIncarnation]), [[6, 5]]);
  const before = [h.emitted.length, h.announcements.length];
  h.receive({ peerId: 'p1', incarnation: 5, seq: 11, rev: 9 });
  h.receive({ peerId: 'p1', incarnation: 6, seq: 0, rev: 9 });
  t.same([h.emitted.length, h.announcements.length], before, 'both dropped');
  t.equal(h.peers().get('p1')!.incarnation, 6);
});

t.test('the peer table is bounded; our own id, of any incarnation, never enters it', async (t) => {
  const h = harness(2);
  h.receive({ peerId: 'p1' });
  h.receive({ peerId: 'p2' });
  h.receive({ peerId: 'p3' });
  t.equal(h.peers().size, 2);
  t.same(h.of('peerRejected').map((e) => [e.peerId, e.reason]), [['p3', 'table full']]);
  h.receive({ peerId: 'me', incarnation: 999 });
  t.equal(h.peers().has('me'), false);
  t.equal(h.of('peerRejected').length, 1, 'nor is it reported here (the node answers it: ownIdVerdict)');
});

t.test('an announced interval counts for at most an hour: a stranger announcing 2^32-1 ms is timed by 1 h', async (t) => {
  // Until 7 December 2026 its entry lived 4 x 49.7 days, and the silence
  // watch armed a timer Node cannot wait, which fired every millisecond.
  const h = harness();
  h.receive({ peerId: 'slow', interval: 0xffffffff });
  h.receive({ peerId: 'hourly', interval: LONGEST_PDU_INTERVAL_MS });
  h.receive({ peerId: 'normal', interval: 400 });
  t.equal(h.peers().get('slow')?.timeoutMs, LONGEST_PDU_INTERVAL_MS);
  t.equal(h.peers().get('hourly')?.timeoutMs, LONGEST_PDU_INTERVAL_MS);
  t.equal(h.peers().get('normal')?.timeoutMs, 400, 'a longer interval than ours is still honoured');
  h.clock.advance(4 * LONGEST_PDU_INTERVAL_MS);
  t.ok(h.peers().has('slow'), 'not before 4 h of silence');
  h.clock.advance(LONGEST_PDU_INTERVAL_MS);
  t.notOk(h.peers().has('slow'), 'gone within 5 (4 X, each up to X/16 late)');
});
