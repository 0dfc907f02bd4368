// Shared by the simulator's tests: small runs with scripted users or named
// scenarios, and readers of the run's event log.
import type { LogRecord } from '../../sim/event-log.ts';
import { DEFAULTS, defaultMembersPerChannel, runSimulation, type SimOptions, type SimResult, type UserScript } from '../../sim/run.ts';
import { findScenario, scenarioKnobs } from '../../sim/scenarios.ts';
import { formatViolation } from '../../sim/violations.ts';

/** A small, quick run: 5 nodes, 1 channel, 30 virtual seconds, no faults, unless told otherwise. */
export function simulate(options: Partial<SimOptions> = {}): Promise<SimResult> {
  const nodes = options.nodes ?? 5;
  return runSimulation({
    ...DEFAULTS,
    seed: 1,
    nodes,
    channels: 1,
    durationMs: 30_000,
    faults: 'none',
    membersPerChannel: defaultMembersPerChannel(nodes),
    keepLog: true,
    ...options,
  });
}

/** A named scenario (sim/scenarios.ts) in the shape it is meant for. */
export function scenario(name: string, seed = 1): Promise<SimResult> {
  const s = findScenario(name);
  if (!s) throw new Error(`no scenario ${name}`);
  return simulate({ faults: name, seed, ...scenarioKnobs(s), membersPerChannel: defaultMembersPerChannel(s.nodes, s) });
}

type At = Parameters<UserScript>[0]['at'];

/** The start most scripts share: at 1 s `host` creates #c0 (and so hosts it), at 2 s `members` join it. */
export function hostWithMembers(at: At, host: string, members: string[]): void {
  at('1s', (c) => c.join(host, '#c0'));
  at('2s', (c) => {
    for (const id of members) c.join(id, '#c0');
  });
}

export function records(result: SimResult): LogRecord[] {
  return (result.logLines ?? []).map((line) => JSON.parse(line) as LogRecord);
}

export function eventsOf(result: SimResult, event: string, where: (r: LogRecord) => boolean = () => true): LogRecord[] {
  return records(result).filter((r) => r.event === event && where(r));
}

/** The violations as `invariant/kind@nodes`: what a checker test compares. */
export function violationKinds(result: SimResult): string[] {
  return result.violations.map((v) => `${v.invariant}/${v.kind}@${v.nodes.join(',')}`);
}

/** The violations as readable lines (for assertion messages). */
export function violationLines(result: SimResult): string[] {
  return result.violations.map(formatViolation);
}
