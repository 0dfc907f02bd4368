// Fault plans: a tiny DSL for scripted scenarios, and random plans drawn
// from a seed. Both produce the same thing, a list of timed steps:
//
//   at('8s', crash(hostOf('#c0'), { restartAfter: '10s' }))
//   at('8s', freeze(hostOf('#c0'), { for: '5s' }))
//   at('8s', crash(hostOf('#c0')), crash(standbyOf('#c0', 0)))
//   at('8s', partition([hostOf('#c0')], { for: '6s' }))   // isolate from the rest
//   at('8s', lossBurst(0.5, { for: '2s' }))
//
// Targets are resolved when the step runs, against what the nodes
// themselves report (the host of a channel is whoever hosts it then), and
// all targets of one step are resolved before any of its actions acts: a
// step that crashes a host and its first standby finds the standby while
// the host still lives. Every action is deterministic given the run.
import ms from 'ms';
import type { SeededRandom } from '../lib/random.ts';
import { hostingWins } from '../machines/rules.ts';
import { detectionTimeMs } from '../machines/peer-liveness.ts';
import type { SimCluster, SimNode } from './cluster.ts';
import { formatVt } from './violations.ts';

/** What a step can use when it runs. */
export interface StepContext {
  cluster: SimCluster;
  /** Schedule a follow-up (an undo: thaw, heal, restart) at an absolute virtual time. */
  later(atMs: number, run: () => void): void;
  /** At most this many nodes may be down (crashed or frozen) at once; actions beyond are skipped. */
  maxDown: number;
  /** Follow-ups are not scheduled at or after this time (the final heal). */
  quietAtMs: number;
}

export interface Target {
  readonly label: string;
  resolve(cluster: SimCluster): string | undefined;
}

export interface Action {
  readonly label: string;
  /** Resolve targets now; return what to do, or undefined to skip (with the reason logged). */
  prepare(ctx: StepContext): (() => void) | string;
}

export interface Step {
  atMs: number;
  actions: Action[];
}

export type Duration = number | string;

export function toMs(d: Duration): number {
  if (typeof d === 'number') return d;
  const n = ms(d as ms.StringValue);
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new Error(`not a duration: ${d}`);
  return n;
}

export function at(time: Duration, ...actions: Action[]): Step {
  return { atMs: toMs(time), actions };
}

// ------------------------------------------------------------------ targets

/** A node by id. */
export function node(id: string): Target {
  return { label: id, resolve: () => id };
}

/** The live node hosting `channel` now (the split-brain winner if several). */
export function hostOf(channel: string): Target {
  return { label: `host(${channel})`, resolve: (cluster) => currentHost(cluster, channel)?.node.id };
}

/** The host's standby of rank `rank` (0 = first) for `channel`, as the host announces it now. */
export function standbyOf(channel: string, rank: number): Target {
  return {
    label: `standby${rank + 1}(${channel})`,
    resolve: (cluster) => currentHost(cluster, channel)?.standbys[rank],
  };
}

/** A live member of `channel` that neither hosts it nor is among its standbys: the `k`-th in id order. */
export function plainMemberOf(channel: string, k = 0): Target {
  return {
    label: `member${k + 1}(${channel})`,
    resolve: (cluster) => {
      const host = currentHost(cluster, channel);
      const skip = new Set([host?.node.id, ...(host?.standbys ?? [])]);
      return cluster
        .nodes()
        .filter((n) => n.alive && !skip.has(n.id) && n.node.membership(channel) !== undefined)
        .map((n) => n.id)[k];
    },
  };
}

/**
 * `target` resolved once per run, when a step first asks, and the same node
 * from then on: "the old host" stays the node that froze, whoever hosts
 * the channel later.
 */
export function pinned(target: Target): Target {
  const byRun = new WeakMap<SimCluster, string | undefined>();
  return {
    label: `${target.label}@first`,
    resolve: (cluster) => {
      if (!byRun.has(cluster)) byRun.set(cluster, target.resolve(cluster));
      return byRun.get(cluster);
    },
  };
}

/** A live member of `channel` that does not host it and is none of `except`: the first in id order. */
export function memberBut(channel: string, except: readonly Target[]): Target {
  return {
    label: `member(${channel} but ${except.map((t) => t.label).join(' ')})`,
    resolve: (cluster) => {
      const skip = new Set([currentHost(cluster, channel)?.node.id, ...except.map((t) => t.resolve(cluster))]);
      return cluster.nodes().find((n) => n.status === 'up' && !skip.has(n.id) && n.node.membership(channel) !== undefined)?.id;
    },
  };
}

function currentHost(cluster: SimCluster, channel: string): { node: SimNode; epoch: number; standbys: readonly string[] } | undefined {
  let best: { node: SimNode; epoch: number; standbys: readonly string[] } | undefined;
  for (const n of cluster.nodes()) {
    if (!n.alive) continue;
    for (const h of n.node.hostedChannels()) {
      if (h.name !== channel) continue;
      // The nodes' own split-brain rule, not a copy of it.
      if (!best || hostingWins({ hostId: n.id, epoch: h.epoch }, { hostId: best.node.id, epoch: best.epoch })) {
        best = { node: n, epoch: h.epoch, standbys: h.standbys };
      }
    }
  }
  return best;
}

// ------------------------------------------------------------------ actions

function downCount(cluster: SimCluster): number {
  return cluster.nodes().filter((n) => n.status !== 'up').length;
}

/** A running node a fault may take down, or why it is skipped (no such node, not up, too many down). */
function targetToTakeDown(ctx: Parameters<Action['prepare']>[0], target: Target): { node: string; skip?: undefined } | { node?: undefined; skip: string } {
  const id = target.resolve(ctx.cluster);
  if (id === undefined) return { skip: `no ${target.label}` };
  if (ctx.cluster.node(id)?.status !== 'up') return { skip: `${id} is not up` };
  if (downCount(ctx.cluster) + 1 > ctx.maxDown) return { skip: `at most ${ctx.maxDown} nodes down at once` };
  return { node: id };
}

/** The machine dies (SIGKILL); with restartAfter, a new process starts that much later. */
export function crash(target: Target, options: { restartAfter?: Duration } = {}): Action {
  const restartMs = options.restartAfter === undefined ? undefined : toMs(options.restartAfter);
  return {
    label: `crash ${target.label}${restartMs === undefined ? '' : ` (restart after ${formatVt(restartMs)})`}`,
    prepare: (ctx) => {
      const id = targetToTakeDown(ctx, target);
      if (id.skip !== undefined) return id.skip;
      return () => {
        ctx.cluster.crash(id.node);
        if (restartMs !== undefined) {
          const when = ctx.cluster.scheduler.now() + restartMs;
          if (when < ctx.quietAtMs) ctx.later(when, () => ctx.cluster.restart(id.node));
        }
      };
    },
  };
}

/** A new process for a crashed node (new incarnation; it rejoins its user's channels). */
export function restart(target: Target): Action {
  return {
    label: `restart ${target.label}`,
    prepare: (ctx) => {
      const id = target.resolve(ctx.cluster);
      if (id === undefined) return `no ${target.label}`;
      if (ctx.cluster.node(id)?.alive) return `${id} is running`;
      return () => void ctx.cluster.restart(id);
    },
  };
}

/** SIGSTOP for `for`, then SIGCONT. */
export function freeze(target: Target, options: { for: Duration }): Action {
  const forMs = toMs(options.for);
  return {
    label: `freeze ${target.label} for ${formatVt(forMs)}`,
    prepare: (ctx) => {
      const id = targetToTakeDown(ctx, target);
      if (id.skip !== undefined) return id.skip;
      return () => {
        ctx.cluster.freeze(id.node);
        ctx.later(Math.min(ctx.cluster.scheduler.now() + forMs, ctx.quietAtMs), () => ctx.cluster.thaw(id.node));
      };
    },
  };
}

/**
 * Cut `side` off from every other node for `for` (a symmetric partition of
 * two groups), then heal. With oneWay, only packets from `side` to the rest
 * are dropped.
 */
export function partition(side: readonly Target[], options: { for: Duration; oneWay?: boolean }): Action {
  const forMs = toMs(options.for);
  const labels = [...new Set(side.map((t) => t.label))].join(' ');
  return {
    label: `${options.oneWay ? 'one-way cut from' : 'partition'} [${labels}] for ${formatVt(forMs)}`,
    prepare: (ctx) => {
      const ids = [...new Set(side.map((t) => t.resolve(ctx.cluster)).filter((id): id is string => id !== undefined))];
      if (ids.length === 0) return `no ${labels}`;
      if (ctx.cluster.reachability.active) return 'a partition is in place already';
      const rest = ctx.cluster.ids.filter((id) => !ids.includes(id));
      if (rest.length === 0) return 'nobody left on the other side';
      return () => {
        if (options.oneWay) ctx.cluster.partitionOneWay(ids, rest);
        else ctx.cluster.partition([ids, rest]);
        ctx.later(Math.min(ctx.cluster.scheduler.now() + forMs, ctx.quietAtMs), () => ctx.cluster.heal());
      };
    },
  };
}

/** The user of `target` leaves `channel` (EXIT), as a user of the workload does. */
export function exitChannel(target: Target, channel: string): Action {
  return {
    label: `exit ${target.label} ${channel}`,
    prepare: (ctx) => {
      const id = target.resolve(ctx.cluster);
      if (id === undefined) return `no ${target.label}`;
      if (!ctx.cluster.userChannelsOf(id).has(channel)) return `${id} is not in ${channel}`;
      return () => void ctx.cluster.exit(id, channel);
    },
  };
}

/**
 * From this step on, watch `channel` (each virtual ms, for at most
 * `withinMs`); once some live node hosts it at a higher epoch than now (a
 * takeover), run `actions` `delay` later, their targets resolved then. So
 * "the new host crashes as its merge ends" does not hang on the seed's
 * detection time. (The design review of 8 December 2026.)
 */
export function afterTakeover(channel: string, delay: Duration, actions: readonly Action[], options: { withinMs?: number } = {}): Action {
  const delayMs = toMs(delay);
  const withinMs = options.withinMs ?? 10_000;
  return {
    label: `${formatVt(delayMs)} after the next takeover of ${channel}: ${actions.map((a) => a.label).join(' + ')}`,
    prepare: (ctx) => {
      const from = ctx.cluster.scheduler.now();
      const epoch = currentHost(ctx.cluster, channel)?.epoch ?? 0;
      return () => {
        const poll = (): void => {
          const now = ctx.cluster.scheduler.now();
          const host = currentHost(ctx.cluster, channel);
          if (host !== undefined && host.epoch > epoch) {
            ctx.cluster.simLog.info({ event: 'sim.trigger', channel, host: host.node.id, epoch: host.epoch });
            ctx.later(now + delayMs, () => runActions(ctx, actions));
          } else if (now - from < withinMs && now + 1 < ctx.quietAtMs) {
            ctx.later(now + 1, poll);
          }
        };
        poll();
      };
    },
  };
}

/** Datagram loss rises to `rate` for `for`. */
export function lossBurst(rate: number, options: { for: Duration }): Action {
  const forMs = toMs(options.for);
  return {
    label: `loss ${Math.round(rate * 100)}% for ${formatVt(forMs)}`,
    prepare: (ctx) => () => ctx.cluster.lossBurst(rate, Math.min(forMs, ctx.quietAtMs - ctx.cluster.scheduler.now())),
  };
}

// ------------------------------------------------------------------ running

/**
 * Schedule `steps`; each step's actions prepare (resolve targets) first,
 * then act. Skipped actions are logged as `sim.fault_skipped`.
 */
export function installSteps(steps: readonly Step[], ctx: Omit<StepContext, 'later'>): void {
  const { cluster } = ctx;
  const scheduler = cluster.scheduler;
  const full: StepContext = {
    ...ctx,
    later: (atMs, run) => void scheduler.at(Math.max(atMs, scheduler.now()), run),
  };
  for (const step of steps) {
    if (step.atMs >= ctx.quietAtMs) continue;
    scheduler.at(step.atMs, () => runActions(full, step.actions));
  }
}

/** One step's actions: every target resolved first, then each acts; a skipped one is logged. */
function runActions(ctx: StepContext, actions: readonly Action[]): void {
  const runs: Array<() => void> = [];
  for (const action of actions) {
    const prepared = action.prepare(ctx);
    if (typeof prepared === 'string') ctx.cluster.simLog.info({ event: 'sim.fault_skipped', action: action.label, reason: prepared });
    else runs.push(prepared);
  }
  for (const run of runs) run();
}

export function describeSteps(steps: readonly Step[]): string[] {
  return steps.map((s) => `${formatVt(s.atMs)} ${s.actions.map((a) => a.label).join(' + ')}`);
}

// ------------------------------------------------------------------ random plans

export interface RandomPlanOptions {
  nodeIds: readonly string[];
  channels: readonly string[];
  /** Faults start at or after this time... */
  fromMs: number;
  /** ...and before this one (the final heal). */
  quietAtMs: number;
  /** Mean virtual ms between fault starts. */
  meanGapMs: number;
  /** The liveness timeout X: fault durations straddle the detection time 4X. */
  livenessTimeoutMs: number;
}

/**
 * A random plan: crash (mostly followed by a restart), freeze, partition
 * (mostly symmetric, sometimes one-way; one at a time, each lasting at least
 * a second) and loss bursts, half of them aimed at a channel's host or
 * standby. Durations straddle the detection time 4X, so that some faults go
 * unnoticed and some cause failovers.
 */
export function randomPlan(random: SeededRandom, options: RandomPlanOptions): Step[] {
  const { nodeIds, channels, livenessTimeoutMs } = options;
  const detectMs = detectionTimeMs(livenessTimeoutMs);
  const steps: Step[] = [];
  const uniform = (lo: number, hi: number) => lo + random.next() * (hi - lo);
  const pickNode = () => nodeIds[Math.floor(random.next() * nodeIds.length)]!;
  const pickChannel = () => channels[Math.floor(random.next() * channels.length)]!;
  const pickTarget = (): Target => {
    const r = random.next();
    if (channels.length > 0 && r < 0.35) return hostOf(pickChannel());
    if (channels.length > 0 && r < 0.5) return standbyOf(pickChannel(), 0);
    return node(pickNode());
  };
  let partitionFreeAt = 0;
  let t = options.fromMs + Math.round(-Math.log(1 - random.next()) * options.meanGapMs);
  while (t < options.quietAtMs) {
    const kind = random.next();
    let action: Action | undefined;
    if (kind < 0.3) {
      const restartAfter = random.next() < 0.8 ? Math.round(uniform(500, 20 * detectMs)) : undefined;
      action = crash(pickTarget(), { restartAfter });
    } else if (kind < 0.55) {
      action = freeze(pickTarget(), { for: Math.round(uniform(0.3 * detectMs, 6 * detectMs)) });
    } else if (kind < 0.8) {
      if (t >= partitionFreeAt) {
        const forMs = Math.round(uniform(Math.max(1000, detectMs), 15 * detectMs));
        const size = 1 + Math.floor(random.next() * Math.max(1, Math.floor(nodeIds.length / 2)));
        const side: Target[] = [pickTarget()];
        while (side.length < size) side.push(node(pickNode()));
        action = partition(side, { for: forMs, oneWay: random.next() < 0.2 });
        partitionFreeAt = t + forMs + 1;
      }
    } else {
      action = lossBurst(uniform(0.2, 0.9), { for: Math.round(uniform(0.5 * detectMs, 5 * detectMs)) });
    }
    if (action) steps.push({ atMs: t, actions: [action] });
    t += Math.max(1, Math.round(-Math.log(1 - random.next()) * options.meanGapMs));
  }
  return steps;
}
