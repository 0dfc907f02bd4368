// A self-contained HTML page about one run: the verdict, the summary, an
// inline SVG timeline (who hosted each channel when, faults, failovers,
// split brains, violations), the fault plan and the violations. No scripts,
// no external assets: it opens from a file, an e-mail or a CI artifact.
import type { SimResult } from './run.ts';
import { summaryRows, verdict } from './summary.ts';
import type { FaultSpan, HostingSpan, Mark } from './timeline.ts';
import { ExitCode, formatVt, formatViolation } from './violations.ts';

const LEFT = 120;
const RIGHT = 20;
const WIDTH = 1360;
const ROW = 18;
const LANE_GAP = 10;
const AXIS = 28;

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A stable, well-spread color per host id. */
function colorOf(id: string): string {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  const hue = (h >>> 0) % 360;
  return `hsl(${hue} 65% 55%)`;
}

/** Greedy interval packing: the sub-row of each span, so overlapping hostings (split brains) stack. */
function pack<T extends { from: number; to: number }>(spans: readonly T[]): Array<{ span: T; row: number }> {
  const rowsEnd: number[] = [];
  return [...spans]
    .sort((a, b) => a.from - b.from || a.to - b.to)
    .map((span) => {
      let row = rowsEnd.findIndex((end) => end <= span.from);
      if (row < 0) row = rowsEnd.length;
      rowsEnd[row] = span.to;
      return { span, row };
    });
}

function niceStep(totalMs: number): number {
  const target = totalMs / 12;
  for (const step of [100, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000]) {
    if (step >= target) return step;
  }
  return 3_600_000;
}

export function renderTimeline(result: SimResult): string {
  const t = result.timeline;
  const end = Math.max(1, t.endMs);
  const x = (vt: number) => LEFT + (Math.min(Math.max(vt, 0), end) / end) * (WIDTH - LEFT - RIGHT);
  const parts: string[] = [];
  let y = AXIS;

  const lane = (label: string, rows: number, draw: (top: number) => void, title?: string): void => {
    const height = Math.max(1, rows) * ROW;
    parts.push(`<rect x="${LEFT}" y="${y}" width="${WIDTH - LEFT - RIGHT}" height="${height}" class="lane"/>`);
    parts.push(`<text x="${LEFT - 8}" y="${y + Math.min(height, ROW) / 2 + 4}" class="label" text-anchor="end">${escape(label)}${title ? `<title>${escape(title)}</title>` : ''}</text>`);
    draw(y);
    y += height + LANE_GAP;
  };

  // Faults: one lane per kind.
  const byKind = (kind: FaultSpan['kind'] | 'cut') => t.faults.filter((f) => (kind === 'cut' ? f.kind === 'partition' || f.kind === 'one-way' : f.kind === kind));
  const faultLane = (label: string, spans: FaultSpan[], cls: string, text: (f: FaultSpan) => string) => {
    const packed = pack(spans);
    const rows = Math.max(1, ...packed.map((p) => p.row + 1));
    lane(label, rows, (top) => {
      for (const { span: f, row } of packed) {
        const x0 = x(f.from);
        const w = Math.max(2, x(f.to) - x0);
        const label = text(f);
        parts.push(
          `<rect x="${x0}" y="${top + row * ROW + 2}" width="${w}" height="${ROW - 4}" class="${cls}"><title>${escape(`${label}: ${formatVt(f.from)} - ${formatVt(f.to)}`)}</title></rect>`,
        );
        if (w > label.length * 6.2) parts.push(`<text x="${x0 + 3}" y="${top + row * ROW + 13}" class="inbar">${escape(label)}</text>`);
      }
    });
  };
  faultLane('crashed', byKind('crash'), 'crash', (f) => `${f.nodes.join(',')} down`);
  faultLane('frozen', byKind('freeze'), 'freeze', (f) => `${f.nodes.join(',')} frozen`);
  faultLane('partitions', byKind('cut'), 'cut', (f) => `${f.kind === 'one-way' ? 'one-way from' : 'cut off'} ${f.nodes.join(',')}`);
  faultLane('loss bursts', byKind('loss'), 'loss', (f) => `loss ${Math.round((f.rate ?? 0) * 100)}%`);

  // Channels: hostings per host/epoch, stacked when they overlap.
  const hosts = new Set<string>();
  const marksOf = (channel: string, kinds: Mark['kind'][]) => t.marks.filter((m) => m.channel === channel && kinds.includes(m.kind));
  for (const channel of [...t.channels].sort()) {
    const spans = t.hostings.filter((h) => h.channel === channel);
    const packed = pack<HostingSpan>(spans);
    const rows = Math.max(1, ...packed.map((p) => p.row + 1));
    const failovers = marksOf(channel, ['failover']);
    lane(channel, rows + 1, (top) => {
      for (const { span: h, row } of packed) {
        hosts.add(h.host);
        const x0 = x(h.from);
        const w = Math.max(1.5, x(h.to) - x0);
        const label = `${h.host} e${h.epoch}`;
        parts.push(
          `<rect x="${x0}" y="${top + row * ROW + 2}" width="${w}" height="${ROW - 4}" fill="${colorOf(h.host)}" class="hosting"><title>${escape(
            `${channel} hosted by ${h.host} at epoch ${h.epoch}: ${formatVt(h.from)} (${h.began}) - ${formatVt(h.to)} (${h.ended})`,
          )}</title></rect>`,
        );
        if (w > label.length * 6.2 + 4) parts.push(`<text x="${x0 + 3}" y="${top + row * ROW + 13}" class="inbar">${escape(label)}</text>`);
        if (h.began === 'takeover') parts.push(`<path d="M${x0} ${top + row * ROW + 1} l-4 -5 h8 z" class="takeover"><title>${escape(`takeover by ${h.host} (epoch ${h.epoch}) at ${formatVt(h.from)}`)}</title></path>`);
      }
      // Member failovers: ticks on the bottom row.
      const tickY = top + rows * ROW;
      for (const m of failovers) parts.push(`<line x1="${x(m.vt)}" x2="${x(m.vt)}" y1="${tickY + 3}" y2="${tickY + ROW - 3}" class="failover"><title>${escape(`${formatVt(m.vt)} ${m.text}`)}</title></line>`);
      for (const m of marksOf(channel, ['splitbrain'])) {
        const cx = x(m.vt);
        const cy = tickY + ROW / 2;
        parts.push(`<path d="M${cx} ${cy - 5} l5 5 l-5 5 l-5 -5 z" class="splitbrain"><title>${escape(`${formatVt(m.vt)} ${m.text}`)}</title></path>`);
      }
    }, `${spans.length} hostings, ${failovers.length} member failovers`);
  }

  // Violations.
  const violations = t.marks.filter((m) => m.kind === 'violation');
  lane('violations', 1, (top) => {
    for (const m of violations) parts.push(`<circle cx="${x(m.vt)}" cy="${top + ROW / 2}" r="4" class="violation"><title>${escape(m.text)}</title></circle>`);
  });

  // Crash lines across everything.
  for (const f of t.faults.filter((f) => f.kind === 'crash')) {
    parts.push(`<line x1="${x(f.from)}" x2="${x(f.from)}" y1="${AXIS}" y2="${y}" class="crashline"><title>${escape(`${formatVt(f.from)} crash of ${f.nodes.join(',')}`)}</title></line>`);
  }

  // Axis.
  const step = niceStep(end);
  const axis: string[] = [`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${AXIS - 6}" y2="${AXIS - 6}" class="axis"/>`];
  for (let vt = 0; vt <= end; vt += step) {
    axis.push(`<line x1="${x(vt)}" x2="${x(vt)}" y1="${AXIS - 10}" y2="${y}" class="tick"/>`);
    axis.push(`<text x="${x(vt)}" y="${AXIS - 12}" class="ticklabel" text-anchor="middle">${vt >= 60_000 && step % 60_000 === 0 ? `${vt / 60_000}m` : `${vt / 1000}s`}</text>`);
  }

  const legend = [...hosts]
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((h) => `<span class="swatch" style="background:${colorOf(h)}"></span>${escape(h)}`)
    .join(' ');
  const height = y + 4;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="timeline">` +
    `<style>
      .lane{fill:#f6f7f9;stroke:#e1e4e8}
      .label{font:12px system-ui,sans-serif;fill:#24292f}
      .inbar{font:10px system-ui,sans-serif;fill:#fff;pointer-events:none}
      .hosting{stroke:#fff;stroke-width:0.5}
      .crash{fill:#cf222e}
      .freeze{fill:#0969da}
      .cut{fill:#bc4c00}
      .loss{fill:#8c959f}
      .takeover{fill:#24292f}
      .failover{stroke:#57606a;stroke-width:1}
      .splitbrain{fill:#8250df}
      .violation{fill:#cf222e;stroke:#fff}
      .crashline{stroke:#cf222e;stroke-width:0.8;stroke-dasharray:3 3;opacity:0.6}
      .axis{stroke:#57606a}
      .tick{stroke:#d0d7de;stroke-width:0.5}
      .ticklabel{font:10px system-ui,sans-serif;fill:#57606a}
    </style>` +
    axis.join('') +
    parts.join('') +
    `</svg><p class="legend">hosts: ${legend}</p>`
  );
}

export function renderReport(result: SimResult, replay: string): string {
  const pass = result.exitCode === ExitCode.pass;
  const rows = summaryRows(result)
    .map(([k, v]) => `<tr><th>${escape(k)}</th><td>${escape(v)}</td></tr>`)
    .join('');
  const violations = result.violations.length
    ? `<ol>${result.violations.map((v) => `<li><pre>${escape(formatViolation(v))}</pre></li>`).join('')}</ol>`
    : '<p>none</p>';
  const plan = result.plan.length ? `<ol>${result.plan.map((p) => `<li><code>${escape(p)}</code></li>`).join('')}</ol>` : '<p>no faults</p>';
  const lost = result.lostReasons.length ? `<ul>${result.lostReasons.map((r) => `<li>${escape(r)}</li>`).join('')}</ul>` : '<p>none</p>';
  const s = result.seeds;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>chanmesh sim, seed ${s.seed}: ${pass ? 'pass' : 'FAIL'}</title>
<style>
  body{font:14px system-ui,sans-serif;margin:24px;color:#24292f;max-width:1400px}
  h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px}
  .verdict{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;background:${pass ? '#1a7f37' : '#cf222e'};font-weight:600}
  code,pre{font:12px ui-monospace,monospace} pre{white-space:pre-wrap;margin:0}
  table{border-collapse:collapse} th{text-align:left;padding:3px 12px 3px 0;vertical-align:top;white-space:nowrap} td{padding:3px 0}
  .legend{font-size:12px} .swatch{display:inline-block;width:10px;height:10px;margin:0 3px 0 10px;border-radius:2px}
  .key span{margin-right:14px} .muted{color:#57606a}
</style></head><body>
<h1>chanmesh simulator run <span class="verdict">${escape(verdict(result.exitCode))}</span></h1>
<p class="muted"><code>SEED=${s.seed} cluster=${s.clusterSeed} workload=${s.workloadSeed} faults=${s.faultSeed}</code> &middot; link latency ${s.link.latencyMsMin}/${s.link.latencyMsMean}/${s.link.latencyMsMax} ms, loss ${s.link.lossRate}, duplication ${s.link.duplicateRate}, reordering ${s.link.reorderRate}</p>
<p>replay: <code>${escape(replay)}</code><br>event log sha256: <code>${result.hash}</code></p>
<h2>Summary</h2><table>${rows}</table>
<h2>Timeline</h2>
<p class="key muted"><span>colored bars: who hosts the channel (host, epoch); stacked bars = two hosts at once (split brain)</span><span>&#9660; takeover</span><span>| member failover</span><span>&#9670; split brain resolved</span><span>red: crash, blue: freeze, orange: partition, grey: loss burst</span><span>hover for details</span></p>
${renderTimeline(result)}
<h2>Violations</h2>${violations}
<h2>Lost messages</h2>${lost}
<h2>Fault plan</h2>${plan}
</body></html>
`;
}
