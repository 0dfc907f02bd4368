// Named, scripted fault scenarios (`chanmesh sim --faults <name>`). Each one
// is a few timed steps of the fault DSL (faults.ts) plus the cluster shape it
// is meant for; the CLI's --nodes/--channels/--duration override the shape.
// The workload runs as in any run: members chat through the faults.
import { afterTakeover, at, crash, exitChannel, freeze, hostOf, lossBurst, memberBut, partition, pinned, plainMemberOf, standbyOf, type Step } from './faults.ts';
import type { SimOptions } from './run.ts';

export interface Scenario {
  name: string;
  description: string;
  nodes: number;
  channels: number;
  /** Members each channel starts with, when the default (a quarter of the nodes, at least 4) is too few for the story. */
  members?: number;
  durationMs: number;
  steps: Step[];
  /** The workload and node knobs the story needs, where the defaults would not tell it (the command line still overrides each). */
  workload?: { rate?: number; churn?: number; history?: number; standbys?: number };
}

/** The run options a scenario sets (its shape and workload), in SimOptions' names; what it leaves out is the defaults'. */
export function scenarioKnobs(s: Scenario): Partial<SimOptions> {
  const w = s.workload ?? {};
  return {
    nodes: s.nodes,
    channels: s.channels,
    durationMs: s.durationMs,
    ...(w.rate !== undefined ? { chatPerSecond: w.rate } : {}),
    ...(w.churn !== undefined ? { churnPerSecond: w.churn } : {}),
    ...(w.history !== undefined ? { historyLimit: w.history } : {}),
    ...(w.standbys !== undefined ? { standbys: w.standbys } : {}),
  };
}

const C = '#c0';
/** The host of #c0 when a step first asks, the same node from then on. */
const frozenHost = pinned(hostOf(C));

export const scenarios: readonly Scenario[] = [
  {
    name: 'host-crash',
    description: `the host of ${C} crashes: the first standby takes over, every member follows`,
    nodes: 6,
    channels: 1,
    durationMs: 30_000,
    steps: [at('8s', crash(hostOf(C)))],
  },
  {
    name: 'host-freeze',
    description: `the host of ${C} freezes for 5 s (SIGSTOP): failover by the liveness timer; when it wakes it finds a rival host of a higher epoch and yields (split brain resolved)`,
    nodes: 6,
    channels: 1,
    durationMs: 35_000,
    steps: [at('8s', freeze(hostOf(C), { for: '5s' }))],
  },
  {
    name: 'host-and-standby-crash',
    description: `the host of ${C} and its first standby crash at once: the second standby takes over`,
    nodes: 6,
    channels: 1,
    durationMs: 30_000,
    steps: [at('8s', crash(hostOf(C)), crash(standbyOf(C, 0)))],
  },
  {
    name: 'host-and-standbys-crash',
    description: `the host of ${C} and both its standbys crash at once: the lowest-id member left takes over (the draft loses the channel)`,
    nodes: 6,
    channels: 1,
    members: 6,
    durationMs: 30_000,
    steps: [at('8s', crash(hostOf(C)), crash(standbyOf(C, 0)), crash(standbyOf(C, 1)))],
  },
  {
    name: 'partition-heal',
    description: `the host of ${C} and one plain member are cut off for 8 s: the majority side fails over (split brain); after the heal the lower epoch yields and the minority's messages are relayed`,
    nodes: 6,
    channels: 1,
    durationMs: 40_000,
    steps: [at('8s', partition([hostOf(C), plainMemberOf(C, 0)], { for: '8s' }))],
  },
  {
    name: 'host-restart',
    description: `the host of ${C} crashes and restarts 5 s later with a new incarnation; it rejoins ${C} under the new host`,
    nodes: 6,
    channels: 1,
    durationMs: 35_000,
    steps: [at('8s', crash(hostOf(C), { restartAfter: '5s' }))],
  },
  {
    name: 'one-way-host',
    description: `the host of ${C} can send to nobody for 6 s but still hears everyone (a one-way cut)`,
    nodes: 6,
    channels: 1,
    durationMs: 35_000,
    steps: [at('8s', partition([hostOf(C)], { for: '6s', oneWay: true }))],
  },
  {
    name: 'loss-storm',
    description: 'datagram loss of 80% for 3 s, twice: liveness must not declare peers whose PDUs still arrive dead',
    nodes: 6,
    channels: 2,
    durationMs: 35_000,
    steps: [at('8s', lossBurst(0.8, { for: '3s' })), at('14s', lossBurst(0.8, { for: '3s' }))],
  },
  // Found by the design review of 8 December 2026, each failing before its
  // fix (docs/simulator-findings.md F21 to F23).
  {
    name: 'crash-at-release',
    description: `the host of ${C} freezes; its successor crashes 252 ms after its takeover, as it releases what it held for its relay window (F21)`,
    nodes: 8,
    channels: 1,
    members: 7,
    durationMs: 40_000,
    workload: { rate: 60, history: 10 },
    steps: [at('8s', freeze(hostOf(C), { for: '4s' }), afterTakeover(C, '252ms', [crash(hostOf(C))]))],
  },
  {
    name: 'exit-before-own-join',
    description: `the node that creates ${C} has its user leave before its own JOIN reached the new host (F22)`,
    nodes: 3,
    channels: 1,
    members: 1,
    durationMs: 20_000,
    workload: { churn: 0 },
    steps: [at(0, afterTakeover(C, 0, [exitChannel(hostOf(C), C)], { withinMs: 5000 }))],
  },
  {
    name: 'exit-after-promote',
    description: `the host of ${C} freezes; the member whose JOIN made the standby take over leaves at once, before the standby's own JOIN (F23)`,
    nodes: 4,
    channels: 1,
    members: 3,
    durationMs: 30_000,
    workload: { churn: 0, standbys: 1 },
    steps: [at('8s', freeze(frozenHost, { for: '3s' }), afterTakeover(C, 0, [exitChannel(memberBut(C, [frozenHost]), C)]))],
  },
];

export function findScenario(name: string): Scenario | undefined {
  return scenarios.find((s) => s.name === name);
}
