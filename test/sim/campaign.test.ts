// A campaign of random seeds: small clusters, random faults (crash/restart,
// freeze, partitions symmetric and one-way, loss bursts), churn and chat;
// every invariant must hold for every seed (once more with every stream
// write cut at random points). About 20 s on the 2-core CI
// machine; `chanmesh sim --seeds 1..200 ...` runs bigger ones.
import t from 'tap';
import { formatViolation } from '../../sim/violations.ts';
import { simulate } from './helpers.ts';

const SEEDS = 60;

t.test(`${SEEDS} random seeds (5 nodes, 2 channels, 30 virtual s each): no invariant violated`, async (t) => {
  const started = performance.now();
  const failing: string[] = [];
  let faults = 0;
  let takeovers = 0;
  let acknowledged = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = await simulate({ seed, nodes: 5, channels: 2, durationMs: 30_000, faults: 'random', keepLog: false });
    faults += result.plan.length;
    takeovers += result.metrics.takeovers;
    acknowledged += result.delivery.acknowledged;
    if (result.violations.length > 0) {
      failing.push(`seed ${seed}: ${formatViolation(result.violations[0]!).split('\n')[0]}`);
    }
  }
  t.same(failing, [], 'every seed passes (replay a failing one with `chanmesh sim --seed N --nodes 5 --channels 2 --duration 30s`)');
  t.ok(faults > SEEDS, `faults were injected (${faults} fault steps)`);
  t.ok(takeovers > SEEDS / 2, `and caused failovers (${takeovers} takeovers)`);
  t.ok(acknowledged > SEEDS * 100, `under chat (${acknowledged} acknowledged messages)`);
  t.comment(`${SEEDS} seeds in ${((performance.now() - started) / 1000).toFixed(1)} s`);
});

const PRIVATE_SEEDS = 20;

t.test(`${PRIVATE_SEEDS} random seeds with a private channel (5 nodes, #c0 and @c1): no invariant violated`, async (t) => {
  // A private channel is announced only blinded (docs/protocol.md 5.6): its
  // failovers and split brains are resolved through the hidden tags.
  const failing: string[] = [];
  let privateTakeovers = 0;
  let privateMerges = 0;
  for (let seed = 1; seed <= PRIVATE_SEEDS; seed++) {
    const result = await simulate({ seed, nodes: 5, channels: 2, privateChannels: 1, durationMs: 30_000, faults: 'random', keepLog: true });
    const ofPrivate = (event: string) => (result.logLines ?? []).filter((l) => l.includes(`"event":"${event}"`) && l.includes('"channel":"@c1"')).length;
    privateTakeovers += ofPrivate('takeover');
    privateMerges += ofPrivate('splitbrain.resolved');
    if (result.violations.length > 0) failing.push(`seed ${seed}: ${formatViolation(result.violations[0]!).split('\n')[0]}`);
  }
  t.same(failing, [], 'every seed passes (replay with `chanmesh sim --seed N --nodes 5 --channels 2 --private 1 --duration 30s`)');
  t.ok(privateTakeovers > PRIVATE_SEEDS / 2, `the private channel failed over too (${privateTakeovers} takeovers of @c1)`);
  t.ok(privateMerges > 0, `and its split brains were resolved (${privateMerges} of @c1)`);
});

const CUT_SEEDS = 20;

t.test(`${CUT_SEEDS} random seeds with every stream write cut at random points: no invariant violated`, async (t) => {
  // TCP keeps no write boundaries: a host's WELCOME, its history and what
  // follows may reach a member in any chunking, through failovers and merges.
  const failing: string[] = [];
  let cut = 0;
  let takeovers = 0;
  for (let seed = 1; seed <= CUT_SEEDS; seed++) {
    const result = await simulate({ seed, nodes: 5, channels: 2, durationMs: 30_000, faults: 'random', keepLog: false, splitChunks: true });
    cut += result.network.streamWritesCut;
    takeovers += result.metrics.takeovers;
    if (result.violations.length > 0) failing.push(`seed ${seed}: ${formatViolation(result.violations[0]!).split('\n')[0]}`);
  }
  t.same(failing, [], 'every seed passes (replay with `chanmesh sim --seed N --nodes 5 --channels 2 --duration 30s --split-chunks`)');
  t.ok(cut > CUT_SEEDS * 100, `writes were cut (${cut})`);
  t.ok(takeovers > CUT_SEEDS / 2, `through failovers (${takeovers} takeovers)`);
});
