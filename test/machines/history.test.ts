// The message-order helpers of machines/history.ts.
import fc from 'fast-check';
import t from 'tap';
import { appendBounded, appendToHistory, historyWindowMax, inAuthorOrder, inHostOrder, msgIdOf, msgIdPrefix, relayShare, type HistoryEntry } from '../../machines/history.ts';

interface M {
  authorId: string;
  msgId?: string;
  /** The order the author said it in (what the msgId encodes), for the checks. */
  said: number;
}

/** A chanmesh msgId for the `said`-th message of an author: incarnation, membership and counter all grow. */
function chanmeshId(said: number): string {
  return msgIdOf(msgIdPrefix(1_700_000_000_000 + Math.floor(said / 100), Math.floor(said / 10) % 10), said % 10);
}

const messageArb: fc.Arbitrary<M> = fc
  .record({ authorId: fc.constantFrom('a', 'b', 'c'), said: fc.nat(999), opaque: fc.boolean() })
  .map(({ authorId, said, opaque }) => ({ authorId, said, msgId: opaque ? `legacy-${said}` : chanmeshId(said) }));

t.test("inAuthorOrder: each author's chanmesh messages in said order, in that author's places; everything else untouched", async (t) => {
  fc.assert(
    fc.property(fc.array(messageArb, { maxLength: 40 }), (messages) => {
      const out = inAuthorOrder(messages);
      if (out.length !== messages.length) return false;
      const isChanmesh = (m: M) => !m.msgId!.startsWith('legacy-');
      for (let i = 0; i < messages.length; i++) {
        const before = messages[i]!;
        const after = out[i]!;
        if (!isChanmesh(before)) {
          if (after !== before) return false; // opaque msgIds keep their place
        } else if (!isChanmesh(after) || after.authorId !== before.authorId) {
          return false; // a place of author x holds one of x's chanmesh messages
        }
      }
      for (const author of ['a', 'b', 'c']) {
        const said = out.filter((m) => m.authorId === author && isChanmesh(m)).map((m) => m.said);
        if (said.some((s, i) => i > 0 && said[i - 1]! > s)) return false;
      }
      return [...out].sort(bySaid).every((m, i) => m === [...messages].sort(bySaid)[i]); // a permutation
    }),
  );
});

function bySaid(x: M, y: M): number {
  return x.authorId.localeCompare(y.authorId) || x.said - y.said || (x.msgId ?? '').localeCompare(y.msgId ?? '');
}

t.test("a WELCOME in author order, each message with its own seq, goes back to the host's order by inHostOrder", async (t) => {
  fc.assert(
    fc.property(fc.array(messageArb, { maxLength: 40 }), (messages) => {
      const history: HistoryEntry[] = messages.map((m, i) => ({ seq: 10 + 2 * i, authorId: m.authorId, text: `t${m.said}`, msgId: m.msgId! }));
      const welcome = inAuthorOrder(history); // what a host sends
      return inHostOrder(welcome).every((e, i) => e === history[i]);
    }),
  );
});

t.test('msgIds order by incarnation, then membership, then counter (numbers, not text)', async (t) => {
  const ids = [msgIdOf(msgIdPrefix(35, 2), 10), msgIdOf(msgIdPrefix(35, 2), 9), msgIdOf(msgIdPrefix(36, 1), 1), msgIdOf(msgIdPrefix(35, 11), 1)];
  const out = inAuthorOrder(ids.map((msgId) => ({ authorId: 'z', msgId })));
  t.same(out.map((m) => m.msgId), [msgIdOf(msgIdPrefix(35, 2), 9), msgIdOf(msgIdPrefix(35, 2), 10), msgIdOf(msgIdPrefix(35, 11), 1), msgIdOf(msgIdPrefix(36, 1), 1)]);
});

const entry = (seq: number, relayed: boolean): HistoryEntry => ({ seq, authorId: 'a', text: `m${seq}`, msgId: `a${seq}`, ...(relayed ? { relayed: true } : {}) });

t.test("a host's history keeps `limit` said messages however many relays a merge adds", async (t) => {
  let h: HistoryEntry[] = [];
  for (let seq = 1; seq <= 4; seq++) h = appendToHistory(h, entry(seq, false), 3);
  t.same(h.map((e) => e.seq), [2, 3, 4], 'said messages: the last 3, as appendBounded keeps them');
  for (let seq = 5; seq <= 10; seq++) h = appendToHistory(h, entry(seq, true), 3);
  t.same(h.map((e) => e.seq), [2, 3, 4, 5, 6, 7, 8, 9, 10], "6 relays (two other sides' windows) next to the 3 said: a later joiner from either side still gets this side's");
  h = appendToHistory(h, entry(11, true), 3);
  t.same(h.map((e) => e.seq), [2, 3, 4, 6, 7, 8, 9, 10, 11], 'a 7th relay: the oldest relay leaves');
  h = appendToHistory(h, entry(12, false), 3);
  t.same(h.map((e) => e.seq), [3, 4, 6, 7, 8, 9, 10, 11, 12], 'a said message: the oldest said one leaves');
  for (let seq = 13; seq <= 14; seq++) h = appendToHistory(h, entry(seq, false), 3);
  t.same(h.map((e) => e.seq), [6, 7, 8, 9, 10, 11, 12, 13, 14], 'relays older than the last 3 said messages left with them');
  t.equal(h.length, historyWindowMax(3), 'the most a window holds');
  t.same(appendToHistory(h, entry(15, false), 0), [], 'limit 0 keeps nothing');
});

t.test('appendToHistory: at most limit said and relayShare(limit) relayed, order kept, nothing newer dropped before older of its kind', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.boolean(), { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), (kinds, limit) => {
      let h: HistoryEntry[] = [];
      let plain: HistoryEntry[] = [];
      kinds.forEach((relayed, i) => {
        h = appendToHistory(h, entry(i, relayed), limit);
        if (!relayed) plain = appendBounded(plain, entry(i, false), limit);
      });
      const said = h.filter((e) => !e.relayed);
      const relayed = h.filter((e) => e.relayed);
      return (
        h.every((e, i) => i === 0 || h[i - 1]!.seq < e.seq) && // acceptance order
        said.length <= limit &&
        relayed.length <= relayShare(limit) &&
        said.map((e) => e.seq).join() === plain.map((e) => e.seq).join() // the said ones: exactly what appendBounded keeps
      );
    }),
  );
});
