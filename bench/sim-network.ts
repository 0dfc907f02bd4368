// The simulated network's own cost per datagram copy (node --import=tsx
// bench/sim-network.ts): the timeline (Scheduler) and multicast (SimNetwork)
// with a receiver that only counts, so that the node's cost is not in it.
// The shape of a simulated cluster's discovery traffic: N hosts in one
// group, each multicasting a PDU every interval (phases spread at random),
// N copies per send. Prints ns per delivered copy; asserts nothing.
//
// Options: --hosts 100, --seconds 60 (virtual), --interval 250 (ms),
// --link random|lan|fixed (random: the link seed 1 of `chanmesh sim` draws,
// with loss, duplication and reordering; lan: the defaults, none of those;
// fixed: one latency for every copy, so no latency draws: the machinery
// alone), --drain always|when-settled, --repeat 3 (best run is reported).
import { SeededRandom } from '../lib/random.ts';
import { SimNetwork, type LinkOptions } from '../sim/network.ts';
import { Scheduler, type SchedulerOptions } from '../sim/scheduler.ts';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const HOSTS = Number(option('hosts', '100'));
const VIRTUAL_MS = Number(option('seconds', '60')) * 1000;
const INTERVAL_MS = Number(option('interval', '250'));
const LINK = option('link', 'random');
const DRAIN = option('drain', 'when-settled') as SchedulerOptions['drain'];
const REPEAT = Number(option('repeat', '3'));

/** What `chanmesh sim --seed 1` draws for its link (sim/run.ts deriveSeeds). */
const RANDOM_LINK: LinkOptions = {
  latencyMsMin: 0.124,
  latencyMsMean: 1.171,
  latencyMsMax: 20,
  lossRate: 0.0035,
  duplicateRate: 0.0034,
  reorderRate: 0.0252,
  reorderDelayMsMax: 5,
};

const LINKS: Record<string, LinkOptions> = {
  random: RANDOM_LINK,
  lan: {},
  fixed: { latencyMsMin: 0.5, latencyMsMean: 0.5 },
};

interface Measured {
  wallMs: number;
  delivered: number;
  eventsRun: number;
  microtaskFlushes: number;
}

async function runOnce(seed: number): Promise<Measured> {
  const scheduler = new Scheduler({ drain: DRAIN });
  const network = new SimNetwork(scheduler, new SeededRandom(seed), LINKS[LINK] ?? RANDOM_LINK);
  const phases = new SeededRandom(seed + 1);
  const datagram = Buffer.alloc(120); // about a PDU of a node in a few channels
  let delivered = 0;
  for (let i = 0; i < HOSTS; i++) {
    const host = network.host(`h${i + 1}`, `10.0.${(i + 1) >> 8}.${(i + 1) & 255}`);
    const group = await host.network.joinGroup({ group: { address: '239.255.0.1', port: 5007 } });
    group.onDatagram(() => {
      delivered++;
    });
    const send = (): void => {
      group.send(datagram);
      host.clock.setTimeout(send, INTERVAL_MS);
    };
    host.clock.setTimeout(send, 1 + phases.next() * INTERVAL_MS);
  }
  const started = performance.now();
  // In one-second chunks, as sim/run.ts drives the timeline.
  while (scheduler.now() < VIRTUAL_MS) await scheduler.runUntil(Math.min(VIRTUAL_MS, scheduler.now() + 1000));
  const wallMs = performance.now() - started;
  const stats = scheduler.stats();
  return { wallMs, delivered, eventsRun: stats.eventsRun, microtaskFlushes: stats.microtaskFlushes };
}

console.log(
  `sim-network: ${HOSTS} hosts in one group, a send each per ${INTERVAL_MS} ms, ${VIRTUAL_MS / 1000} s virtual, ` +
    `link ${LINK}, drain ${DRAIN}, node ${process.version}`,
);
let best: Measured | undefined;
for (let run = 1; run <= REPEAT; run++) {
  const m = await runOnce(1);
  const ns = (m.wallMs * 1e6) / m.delivered;
  console.log(
    `  run ${run}: ${(m.wallMs / 1000).toFixed(2)} s wall, ${m.delivered.toLocaleString('en-US')} copies delivered, ` +
      `${ns.toFixed(0)} ns per copy, ${m.eventsRun.toLocaleString('en-US')} events run, ` +
      `${m.microtaskFlushes.toLocaleString('en-US')} microtask drains`,
  );
  if (best === undefined || m.wallMs < best.wallMs) best = m;
}
if (best !== undefined) {
  const ns = (best.wallMs * 1e6) / best.delivered;
  const perHour = (ns * HOSTS * HOSTS * (3_600_000 / INTERVAL_MS)) / 1e9;
  console.log(
    `best: ${ns.toFixed(0)} ns per delivered copy; ${HOSTS} hosts for 1 virtual hour would spend ` +
      `~${perHour.toFixed(0)} s wall in the network and timeline`,
  );
}
