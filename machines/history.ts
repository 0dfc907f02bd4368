// The recent messages of one channel, as a host and every member keep them.
// A history entry is what a host acknowledged: it has an order (seq) and an
// identity (authorId, msgId) that makes re-sent copies recognisable.

export interface HistoryEntry {
  seq: number;
  authorId: string;
  text: string;
  msgId: string;
  /**
   * Merged from a member's RELAY, not said to the host that accepted it
   * (appendToHistory counts such messages apart). Members learn it from
   * the host's SAY frame (its sixth field, `relay`).
   */
  relayed?: boolean;
  /** Member side: relayed by this member, and the host has not decided yet (mirrorLive). */
  pending?: boolean;
}

/** The identity of a message across hosts and epochs. */
export function messageKey(authorId: string, msgId: string): string {
  return `${authorId}\u0000${msgId}`;
}

/**
 * chanmesh msgIds tell in which order their author said them:
 * `<incarnation base36>.<membership base36>-<counter>` (a restart raises the
 * incarnation, every join the process makes (any channel) the membership
 * number, every SAY the counter). Other clients' msgIds are opaque.
 */
export function msgIdPrefix(incarnation: number, membership: number): string {
  return `${incarnation.toString(36)}.${membership.toString(36)}`;
}

export function msgIdOf(prefix: string, counter: number): string {
  return `${prefix}-${counter}`;
}

/**
 * The msgId a member gives the `n`th SAY its legacy host sent (a KIT host of
 * the draft sends `SAY authorId text`, no msgId) in one membership, `prefix`
 * being that membership's msgIdPrefix: `~<incarnation>.<membership>:<n>`.
 * Valid whatever the text (1-64 printable ASCII, docs/protocol.md 2.2),
 * distinct for two equal lines, and never an id chanmesh makes elsewhere:
 * authors' have no `~`, hosts' (`~epoch.seq`, for a legacy client) no `:`.
 */
export function legacyMsgId(prefix: string, n: number): string {
  return `~${prefix}:${n}`;
}

/** A msgId chanmesh makes (msgIdOf): `<incarnation>.<membership>-<counter>`, each part base36 or decimal. */
export const CHANMESH_MSG_ID = /^([0-9a-z]{1,10})\.([0-9a-z]{1,10})-(\d{1,15})$/;

/** Where a chanmesh msgId falls in its author's order; undefined for any other msgId. */
function sayOrder(msgId: string | undefined): [number, number, number] | undefined {
  const match = msgId === undefined ? null : CHANMESH_MSG_ID.exec(msgId);
  return match ? [parseInt(match[1]!, 36), parseInt(match[2]!, 36), Number(match[3])] : undefined;
}

function compareSayOrder(a: [number, number, number], b: [number, number, number]): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/**
 * `messages` with each author's chanmesh messages put into the order the
 * author said them, in the places that author's messages take (all other
 * messages stay where they are). Relays merged from the histories of
 * several hosts (sorted by the seq each had there) can hold one author's
 * messages in another order: numbered by different hosts, or already out
 * of order in a history that an earlier merge appended to.
 */
export function inAuthorOrder<T extends { authorId: string; msgId?: string }>(messages: readonly T[]): T[] {
  const placesByAuthor = new Map<string, number[]>();
  const orders = messages.map((m) => sayOrder(m.msgId));
  orders.forEach((order, i) => {
    if (order === undefined) return;
    const author = messages[i]!.authorId;
    const places = placesByAuthor.get(author);
    if (places) places.push(i);
    else placesByAuthor.set(author, [i]);
  });
  const out = [...messages];
  for (const places of placesByAuthor.values()) {
    const said = [...places].sort((a, b) => compareSayOrder(orders[a]!, orders[b]!));
    places.forEach((place, k) => (out[place] = messages[said[k]!]!));
  }
  return out;
}

/**
 * A WELCOME's history back in its host's order: by seq, which a host gives
 * in the order it accepts messages (a takeover continues the seqs it
 * inherits). The WELCOME shows a joiner each author's messages in the order
 * the author said them (the host sends inAuthorOrder(history), every
 * message with its own seq): relays merged after a split brain can bring an
 * author's older messages in behind a newer one the host already had, and a
 * member that was away need not see them so (F10: seed 109, 10 nodes,
 * 2 min). The joiner delivers them in that order, but keeps them in its
 * host's: a copy in another order would drop other messages first when the
 * window moves on (appendToHistory), and be the host's window no more.
 */
export function inHostOrder(entries: readonly HistoryEntry[]): HistoryEntry[] {
  return [...entries].sort((a, b) => a.seq - b.seq);
}

/** Append keeping at most `limit` entries (oldest dropped first). */
export function appendBounded<T>(list: readonly T[], item: T, limit: number): T[] {
  if (limit <= 0) return [];
  const start = list.length + 1 > limit ? list.length + 1 - limit : 0;
  const next = list.slice(start);
  next.push(item);
  return next;
}

/**
 * A member's history after a live SAY from its host: the host's history,
 * mirrored by the host's own rule (appendToHistory) over the host's own
 * stream (the WELCOME, then every SAY, each marked when it was a merged
 * relay), so the member holds exactly what its host holds (F12, below).
 *
 * The member's own relays wait apart, `pending`, until the host decides:
 * each one it accepts comes back and takes its place as the host numbered
 * and ordered it; the rest wait for the host's MERGED (withoutPending).
 */
export function mirrorLive(history: readonly HistoryEntry[], entry: HistoryEntry, limit: number): readonly HistoryEntry[] {
  const same = (h: HistoryEntry): boolean => h.authorId === entry.authorId && h.msgId === entry.msgId;
  const known = history.findIndex(same);
  if (known >= 0 && !history[known]!.pending) return history; // a copy of one we have (an echo sent again)
  if (!history.some((h) => h.pending)) return appendToHistory(history, entry, limit);
  const next = appendToHistory(withoutPending(history), entry, limit);
  for (const h of history) if (h.pending && !same(h)) next.push(h);
  return next;
}

/**
 * A member's history after its host's MERGED: the relays still pending
 * were turned down (the host had seen them) and leave. Kept, they would
 * stay among the newest, be relayed again at every failover, and once every
 * de-duplication window had forgotten them be taken for new and delivered
 * to every member a second time (F11: seed 1, 100 nodes, 24 min, a message
 * of minute 8 again in minute 23). Until the ninth session they left at the
 * first new SAY instead, but a SAY the host sent before our relays reached
 * it arrives after we sent them: a host that then yielded before it merged
 * them lost the only copies (seed 167, 10 nodes, 2 min, --rate 50, once a
 * takeover host held what it was sent).
 */
export function withoutPending(history: readonly HistoryEntry[]): HistoryEntry[] {
  return history.filter((h) => !h.pending);
}

/**
 * The relays a member keeps pending after a join (mirrorLive), of those it
 * made (`offered`, in the order of the history they came from: the host's
 * window, then what was pending already, which mirrorLive keeps last): at
 * most historyWindowMax(limit), as many as the WELCOME it collects
 * (docs/protocol.md 5.5), those pending longest dropped first. Every one
 * was relayed all the same; one dropped is only not relayed again should
 * this host too die before it decides. Unbounded, every join turned the
 * whole history before it, pending relays included, into pending relays:
 * a host that WELCOMEd with fresh messages, never sent MERGED and dropped
 * the connection made a member hold 33,600 entries within 5 s. (Cut from
 * the front instead, the first relays would stay pending and be relayed
 * at every join for ever.) The bound makes no second copy (a relay
 * not made is no duplicate), and loses only past what a history keeps
 * anyway: a host holds relayShare(limit) relays ("The history is bounded").
 */
export function pendingKept(offered: readonly HistoryEntry[], limit: number): readonly HistoryEntry[] {
  const max = historyWindowMax(limit);
  return offered.length > max ? offered.slice(0, max) : offered;
}

/**
 * Append to a channel's history, on its host and (mirrorLive) on every
 * member alike. The window is the last `limit` messages said to the host
 * (or inherited at a takeover) plus at most relayShare(limit) relayed ones:
 * a merge after a split brain relays the other side's messages, and
 * counted in one window they would push out this side's, which a member of
 * the other side that joins later (it was frozen or cut off during the
 * merge) has never seen (F9). Relays leave in order once `limit` newer
 * messages were said, or when more than relayShare(limit) are held.
 *
 * One rule for host and members: a member whose window differed from its
 * host's lost messages or reordered them. Kept to `limit` alone, it lost its
 * own side's messages once a merge relayed the other side's into its host
 * and that host then yielded to a third one: they were in the host's
 * history and in no member's, and nobody relayed them (F12: seeds 6 and 39
 * of the 5x-chat campaign). Kept to the last `2 x limit`, it held older
 * messages than its host, relayed them at the next failover to a host
 * whose members had joined with the host's shorter WELCOME, and they
 * arrived there behind newer ones (seed 153, 10 nodes, 2 min).
 */
export function appendToHistory(list: readonly HistoryEntry[], entry: HistoryEntry, limit: number): HistoryEntry[] {
  if (limit <= 0) return [];
  const next = [...list, entry];
  let said = next.reduce((n, e) => (e.relayed ? n : n + 1), 0);
  let relayed = next.length - said;
  let start = 0;
  for (; said > limit; start++) {
    if (next[start]!.relayed) relayed--;
    else said--;
  }
  const kept = next.slice(start);
  const relayLimit = relayShare(limit);
  if (relayed <= relayLimit) return kept;
  let excess = relayed - relayLimit;
  return kept.filter((e) => !(e.relayed && excess-- > 0));
}

/**
 * Relayed messages a history keeps besides its `limit` said ones: two
 * sides' windows, so that a merge of three sides (a host that yields to
 * a third, members of both relaying) keeps both others' messages. With one
 * window (`limit`), 103 relays of such a merge pushed one side's oldest
 * three out before a member frozen through it rejoined (seed 13, 10 nodes,
 * 5x chat).
 */
export function relayShare(limit: number): number {
  return 2 * limit;
}

/** The most a history holds under appendToHistory: `limit` said plus relayShare(limit) relayed messages. */
export function historyWindowMax(limit: number): number {
  return limit + relayShare(limit);
}
