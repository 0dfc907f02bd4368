// Named, scripted fault scenarios (`chanmesh sim --faults <name>`). Each one
// is a few timed steps of the fault DSL (faults.ts) plus the cluster shape it
// is meant for; the CLI's --nodes/--channels/--duration override the shape.
// The workload runs as in any run: members chat through the faults.
import { at, crash, freeze, hostOf, lossBurst, partition, plainMemberOf, standbyOf, type Step } from './faults.ts';

export interface Scenario {
  name: string;
  description: string;
  nodes: number;
  channels: number;
  /** Members each channel starts with, when the default (a quarter of the nodes, at least 4) is too few for the story. */
  members?: number;
  durationMs: number;
  steps: Step[];
}

const C = '#c0';

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
];

export function findScenario(name: string): Scenario | undefined {
  return scenarios.find((s) => s.name === name);
}
