// Summarise a V8 .cpuprofile (node --cpu-prof): where a process spent its
// time, by function (self and inclusive) and by area of the code base.
// Usage as a script: node --import=tsx bench/lib/profile.ts <file.cpuprofile>
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Time not idle. */
  busyMs: number;
  areas: Array<{ area: string; ms: number; percentOfBusy: number }>;
  selfTop: Array<{ fn: string; ms: number; percentOfBusy: number }>;
  inclusiveTop: Array<{ fn: string; ms: number; percentOfBusy: number }>;
  /** Inclusive time of the functions named in KEY_FUNCTIONS (all call sites together). */
  keyFunctions: Array<{ fn: string; ms: number; percentOfBusy: number }>;
}

/**
 * The fan-out path of a host, outermost first: socket read, decode, the
 * channel-host machine (XState transition, the machine's own helpers), the
 * fan-out (ChannelServer.send -> ConnectionWriter), the write syscalls, GC.
 * Keys are `name` or `name@file` (the file's last path part).
 */
export const KEY_FUNCTIONS = [
  'onStreamRead',
  'push@frame.ts',
  'decodeClientCommand',
  'onHostCommand',
  'transition@StateMachine',
  'fanOutOrder',
  'appendBounded',
  'add@history.ts',
  'onHost',
  'send@channel-server.ts',
  'encodeServerCommand',
  'write@connection-writer.ts',
  'flush@connection-writer.ts',
  'sameConcat',
  'writeBuffer',
  'writevGeneric',
  '(garbage collector)',
];

function keyOf(f: CallFrame): string[] {
  const file = f.url.split('/').pop() ?? '';
  const base = file.replace(/-[0-9a-f]{8}\.cjs\.js$|\.js$/, '');
  return [f.functionName, `${f.functionName}@${file}`, `${f.functionName}@${base}`];
}

function shortUrl(url: string): string {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const m = /\/(lib|machines|bin|sim|test|bench)\/.*$/.exec(url);
  if (m) return m[0].slice(1);
  return url.replace(/^file:\/\//, '');
}

function label(f: CallFrame): string {
  const name = f.functionName || '(anonymous)';
  const url = shortUrl(f.url);
  return url ? `${name} ${url}:${f.lineNumber + 1}` : name;
}

/** The area a function belongs to: our code by directory, dependencies by package, Node internals. */
function area(f: CallFrame): string {
  const url = f.url;
  if (!url) {
    if (f.functionName === '(idle)') return '(idle)';
    if (f.functionName === '(garbage collector)') return 'GC';
    if (f.functionName === '(program)') return '(program: native, not attributed)';
    return `native: ${f.functionName || '?'}`;
  }
  if (url.startsWith('node:')) {
    if (/node:(net|stream|internal\/(stream|net|streams))/.test(url) || url.includes('stream_base') || url.includes('internal/streams')) return 'node: net/streams';
    if (url.includes('buffer')) return 'node: buffer';
    if (url.includes('timers') || url.includes('task_queues') || url.includes('process/task')) return 'node: timers/microtasks';
    return 'node: other';
  }
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return `dep: ${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const m = /\/(lib\/[a-z-]+|machines|bin)\//.exec(url);
  if (m) return m[1]!;
  return shortUrl(url);
}

/**
 * `window` (µs on the profile's clock, which on Linux is CLOCK_MONOTONIC like
 * process.hrtime) restricts the summary to samples taken inside it, e.g. to
 * the benchmark run without the process's start-up.
 */
export function summarizeProfile(profile: CpuProfile, top = 15, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  const keys = new Map<string, number>();
  const wanted = new Set(KEY_FUNCTIONS);
  let total = 0;
  let idle = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    const ms = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
    total += ms;
    const leaf = byId.get(profile.samples[i]!)!;
    if (leaf.callFrame.functionName === '(idle)') {
      idle += ms;
      continue;
    }
    const leafLabel = label(leaf.callFrame);
    self.set(leafLabel, (self.get(leafLabel) ?? 0) + ms);
    const a = area(leaf.callFrame);
    areas.set(a, (areas.get(a) ?? 0) + ms);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      for (const k of keyOf(frame)) {
        if (!wanted.has(k) || seen.has(`key:${k}`)) continue;
        seen.add(`key:${k}`);
        keys.set(k, (keys.get(k) ?? 0) + ms);
      }
      const l = label(frame);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + ms);
    }
  }
  const busy = total - idle;
  const pct = (ms: number) => Math.round((1000 * ms) / busy) / 10;
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return {
    totalMs: Math.round(total),
    busyMs: Math.round(busy),
    areas: sorted(areas).map(([a, ms]) => ({ area: a, ms: Math.round(ms), percentOfBusy: pct(ms) })),
    selfTop: sorted(self)
      .slice(0, top)
      .map(([fn, ms]) => ({ fn, ms: Math.round(ms), percentOfBusy: pct(ms) })),
    keyFunctions: KEY_FUNCTIONS.filter((k) => keys.has(k)).map((fn) => ({ fn, ms: Math.round(keys.get(fn)!), percentOfBusy: pct(keys.get(fn)!) })),
    inclusiveTop: sorted(inclusive)
      .filter(([fn]) => !/^\((root|program)\)|^\(anonymous\)$/.test(fn))
      .slice(0, top * 2)
      .map(([fn, ms]) => ({ fn, ms: Math.round(ms), percentOfBusy: pct(ms) })),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const lines = [`host CPU profile: ${s.busyMs} ms busy of ${s.totalMs} ms profiled`, '  by area (self time):'];
  for (const a of s.areas.slice(0, 14)) lines.push(`    ${String(a.percentOfBusy).padStart(5)}%  ${a.area}`);
  lines.push('  top functions (self time):');
  for (const f of s.selfTop) lines.push(`    ${String(f.percentOfBusy).padStart(5)}%  ${f.fn}`);
  lines.push('  the fan-out path (inclusive time, outermost first):');
  for (const f of s.keyFunctions) lines.push(`    ${String(f.percentOfBusy).padStart(5)}%  ${String(f.ms).padStart(6)} ms  ${f.fn}`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node --import=tsx bench/lib/profile.ts <file.cpuprofile>');
    process.exit(2);
  }
  console.log(formatProfile(summarizeProfile(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile, 25)));
}
