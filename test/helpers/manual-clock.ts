// A synchronous clock for unit tests of machines: time moves only when the
// test says so, and timers fire in deadline order, one by one, so a timer
// re-armed from its own callback fires again within the same advance.
import type { Clock, TimerId } from '../../lib/clock.ts';

interface Timer {
  id: number;
  at: number;
  callback: () => void;
}

export class ManualClock implements Clock {
  private time = 0;
  private nextId = 1;
  private timers: Timer[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerId {
    const timer = { id: this.nextId++, at: this.time + ms, callback };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(id: TimerId): void {
    this.timers = this.timers.filter((t) => t.id !== id);
  }

  /** Move time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = this.timers.reduce<Timer | undefined>((a, t) => (t.at <= end && (!a || t.at < a.at || (t.at === a.at && t.id < a.id)) ? t : a), undefined);
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.time = next.at;
      next.callback();
    }
    this.time = end;
  }
}
