// The de-duplication window (machines/history.ts SeenWindow): a ring of the
// last `limit` keys, and per author stream the runs of counters seen, which
// outlive the ring.
import fc from 'fast-check';
import t from 'tap';
import { messageKey, msgIdOf, msgIdPrefix } from '../../machines/history.ts';
import { RUNS_PER_STREAM, SeenWindow, seenWindowFor } from '../../machines/seen-window.ts';

/** The key of the `counter`-th SAY of `author`'s membership `membership`. */
const key = (author: string, counter: number, membership = 1): string => messageKey(author, msgIdOf(msgIdPrefix(1_700_000_000_000, membership), counter));

/** `count` keys nobody else uses (another author's own run), to push keys out of the ring. */
function fill(window: SeenWindow, count: number, author = 'filler'): void {
  for (let i = 1; i <= count; i++) window.add(key(author, i));
}

t.test('a key is known once added, and add() tells a second copy', async (t) => {
  const w = new SeenWindow(4);
  t.equal(w.add(key('a', 1)), true);
  t.equal(w.add(key('a', 1)), false, 'the same key again');
  t.equal(w.has(key('a', 1)), true);
  t.equal(w.has(key('a', 2)), false, 'the next counter is not seen because the previous one was');
});

t.test("an author's gap-free run is known long after the ring forgot its keys (the author away for more than a window)", async (t) => {
  const w = new SeenWindow(8);
  for (let i = 1; i <= 5; i++) w.add(key('a', i));
  fill(w, 100);
  for (let i = 1; i <= 5; i++) t.equal(w.has(key('a', i)), true, `a:${i}`);
  t.equal(w.add(key('a', 3)), false, 'a re-sent copy is known');
  t.equal(w.add(key('a', 6)), true, 'the next one is new');
});

t.test('a counter after a gap is a run of its own, and filling the gap joins them', async (t) => {
  const w = new SeenWindow(8);
  w.add(key('a', 1));
  w.add(key('a', 3)); // 2 has not come (it may be only in its author's outbox)
  fill(w, 100);
  t.same([1, 2, 3].map((i) => w.has(key('a', i))), [true, false, true], 'two runs, long after the ring forgot them');
  t.equal(w.add(key('a', 2)), true, 'the missing one is new when it comes');
  t.same(w.snapshot().runs.filter((r) => r.stream.startsWith('a')).map((r) => [r.from, r.to]), [[1, 3]], 'one run now');
});

t.test(`a stream keeps ${RUNS_PER_STREAM} runs: past them its lowest go (the one duplicate path left, docs/protocol.md 5.5)`, async (t) => {
  const w = new SeenWindow(8);
  for (let i = 0; i <= RUNS_PER_STREAM; i++) w.add(key('a', 1 + 2 * i)); // 1, 3, 5, ...: every one a run
  fill(w, 100);
  const odd = Array.from({ length: RUNS_PER_STREAM + 1 }, (_, i) => w.has(key('a', 1 + 2 * i)));
  t.same(odd, [false, ...Array<boolean>(RUNS_PER_STREAM).fill(true)]);
});

t.test('a run grows downwards too (relays of older messages after newer ones)', async (t) => {
  const w = new SeenWindow(8);
  w.add(key('a', 5));
  w.add(key('a', 4));
  w.add(key('a', 3));
  fill(w, 100);
  t.same([2, 3, 4, 5, 6].map((i) => w.has(key('a', i))), [false, true, true, true, false]);
});

t.test('streams are apart: memberships and incarnations of one author, and authors', async (t) => {
  const w = new SeenWindow(8);
  w.add(key('a', 1, 1));
  w.add(key('a', 2, 1));
  fill(w, 100);
  t.equal(w.has(key('a', 1, 2)), false, 'another membership');
  t.equal(w.has(key('b', 1, 1)), false, 'another author');
  t.equal(w.has(key('a', 2, 1)), true);
});

t.test('other clients\' msgIds are opaque: only the ring knows them', async (t) => {
  const w = new SeenWindow(4);
  w.add(messageKey('legacy', 'hello-1'));
  w.add(messageKey('legacy', 'hello-2'));
  t.equal(w.has(messageKey('legacy', 'hello-1')), true);
  fill(w, 10);
  t.equal(w.has(messageKey('legacy', 'hello-1')), false);
  t.equal(w.add(messageKey('legacy', 'hello-1')), true);
});

t.test('a counter spelt with leading zeros is another msgId: the ring alone knows it', async (t) => {
  const w = new SeenWindow(4);
  const zeros = messageKey('a', `${msgIdPrefix(1_700_000_000_000, 1)}-007`);
  w.add(zeros);
  t.equal(w.add(key('a', 7)), true, '-7 is not -007');
  fill(w, 10);
  t.equal(w.has(zeros), false);
  t.equal(w.has(key('a', 7)), true, 'the canonical one has its run');
});

t.test('runs are bounded: the `limit` streams that grew last', async (t) => {
  const w = new SeenWindow(4);
  for (let author = 0; author < 3; author++) w.add(key(`p${author}`, 1));
  w.add(key('p0', 2)); // p0 grew again: now the last to grow
  w.add(key('p3', 1));
  w.add(key('p4', 1)); // a fifth stream: p1, the one that grew longest ago, goes
  fill(w, 4, 'q'); // a sixth: p2 goes; the ring is q's alone now
  const known = Array.from({ length: 5 }, (_, author) => w.has(key(`p${author}`, 1)));
  t.same(known, [true, false, false, true, true], 'p0 (grown again), p3, p4 and q: four streams');
});

t.test('a takeover host starts from its member window: keys and runs (snapshot, seenWindowFor)', async (t) => {
  const member = seenWindowFor(10);
  for (let i = 1; i <= 3; i++) member.add(key('a', i));
  fill(member, 2000);
  member.add(messageKey('legacy', 'x'));
  const host = seenWindowFor(10, member.snapshot());
  t.same([1, 2, 3, 4].map((i) => host.has(key('a', i))), [true, true, true, false], "the run the ring had forgotten");
  t.equal(host.has(messageKey('legacy', 'x')), true, 'the ring too');
  t.equal(host.add(key('filler', 2000)), false);
});

t.test('property: add() never calls a key seen that was not added (a false "seen" would drop a message), and knows the last `limit` keys', async (t) => {
  const keyArb = fc.oneof(
    fc.record({ author: fc.constantFrom('a', 'b'), membership: fc.integer({ min: 1, max: 2 }), counter: fc.integer({ min: 1, max: 12 }) }).map(({ author, membership, counter }) => key(author, counter, membership)),
    fc.integer({ min: 1, max: 6 }).map((n) => messageKey('legacy', `m-${n}`)),
  );
  const universe: string[] = [];
  for (const author of ['a', 'b']) for (const membership of [1, 2]) for (let counter = 1; counter <= 12; counter++) universe.push(key(author, counter, membership));
  for (let n = 1; n <= 6; n++) universe.push(messageKey('legacy', `m-${n}`));
  fc.assert(
    fc.property(fc.array(keyArb, { maxLength: 120 }), fc.integer({ min: 1, max: 6 }), (keys, limit) => {
      const w = new SeenWindow(limit);
      const added = new Set<string>();
      const recent: string[] = [];
      for (const k of keys) {
        const fresh = w.add(k);
        if (!added.has(k) && !fresh) return false; // never seen, yet refused
        if (recent.includes(k) && fresh) return false; // among the last `limit` accepted, yet taken again
        if (fresh) {
          added.add(k);
          recent.push(k);
          if (recent.length > limit) recent.shift();
        }
      }
      if (recent.some((k) => !w.has(k))) return false;
      return universe.every((k) => added.has(k) || !w.has(k)); // has() claims nothing never added either
    }),
  );
});
