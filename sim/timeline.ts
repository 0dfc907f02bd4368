// What happened when, rebuilt from the event log alone: who hosted which
// channel at which epoch, the faults the simulator injected, and the
// protocol's own reactions (takeovers, failovers, split brains). The report
// draws it; the metrics measure detection and failover times against it.
import type { LogRecord } from './event-log.ts';

export interface HostingSpan {
  channel: string;
  host: string;
  epoch: number;
  from: number;
  to: number;
  /** How it began and ended: created/takeover, closed reason or crash. */
  began: 'created' | 'takeover';
  ended: string;
}

export type FaultKind = 'crash' | 'freeze' | 'partition' | 'one-way' | 'loss';

export interface FaultSpan {
  kind: FaultKind;
  from: number;
  /** Crash: the restart (or the end); freeze: the thaw; partition: the heal; loss: its end. */
  to: number;
  /** The node(s) faulted; for a partition, the smaller side. */
  nodes: string[];
  /** Partition: both sides; one-way: [from, to]. */
  groups?: string[][];
  rate?: number;
}

export interface Mark {
  kind: 'takeover' | 'failover' | 'splitbrain' | 'suspected' | 'orphaned' | 'violation';
  vt: number;
  channel?: string;
  node: string;
  text: string;
}

export class Timeline {
  readonly hostings: HostingSpan[] = [];
  readonly faults: FaultSpan[] = [];
  readonly marks: Mark[] = [];
  readonly channels = new Set<string>();
  private readonly openHostings = new Map<string, HostingSpan>();
  private readonly openFaults = new Map<string, FaultSpan>();
  private openCut?: FaultSpan;
  /** Bound on marks kept (failovers of a big run number in the thousands). */
  private readonly marksMax = 20000;
  endMs = 0;

  onRecord(r: LogRecord): void {
    const channel = typeof r.channel === 'string' ? r.channel : undefined;
    switch (r.event) {
      case 'channel.created':
      case 'takeover': {
        if (!channel) return;
        this.channels.add(channel);
        const key = `${r.node}\u0000${channel}`;
        this.closeHosting(key, r.vt, 'replaced');
        const span: HostingSpan = {
          channel,
          host: r.node,
          epoch: Number(r.epoch),
          from: r.vt,
          to: Number.POSITIVE_INFINITY,
          began: r.event === 'takeover' ? 'takeover' : 'created',
          ended: '',
        };
        this.hostings.push(span);
        this.openHostings.set(key, span);
        if (r.event === 'takeover') this.mark({ kind: 'takeover', vt: r.vt, channel, node: r.node, text: `${r.node} takes over ${channel} at epoch ${r.epoch} (was ${r.previousHost})` });
        return;
      }
      case 'channel.closed':
        if (channel) this.closeHosting(`${r.node}\u0000${channel}`, r.vt, String(r.reason));
        return;
      case 'failover.finished':
        this.mark({ kind: 'failover', vt: r.vt, channel, node: r.node, text: `${r.node} failed over to ${r.host}@${r.epoch} in ${r.durationMs} ms` });
        return;
      case 'host.suspected':
        this.mark({ kind: 'suspected', vt: r.vt, channel, node: r.node, text: `${r.node} suspects ${r.host} (${r.via})` });
        return;
      case 'failover.orphaned':
        this.mark({ kind: 'orphaned', vt: r.vt, channel, node: r.node, text: `${r.node} found no host for ${channel}` });
        return;
      case 'splitbrain.resolved':
        this.mark({ kind: 'splitbrain', vt: r.vt, channel, node: r.node, text: `split brain of ${channel}: ${r.loser}@${r.loserEpoch} yields to ${r.winner}@${r.winnerEpoch}` });
        return;
      case 'sim.crash': {
        const target = String(r.target);
        for (const [key, span] of this.openHostings) if (span.host === target) this.closeHosting(key, r.vt, 'crash');
        this.openFault(`crash:${target}`, { kind: 'crash', from: r.vt, to: Number.POSITIVE_INFINITY, nodes: [target] });
        return;
      }
      case 'sim.restart':
        this.closeFault(`crash:${String(r.target)}`, r.vt);
        return;
      case 'sim.freeze':
        this.openFault(`freeze:${String(r.target)}`, { kind: 'freeze', from: r.vt, to: Number.POSITIVE_INFINITY, nodes: [String(r.target)] });
        return;
      case 'sim.thaw':
        this.closeFault(`freeze:${String(r.target)}`, r.vt);
        return;
      case 'sim.partition':
      case 'sim.partition_one_way': {
        if (this.openCut) this.openCut.to = r.vt;
        const groups = r.event === 'sim.partition' ? (r.groups as string[][]) : [r.from as string[], r.to as string[]];
        const smaller = [...groups].sort((a, b) => a.length - b.length)[0] ?? [];
        this.openCut = { kind: r.event === 'sim.partition' ? 'partition' : 'one-way', from: r.vt, to: Number.POSITIVE_INFINITY, nodes: smaller, groups };
        this.faults.push(this.openCut);
        return;
      }
      case 'sim.heal':
        if (this.openCut) this.openCut.to = r.vt;
        this.openCut = undefined;
        return;
      case 'sim.loss_burst':
        this.faults.push({ kind: 'loss', from: r.vt, to: r.vt + Number(r.durationMs), nodes: [], rate: Number(r.rate) });
        return;
    }
  }

  /** Close what is still open at the end of the run. */
  finish(endMs: number): void {
    this.endMs = endMs;
    for (const key of [...this.openHostings.keys()]) this.closeHosting(key, endMs, 'end of run');
    for (const f of this.faults) if (f.to === Number.POSITIVE_INFINITY) f.to = endMs;
  }

  addViolationMark(vt: number, node: string, text: string): void {
    this.mark({ kind: 'violation', vt, node, text });
  }

  private mark(m: Mark): void {
    if (this.marks.length < this.marksMax) this.marks.push(m);
  }

  private closeHosting(key: string, vt: number, reason: string): void {
    const span = this.openHostings.get(key);
    if (!span) return;
    span.to = vt;
    span.ended = reason;
    this.openHostings.delete(key);
  }

  private openFault(key: string, span: FaultSpan): void {
    this.closeFault(key, span.from);
    this.faults.push(span);
    this.openFaults.set(key, span);
  }

  private closeFault(key: string, vt: number): void {
    const span = this.openFaults.get(key);
    if (!span) return;
    span.to = vt;
    this.openFaults.delete(key);
  }
}
