// Derived defaults: what follows from the PDU interval unless given.
import t from 'tap';
import { defaultHistoryLimit, resolveConfig } from '../../lib/node/config.ts';
import { defaultSettleMs } from '../../sim/run.ts';

t.test('the history is 100 messages at the default interval and grows in proportion above it', async (t) => {
  t.equal(resolveConfig({ id: 'a' }).historyLimit, 100);
  t.equal(resolveConfig({ id: 'a', pduIntervalMs: 100 }).historyLimit, 100, 'never below 100');
  t.equal(resolveConfig({ id: 'a', pduIntervalMs: 1000 }).historyLimit, 400);
  t.equal(defaultHistoryLimit(5000), 2000);
  t.equal(resolveConfig({ id: 'a', pduIntervalMs: 1000, historyLimit: 50 }).historyLimit, 50, 'a given value wins');
});

t.test('the liveness timeout and the invite lifetime follow the interval', async (t) => {
  const c = resolveConfig({ id: 'a', pduIntervalMs: 400 });
  t.equal(c.livenessTimeoutMs, 400);
  t.equal(c.inviteTtlMs, 16_000);
});

t.test("the simulator's settle time is 40 intervals, at least 10 s", async (t) => {
  t.equal(defaultSettleMs(250), 10_000);
  t.equal(defaultSettleMs(100), 10_000);
  t.equal(defaultSettleMs(1000), 40_000);
});
