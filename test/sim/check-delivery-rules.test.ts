// The delivery check's rules, each fed the exact history it judges: a fake
// cluster stands in for the simulator (its observer calls, its clock), so a
// rule is tested even when no seed of the campaigns shows its case any more
// (the replays in checkers.test.ts depend on whole runs, which change).
import t from 'tap';
import type { ChatLine } from '../../lib/node/node.ts';
import { DeliveryChecker } from '../../sim/check-delivery.ts';
import type { SimCluster, SimNode } from '../../sim/cluster.ts';
import { CutState } from '../../sim/partitions.ts';
import { Violations } from '../../sim/violations.ts';

type Observer = Parameters<SimCluster['observe']>[0];

/** A cluster of `ids`, one channel `#c`, driven by hand in virtual ms. */
function world(ids: string[], historyLimit = 10) {
  let now = 0;
  const observers: Observer[] = [];
  const nodes = new Map(ids.map((id) => [id, { id, incarnation: 1, alive: true } as unknown as SimNode]));
  const cluster = { scheduler: { now: () => now }, observe: (o: Observer) => observers.push(o), node: (id: string) => nodes.get(id) } as unknown as SimCluster;
  const violations = new Violations();
  const checker = new DeliveryChecker(cluster, violations, 1_000, historyLimit, 25, 1_000, 250);
  const node = (id: string) => nodes.get(id)!;
  const at = (vt: number) => (now = vt);
  const each = (f: (o: Observer) => void) => observers.forEach(f);
  return {
    checker,
    violations,
    at,
    /** `id` joins `#c` at `host`'s hosting (epoch 1). */
    join(id: string, host: string) {
      each((o) => o.joinCalled?.(node(id), '#c'));
      checker.onRecord({ level: 30, vt: now, node: id, event: 'member.joined', channel: '#c', host, epoch: 1 }, { id, incarnation: 1 });
    },
    /** `id` is back with `host` after a failover. */
    rejoin(id: string, host: string) {
      checker.onRecord({ level: 30, vt: now, node: id, event: 'failover.finished', channel: '#c', host, epoch: 2 }, { id, incarnation: 1 });
    },
    exit(id: string) {
      each((o) => o.exitCalled?.(node(id), '#c'));
    },
    /** A partition into `groups`, or none. */
    partition(groups?: string[][]) {
      each((o) => o.reachability?.(new CutState(groups, [])));
    },
    freeze(id: string, frozen: boolean) {
      each((o) => o.frozen?.(node(id), frozen));
    },
    say(id: string, text: string) {
      each((o) => o.said?.(node(id), '#c', text));
    },
    /** `id` shows `text` by `author`, brought by `host`'s stream: live, merged by the host from a relay, in a WELCOME's history (merged or not), or by LATE. */
    deliver(id: string, author: string, text: string, host: string, how: 'live' | 'merged' | 'history' | 'merged history' | 'late' = 'live') {
      const line: ChatLine = { channel: '#c', authorId: author, text, msgId: text, fromHistory: how.endsWith('history'), relayed: how.startsWith('merged') || how === 'late', host, epoch: 1 };
      if (how === 'late') line.late = true;
      each((o) => o.chat?.(node(id), line));
    },
    finish(endMs: number) {
      at(endMs);
      checker.finish(endMs);
      return violations.list.map((v) => `${v.invariant}/${v.kind}`);
    },
  };
}

/**
 * n1 says x1 and x2 to host h, which never echoes them; a member relays x2
 * into h's merge (x1 had left its history), and n1 re-sends x1 later: h
 * takes x1 as new, behind x2, and every member live then gets them in that
 * order (seed 67 of the 16-node campaign). `frozen`: n2 was frozen
 * through the merge and the re-send, and read both at its thaw, after x1's
 * acknowledgement (seed 41 of that campaign under the kernel-receive
 * freeze): the merge is the hosting's, when n3 got x2, not n2's reading.
 * `welcome`: n2 was between hosts at the merge and got x2 in its WELCOME
 * (seed 45 of that campaign with --split-chunks).
 */
function resentBehindMerge(n2: 'live' | 'frozen' | 'welcome') {
  const frozenMember = n2 === 'frozen';
  const w = world(['h', 'n1', 'n2', 'n3']);
  w.at(100);
  for (const id of ['h', 'n1', 'n2', 'n3']) w.join(id, 'h');
  w.at(1_000);
  w.say('n1', 'x1');
  w.at(1_100);
  w.say('n1', 'x2');
  if (frozenMember) {
    w.at(2_000);
    w.freeze('n2', true);
  }
  w.at(3_000);
  w.deliver('n3', 'n1', 'x2', 'h', 'merged');
  w.deliver('h', 'n1', 'x2', 'h', 'merged');
  if (n2 === 'live') w.deliver('n2', 'n1', 'x2', 'h', 'merged');
  w.at(3_005);
  w.deliver('n1', 'n1', 'x2', 'h', 'merged');
  if (n2 === 'welcome') {
    w.at(4_000);
    w.rejoin('n2', 'h');
    w.deliver('n2', 'n1', 'x2', 'h', 'merged history');
  }
  w.at(5_000);
  w.deliver('n1', 'n1', 'x1', 'h'); // the echo of the re-send: x1 acknowledged
  for (const id of ['h', 'n3']) w.deliver(id, 'n1', 'x1', 'h');
  if (frozenMember) {
    w.at(6_000);
    w.freeze('n2', false);
    w.deliver('n2', 'n1', 'x2', 'h', 'merged');
  }
  w.deliver('n2', 'n1', 'x1', 'h');
  return w;
}

t.test("an author's re-sent message behind its newer one that a relay brought first is the merge-order exception (seed 67)", async (t) => {
  const w = resentBehindMerge('live');
  t.same(w.finish(20_000), []);
  t.equal(w.checker.stats.mergedLate, 3, 'h, n2 and n3 got x1 after x2: counted as merged late');
  t.equal(w.checker.stats.required, 6, 'x1 and x2 required of h, n2 and n3');
});

t.test('the merge is judged by when the hosting merged, not by when a frozen member read it (seed 41)', async (t) => {
  const w = resentBehindMerge('frozen');
  t.same(w.finish(20_000), []);
  t.equal(w.checker.stats.mergedLate, 3, "n2's too, read at its thaw after x1's acknowledgement");
});

t.test('so is one behind a newer one that came merged in a WELCOME (seed 45 with --split-chunks)', async (t) => {
  const w = resentBehindMerge('welcome');
  t.same(w.finish(20_000), []);
  t.equal(w.checker.stats.mergedLate, 3);
});

t.test('the same order without a merge is a violation', async (t) => {
  const w = world(['h', 'n1', 'n2']);
  w.at(100);
  for (const id of ['h', 'n1', 'n2']) w.join(id, 'h');
  w.at(1_000);
  w.say('n1', 'x1');
  w.say('n1', 'x2');
  w.at(1_010);
  w.deliver('n1', 'n1', 'x1', 'h');
  w.deliver('n1', 'n1', 'x2', 'h');
  w.deliver('h', 'n1', 'x1', 'h');
  w.deliver('h', 'n1', 'x2', 'h');
  w.deliver('n2', 'n1', 'x2', 'h');
  w.deliver('n2', 'n1', 'x1', 'h');
  t.same(w.finish(20_000), ['delivery/order']);
});

// History 4: a holder with m among its last 2 deliveries (half the
// history) holds it for a member M disturbed around m.

/** `members` join h's hosting at 100 ms; M is frozen from 1,900 ms, and a says m at 2,000 ms, which `holders` get at once. */
function mSaidWhileMFrozen(w: ReturnType<typeof world>, members: string[], holders: string[]): void {
  w.at(100);
  for (const id of members) w.join(id, 'h');
  w.at(1_900);
  w.freeze('M', true);
  w.at(2_000);
  w.say('a', 'm');
  for (const id of holders) w.deliver(id, 'a', 'm', 'h');
}

t.test("the repair host's window is judged when M joined it, not when its repair began (seed 122)", async (t) => {
  // M, frozen when a said m, is back at 3 s; its repair begins at 4 s (one
  // detection time), and it joins h at 4,040 ms. Meanwhile h took three
  // newer messages (a takeover's hold ending with what was re-sent): its
  // 4-message WELCOME keeps m, but h's window, judged when M joined, has
  // moved past half of it.
  const w = world(['a', 'h', 'M'], 4);
  mSaidWhileMFrozen(w, ['a', 'h', 'M'], ['a', 'h']);
  w.at(3_000);
  w.freeze('M', false);
  w.at(4_030);
  for (const text of ['n1', 'n2', 'n3']) {
    w.say('a', text);
    for (const id of ['a', 'h']) w.deliver(id, 'a', text, 'h');
  }
  w.at(4_040);
  w.rejoin('M', 'h');
  for (const text of ['n1', 'n2', 'n3']) w.deliver('M', 'a', text, 'h', 'history');
  t.same(w.finish(20_000), []);
  t.equal(w.checker.stats.excused, 1, 'm is excused for M');
});

t.test('a holder cut off from M when its repair begins is judged when it can reach M again (seed 111)', async (t) => {
  // a and h, which had m, are gone; n3 still holds m when M rejoins h2
  // (new to the channel: it never saw m), but a partition keeps it from
  // M until 6 s, and by then it has taken three more of its own, as the
  // host of its side.
  const w = world(['a', 'h', 'h2', 'M', 'n3'], 4);
  mSaidWhileMFrozen(w, ['a', 'h', 'M', 'n3'], ['a', 'h', 'n3']);
  w.at(2_200);
  for (const id of ['a', 'h']) w.exit(id);
  w.at(2_500);
  w.partition([['n3'], ['a', 'h', 'h2', 'M']]);
  w.at(3_000);
  w.freeze('M', false);
  w.at(3_400);
  w.join('h2', 'h2');
  w.at(3_500);
  w.rejoin('M', 'h2');
  w.rejoin('n3', 'n3');
  w.at(5_000);
  for (const text of ['o1', 'o2', 'o3']) {
    w.say('n3', text);
    w.deliver('n3', 'n3', text, 'n3');
  }
  w.at(6_000);
  w.partition();
  w.at(6_100);
  for (const text of ['o1', 'o2', 'o3']) for (const id of ['h2', 'M']) w.deliver(id, 'n3', text, 'h2', 'merged');
  t.same(w.finish(20_000), []);
  t.equal(w.checker.stats.excused, 1, 'm is excused for M');
});

t.test('a holder that got m by LATE does not hold it for M: LATE is in no history (seed 195)', async (t) => {
  // n4 joined after m was said and got it by LATE (a member relayed it to
  // n4's host, which had seen it and held it no more); M, frozen when m
  // was said, rejoins n4, by then the host: n4's WELCOME cannot carry m.
  const w = world(['a', 'h', 'n4', 'M'], 4);
  mSaidWhileMFrozen(w, ['a', 'h', 'M'], ['a', 'h']);
  w.at(2_200);
  for (const id of ['a', 'h']) w.exit(id);
  w.at(2_500);
  w.join('n4', 'h');
  w.at(2_600);
  w.deliver('n4', 'a', 'm', 'h', 'late');
  w.at(3_000);
  w.freeze('M', false);
  w.at(3_400);
  w.rejoin('n4', 'n4'); // its takeover
  w.at(3_500);
  w.rejoin('M', 'n4');
  t.same(w.finish(20_000), []);
  t.equal(w.checker.stats.excused, 1, 'm is excused for M');
  t.equal(w.checker.stats.byLate, 1, 'and the LATE delivery counted');
});
