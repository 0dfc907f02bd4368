// A campaign of random seeds: small clusters, random faults (crash/restart,
// freeze, partitions symmetric and one-way, loss bursts), churn and chat;
// every invariant must hold for every seed (once more with every stream
// write cut at random points, without standbys, and with members inviting). About 20 s on the 2-core CI
// machine; `chanmesh sim --seeds 1..200 ...` runs bigger ones.
import t from 'tap';
import type { SimOptions, SimResult } from '../../sim/run.ts';
import { formatViolation } from '../../sim/violations.ts';
import { simulate } from './helpers.ts';

/** Seeds 1..count of 5 nodes, 2 channels, 30 virtual s and `options`: the failing ones, each with its first violation; `each` tallies. */
async function failingSeeds(count: number, options: Partial<SimOptions>, each: (result: SimResult) => void): Promise<string[]> {
  const failing: string[] = [];
  for (let seed = 1; seed <= count; seed++) {
    const result = await simulate({ seed, nodes: 5, channels: 2, durationMs: 30_000, faults: 'random', keepLog: false, ...options });
    each(result);
    if (result.violations.length > 0) failing.push(`seed ${seed}: ${formatViolation(result.violations[0]!).split('\n')[0]}`);
  }
  return failing;
}

const SEEDS = 60;

t.test(`${SEEDS} random seeds (5 nodes, 2 channels, 30 virtual s each): no invariant violated`, async (t) => {
  const started = performance.now();
  let faults = 0;
  let takeovers = 0;
  let acknowledged = 0;
  const failing = await failingSeeds(SEEDS, {}, (result) => {
    faults += result.plan.length;
    takeovers += result.metrics.takeovers;
    acknowledged += result.delivery.acknowledged;
  });
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
  let privateTakeovers = 0;
  let privateMerges = 0;
  const failing = await failingSeeds(PRIVATE_SEEDS, { privateChannels: 1, keepLog: true }, (result) => {
    const ofPrivate = (event: string) => (result.logLines ?? []).filter((l) => l.includes(`"event":"${event}"`) && l.includes('"channel":"@c1"')).length;
    privateTakeovers += ofPrivate('takeover');
    privateMerges += ofPrivate('splitbrain.resolved');
  });
  t.same(failing, [], 'every seed passes (replay with `chanmesh sim --seed N --nodes 5 --channels 2 --private 1 --duration 30s`)');
  t.ok(privateTakeovers > PRIVATE_SEEDS / 2, `the private channel failed over too (${privateTakeovers} takeovers of @c1)`);
  t.ok(privateMerges > 0, `and its split brains were resolved (${privateMerges} of @c1)`);
});

const CUT_SEEDS = 20;

t.test(`${CUT_SEEDS} random seeds with every stream write cut at random points: no invariant violated`, async (t) => {
  // TCP keeps no write boundaries: a host's WELCOME, its history and what
  // follows may reach a member in any chunking, through failovers and merges.
  let cut = 0;
  let takeovers = 0;
  const failing = await failingSeeds(CUT_SEEDS, { splitChunks: true }, (result) => {
    cut += result.network.streamWritesCut;
    takeovers += result.metrics.takeovers;
  });
  t.same(failing, [], 'every seed passes (replay with `chanmesh sim --seed N --nodes 5 --channels 2 --duration 30s --split-chunks`)');
  t.ok(cut > CUT_SEEDS * 100, `writes were cut (${cut})`);
  t.ok(takeovers > CUT_SEEDS / 2, `through failovers (${takeovers} takeovers)`);
});

const NO_STANDBY_SEEDS = 20;

t.test(`${NO_STANDBY_SEEDS} random seeds without standbys (--standbys 0): every failover goes to the lowest-id member; no invariant violated`, async (t) => {
  // docs/protocol.md 5.4: the channel survives as long as one member that
  // can host does. At the default k = 2 only a host dying with both its
  // standbys takes this path; at k = 0 every failover does.
  let takeovers = 0;
  let standbysNamed = 0;
  const failing = await failingSeeds(NO_STANDBY_SEEDS, { standbys: 0, keepLog: true }, (result) => {
    takeovers += result.metrics.takeovers;
    standbysNamed += (result.logLines ?? []).filter((l) => l.includes('"event":"standby.chosen"')).length;
  });
  t.same(failing, [], 'every seed passes (replay with `chanmesh sim --seed N --nodes 5 --channels 2 --duration 30s --standbys 0`)');
  t.equal(standbysNamed, 0, 'no host named a standby');
  t.ok(takeovers > NO_STANDBY_SEEDS / 2, `yet channels failed over (${takeovers} takeovers)`);
});

const INVITE_SEEDS = 20;

t.test(`${INVITE_SEEDS} random seeds with members inviting (--invites 3, a private channel): no invariant violated, and the hosts announced the invites`, async (t) => {
  // The workload sent no INVITE until 7 December 2026, and a second INVITE
  // to one channel made its host's PDU fail to encode (node.fault, the
  // crash invariant): the old code fails seed 1 of this at 4.7 virtual s.
  let invites = 0;
  let announced = 0;
  const failing = await failingSeeds(INVITE_SEEDS, { privateChannels: 1, invitesPerSecond: 3, keepLog: true }, (result) => {
    const lines = result.logLines ?? [];
    invites += lines.filter((l) => l.includes('"event":"sim.invite"')).length;
    announced += lines.filter((l) => l.includes('"event":"invite.received"')).length;
  });
  t.same(failing, [], 'every seed passes (replay with `chanmesh sim --seed N --nodes 5 --channels 2 --private 1 --duration 30s --invites 3`)');
  t.ok(invites > INVITE_SEEDS * 20, `members invited (${invites} INVITEs)`);
  // An invite is news to its peer once (lib/node/invites.ts InvitesSeen), however often it is sent.
  t.ok(announced > INVITE_SEEDS * 5, `and the invited heard of them from the hosts' PDUs (${announced} invite.received)`);
});
