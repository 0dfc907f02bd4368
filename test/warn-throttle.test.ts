// The warn throttle: a flood of one kind of warn line becomes a few warn
// lines and a count; nothing is lost at debug, and other kinds are not held back.
import t from 'tap';
import { MAX_KINDS, WarnThrottle } from '../lib/warn-throttle.ts';
import { capturedLog } from './helpers/log-lines.ts';
import { ManualClock } from './helpers/manual-clock.ts';

function throttle(burst = 3, windowMs = 1_000) {
  const clock = new ManualClock();
  const { log, lines } = capturedLog();
  const warnings = new WarnThrottle(log, clock, burst, windowMs);
  const at = (level: 'warn' | 'debug') => lines.filter((l) => l.level === (level === 'warn' ? 40 : 20));
  return { clock, lines, warnings, at };
}

const rejected = { event: 'connection.rejected', transport: 'tcp', code: 'join_timeout' };

t.test('below the burst every line is a warn line, as if there were no throttle', async (t) => {
  const s = throttle();
  for (let i = 0; i < 3; i++) s.warnings.warn(rejected, { remote: { address: '192.0.2.1', port: i } });
  s.clock.advance(5_000);
  t.same(
    s.at('warn').map((l) => [l.event, l.transport, l.code, (l.remote as { port: number }).port]),
    [0, 1, 2].map((port) => ['connection.rejected', 'tcp', 'join_timeout', port]),
  );
  t.same(s.at('debug'), [], 'nothing demoted, no count line');
});

t.test('past the burst the window goes to debug, in full, and its end counts what went there', async (t) => {
  const s = throttle();
  for (let i = 0; i < 10; i++) s.warnings.warn(rejected, { remote: { address: '192.0.2.1', port: i } });
  t.equal(s.at('warn').length, 3, 'three warn lines');
  t.same(s.at('debug').map((l) => (l.remote as { port: number }).port), [3, 4, 5, 6, 7, 8, 9], 'the other seven at debug, with their details');
  s.clock.advance(999);
  t.equal(s.at('warn').length, 3, 'no count before the window ends');
  s.clock.advance(1);
  const count = s.at('warn')[3]!;
  t.match(count, { event: 'connection.rejected', transport: 'tcp', code: 'join_timeout', throttled: 7, windowMs: 1_000 });
  t.notOk('remote' in count, 'the count line is of the kind, not of one connection');
  s.warnings.warn(rejected, { remote: { address: '192.0.2.1', port: 10 } });
  t.equal(s.at('warn').length, 5, 'a new window starts with warn lines again');
});

t.test('a window ends by time even when no timer was needed, and a sustained flood is a few lines per window', async (t) => {
  const s = throttle();
  for (let i = 0; i < 3; i++) s.warnings.warn(rejected, { remote: { address: '192.0.2.1', port: i } });
  s.clock.advance(1_000);
  s.warnings.warn(rejected, { remote: { address: '192.0.2.1', port: 3 } });
  t.equal(s.at('warn').length, 4, 'the fourth line is in a new window, so a warn line');
  // 100 lines in each of 5 windows: 3 warn lines and one count per window.
  const s2 = throttle();
  for (let i = 0; i < 500; i++) {
    s2.warnings.warn(rejected, { remote: { address: '192.0.2.1', port: i } });
    s2.clock.advance(10);
  }
  s2.clock.advance(1_000);
  t.equal(s2.at('warn').length, 5 * 4);
  t.same(s2.at('warn').filter((l) => 'throttled' in l).map((l) => l.throttled), [97, 97, 97, 97, 97]);
  t.equal(s2.at('debug').length, 5 * 97, 'every line there is, at debug');
});

t.test('each kind has its own window: a flood of one does not hold back another', async (t) => {
  const s = throttle();
  for (let i = 0; i < 10; i++) s.warnings.warn(rejected, { remote: { address: '192.0.2.1', port: i } });
  s.warnings.warn({ ...rejected, code: 'too_many_awaiting_join' }, { remote: { address: '192.0.2.2', port: 1 } });
  s.warnings.warn({ event: 'peer.rejected', reason: 'table full' }, { peer: 'x' });
  s.warnings.warn({ event: 'peer.rejected', reason: 'id conflict' }, { peer: 'y' });
  t.same(
    s.at('warn').slice(3).map((l) => [l.event, l.code ?? l.reason]),
    [
      ['connection.rejected', 'too_many_awaiting_join'],
      ['peer.rejected', 'table full'],
      ['peer.rejected', 'id conflict'],
    ],
  );
});

t.test('stop ends every window with its count and leaves no timer behind', async (t) => {
  const s = throttle();
  for (let i = 0; i < 5; i++) s.warnings.warn(rejected, { remote: { address: '192.0.2.1', port: i } });
  s.clock.advance(400);
  s.warnings.stop();
  t.match(s.at('warn')[3], { code: 'join_timeout', throttled: 2, windowMs: 400 });
  s.clock.advance(10_000);
  t.equal(s.at('warn').length, 4, 'the cancelled timer does not count again');
});

t.test('past MAX_KINDS kinds the oldest window ends first, with its count', async (t) => {
  const s = throttle(1);
  const kinds = MAX_KINDS + 44;
  for (let i = 0; i < kinds; i++) {
    for (let j = 0; j < 2; j++) s.warnings.warn({ event: 'decode.error', transport: 'tcp', code: `code_${i}` }, { remote: { address: '192.0.2.1', port: j } });
  }
  const counts = s.at('warn').filter((l) => 'throttled' in l);
  t.same(counts.map((l) => l.code), Array.from({ length: 44 }, (_, i) => `code_${i}`), 'the 44 oldest ended early');
  s.warnings.stop();
  t.equal(s.at('warn').filter((l) => 'throttled' in l).length, kinds, 'every window counted exactly once');
});
