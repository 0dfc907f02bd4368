// One simulated run: a seed and options in, a verdict out.
//
//   seed -> SeededRandom -> sub-seeds (cluster, workload, faults) + link
//   parameters + fault pacing, all printed beside SEED= (VOPR habit)
//   -> SimCluster of real nodes, Workload, fault plan (random or scenario)
//   -> run the timeline in chunks (checkers fed from the event log)
//   -> at quietAt: heal every cut, thaw every frozen node, users stop
//   -> settle -> end: hosting check, delivery judgement, metrics, hash.
import { resolveConfig, type NodeConfig } from '../lib/node/config.ts';
import { detectionTimeMs } from '../machines/peer-liveness.ts';
import { SeededRandom } from '../lib/random.ts';
import { DeliveryChecker, type DeliveryStats } from './check-delivery.ts';
import { checkHosting, type HostingSnapshot } from './check-hosting.ts';
import { RulesChecker } from './check-rules.ts';
import { FailoverChecker } from './check-failover.ts';
import { LivenessChecker } from './check-liveness.ts';
import { SimCluster } from './cluster.ts';
import { EventLog } from './event-log.ts';
import { describeSteps, installSteps, randomPlan, toMs, type Duration, type Step } from './faults.ts';
import { MetricsRecorder, type FailoverMetrics } from './metrics.ts';
import type { LinkOptions, NetworkStats } from './network.ts';
import { findScenario, type Scenario } from './scenarios.ts';
import { Scheduler, SimulationError, type SchedulerOptions } from './scheduler.ts';
import { Timeline } from './timeline.ts';
import { exitCodeFor, formatViolation, Violations, type ExitCodeValue, type Violation } from './violations.ts';
import { channelNames, Workload } from './workload.ts';

export interface SimOptions {
  seed: number;
  nodes: number;
  channels: number;
  /** How many of the channels (the last ones) are private, `@c...` (default none). */
  privateChannels?: number;
  durationMs: number;
  /** `random`, `none`, or a scenario name (scenarios.ts). */
  faults: string;
  pduIntervalMs: number;
  /** SAYs per virtual second over the whole cluster. */
  chatPerSecond: number;
  /** Joins + exits per virtual second over the whole cluster. */
  churnPerSecond: number;
  /** INVITEs per virtual second over the whole cluster (default none: the runs before there were any keep their hashes). */
  invitesPerSecond?: number;
  /** Members each channel starts with. */
  membersPerChannel: number;
  /** Quiet time at the end: no faults, no users; the cluster must converge within it. Also the delivery grace. */
  settleMs: number;
  /** Mean virtual ms between random faults; 0 = drawn from the seed. */
  faultGapMs: number;
  /** Keep the event log's lines in memory (needed for --log and the report). */
  keepLog: boolean;
  /** The nodes' pino level (default info). */
  logLevel?: string;
  /** The nodes' --history (default: theirs for the PDU interval, lib/node/config.ts). */
  historyLimit?: number;
  /**
   * The nodes' --standbys (k, default theirs: 2). Fewer standbys send more
   * failovers down the lowest-id-member path of docs/protocol.md 5.4, and 0
   * sends all of them: campaigns at small k test that a channel survives
   * its standbys.
   */
  standbys?: number;
  /**
   * Cut every stream write at random points before delivery, so that the
   * nodes' frame decoders and member machines see their frames in every
   * chunking (a real TCP stream keeps no write boundaries either).
   */
  splitChunks?: boolean;
  /** Called after every virtual second. */
  onProgress?: (nowMs: number, endMs: number) => void;
  /** Called with the cluster once the run ended (before the final checks): tests and debugging look inside. */
  inspect?: (cluster: SimCluster) => void;
  /** Scripted users instead of the random workload (tests, bug reproductions). Nodes still start on their own. */
  script?: UserScript;
  /** How the timeline drains microtasks (SchedulerOptions.drain). Not part of the run: either gives the same log. */
  drain?: SchedulerOptions['drain'];
}

/** Scripted users: `at('3s', (c) => c.say('n2', '#c0', 'hello'))`. Texts must be unique in a run. */
export type UserScript = (users: { cluster: SimCluster; at: (time: Duration, act: (cluster: SimCluster) => void) => void }) => void;

export const DEFAULTS = {
  nodes: 10,
  channels: 3,
  durationMs: 120_000,
  faults: 'random',
  pduIntervalMs: 250,
  chatPerSecond: 10,
  churnPerSecond: 0.2,
  settleMs: 10_000,
  faultGapMs: 0,
} as const;

/**
 * Settle time when not given: 40 PDU intervals, at least 10 s. Failover and
 * split-brain merges take a number of intervals (4 to detect a silent peer),
 * and the random faults last longer at a longer interval.
 */
export function defaultSettleMs(pduIntervalMs: number): number {
  return Math.max(DEFAULTS.settleMs, 40 * pduIntervalMs);
}

/**
 * Members per channel when not given: the named scenario's own if it has
 * one, else a quarter of the cluster, at least 4 (host + 2 standbys + 1), at
 * most the cluster.
 */
export function defaultMembersPerChannel(nodes: number, scenario?: Scenario): number {
  return scenario?.members ?? Math.min(nodes, Math.max(4, Math.ceil(nodes / 4)));
}

/** Everything the seed decides besides the options. */
export interface SeedPlan {
  seed: number;
  clusterSeed: number;
  workloadSeed: number;
  faultSeed: number;
  link: Required<Pick<LinkOptions, 'latencyMsMin' | 'latencyMsMean' | 'latencyMsMax' | 'lossRate' | 'duplicateRate' | 'reorderRate' | 'reorderDelayMsMax'>>;
  faultGapMs: number;
}

export function deriveSeeds(seed: number, faultGapMs = 0): SeedPlan {
  const root = new SeededRandom(seed);
  const clusterSeed = root.nextU32();
  const workloadSeed = root.nextU32();
  const faultSeed = root.nextU32();
  const round = (x: number, digits = 4) => Number(x.toFixed(digits));
  const sometimes = (max: number) => (root.next() < 0.5 ? 0 : round(root.next() * max));
  const latencyMsMin = round(0.05 + root.next() * 0.15, 3);
  const latencyMsMean = round(latencyMsMin + 0.2 + root.next() * 1.8, 3);
  const link = {
    latencyMsMin,
    latencyMsMean,
    latencyMsMax: 20,
    lossRate: sometimes(0.01),
    duplicateRate: sometimes(0.01),
    reorderRate: sometimes(0.05),
    reorderDelayMsMax: 5,
  };
  const drawnGap = Math.round(2000 + root.next() * 10_000);
  return { seed, clusterSeed, workloadSeed, faultSeed, link, faultGapMs: faultGapMs > 0 ? faultGapMs : drawnGap };
}

/** The line printed beside every run: what the seed chose. */
export function describeSeeds(p: SeedPlan): string {
  const l = p.link;
  return (
    `SEED=${p.seed} cluster=${p.clusterSeed} workload=${p.workloadSeed} faults=${p.faultSeed} ` +
    `latency=${l.latencyMsMin}/${l.latencyMsMean}/${l.latencyMsMax}ms loss=${l.lossRate} dup=${l.duplicateRate} ` +
    `reorder=${l.reorderRate} fault_gap=${p.faultGapMs}ms`
  );
}

export interface SimResult {
  options: Omit<SimOptions, 'onProgress' | 'script' | 'inspect' | 'drain'>;
  seeds: SeedPlan;
  /** The fault plan, one line per step (targets as written; resolved ones are in the log). */
  plan: string[];
  hash: string;
  exitCode: ExitCodeValue;
  violations: Violation[];
  violationsDropped: number;
  /** The run stopped early (an exception escaped). */
  aborted: boolean;
  endMs: number;
  wallMs: number;
  delivery: DeliveryStats;
  lostReasons: string[];
  metrics: FailoverMetrics;
  hosting: HostingSnapshot[];
  timeline: Timeline;
  network: NetworkStats;
  events: { lines: number; bytes: number; eventsRun: number };
  /** Present when keepLog. */
  logLines?: string[];
}

const CHUNK_MS = 1000;

function planFor(options: SimOptions, seeds: SeedPlan, ids: readonly string[], livenessTimeoutMs: number): Step[] {
  const quietAtMs = options.durationMs - options.settleMs;
  if (options.faults === 'none') return [];
  if (options.faults === 'random') {
    return randomPlan(new SeededRandom(seeds.faultSeed), {
      nodeIds: ids,
      channels: channelNames(options.channels, options.privateChannels),
      fromMs: 5000,
      quietAtMs,
      meanGapMs: seeds.faultGapMs,
      livenessTimeoutMs,
    });
  }
  const scenario = findScenario(options.faults);
  if (!scenario) throw new Error(`unknown faults "${options.faults}": random, none, or a scenario name`);
  const last = Math.max(0, ...scenario.steps.map((s) => s.atMs));
  if (last >= quietAtMs) throw new Error(`scenario ${scenario.name} acts until ${last} ms: --duration must exceed that plus --settle`);
  return scenario.steps;
}

/** The node knobs a run sets besides the PDU interval: only those given, so that the nodes' own defaults apply otherwise. */
function nodeKnobs(options: Pick<SimOptions, 'historyLimit' | 'standbys'>): Partial<NodeConfig> {
  const knobs: Partial<NodeConfig> = {};
  if (options.historyLimit !== undefined) knobs.historyLimit = options.historyLimit;
  if (options.standbys !== undefined) knobs.standbys = options.standbys;
  return knobs;
}

export async function runSimulation(options: SimOptions): Promise<SimResult> {
  const wallStart = performance.now();
  const { onProgress, script, inspect, drain, ...recorded } = options;
  if (!(options.durationMs > options.settleMs)) throw new Error('--duration must be longer than --settle');
  const seeds = deriveSeeds(options.seed, options.faultGapMs);
  const scheduler = new Scheduler({ drain });
  const log = new EventLog({ keepLines: options.keepLog });
  const violations = new Violations();
  const cluster = new SimCluster({
    scheduler,
    log,
    random: new SeededRandom(seeds.clusterSeed),
    nodeCount: options.nodes,
    pduIntervalMs: options.pduIntervalMs,
    link: options.splitChunks ? { ...seeds.link, splitChunks: true } : seeds.link,
    logLevel: options.logLevel,
    nodeConfig: nodeKnobs(options),
  });
  const endMs = options.durationMs;
  const quietAtMs = options.durationMs - options.settleMs;

  /** The longest a copy travels one way: the slack of the liveness and delivery checks. */
  const oneWayMaxMs = seeds.link.latencyMsMax + seeds.link.reorderDelayMsMax + 1;
  // The nodes' own config, for the plan's and the checks' settings
  // (history, relay window, X). The checks' rules are their own reading of
  // the spec (the liveness check's 4X, say): an oracle that took its rule
  // from the code it checks would pass whatever the code did.
  const nodeConfig = resolveConfig({ id: 'sim', pduIntervalMs: options.pduIntervalMs, ...nodeKnobs(options) });
  const liveness = new LivenessChecker(cluster, violations, nodeConfig.livenessTimeoutMs, 1);
  const delivery = new DeliveryChecker(cluster, violations, options.settleMs, nodeConfig.historyLimit, oneWayMaxMs, detectionTimeMs(nodeConfig.livenessTimeoutMs), nodeConfig.relayWindowMs);
  const timeline = new Timeline();
  const metrics = new MetricsRecorder(options.pduIntervalMs);
  const rules = new RulesChecker(violations);
  const failover = new FailoverChecker(violations, nodeConfig.livenessTimeoutMs, oneWayMaxMs);
  log.subscribe((record, source) => {
    rules.onRecord(record, source);
    failover.onRecord(record, source);
    liveness.onRecord(record, source);
    delivery.onRecord(record, source);
    timeline.onRecord(record);
    metrics.onRecord(record);
  });

  let aborted = false;
  const crashed = (vt: number, nodes: string[], what: string, error: unknown): void => {
    aborted = true;
    const e = error instanceof Error ? error : new Error(String(error));
    violations.add({ invariant: 'crash', kind: what, vt, nodes, message: `${e.message}${e.stack ? `\n${e.stack}` : ''}` });
  };
  cluster.observe({ fault: (node, error) => crashed(scheduler.now(), [node.id], 'node-fault', error) });

  cluster.simLog.info({ event: 'sim.options', ...recorded, keepLog: undefined, script: script ? 'scripted' : undefined, seeds: describeSeeds(seeds) });
  const workload = new Workload(cluster, new SeededRandom(seeds.workloadSeed), {
    channels: options.channels,
    privateChannels: options.privateChannels ?? 0,
    membersPerChannel: options.membersPerChannel,
    chatPerSecond: options.chatPerSecond,
    churnPerSecond: options.churnPerSecond,
    invitesPerSecond: options.invitesPerSecond ?? 0,
    textPaddingBytes: 0,
    quietAtMs,
  });
  workload.startNodes();
  if (script) script({ cluster, at: (time, act) => void scheduler.at(toMs(time), () => act(cluster)) });
  else workload.install();
  const steps = planFor(options, seeds, cluster.ids, nodeConfig.livenessTimeoutMs);
  installSteps(steps, { cluster, maxDown: Math.max(1, Math.floor((options.nodes - 1) / 2)), quietAtMs });
  scheduler.at(quietAtMs, () => {
    cluster.simLog.info({ event: 'sim.quiet' });
    cluster.heal();
    for (const n of cluster.nodes()) if (n.status === 'frozen') cluster.thaw(n.id);
  });

  const onUncaught = (error: unknown): void => crashed(scheduler.now(), [], 'uncaught', error);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  try {
    while (scheduler.now() < endMs && !aborted) {
      await scheduler.runUntil(Math.min(endMs, scheduler.now() + CHUNK_MS));
      onProgress?.(scheduler.now(), endMs);
    }
  } catch (error) {
    if (!(error instanceof SimulationError)) throw error;
    crashed(error.timeMs, error.owner ? [error.owner] : [], 'simulation-error', error.cause ?? error);
  } finally {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  }

  const stopMs = scheduler.now();
  inspect?.(cluster);
  let hosting: HostingSnapshot[] = [];
  if (!aborted) {
    hosting = checkHosting(cluster, violations, nodeConfig.historyLimit);
    delivery.finish(endMs);
    failover.finish(stopMs);
    rules.finish(stopMs, steps.length, options.channels);
  }
  timeline.finish(stopMs);
  for (const v of violations.list) timeline.addViolationMark(v.vt, v.nodes[0] ?? 'sim', formatViolation(v));
  cluster.simLog.info({ event: 'sim.end', violations: violations.count, delivery: delivery.stats });
  const hash = log.sha256();
  const schedulerStats = scheduler.stats();
  return {
    options: recorded,
    seeds,
    plan: describeSteps(steps),
    hash,
    exitCode: exitCodeFor(violations.list),
    violations: violations.list,
    violationsDropped: violations.dropped,
    aborted,
    endMs: stopMs,
    wallMs: performance.now() - wallStart,
    delivery: delivery.stats,
    lostReasons: delivery.lostReasons,
    metrics: metrics.finish(timeline),
    hosting,
    timeline,
    network: cluster.network.stats(),
    events: { lines: log.lineCount, bytes: log.byteCount, eventsRun: schedulerStats.eventsRun },
    logLines: options.keepLog ? log.lines : undefined,
  };
}
