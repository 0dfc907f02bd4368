// The recent messages of one channel, as a host and every member keep them.
// A history entry is what a host acknowledged: it has an order (seq) and an
// identity (authorId, msgId) that makes re-sent copies recognisable.

export interface HistoryEntry {
  seq: number;
  authorId: string;
  text: string;
  msgId: string;
}

/** The identity of a message across hosts and epochs. */
export function messageKey(authorId: string, msgId: string): string {
  return `${authorId}\u0000${msgId}`;
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
 * A bounded set of recently seen message keys: the de-duplication window.
 * It is larger than the history, so a copy re-sent after a failover is
 * recognised even when its entry already left the history.
 *
 * The one piece of machine context updated in place: copying a set of
 * thousands of keys on every SAY would dominate the hot path. Each actor's
 * context factory creates its own window, so no two actors share one.
 */
export class SeenWindow {
  private readonly keys = new Set<string>();
  private readonly ring: string[];
  private next = 0;

  constructor(readonly limit: number) {
    this.ring = new Array<string>(Math.max(1, limit));
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Remember `key`; returns false when it was already there. */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    const evicted = this.ring[this.next];
    if (evicted !== undefined) this.keys.delete(evicted);
    this.ring[this.next] = key;
    this.next = (this.next + 1) % this.ring.length;
    this.keys.add(key);
    return true;
  }

  get size(): number {
    return this.keys.size;
  }

  /** The remembered keys, oldest first: a takeover host starts from its member's window. */
  toArray(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.ring.length; i++) {
      const key = this.ring[(this.next + i) % this.ring.length];
      if (key !== undefined) out.push(key);
    }
    return out;
  }
}
