// The figures of one run, as rows: printed as a table by `chanmesh sim`
// and drawn as an HTML table by the report.
import type { SimResult } from './run.ts';
import type { Percentiles } from './metrics.ts';
import { ExitCode } from './violations.ts';

export function formatDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export function verdict(code: number): string {
  switch (code) {
    case ExitCode.pass:
      return 'PASS';
    case ExitCode.crash:
      return 'CRASH (exit 127: an exception escaped a node or the simulated world)';
    case ExitCode.liveness:
      return 'LIVENESS FAILURE (exit 128: no convergence after healing, or figure 6 broken)';
    case ExitCode.correctness:
      return 'CORRECTNESS FAILURE (exit 129: an acknowledged message lost, duplicated or reordered)';
    default:
      return `exit ${code}`;
  }
}

function ms(value: number | undefined): string {
  return value === undefined ? '-' : `${Math.round(value)} ms`;
}

function timing(p: Percentiles): string {
  return `p50 ${ms(p.p50)}, p99 ${ms(p.p99)}, max ${ms(p.max)}`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

export function summaryRows(r: SimResult): Array<[string, string]> {
  const o = r.options;
  const m = r.metrics;
  const d = r.delivery;
  const inv = { hosting: 0, delivery: 0, liveness: 0, crash: 0 };
  for (const v of r.violations) inv[v.invariant]++;
  const pduPerWallSecond = r.network.datagramsDelivered / Math.max(0.001, r.wallMs / 1000);
  return [
    ['run', `nodes ${o.nodes}, channels ${o.channels}${o.privateChannels ? ` (${o.privateChannels} private)` : ''}, ${formatDuration(o.durationMs)} virtual, faults ${o.faults}, pdu interval ${o.pduIntervalMs} ms, seed ${o.seed}`],
    ['wall time', `${(r.wallMs / 1000).toFixed(1)} s (${(r.endMs / Math.max(1, r.wallMs)).toFixed(1)}x real time)${r.aborted ? ' - ABORTED at the first crash' : ''}`],
    ['failovers', `${m.takeovers} takeovers, ${m.memberFailovers} member failovers, ${m.splitBrainsResolved} split brains resolved, ${m.orphaned} orphaned`],
    ['detection time', `${timing(m.detectionMs)} (host crashed, frozen or cut off -> member suspects it; ${m.detectionMs.count} episodes)`],
    ['failover time', `${timing(m.failoverMs)} (host crashed, frozen or cut off -> member joined a new host; ${m.failoverMs.count} episodes)`],
    ['in loss bursts', `detection ${timing(m.lossBurst.detectionMs)}, failover ${timing(m.lossBurst.failoverMs)} (from the burst's start; ${m.lossBurst.detectionMs.count} episodes; ${m.episodesWithoutCause} more without an injected cause)`],
    ['messages', `sent ${count(d.sent)}, acknowledged ${count(d.acknowledged)}, delivered ${count(d.delivered)}, duplicated ${count(d.duplicated)}, lost ${count(d.lost)}`],
    ['delivery check', `required ${count(d.required)}, missing ${count(d.missing)}, unacknowledged ${count(d.unacknowledged)}, excused ${count(d.excused)} (disturbed beyond the histories), repaired late ${count(d.lateRepairs)}, merged late ${count(d.mergedLate)}, by LATE ${count(d.byLate)}`],
    ['network', `${count(r.network.datagramsDelivered)} PDU deliveries (${count(Math.round(pduPerWallSecond))} per wall second), ${count(r.network.connectionsOpened)} connections, ${count(r.network.streamBytesDelivered)} stream bytes${r.network.streamWritesCut > 0 ? `, ${count(r.network.streamWritesCut)} writes cut (--split-chunks)` : ''}`],
    ['event log', `${count(r.events.lines)} lines, ${count(r.events.bytes)} bytes, ${count(r.events.eventsRun)} scheduler events`],
    ['invariants', `hosting ${inv.hosting}, delivery ${inv.delivery}, liveness ${inv.liveness}, crash ${inv.crash}${r.violationsDropped > 0 ? ` (+${r.violationsDropped} not kept)` : ''}`],
  ];
}

export function summaryText(r: SimResult): string {
  const rows = summaryRows(r);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}
