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

const CHANMESH_MSG_ID = /^([0-9a-z]{1,10})\.([0-9a-z]{1,10})-(\d{1,15})$/;

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

/** The de-duplication window of a channel's host and members: `max(1024, 8 x history)` keys, and as many authors' runs. */
export function seenWindowFor(historyLimit: number, from?: SeenSnapshot): SeenWindow {
  const window = new SeenWindow(Math.max(1024, 8 * historyLimit));
  if (from !== undefined) window.restore(from);
  return window;
}

/**
 * Counters `from`..`to` of one author's membership (a chanmesh msgId's
 * `<incarnation>.<membership>`), every one of them seen.
 */
export interface SeenRun {
  readonly stream: string;
  readonly from: number;
  readonly to: number;
}

/** What a takeover host inherits of its member's window (restore). */
export interface SeenSnapshot {
  /** The remembered keys, oldest first. */
  readonly keys: readonly string[];
  /** The runs, by stream (the streams that grew longest ago first), each stream's in counter order. */
  readonly runs: readonly SeenRun[];
}

export const EMPTY_SEEN: SeenSnapshot = { keys: [], runs: [] };

/**
 * Runs one author stream keeps. Its counters come with gaps only where a
 * message reached this host's line by another way than the one before it
 * (an earlier one is still only in the author's outbox, or came to another
 * side of a split brain): a few runs cover that; past them the lowest go.
 */
export const RUNS_PER_STREAM = 8;

/**
 * The author stream and counter of a chanmesh message key (see msgIdPrefix),
 * or undefined for any other msgId, which only the ring remembers.
 */
function streamOf(key: string): { stream: string; counter: number } | undefined {
  const dash = key.lastIndexOf('-');
  const nul = key.indexOf('\u0000');
  if (dash < 0 || nul < 0 || !CHANMESH_MSG_ID.test(key.slice(nul + 1))) return undefined;
  const digits = key.slice(dash + 1);
  const counter = Number(digits);
  // Only the canonical spelling: `-007` is another msgId than `-7`, and must not be taken for it.
  return String(counter) === digits ? { stream: key.slice(0, dash), counter } : undefined;
}

interface Run {
  from: number;
  to: number;
}

/**
 * A bounded set of recently seen message keys: the de-duplication window.
 * It is larger than the history, so a copy re-sent after a failover is
 * recognised even when its entry already left the history.
 *
 * The ring alone forgets: an author away while its message was accepted
 * without it, and back after more than a window of messages, brought it
 * back to hosts and members that no longer knew it, and everyone got it
 * twice (F20, docs/protocol.md 5.5). So the window also keeps, per author
 * stream (one membership of one incarnation, whose counters count its SAYs
 * one by one), the runs of counters it has seen, each without a gap: a key
 * inside a run is known however long ago it left the ring. A counter only
 * ever adds itself to the runs, so they never claim a message that was not
 * seen: a false "known" would drop a message. Runs are kept for the
 * `limit` streams that grew last, RUNS_PER_STREAM each.
 *
 * Updated in place (with the discovery machine's peer table, the only
 * context that is: docs/architecture.md): copying a set of thousands of
 * keys on every SAY would dominate the hot path. Each actor's
 * context factory creates its own window, so no two actors share one.
 */
export class SeenWindow {
  private readonly keys = new Set<string>();
  private readonly ring: string[];
  private next = 0;
  /** stream -> its runs, disjoint and apart, in counter order; streams in the order they last grew (Map order), for the bound. */
  private readonly streams = new Map<string, Run[]>();

  constructor(readonly limit: number) {
    this.ring = new Array<string>(Math.max(1, limit));
  }

  has(key: string): boolean {
    if (this.keys.has(key)) return true;
    const at = streamOf(key);
    return at !== undefined && this.inRuns(at.stream, at.counter);
  }

  /** Remember `key`; returns false when it was already there. */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    const at = streamOf(key);
    if (at !== undefined && this.inRuns(at.stream, at.counter)) return false;
    const evicted = this.ring[this.next];
    if (evicted !== undefined) this.keys.delete(evicted);
    this.ring[this.next] = key;
    this.next = (this.next + 1) % this.ring.length;
    this.keys.add(key);
    if (at !== undefined) this.note(at.stream, at.counter);
    return true;
  }

  private inRuns(stream: string, counter: number): boolean {
    return this.streams.get(stream)?.some((run) => counter >= run.from && counter <= run.to) ?? false;
  }

  /** Add `counter` (not in a run yet) to its stream's runs, joining the runs it touches. */
  private note(stream: string, counter: number): void {
    const runs = this.streams.get(stream) ?? [];
    let i = 0;
    while (i < runs.length && runs[i]!.from < counter) i++;
    const before = runs[i - 1];
    const after = runs[i];
    const joinsBefore = before !== undefined && before.to + 1 === counter;
    const joinsAfter = after !== undefined && after.from - 1 === counter;
    if (joinsBefore && joinsAfter) {
      before.to = after.to;
      runs.splice(i, 1);
    } else if (joinsBefore) {
      before.to = counter;
    } else if (joinsAfter) {
      after.from = counter;
    } else {
      runs.splice(i, 0, { from: counter, to: counter });
    }
    this.keep(stream, runs);
  }

  /** `runs` are `stream`'s now, the last to grow; both bounds hold after. */
  private keep(stream: string, runs: Run[]): void {
    if (runs.length > RUNS_PER_STREAM) runs.shift();
    this.streams.delete(stream);
    this.streams.set(stream, runs);
    if (this.streams.size > this.limit) this.streams.delete(this.streams.keys().next().value!);
  }

  /** What a takeover host starts from: this window, keys and runs. */
  snapshot(): SeenSnapshot {
    const keys: string[] = [];
    for (let i = 0; i < this.ring.length; i++) {
      const key = this.ring[(this.next + i) % this.ring.length];
      if (key !== undefined) keys.push(key);
    }
    const runs: SeenRun[] = [];
    for (const [stream, list] of this.streams) for (const run of list) runs.push({ stream, from: run.from, to: run.to });
    return { keys, runs };
  }

  /** Start from another window's snapshot (a fresh window: seenWindowFor). */
  restore(from: SeenSnapshot): void {
    // Another window's snapshot(): by stream, each stream's runs in order
    // and apart. Kept to this window's bounds all the same.
    for (const run of from.runs) {
      if (!(run.from <= run.to)) continue;
      const runs = this.streams.get(run.stream) ?? [];
      const last = runs.at(-1);
      if (last !== undefined && run.from <= last.to + 1) continue;
      runs.push({ from: run.from, to: run.to });
      this.keep(run.stream, runs);
    }
    for (const key of from.keys) this.add(key);
  }

  get size(): number {
    return this.keys.size;
  }
}
