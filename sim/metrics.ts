// Failover figures of a run, measured from the nodes' own log lines against
// the faults the simulator injected:
// - a failover *episode* of member M in channel C begins at M's first
//   `host.suspected` or `failover.started` for C and ends at its
//   `failover.finished`;
// - its *cause* is the latest fault that began at or before the episode and
//   could explain it: a crash or freeze of the suspected host, a cut between
//   M and the host, or a loss burst, still running or ended at most
//   AFTERMATH_INTERVALS PDU intervals earlier (10 s at 250 ms: a split
//   brain's merge after a heal follows within 5 s in the 100-node hour; a
//   longer window took episodes of later causes for a burst's: 24 s after
//   one 0.9 s long);
// - detection time = episode start - fault start;
//   failover time  = episode end   - fault start.
// Episodes without a cause (e.g. a member that followed a split brain's
// MOVED) are counted, not timed. Episodes caused by a loss burst are timed
// apart: the host was not lost when the burst began, a run of lost PDUs
// can end it any time during the burst, so those times measure the bursts'
// lengths more than the cluster; the headline figures are for a host that
// crashed, froze or was cut off from the member.
import { percentile } from '../lib/percentile.ts';
import type { LogRecord } from './event-log.ts';
import type { FaultSpan, Timeline } from './timeline.ts';

/** How long after its end a fault still explains an episode, in PDU intervals. */
const AFTERMATH_INTERVALS = 40;

interface Episode {
  member: string;
  channel: string;
  host: string;
  startedAt: number;
  finishedAt?: number;
}

export interface Percentiles {
  count: number;
  p50?: number;
  p99?: number;
  max?: number;
}

export interface FailoverMetrics {
  /** `takeover` lines: a standby (or fallback member) began hosting after a host was lost. */
  takeovers: number;
  /** `failover.finished` lines: a member rejoined a new host. */
  memberFailovers: number;
  splitBrainsResolved: number;
  orphaned: number;
  episodes: number;
  episodesWithoutCause: number;
  /** The host crashed, froze, or was cut off from the member. */
  detectionMs: Percentiles;
  failoverMs: Percentiles;
  /** A loss burst, timed from its start. */
  lossBurst: { detectionMs: Percentiles; failoverMs: Percentiles };
}

export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { count: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] };
}

export class MetricsRecorder {
  private readonly aftermathMs: number;
  private readonly open = new Map<string, Episode>();
  private readonly episodes: Episode[] = [];
  private readonly counts = { takeovers: 0, memberFailovers: 0, splitBrainsResolved: 0, orphaned: 0 };

  constructor(pduIntervalMs: number) {
    this.aftermathMs = AFTERMATH_INTERVALS * pduIntervalMs;
  }

  onRecord(r: LogRecord): void {
    switch (r.event) {
      case 'takeover':
        this.counts.takeovers++;
        return;
      case 'splitbrain.resolved':
        this.counts.splitBrainsResolved++;
        return;
      case 'failover.orphaned':
        this.counts.orphaned++;
        return;
      case 'host.suspected':
      case 'failover.started': {
        const key = `${r.node}\u0000${String(r.channel)}`;
        if (this.open.has(key)) return;
        const episode: Episode = { member: r.node, channel: String(r.channel), host: String(r.host), startedAt: r.vt };
        this.open.set(key, episode);
        this.episodes.push(episode);
        return;
      }
      case 'failover.finished': {
        this.counts.memberFailovers++;
        const key = `${r.node}\u0000${String(r.channel)}`;
        const episode = this.open.get(key);
        if (episode) episode.finishedAt = r.vt;
        this.open.delete(key);
        return;
      }
      case 'sim.crash':
        // A dead member's episodes end with it.
        for (const [key, e] of this.open) if (e.member === r.target) this.open.delete(key);
        return;
    }
  }

  finish(timeline: Timeline): FailoverMetrics {
    const hostLost = { detection: [] as number[], failover: [] as number[] };
    const lossBurst = { detection: [] as number[], failover: [] as number[] };
    let withoutCause = 0;
    for (const e of this.episodes) {
      const cause = causeOf(e, timeline.faults, this.aftermathMs);
      if (!cause) {
        withoutCause++;
        continue;
      }
      const times = cause.kind === 'loss' ? lossBurst : hostLost;
      times.detection.push(e.startedAt - cause.from);
      if (e.finishedAt !== undefined) times.failover.push(e.finishedAt - cause.from);
    }
    return {
      ...this.counts,
      episodes: this.episodes.length,
      episodesWithoutCause: withoutCause,
      detectionMs: percentiles(hostLost.detection),
      failoverMs: percentiles(hostLost.failover),
      lossBurst: { detectionMs: percentiles(lossBurst.detection), failoverMs: percentiles(lossBurst.failover) },
    };
  }
}

function causeOf(e: Episode, faults: readonly FaultSpan[], aftermathMs: number): FaultSpan | undefined {
  let best: FaultSpan | undefined;
  for (const f of faults) {
    if (f.from > e.startedAt || f.to + aftermathMs < e.startedAt) continue;
    if (!explains(f, e)) continue;
    if (!best || f.from > best.from) best = f;
  }
  return best;
}

function explains(f: FaultSpan, e: Episode): boolean {
  switch (f.kind) {
    case 'crash':
    case 'freeze':
      return f.nodes.includes(e.host);
    case 'partition':
    case 'one-way': {
      const [a = [], b = []] = f.groups ?? [];
      return (a.includes(e.host) && b.includes(e.member)) || (b.includes(e.host) && a.includes(e.member));
    }
    case 'loss':
      return true;
  }
}
