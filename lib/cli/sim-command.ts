// `chanmesh sim`: run the deterministic simulator (sim/) once, or a campaign
// of seeds, print what the seed chose, a progress bar on a TTY, a summary
// table, the event log's hash, and for a failing run the one-line command
// that replays it. Exit codes: see sim/violations.ts (0 pass, 127 crash,
// 128 liveness, 129 correctness, 2 usage, 1 internal).
import { randomInt } from 'node:crypto';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { LOG_LEVELS, parseDuration, parseInteger, parsePduInterval, usageExitCode } from './options.ts';
import { MAX_ELECTED_STANDBYS } from '../wire/limits.ts';
import { renderReport } from '../../sim/report.ts';
import { DEFAULTS, defaultMembersPerChannel, defaultSettleMs, deriveSeeds, describeSeeds, runSimulation, type SimOptions } from '../../sim/run.ts';
import { formatDuration, summaryText, verdict } from '../../sim/summary.ts';
import { findScenario, scenarioKnobs, scenarios } from '../../sim/scenarios.ts';
import { ExitCode, formatViolation, worstExitCode } from '../../sim/violations.ts';

interface RawOptions {
  nodes?: number;
  channels?: number;
  private?: number;
  duration?: number;
  faults: string;
  seed?: number;
  seeds?: number[];
  report?: string;
  log?: string;
  pduInterval: number;
  rate?: number;
  churn?: number;
  invites?: number;
  members?: number;
  settle?: number;
  faultGap?: number;
  history?: number;
  standbys?: number;
  splitChunks?: boolean;
  logLevel: string;
  listScenarios?: boolean;
  verbose?: boolean;
  progress: boolean;
}

function parseNumber(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number in [${min}, ${max}], got "${value}"`);
    return n;
  };
}

/** "1..200", "3,7,42" or "5" -> seeds. */
export function parseSeeds(value: string): number[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(value);
  if (range) {
    const from = Number(range[1]);
    const to = Number(range[2]);
    if (to < from || to - from >= 100_000) throw new InvalidArgumentError(`bad seed range ${value}`);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  }
  if (/^\d+(,\d+)*$/.test(value)) return value.split(',').map(Number);
  throw new InvalidArgumentError(`expected seeds like 1..200 or 3,7,42, got "${value}"`);
}

function program(): Command {
  return new Command('chanmesh sim')
    .description(
      'Run real chanmesh nodes in one process on a virtual clock and a simulated network, inject faults,\n' +
        'check the invariants (docs/simulator.md). The same seed and options replay the same run byte for byte.',
    )
    .option('--nodes <n>', `cluster size (default ${DEFAULTS.nodes}, or the scenario's)`, parseInteger(1, 5000))
    .option('--channels <n>', `channels #c0.. (default ${DEFAULTS.channels}, or the scenario's)`, parseInteger(0, 1000))
    .option('--private <n>', 'how many of the channels are private, @c.. (the last ones; default 0)', parseInteger(0, 1000))
    .option('--duration <d>', 'virtual time to simulate, e.g. 90s, 10m (default 2m, or the scenario\'s)', parseDuration)
    .option('--faults <kind>', 'random | none | a scenario name (--list-scenarios)', DEFAULTS.faults)
    .option('--seed <n>', 'the seed (default: a random one, printed)', parseInteger(0, 2 ** 32 - 1))
    .option('--seeds <list>', 'a campaign: 1..200 or 3,7,42; lists the failing seeds with replay commands', parseSeeds)
    .option('--report <file>', 'write a self-contained HTML report with a timeline of the run')
    .option('--log <file>', 'write the event log (JSON lines, the bytes that are hashed)')
    .option('--pdu-interval <ms>', 'the nodes\' PDU interval (10 ms to 1 h)', parsePduInterval, DEFAULTS.pduIntervalMs)
    .option('--rate <n>', `SAYs per virtual second over the cluster (default ${DEFAULTS.chatPerSecond}, or the scenario's)`, parseNumber(0, 100_000))
    .option('--churn <n>', `joins + exits per virtual second over the cluster (default ${DEFAULTS.churnPerSecond}, or the scenario's)`, parseNumber(0, 10_000))
    .option('--invites <n>', 'INVITEs per virtual second over the cluster (default 0)', parseNumber(0, 10_000))
    .option('--members <n>', 'members each channel starts with (default max(4, nodes/4))', parseInteger(1, 5000))
    .option('--settle <d>', 'quiet time at the end (no faults, no users) in which the cluster must converge (default 10s, or 40 PDU intervals if longer)', parseDuration)
    .option('--fault-gap <d>', 'mean time between random faults (default: drawn from the seed, 2-12 s)', parseDuration)
    .option('--history <n>', "the nodes' --history (default: the scenario's, else theirs, 100 per 250 ms of PDU interval)", parseInteger(0, 100_000))
    .option('--standbys <k>', "the nodes' --standbys (default: the scenario's, else theirs, 2); 0 sends every failover to the lowest-id member", parseInteger(0, MAX_ELECTED_STANDBYS))
    .option('--split-chunks', 'cut every stream write at random points (the frame decoders and member machines see every chunking)')
    .addOption(new Option('--log-level <level>', 'the nodes\' log level in the event log').choices(LOG_LEVELS).default('info'))
    .option('--list-scenarios', 'list the named scenarios and exit')
    .option('--verbose', 'print the whole fault plan')
    .option('--no-progress', 'no progress bar, even on a TTY')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
}

function optionsFor(raw: RawOptions, seed: number): SimOptions {
  const scenario = raw.faults === 'random' || raw.faults === 'none' ? undefined : findScenario(raw.faults);
  if (raw.faults !== 'random' && raw.faults !== 'none' && !scenario) {
    throw new InvalidArgumentError(`unknown --faults "${raw.faults}": random, none, or one of ${scenarios.map((s) => s.name).join(', ')}`);
  }
  const knobs = scenario ? scenarioKnobs(scenario) : {};
  const nodes = raw.nodes ?? knobs.nodes ?? DEFAULTS.nodes;
  const channels = raw.channels ?? knobs.channels ?? DEFAULTS.channels;
  // The scenarios act on #c0, and the private channels are the last ones:
  // all of them private, every step was skipped and the run passed, having
  // tested nothing.
  if (scenario && (raw.private ?? 0) >= channels) {
    throw new InvalidArgumentError(`scenario ${scenario.name} acts on #c0: --private must leave it public (at most ${channels - 1} of ${channels} channels)`);
  }
  return {
    seed,
    nodes,
    channels,
    privateChannels: raw.private,
    durationMs: raw.duration ?? knobs.durationMs ?? DEFAULTS.durationMs,
    faults: raw.faults,
    pduIntervalMs: raw.pduInterval,
    chatPerSecond: raw.rate ?? knobs.chatPerSecond ?? DEFAULTS.chatPerSecond,
    churnPerSecond: raw.churn ?? knobs.churnPerSecond ?? DEFAULTS.churnPerSecond,
    ...(raw.invites ? { invitesPerSecond: raw.invites } : {}),
    membersPerChannel: raw.members ?? defaultMembersPerChannel(nodes, scenario),
    settleMs: raw.settle ?? defaultSettleMs(raw.pduInterval),
    faultGapMs: raw.faultGap ?? 0,
    keepLog: raw.report !== undefined || raw.log !== undefined,
    logLevel: raw.logLevel === 'info' ? undefined : raw.logLevel,
    historyLimit: raw.history ?? knobs.historyLimit,
    standbys: raw.standbys ?? knobs.standbys,
    splitChunks: raw.splitChunks,
  };
}

/** Every option that shapes the run, spelled out, so that a default changing later still replays it. */
export function replayCommand(o: SimOptions): string {
  const args = [
    `--seed ${o.seed}`,
    `--nodes ${o.nodes}`,
    `--channels ${o.channels}`,
    `--duration ${formatDuration(o.durationMs)}`,
    `--faults ${o.faults}`,
    `--pdu-interval ${o.pduIntervalMs}`,
    `--rate ${o.chatPerSecond}`,
    `--churn ${o.churnPerSecond}`,
    `--members ${o.membersPerChannel}`,
    `--settle ${formatDuration(o.settleMs)}`,
  ];
  if (o.faultGapMs > 0) args.push(`--fault-gap ${formatDuration(o.faultGapMs)}`);
  if (o.logLevel) args.push(`--log-level ${o.logLevel}`);
  if (o.historyLimit !== undefined) args.push(`--history ${o.historyLimit}`);
  if (o.standbys !== undefined) args.push(`--standbys ${o.standbys}`);
  if (o.privateChannels) args.push(`--private ${o.privateChannels}`);
  if (o.splitChunks) args.push('--split-chunks');
  if (o.invitesPerSecond) args.push(`--invites ${o.invitesPerSecond}`);
  return `node bin/chanmesh.js sim ${args.join(' ')}`;
}

class ProgressBar {
  private lastDraw = 0;
  private readonly started = performance.now();

  constructor(private readonly enabled: boolean) {}

  update(nowMs: number, endMs: number): void {
    if (!this.enabled) return;
    const wall = performance.now();
    if (wall - this.lastDraw < 100 && nowMs < endMs) return;
    this.lastDraw = wall;
    const width = 30;
    const done = Math.round((nowMs / endMs) * width);
    const bar = '#'.repeat(done) + '.'.repeat(width - done);
    const pct = Math.floor((nowMs / endMs) * 100);
    process.stderr.write(`\r  [${bar}] ${String(pct).padStart(3)}%  t=${(nowMs / 1000).toFixed(0)}s/${(endMs / 1000).toFixed(0)}s  wall ${((wall - this.started) / 1000).toFixed(1)}s `);
  }

  clear(): void {
    if (this.enabled) process.stderr.write('\r\x1b[2K');
  }
}

async function single(raw: RawOptions, options: SimOptions): Promise<number> {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out(describeSeeds(deriveSeeds(options.seed, options.faultGapMs)));
  const bar = new ProgressBar(raw.progress && process.stderr.isTTY === true);
  const result = await runSimulation({ ...options, onProgress: (now, end) => bar.update(now, end) });
  bar.clear();
  const kinds = new Map<string, number>();
  for (const line of result.plan) {
    const kind = /^\S+ (\S+)/.exec(line)?.[1] ?? '?';
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  out(`plan: ${result.plan.length} fault steps${kinds.size > 0 ? ` (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')})` : ''}${raw.verbose ? '' : result.plan.length > 0 ? '; --verbose lists them' : ''}`);
  if (raw.verbose) for (const line of result.plan) out(`  ${line}`);
  out();
  out(summaryText(result));
  out();
  out(`event log sha256: ${result.hash}`);
  if (result.lostReasons.length > 0) {
    out(`lost messages (every holder gone):`);
    for (const reason of result.lostReasons.slice(0, 10)) out(`  ${reason}`);
  }
  if (result.violations.length > 0) {
    out(`violations (${result.violations.length + result.violationsDropped}):`);
    for (const v of result.violations.slice(0, 20)) out(`  ${formatViolation(v).split('\n')[0]}`);
    if (result.violations.length > 20) out(`  ... ${result.violations.length - 20} more (in the report)`);
  }
  if (raw.log) {
    writeLines(raw.log, result.logLines!);
    out(`event log written to ${raw.log}`);
  }
  if (raw.report) {
    writeFileSync(raw.report, renderReport(result, replayCommand(options)));
    out(`report written to ${raw.report}`);
  }
  out(`result: ${verdict(result.exitCode)}`);
  if (result.exitCode !== ExitCode.pass) out(`replay: ${replayCommand(options)}`);
  return result.exitCode;
}

/** The lines in batches: an hour of 100 nodes is more than one string can hold (V8: 2^29 characters). */
function writeLines(file: string, lines: readonly string[]): void {
  const fd = openSync(file, 'w');
  try {
    for (let i = 0; i < lines.length; i += 10_000) writeSync(fd, lines.slice(i, i + 10_000).join(''));
  } finally {
    closeSync(fd);
  }
}

async function campaign(raw: RawOptions, seeds: number[]): Promise<number> {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const started = performance.now();
  const failing: Array<{ seed: number; code: number; replay: string; first: string }> = [];
  const codes: number[] = [];
  const first = optionsFor(raw, seeds[0]!);
  out(`campaign: ${seeds.length} seeds, nodes ${first.nodes}, channels ${first.channels}${first.privateChannels ? ` (${first.privateChannels} private)` : ''}, ${formatDuration(first.durationMs)} each, faults ${first.faults}`);
  for (const seed of seeds) {
    const options = { ...optionsFor(raw, seed), keepLog: false };
    const result = await runSimulation(options);
    codes.push(result.exitCode);
    const status = result.exitCode === ExitCode.pass ? 'pass' : `FAIL ${result.exitCode}`;
    out(
      `  seed ${String(seed).padEnd(6)} ${status.padEnd(8)} ${result.hash.slice(0, 12)}  ${String(result.violations.length).padStart(3)} violations  ` +
        `${result.metrics.takeovers} takeovers  ${result.delivery.acknowledged} acked  ${(result.wallMs / 1000).toFixed(1)} s`,
    );
    if (result.exitCode !== ExitCode.pass) {
      failing.push({ seed, code: result.exitCode, replay: replayCommand(options), first: result.violations[0] ? formatViolation(result.violations[0]).split('\n')[0]! : '' });
    }
  }
  out();
  out(`${seeds.length} seeds in ${((performance.now() - started) / 1000).toFixed(1)} s: ${seeds.length - failing.length} passed, ${failing.length} failed`);
  for (const f of failing) {
    out(`  seed ${f.seed} (exit ${f.code}): ${f.first}`);
    out(`    replay: ${f.replay}`);
  }
  return worstExitCode(codes);
}

export async function runSimCommand(args: string[]): Promise<number> {
  const cmd = program();
  let raw: RawOptions;
  try {
    cmd.parse(args, { from: 'user' });
    raw = cmd.opts<RawOptions>();
  } catch (error) {
    if (error instanceof CommanderError) return usageExitCode(error);
    throw error;
  }
  if (raw.listScenarios) {
    for (const s of scenarios) process.stdout.write(`${s.name.padEnd(24)} ${s.nodes} nodes, ${formatDuration(s.durationMs)}: ${s.description}\n`);
    return 0;
  }
  try {
    if (raw.seeds) {
      if (raw.report || raw.log) process.stderr.write('--report and --log apply to single runs; replay a seed to get them\n');
      return await campaign(raw, raw.seeds);
    }
    const options = optionsFor(raw, raw.seed ?? randomInt(0, 2 ** 31));
    if (!(options.durationMs > options.settleMs)) throw new InvalidArgumentError('--duration must be longer than --settle');
    return await single(raw, options);
  } catch (error) {
    if (error instanceof InvalidArgumentError || (error instanceof Error && /^(unknown faults|scenario|--duration)/.test(error.message))) {
      process.stderr.write(`chanmesh sim: ${error.message}\n`);
      return ExitCode.usage;
    }
    process.stderr.write(`chanmesh sim: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return ExitCode.internal;
  }
}
