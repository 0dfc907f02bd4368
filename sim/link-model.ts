// The random draws of a simulated link: latency, loss, duplication,
// reordering. Only the injected generator is used, so a seed replays them.

import type { Random } from '../lib/random.ts';
import type { LinkOptions } from './link-options.ts';

/** Network times are rounded to the microsecond: readable reports, and fewer distinct instants to drain microtasks at. */
function toMicroseconds(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The virtual time `delayMs` after `nowMs`, on the microsecond grid (never before now). */
export function arrivalMs(nowMs: number, delayMs: number): number {
  return Math.max(nowMs, toMicroseconds(nowMs + delayMs));
}

export class LinkModel {
  private burstRate = 0;
  private burstUntilMs = -1;

  constructor(
    private readonly random: Random,
    private readonly options: Required<LinkOptions>,
  ) {}

  /** One-way latency: min + exponential tail (mean so that the total mean is latencyMsMean), capped at max. */
  latencyMs(): number {
    const { latencyMsMin, latencyMsMean, latencyMsMax } = this.options;
    const tailMean = latencyMsMean - latencyMsMin;
    // 1 - next() is in (0, 1], so the logarithm is finite.
    const tail = tailMean > 0 ? -Math.log(1 - this.random.next()) * tailMean : 0;
    return toMicroseconds(Math.min(latencyMsMax, latencyMsMin + tail));
  }

  /** Latency of one datagram copy: a link latency, plus a reordering delay now and then. */
  datagramDelayMs(): number {
    const latency = this.latencyMs();
    if (this.options.reorderRate > 0 && this.random.next() < this.options.reorderRate) {
      return toMicroseconds(latency + this.random.next() * this.options.reorderDelayMsMax);
    }
    return latency;
  }

  /** Whether one datagram copy is lost at `nowMs` (a running loss burst raises the rate). */
  lost(nowMs: number): boolean {
    const rate = nowMs < this.burstUntilMs ? Math.max(this.options.lossRate, this.burstRate) : this.options.lossRate;
    return rate > 0 && this.random.next() < rate;
  }

  duplicated(): boolean {
    return this.options.duplicateRate > 0 && this.random.next() < this.options.duplicateRate;
  }

  /** Datagram loss rises to at least `rate` from `nowMs` for `durationMs`; a new burst replaces the old. */
  lossBurst(rate: number, nowMs: number, durationMs: number): void {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`loss burst rate must be in [0, 1], got ${rate}`);
    this.burstRate = rate;
    this.burstUntilMs = nowMs + durationMs;
  }
}
