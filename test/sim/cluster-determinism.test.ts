// Same seed and options -> byte-identical event log (one hash); another
// seed -> another run. With real nodes, XState actors, random faults and
// the workload all in play.
import t from 'tap';
import { simulate } from './helpers.ts';

t.test('a random-fault run replays byte for byte from its seed', async (t) => {
  // At debug the log has every figure-6 suspicion too: more of the nodes' work must replay.
  const options = { nodes: 6, channels: 2, durationMs: 30_000, faults: 'random', faultGapMs: 3000, logLevel: 'debug' };
  const first = await simulate({ ...options, seed: 7 });
  const second = await simulate({ ...options, seed: 7 });
  const other = await simulate({ ...options, seed: 8 });
  t.ok(first.plan.length > 0, `faults were injected (${first.plan.length} steps)`);
  t.ok(first.events.lines > 300, `a busy log (${first.events.lines} lines)`);
  t.equal(second.hash, first.hash, 'seed 7 twice: one hash');
  t.same(second.logLines, first.logLines, 'and the same lines');
  t.not(other.hash, first.hash, 'seed 8: another hash');
});

t.test('a scripted scenario replays too, and the options are part of the log', async (t) => {
  const a = await simulate({ faults: 'host-crash', nodes: 6, seed: 3 });
  const b = await simulate({ faults: 'host-crash', nodes: 6, seed: 3 });
  const c = await simulate({ faults: 'host-crash', nodes: 6, seed: 3, chatPerSecond: 11 });
  t.equal(a.hash, b.hash);
  t.not(c.hash, a.hash, 'another chat rate, another run');
});
