// Derived defaults: what follows from the PDU interval unless given.
import t from 'tap';
import { defaultHistoryLimit, defaultMaxBufferedBytes, defaultNick, NodeConfigError, resolveConfig } from '../../lib/node/config.ts';
import { historyWindowMax } from '../../machines/history.ts';
import { MAX_ELECTED_STANDBYS, MAX_SAY_FRAME_BYTES } from '../../lib/wire/limits.ts';
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

t.test('the nick defaults to the id cut to 32 bytes, so that any id announces', async (t) => {
  t.equal(resolveConfig({ id: 'a' }).nick, 'a');
  const long = 'h'.repeat(40) + '-abc123';
  t.equal(resolveConfig({ id: long }).nick, long.slice(0, 32));
  t.equal(defaultNick(long), 'h'.repeat(32));
  t.equal(resolveConfig({ id: long, nick: 'Ann' }).nick, 'Ann', 'a given nick wins');
});

t.test('what its own PDU carries is checked before a node starts: id, nick, port, interval, standbys', async (t) => {
  const refused = (input: Parameters<typeof resolveConfig>[0], option: string) =>
    t.throws(() => resolveConfig(input), { name: 'NodeConfigError', option }, `${JSON.stringify(input)}: --${option} refused`);
  refused({ id: 'a b' }, 'id');
  refused({ id: 'x'.repeat(65) }, 'id');
  refused({ id: 'a', nick: 'n'.repeat(33) }, 'nick');
  refused({ id: 'a', nick: '\u00e9'.repeat(17) }, 'nick');
  refused({ id: 'a', port: 8080 }, 'port');
  refused({ id: 'a', port: 49151 }, 'port');
  refused({ id: 'a', port: 65536 }, 'port');
  refused({ id: 'a', pduIntervalMs: 9 }, 'pdu-interval');
  refused({ id: 'a', pduIntervalMs: 3_600_001 }, 'pdu-interval');
  refused({ id: 'a', standbys: MAX_ELECTED_STANDBYS + 1 }, 'standbys');
  refused({ id: 'a', standbys: -1 }, 'standbys');
  refused({ id: 'a', standbys: 1.5 }, 'standbys');
  for (const standbys of [0, MAX_ELECTED_STANDBYS]) t.equal(resolveConfig({ id: 'a', standbys }).standbys, standbys, `${standbys} standbys accepted`);
  for (const pduIntervalMs of [10, 3_600_000]) t.equal(resolveConfig({ id: 'a', pduIntervalMs }).pduIntervalMs, pduIntervalMs, `interval ${pduIntervalMs} ms accepted`);
  for (const port of [0, 49152, 65535]) t.equal(resolveConfig({ id: 'a', port }).port, port, `port ${port} accepted`);
  t.equal(resolveConfig({ id: 'x'.repeat(64), nick: '\u00e9'.repeat(16) }).nick.length, 16, '64-character id, 32-byte nick accepted');
  t.type(new NodeConfigError('port', 'x'), Error);
});

t.test("a connection's unsent bound holds at least two of the largest WELCOME the history makes", async (t) => {
  t.equal(resolveConfig({ id: 'a' }).maxBufferedBytes, 8 * 1024 * 1024, '8 MiB at the default history');
  for (const historyLimit of [100, 400, 2000, 10_000]) {
    const c = resolveConfig({ id: 'a', historyLimit });
    const welcome = historyWindowMax(historyLimit) * MAX_SAY_FRAME_BYTES;
    t.ok(c.maxBufferedBytes >= 2 * welcome, `history ${historyLimit}: ${c.maxBufferedBytes} >= 2 x ${welcome}`);
  }
  t.equal(resolveConfig({ id: 'a', pduIntervalMs: 5000 }).maxBufferedBytes, defaultMaxBufferedBytes(2000), 'from the derived history too');
  t.equal(resolveConfig({ id: 'a', maxBufferedBytes: 1000 }).maxBufferedBytes, 1000, 'a given value wins');
});
