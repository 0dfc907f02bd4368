// The de-duplication window of a channel's host and members: the message
// keys seen lately, and per author stream the runs of counters seen
// (docs/protocol.md 5.5). Part of the machines' context (channel-host,
// channel-member), updated in place.
import { CHANMESH_MSG_ID } from './history.ts';

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
