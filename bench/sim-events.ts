// Where the simulator's time goes, by machine event (npm run bench:sim-events).
// Prints figures, asserts nothing.
//
// Runs one simulation (default: 100 nodes x 4 virtual minutes, random
// faults, seed 1, as bench:sim's 100-node runs) and counts every event an
// XState actor processes, by machine and event type, with the wall time
// spent on it (inclusive: an event that sets off others counts their time
// too). It also measures, in the same process, what XState takes for the
// simplest transition (one state to another, no action), and prints the
// floor that sets: the run's events at that cost. That floor, scaled to an
// hour, is why bench:sim's target of 60 s for 100 nodes x 1 virtual hour is
// out of reach with one figure-6 machine per peer (docs/simulator.md
// "Speed").
//
// Options: --nodes <n> (100), --duration <s> (240), --pdu-interval <ms>
// (250), --seed <n> (1), --top <n> (20 rows). JSON goes to bench/results/.
import { parseArgs } from 'node:util';
import { Actor, createActor, createMachine, type AnyActorLogic, type AnyEventObject } from 'xstate';
import { machineInfo, writeResult } from './lib/stats.ts';
import { DEFAULTS, defaultMembersPerChannel, defaultSettleMs, runSimulation } from '../sim/run.ts';

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '100' },
    duration: { type: 'string', default: '240' },
    'pdu-interval': { type: 'string', default: String(DEFAULTS.pduIntervalMs) },
    seed: { type: 'string', default: '1' },
    top: { type: 'string', default: '20' },
  },
});
const positive = (s: string, name: string): number => {
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${s}`);
  return n;
};
const nodes = positive(args.nodes, 'nodes');
const durationMs = positive(args.duration, 'duration') * 1000;
const pduIntervalMs = positive(args['pdu-interval'], 'pdu-interval');
const seed = positive(args.seed, 'seed');
const top = positive(args.top, 'top');

/** µs XState takes for one event that moves a machine from one state to another and does nothing else. */
function simplestTransitionUs(): number {
  const actor = createActor(createMachine({ initial: 'a', states: { a: { on: { E: 'b' } }, b: { on: { E: 'a' } } } })).start();
  const event = { type: 'E' };
  for (let i = 0; i < 50_000; i++) actor.send(event); // warm up
  const n = 500_000;
  const started = performance.now();
  for (let i = 0; i < n; i++) actor.send(event);
  return ((performance.now() - started) * 1000) / n;
}

// Measured before the count below wraps every actor.
const floorUs = simplestTransitionUs();

// XState has no public per-event timing hook (`inspect` reports events, not
// what they cost), so the count wraps the one method every actor processes
// each of its events with. Internal, hence the check.
type Process = (this: Actor<AnyActorLogic>, event: AnyEventObject) => void;
const proto = Actor.prototype as unknown as { _process?: Process };
const process_ = proto._process;
if (typeof process_ !== 'function') throw new Error('this xstate version has no Actor.prototype._process to count events with');
const counts = new Map<string, { events: number; ms: number }>();
proto._process = function (this: Actor<AnyActorLogic>, event: AnyEventObject) {
  const started = performance.now();
  try {
    process_.call(this, event);
  } finally {
    // Timer events are named after the state that armed them; one row per kind.
    const type = event.type.startsWith('xstate.after.') ? 'xstate.after.*' : event.type.startsWith('xstate.done.actor.') ? 'xstate.done.actor.*' : event.type;
    const key = `${(this.logic as { id?: string }).id ?? '(callback)'} ${type}`;
    const row = counts.get(key) ?? { events: 0, ms: 0 };
    row.events++;
    row.ms += performance.now() - started;
    counts.set(key, row);
  }
};

console.log(`bench:sim-events: ${nodes} nodes, ${durationMs / 1000} virtual s, random faults, PDU interval ${pduIntervalMs} ms, seed ${seed}`);
const result = await runSimulation({
  ...DEFAULTS,
  seed,
  nodes,
  channels: Math.max(1, Math.round(nodes / 10)),
  durationMs,
  faults: 'random',
  pduIntervalMs,
  settleMs: Math.min(defaultSettleMs(pduIntervalMs), Math.floor(durationMs / 3)),
  membersPerChannel: defaultMembersPerChannel(nodes),
  keepLog: false,
});
const wallS = result.wallMs / 1000;
const total = [...counts.values()].reduce((sum, row) => sum + row.events, 0);
console.log(
  `  ${wallS.toFixed(1)} s wall, ${result.network.datagramsDelivered.toLocaleString('en-US')} PDU deliveries, ` +
    `${result.metrics.takeovers} takeovers, ${result.violations.length} violations (the count's own cost included)`,
);
console.log(`\n  machine events (inclusive wall time: nested events count in their cause too)`);
for (const [key, row] of [...counts].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) {
  console.log(`  ${key.padEnd(40)} ${row.events.toLocaleString('en-US').padStart(11)} ${(row.ms / 1000).toFixed(2).padStart(7)} s ${((row.ms * 1000) / row.events).toFixed(1).padStart(7)} us each`);
}
const perVirtualHour = (total / durationMs) * 3_600_000;
console.log(`\n  all machine events: ${total.toLocaleString('en-US')} (${Math.round(perVirtualHour).toLocaleString('en-US')} per virtual hour at this rate, start-up included)`);
console.log(`  XState's simplest transition here: ${floorUs.toFixed(2)} us`);
console.log(
  `  floor set by the events alone at that cost: ${((total * floorUs) / 1e6).toFixed(1)} s for this run, ` +
    `${((perVirtualHour * floorUs) / 1e6).toFixed(0)} s for a virtual hour (bench:sim's target for it: 60 s)`,
);

const rows = [...counts].sort((a, b) => b[1].ms - a[1].ms).map(([key, row]) => ({ key, events: row.events, ms: Math.round(row.ms) }));
const file = writeResult('sim-events', {
  bench: 'sim-events',
  date: new Date().toISOString(),
  machine: machineInfo(),
  run: { nodes, durationMs, pduIntervalMs, seed, wallMs: Math.round(result.wallMs), pduDeliveries: result.network.datagramsDelivered, takeovers: result.metrics.takeovers, violations: result.violations.length },
  machineEvents: total,
  perVirtualHour: Math.round(perVirtualHour),
  simplestTransitionUs: Number(floorUs.toFixed(3)),
  rows,
});
console.log(`  results: ${file}`);
