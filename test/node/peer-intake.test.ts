// The PeerPDU intake: which datagrams are news for the discovery machine,
// and the silence watch that stands in for figure 6's timer: its expiries,
// and the PeerPDU that ends a suspicion.
import t from 'tap';
import { PeerIntake, SILENCE_SLACK, type Intake } from '../../lib/node/peer-intake.ts';
import { decodePeerPduPart, encodePeerPdu, type PeerPduPart } from '../../lib/wire/peer-pdu.ts';
import { ManualClock } from '../helpers/manual-clock.ts';

const X = 160;
const FROM = { address: '10.0.0.9', port: 47777 };

/** An Intake in a word: stale, routine, peer (news for the machine), announcement (for the directory), or both. */
function judged(intake: Intake): string {
  if (intake.stale) return 'stale';
  const what = [intake.peerNews ? 'peer' : '', intake.announcement ? 'announcement' : ''].filter(Boolean).join('+');
  return what || 'routine';
}

function part(p: Partial<PeerPduPart> = {}): PeerPduPart {
  return { version: 1, peerId: 'p1', incarnation: 5, seq: 1, rev: 1, nick: 'p1', port: 50000, interval: 250, channels: [], memberships: [], invites: [], hidden: [], part: 0, parts: 1, ...p };
}

t.test('verdicts: peer news for the machine, announcements for the directory, routine, stale', async (t) => {
  const intake = new PeerIntake(new ManualClock());
  const verdict = (p: Partial<PeerPduPart>, from = FROM) => judged(intake.admit(part(p), from));
  t.equal(verdict({ seq: 1 }), 'peer+announcement', "a peer's first datagram");
  t.equal(verdict({ seq: 2 }), 'routine', 'same rev, same address: routine');
  t.equal(verdict({ seq: 3 }), 'routine');
  t.equal(verdict({ seq: 3 }), 'stale', 'a duplicate of the newest round (or a replay of it)');
  t.equal(verdict({ seq: 4, rev: 2 }), 'announcement', 'another rev: what the peer announces changed');
  t.equal(verdict({ seq: 5, rev: 2 }), 'routine');
  t.equal(verdict({ seq: 6, rev: 3, nick: 'renamed' }), 'peer+announcement', 'a new nick is news for the peer table too');
  t.equal(verdict({ seq: 7, rev: 3, nick: 'renamed' }, { address: '10.0.0.10', port: 47777 }), 'peer', 'another address');
  t.equal(verdict({ seq: 5, rev: 2 }), 'stale', 'an older round (reordered or replayed)');
  t.equal(verdict({ incarnation: 4, seq: 99 }), 'stale', 'a datagram of a dead incarnation');
  t.equal(verdict({ incarnation: 6, seq: 1, rev: 1 }), 'peer+announcement', 'a new incarnation, whatever its seq and rev');
  t.equal(verdict({ incarnation: 6, seq: 2, rev: 1 }), 'routine');
  intake.follow({ type: 'peerDisconnected', peerId: 'p1', failTimer: 3 });
  t.equal(verdict({ incarnation: 6, seq: 2, rev: 1 }), 'stale', 'disconnected, so out of the table: its newest round replayed is not news');
  t.equal(verdict({ incarnation: 6, seq: 3, rev: 1 }), 'peer+announcement', 'out of the table: a newer round is news again');
  intake.follow({ type: 'peerRejected', peerId: 'p1', address: FROM.address, reason: 'table full' });
  t.equal(verdict({ incarnation: 6, seq: 4, rev: 1 }), 'peer+announcement', 'rejected: news again, each time');
});

t.test('a replayed datagram neither refreshes liveness nor moves the peer', async (t) => {
  // An attacker without the secret cannot make a PDU, but can record one
  // (its HMAC tag is valid) and send it again, from anywhere.
  const clock = new ManualClock();
  const intake = new PeerIntake(clock);
  const recorded = part({ seq: 7 });
  intake.admit(recorded, FROM);
  const silent: number[] = [];
  intake.watchSilence('p1', X, () => silent.push(clock.now()), () => t.fail('heard again by a replay'));
  const elsewhere = { address: '10.0.0.66', port: 47777 };
  for (let i = 0; i < 8; i++) {
    clock.advance(X / 2);
    t.equal(judged(intake.admit(recorded, i % 2 === 0 ? FROM : elsewhere)), 'stale', `replay ${i + 1}`);
  }
  t.equal(silent.length, 3, 'the recorded peer went silent all the same: every X after the last real datagram (figure 6 runs on)');
  intake.follow({ type: 'peerDisconnected', peerId: 'p1', failTimer: 3 });
  t.equal(judged(intake.admit(recorded, elsewhere)), 'stale', 'nor does the recording bring back the removed peer');
  t.equal(judged(intake.admit(part({ seq: 8 }), FROM)), 'peer+announcement', 'the peer itself does, with its next round');
  intake.follow({ type: 'peerDisconnected', peerId: 'p1', failTimer: 3 });
  t.equal(judged(intake.admit(part({ incarnation: 4, seq: 1 }), FROM)), 'peer+announcement', 'and, once removed, a lower incarnation too (restarted on a clock that went back)');
});

t.test('the newest rounds of dropped peers are remembered up to the peer table\'s size, oldest out first', async (t) => {
  const MAX_PEERS = 16;
  const intake = new PeerIntake(new ManualClock(), MAX_PEERS);
  const peerId = (i: number) => `p${i}`;
  for (let i = 0; i <= MAX_PEERS; i++) {
    intake.admit(part({ peerId: peerId(i), seq: 3 }), FROM);
    intake.follow({ type: 'peerDisconnected', peerId: peerId(i), failTimer: 3 });
  }
  t.equal(judged(intake.admit(part({ peerId: peerId(MAX_PEERS), seq: 3 }), FROM)), 'stale', 'the last dropped: remembered');
  t.equal(judged(intake.admit(part({ peerId: peerId(1), seq: 3 }), FROM)), 'stale', 'the second dropped: remembered');
  t.equal(judged(intake.admit(part({ peerId: peerId(0), seq: 3 }), FROM)), 'peer+announcement', `the first dropped, ${MAX_PEERS + 1} drops ago: forgotten for good`);
});

t.test('a multi-part round is news once, when it completes with a new rev', async (t) => {
  const intake = new PeerIntake(new ManualClock());
  const members = Array.from({ length: 200 }, (_, i) => `member-${i}-`.padEnd(40, 'x'));
  const round = (seq: number, rev: number) =>
    encodePeerPdu({ ...part({ seq, rev }), channels: [{ name: '#big', epoch: 1, standbys: [], members }] }).map((d) => decodePeerPduPart(d));
  const first = round(1, 1);
  t.ok(first.length > 2, `${first.length} parts`);
  const verdicts = first.map((p) => intake.admit(p, FROM));
  t.same(verdicts.map(judged), ['peer', ...Array(first.length - 2).fill('routine'), 'announcement'], 'the first part is a new peer; the last completes the announcement');
  t.equal(verdicts.at(-1)!.announcement?.channels[0]!.members.length, 200);
  t.same(new Set(first.map((p) => judged(intake.admit(p, FROM)))), new Set(['stale']), 'its parts again (duplicates, replays): stale');
  const second = round(2, 1);
  t.same(judged(intake.admit(second[1]!, FROM)), 'routine', 'a newer round, a part out of order');
  t.same(judged(intake.admit(second[1]!, FROM)), 'stale', 'the same part twice');
  t.same(new Set([second[0]!, ...second.slice(2)].map((p) => judged(intake.admit(p, FROM)))), new Set(['routine']), 'the same announcement again, its other parts: routine');
  const changed = round(3, 2).map((p) => judged(intake.admit(p, FROM)));
  t.same(changed.slice(0, -1), Array(changed.length - 1).fill('routine'), 'parts before completion are not news');
  t.equal(changed.at(-1), 'announcement', 'the completed round of a new rev is');
});

t.test('the silence watch: reported each X of silence (at most X/16 late), deferred by routine datagrams, cancellable', async (t) => {
  const clock = new ManualClock();
  const intake = new PeerIntake(clock);
  intake.admit(part(), FROM);
  const reports: number[] = [];
  const heard: number[] = [];
  const stopFirst = intake.watchSilence('p1', X, () => reports.push(clock.now()), () => heard.push(clock.now()));
  for (let seq = 2; seq < 20; seq++) {
    clock.advance(X - 1);
    t.equal(judged(intake.admit(part({ seq }), FROM)), 'routine');
  }
  t.same(reports, [], 'datagrams every X - 1 ms: never silent');
  t.same(heard, [], 'and never heard "again"');
  const lastHeard = clock.now();
  clock.advance(4 * X + 4 * X * SILENCE_SLACK);
  t.equal(reports.length, 4, 'silent: reported every X (figure 6: timer = X again at each expiry)');
  reports.forEach((at, i) => {
    const since = i === 0 ? lastHeard : reports[i - 1]!;
    t.ok(at - since >= X && at - since <= X + X * SILENCE_SLACK, `expiry ${i + 1} after ${at - since} ms`);
  });
  t.equal(judged(intake.admit(part({ seq: 30 }), FROM)), 'routine', 'for the discovery machine, a suspected peer heard is no news');
  const heardAgain = clock.now();
  t.same(heard, [heardAgain], 'the first datagram after a silence report is told to the watch (figure 6: PeerPDU arrives)');
  t.equal(judged(intake.admit(part({ seq: 31 }), FROM)), 'routine');
  t.same(heard, [heardAgain], 'once: the machine is in timerAlive again');
  clock.advance(X / 2);
  t.equal(reports.length, 4, 'heard again: the count starts over');
  clock.advance(X);
  t.ok(reports.length === 5 && reports[4]! - heardAgain <= X + X * SILENCE_SLACK, 'and expires X after the datagram');

  stopFirst();
  const cancelled: number[] = [];
  const cancel = intake.watchSilence('p1', X, () => cancelled.push(clock.now()), () => cancelled.push(clock.now()));
  clock.advance(X / 2);
  cancel();
  clock.advance(3 * X);
  t.same(cancelled, [], 'a cancelled watch reports nothing');
});

t.test('one timer per node, however many peers', async (t) => {
  const clock = new ManualClock();
  let timers = 0;
  const counting = { now: () => clock.now(), setTimeout: (cb: () => void, ms: number) => (timers++, clock.setTimeout(cb, ms)), clearTimeout: (id: unknown) => clock.clearTimeout(id) };
  const intake = new PeerIntake(counting);
  const peers = Array.from({ length: 100 }, (_, i) => `p${i}`);
  const reports = new Map<string, number>();
  for (const peerId of peers) {
    intake.admit(part({ peerId }), FROM);
    intake.watchSilence(peerId, X, () => reports.set(peerId, (reports.get(peerId) ?? 0) + 1), () => {});
  }
  // 20 intervals of routine datagrams from everyone, spread over each interval.
  const before = timers;
  for (let seq = 2; seq < 22; seq++) {
    for (const peerId of peers) {
      clock.advance((X * 0.9) / peers.length);
      intake.admit(part({ peerId, seq }), FROM);
    }
  }
  t.equal(reports.size, 0, 'nobody silent');
  const routine = 20 * peers.length;
  t.ok(timers - before <= 20 * (1 / SILENCE_SLACK + 1), `${timers - before} timers for ${routine} datagrams`);
  clock.advance(100 * X);
  t.equal(reports.size, peers.length, 'every peer reported silent');
  const counts = [...reports.values()];
  t.ok(counts.every((n) => n >= 100 / (1 + SILENCE_SLACK) - 1 && n <= 100), `each once per X of silence (${Math.min(...counts)}..${Math.max(...counts)} in 100 X)`);
});

t.test('a silence queue per timeout in use: a peer that restarts with a new interval each time leaves none behind', async (t) => {
  // A stranger's datagrams, each a new incarnation announcing another
  // interval, each get a watch (their liveness actor) that the next one
  // cancels: 200,000 of them left 200,000 queues, and each expiry walked
  // them all (25 ms an expiry; until 7 December 2026).
  const clock = new ManualClock();
  const intake = new PeerIntake(clock);
  let cancel: (() => void) | undefined;
  for (let i = 0; i < 1_000; i++) {
    intake.admit(part({ incarnation: 10 + i, interval: 250 + i }), FROM);
    cancel?.();
    cancel = intake.watchSilence('p1', 250 + i, () => {}, () => {});
    clock.advance(1);
  }
  t.equal(intake.silenceQueues, 1, "one queue: the newest watch's");
  cancel!();
  t.equal(intake.silenceQueues, 0);
  const a = intake.watchSilence('a', X, () => {}, () => {});
  const b = intake.watchSilence('b', X, () => {}, () => {});
  a();
  t.equal(intake.silenceQueues, 1, 'a queue stays while it has a watch');
  let silent = 0;
  const c = intake.watchSilence('c', X, () => silent++, () => {});
  clock.advance(2 * X);
  t.ok(silent >= 1, 'a watch on a queue that was emptied and refilled is still reported');
  b();
  c();
  t.equal(intake.silenceQueues, 0);
});

t.test("a new incarnation's datagram is not the old incarnation's PeerPDU", async (t) => {
  const clock = new ManualClock();
  const intake = new PeerIntake(clock);
  intake.admit(part({ incarnation: 5 }), FROM);
  const heard: number[] = [];
  const silent: number[] = [];
  intake.watchSilence('p1', X, () => silent.push(clock.now()), () => heard.push(clock.now()));
  clock.advance(X + X * SILENCE_SLACK);
  t.equal(silent.length, 1, 'the old incarnation went silent');
  t.equal(judged(intake.admit(part({ incarnation: 6, seq: 1 }), FROM)), 'peer+announcement', 'the restart is news');
  t.same(heard, [], 'its liveness actor (about to be replaced) is not told it was heard');
  clock.advance(X + X * SILENCE_SLACK);
  t.equal(silent.length, 2, 'nor is its watch refreshed: it runs until its actor stops it');
});
