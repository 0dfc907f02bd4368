// What a peer coming and going costs a node's discovery, by the size of its
// peer table (npm run bench:discovery). Prints figures, asserts nothing.
//
// A new peer (or a new incarnation) enters the discovery machine's table and
// gets its figure-6 liveness actor; a silent one is disconnected by its
// actor's fourth expiry and leaves the table. That is where a node's CPU
// goes when many peers come and go at once (start-up, a partition healing, a
// loss burst). The discovery machine and the liveness actors run as a node
// composes them (lib/node/liveness-actors.ts), with the node's services
// stubbed (no sockets, no log; the bench plays the silence watch), so the
// figures are the machines' own. Until the eighteenth session the liveness
// actors were the machine's children, which XState copies into every
// snapshot that spawns or stops one: at 1,000 peers a peer's discovery took
// 3,198 us and the removal of a disconnected one 369 us (at 100 peers 52
// and 18 us; docs/simulator-notebook.md, eighteenth session).
//
// Options: --sizes <n,n,...> (5,100,250,500,1000), --rounds <n> (2000 per
// size). JSON goes to bench/results/.
import { parseArgs } from 'node:util';
import { createActor, fromCallback, type EventObject } from 'xstate';
import { discoveryMachine, type DiscoveryEmitted } from '../machines/discovery.ts';
import { LivenessActors } from '../lib/node/liveness-actors.ts';
import { peerLivenessMachine, type SilenceInput } from '../machines/peer-liveness.ts';
import type { Clock } from '../lib/clock.ts';
import type { PeerPduPart } from '../lib/wire/peer-pdu.ts';
import { machineInfo, summarize, writeResult } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '5,100,250,500,1000' },
    rounds: { type: 'string', default: '2000' },
  },
});
const sizes = args.sizes.split(',').map(Number);
const rounds = Number(args.rounds);
if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 1023) || !Number.isInteger(rounds) || rounds < 1) {
  throw new Error('--sizes takes peer counts from 1 to 1023, --rounds a positive integer');
}

/** The silence watch the bench plays: each peer's SILENT, by hand. */
const silent = new Map<string, () => void>();
const silence = fromCallback<EventObject, SilenceInput>(({ input, sendBack }) => {
  silent.set(input.peerId, () => sendBack({ type: 'SILENT' }));
  return () => silent.delete(input.peerId);
});
const liveness = peerLivenessMachine.provide({ actors: { silence }, actions: { report: () => {} } });
const machine = discoveryMachine.provide({ actors: { announcer: fromCallback(() => () => {}) } });
// No timer is ever due in these runs: the machines only need the interface.
const clock: Clock = { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} };
const from = { address: '10.0.0.9', port: 47777 };
const pdu = (peerId: string, incarnation: number): PeerPduPart => ({
  version: 1, peerId, incarnation, seq: 1, rev: 1, nick: peerId, port: 50000, interval: 250,
  channels: [], memberships: [], invites: [], hidden: [], part: 0, parts: 1,
});

interface Row {
  peers: number;
  discoveredUs: ReturnType<typeof summarize>;
  disconnectedUs: ReturnType<typeof summarize>;
}

/** A table of `peers`, then `rounds` times: one peer silent until disconnected, then discovered again (the table stays full). */
function measure(peers: number): Row {
  const actor = createActor(machine, { clock, input: { peerId: 'me', pduIntervalMs: 250, livenessTimeoutMs: 250, maxPeers: 1024 } });
  const actors = new LivenessActors(liveness, clock, (disconnected) => actor.send(disconnected), (error) => {
    throw error;
  });
  actor.on('*', (effect) => actors.follow(effect as DiscoveryEmitted));
  actor.start();
  for (let i = 0; i < peers; i++) actor.send({ type: 'PDU_RECEIVED', part: pdu(`p${i}`, 1), from });
  const discovered: number[] = [];
  const disconnected: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const peerId = `p${r % peers}`;
    // Figure 6: the fourth expiry in a row disconnects (maybeDisconnected after the first).
    for (let expiry = 1; expiry < 4; expiry++) silent.get(peerId)!();
    const t0 = performance.now();
    silent.get(peerId)!();
    const t1 = performance.now();
    actor.send({ type: 'PDU_RECEIVED', part: pdu(peerId, 1), from });
    const t2 = performance.now();
    disconnected.push((t1 - t0) * 1000);
    discovered.push((t2 - t1) * 1000);
  }
  if (actor.getSnapshot().context.peers.size !== peers || silent.size !== peers) throw new Error('the table lost a peer');
  actor.stop();
  actors.stopAll();
  return { peers, discoveredUs: summarize(discovered), disconnectedUs: summarize(disconnected) };
}

console.log(`bench:discovery: ${rounds} disconnections and rediscoveries per table size (the node's services stubbed)`);
console.log('  peers   discovered p50 / p99 (us)   disconnected (the 4th expiry) p50 / p99 (us)');
measure(sizes[0]!); // warm up
const rows = sizes.map((peers) => {
  const row = measure(peers);
  const f = (s: ReturnType<typeof summarize>) => `${s.p50.toFixed(0).padStart(6)} / ${s.p99.toFixed(0).padStart(6)}`;
  console.log(`  ${String(peers).padStart(5)}   ${f(row.discoveredUs).padStart(25)}   ${f(row.disconnectedUs).padStart(27)}`);
  return row;
});
const file = writeResult('discovery', { bench: 'discovery', date: new Date().toISOString(), machine: machineInfo(), rounds, rows });
console.log(`  results: ${file}`);
