// Invariant (f), failover liveness, while running: a member whose host
// crashes or freezes suspects it within the detection time (docs/protocol.md
// 5.4: the fast path at once, the timer path after 4X of silence), unless
// the host is back (thawed) first or the member's own node stops too.
// Without it, a member that never leaves a frozen host passes every other
// check: the host acknowledges everything at its thaw.
import type { LogRecord, LogSource } from './event-log.ts';
import { formatVt, type Violations } from './violations.ts';

interface Obligation {
  node: string;
  channel: string;
  host: string;
  since: number;
  deadline: number;
  done: boolean;
}

/** A member's lines that end its being with its host. */
const LEAVES = new Set(['host.suspected', 'failover.started', 'member.moved', 'failover.orphaned', 'member.left']);

export class FailoverChecker {
  /** node \0 channel -> the host it joined last (while it is with it). */
  private readonly joined = new Map<string, string>();
  private obligations: Obligation[] = [];
  /** Nodes crashed (until restarted) or frozen (until thawed). */
  private readonly stopped = new Set<string>();
  private readonly boundMs: number;
  checked = 0;

  constructor(
    private readonly violations: Violations,
    /** X, the nodes' liveness timeout (a setting). */
    livenessTimeoutMs: number,
    oneWayMaxMs: number,
  ) {
    // 4X of silence (figure 6), each of the four expiries up to a slot of X/16 late, plus the last copy's way.
    this.boundMs = 4 * livenessTimeoutMs + 5 * (livenessTimeoutMs / 16) + oneWayMaxMs;
  }

  onRecord(record: LogRecord, source: LogSource): void {
    this.due(record.vt);
    const r = record as LogRecord & { target?: string; channel?: string; host?: string };
    if (source.id === 'sim') {
      const target = r.target;
      if (typeof target !== 'string') return;
      if (r.event === 'sim.freeze' || r.event === 'sim.crash') {
        this.stopped.add(target);
        // The target's own memberships stop with it.
        this.discharge((o) => o.node === target);
        if (r.event === 'sim.crash') for (const key of [...this.joined.keys()]) if (key.startsWith(`${target}\0`)) this.joined.delete(key);
        for (const [key, host] of this.joined) if (host === target) this.oblige(key, host, r.vt);
      } else if (r.event === 'sim.exit') {
        // Its user left: it says EXIT and waits for nothing else (leaving).
        this.joined.delete(`${target}\0${String(r.channel)}`);
        this.discharge((o) => o.node === target && o.channel === r.channel);
      } else if (r.event === 'sim.thaw' || r.event === 'sim.restart') {
        this.stopped.delete(target);
        this.discharge((o) => o.host === target);
        // A member that wakes with its host still stopped must suspect it from now on.
        if (r.event === 'sim.thaw') for (const [key, host] of this.joined) if (key.startsWith(`${target}\0`) && this.stopped.has(host)) this.oblige(key, host, r.vt);
      }
      return;
    }
    if (typeof r.channel !== 'string') return;
    const key = `${source.id}\0${r.channel}`;
    if (r.event === 'member.joined' || r.event === 'failover.finished') {
      if (typeof r.host === 'string') this.joined.set(key, r.host);
      this.discharge((o) => o.node === source.id && o.channel === r.channel);
    } else if (r.event !== undefined && LEAVES.has(r.event)) {
      this.joined.delete(key);
      this.discharge((o) => o.node === source.id && o.channel === r.channel);
    }
  }

  private oblige(key: string, host: string, since: number): void {
    const [node, channel] = key.split('\0') as [string, string];
    if (node === host || this.stopped.has(node)) return;
    this.obligations.push({ node, channel, host, since, deadline: since + this.boundMs, done: false });
    this.checked++;
  }

  finish(endMs: number): void {
    this.due(endMs);
  }

  private discharge(which: (o: Obligation) => boolean): void {
    for (const o of this.obligations) if (which(o)) o.done = true;
    this.obligations = this.obligations.filter((o) => !o.done);
  }

  private due(now: number): void {
    for (const o of this.obligations) {
      if (o.done || o.deadline >= now) continue;
      o.done = true;
      this.violations.add({
        invariant: 'liveness',
        kind: 'host-not-suspected',
        vt: o.deadline,
        nodes: [o.node, o.host],
        message: `${o.node} stayed with ${o.host} for ${o.channel} ${this.boundMs.toFixed(0)} ms after ${o.host} stopped at ${formatVt(o.since)} (the detection time is 4X)`,
      });
    }
    this.obligations = this.obligations.filter((o) => !o.done);
  }
}
