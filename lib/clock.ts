// Time is a tiny interface (TigerBeetle's time.zig): the real clock for a
// running node, the simulator's heap clock for a simulated one. Its
// setTimeout/clearTimeout pair is exactly XState's `clock` actor option, so
// machine timers (`after`) run on the same clock as everything else.

export type TimerId = unknown;

export interface Clock {
  /** Monotonic milliseconds since an arbitrary origin. Never goes backwards. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

export class RealClock implements Clock {
  private readonly origin = performance.now();
  private last = 0;

  now(): number {
    // performance.now() is monotonic already; the guard documents the rule.
    const t = performance.now() - this.origin;
    if (t > this.last) this.last = t;
    return this.last;
  }

  setTimeout(callback: () => void, ms: number): TimerId {
    return setTimeout(callback, ms);
  }

  clearTimeout(id: TimerId): void {
    clearTimeout(id as NodeJS.Timeout);
  }
}
