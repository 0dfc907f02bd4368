// The random draws of a simulated link: latency, loss, duplication,
// reordering. Only the injected generator is used, so a seed replays them.
//
// A multicast send draws for every copy (~40,000 per virtual second at 100
// nodes), so the per-copy draws are made cheap without changing their
// distributions: loss, duplication and reordering are Bernoulli processes
// drawn as the gaps between successes (one draw per success, not per copy),
// and a send's latencies come out already sorted (flightArrivals).

import type { Random } from '../lib/random.ts';
import type { LinkOptions } from './link-options.ts';

/**
 * Network times are rounded to the microsecond: readable reports, and fewer
 * distinct instants. Half up like Math.round for these (positive, small)
 * times, and several times cheaper than it in V8 (it runs per datagram copy).
 */
function toMicroseconds(ms: number): number {
  return Math.floor(ms * 1000 + 0.5) / 1000;
}

/** The virtual time `delayMs` after `nowMs`, on the microsecond grid (never before now). */
export function arrivalMs(nowMs: number, delayMs: number): number {
  return Math.max(nowMs, toMicroseconds(nowMs + delayMs));
}

/**
 * Independent trials that each succeed with probability `rate`, drawn as
 * the number of trials up to the next success (geometric). A trial at
 * another rate than the last draws a new gap: the process is memoryless, so
 * that is the same as deciding every trial on its own.
 */
class Trials {
  private rate = Number.NaN;
  private left = 0;

  constructor(private readonly random: Random) {}

  succeeds(rate: number): boolean {
    if (rate !== this.rate) {
      this.rate = rate;
      this.left = this.gap();
    }
    if (--this.left > 0) return false;
    this.left = this.gap();
    return true;
  }

  /** Trials up to and including the next success: 1 + floor(ln U / ln(1 - rate)), U in (0, 1]. */
  private gap(): number {
    const rate = this.rate;
    if (!(rate > 0)) return Number.POSITIVE_INFINITY;
    if (rate >= 1) return 1;
    return 1 + Math.floor(Math.log(1 - this.random.next()) / Math.log(1 - rate));
  }
}

export class LinkModel {
  private burstRate = 0;
  private burstUntilMs = -1;
  private readonly losses: Trials;
  private readonly duplicates: Trials;
  private readonly reorders: Trials;

  constructor(
    private readonly random: Random,
    private readonly options: Required<LinkOptions>,
  ) {
    this.losses = new Trials(random);
    this.duplicates = new Trials(random);
    this.reorders = new Trials(random);
  }

  /**
   * A link's latency distribution, the one place it is written: min plus an
   * exponential tail (mean so that the total mean is latencyMsMean), capped
   * at max. `tail` is the tail in units of its mean (an Exp(1) draw).
   */
  private latencyWithTail(tail: number): number {
    const { latencyMsMin, latencyMsMean, latencyMsMax } = this.options;
    return Math.min(latencyMsMax, latencyMsMin + tail * Math.max(0, latencyMsMean - latencyMsMin));
  }

  private get hasTail(): boolean {
    return this.options.latencyMsMean > this.options.latencyMsMin;
  }

  /** One-way latency (latencyWithTail). */
  latencyMs(): number {
    // 1 - next() is in (0, 1], so the logarithm is finite.
    const tail = this.hasTail ? -Math.log(1 - this.random.next()) : 0;
    return toMicroseconds(this.latencyWithTail(tail));
  }

  /**
   * The arrival times of `count` copies sent at `nowMs`, each after a latency
   * of latencyMs()'s distribution, drawn already ascending into `into`, and
   * `receivers[0..count)` put in a random order (Fisher–Yates): receivers[k]
   * arrives at into[k]. The exponential tails are drawn as order statistics
   * by Rényi's representation, E(1) = Z1/n, E(k) = E(k-1) + Zk/(n-k+1) with
   * Zk ~ Exp(1), so a multicast's copies need no sort; min, cap and rounding
   * keep the order.
   */
  flightArrivals<T>(nowMs: number, count: number, into: number[], receivers: T[]): void {
    if (!this.hasTail) {
      // One latency for all: they arrive together, in the order they were sent.
      const arrival = arrivalMs(nowMs, this.latencyWithTail(0));
      for (let k = 0; k < count; k++) into[k] = arrival;
      return;
    }
    const random = this.random;
    let tail = 0;
    for (let k = 0; k < count; k++) {
      tail -= Math.log(1 - random.next()) / (count - k);
      into[k] = arrivalMs(nowMs, this.latencyWithTail(tail));
    }
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(random.next() * (i + 1));
      const swapped = receivers[i] as T;
      receivers[i] = receivers[j] as T;
      receivers[j] = swapped;
    }
  }

  /** The extra delay of one datagram copy: 0, or now and then (reorderRate) uniform below reorderDelayMsMax. */
  reorderDelayMs(): number {
    if (!this.reorders.succeeds(this.options.reorderRate)) return 0;
    return this.random.next() * this.options.reorderDelayMsMax;
  }

  /** Whether one datagram copy is lost at `nowMs` (a running loss burst raises the rate). */
  lost(nowMs: number): boolean {
    const rate = nowMs < this.burstUntilMs ? Math.max(this.options.lossRate, this.burstRate) : this.options.lossRate;
    return this.losses.succeeds(rate);
  }

  /** Whether one datagram copy is also delivered a second time. */
  duplicated(): boolean {
    return this.duplicates.succeeds(this.options.duplicateRate);
  }

  /** Datagram loss rises to at least `rate` from `nowMs` for `durationMs`; a new burst replaces the old. */
  lossBurst(rate: number, nowMs: number, durationMs: number): void {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`loss burst rate must be in [0, 1], got ${rate}`);
    this.burstRate = rate;
    this.burstUntilMs = nowMs + durationMs;
  }
}
