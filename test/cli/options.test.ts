// Option values of `chanmesh node` that are more than a number.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { InvalidArgumentError } from 'commander';
import { parseDuration, parseIpv4, parseListen, parsePduInterval } from '../../lib/cli/options.ts';
import { startFailure } from '../../lib/cli/run-node.ts';

t.test('--metrics: a port alone is on loopback; an address opens it to others', async (t) => {
  t.same(parseListen('9464'), { address: '127.0.0.1', port: 9464 });
  t.same(parseListen('0'), { address: '127.0.0.1', port: 0 }, 'port 0: a free one');
  t.same(parseListen('0.0.0.0:9464'), { address: '0.0.0.0', port: 9464 });
  t.same(parseListen('10.1.2.3:80'), { address: '10.1.2.3', port: 80 });
  t.same(parseListen('[::]:9464'), { address: '::', port: 9464 });
  t.same(parseListen('[::1]:9464'), { address: '::1', port: 9464 });
  for (const bad of ['', 'x', '9464x', '65536', '1.2.3:80', '300.1.1.1:80', 'localhost:9464', '::1:9464', '[::1]', ':9464', '1.2.3.4:']) {
    t.throws(() => parseListen(bad), InvalidArgumentError, `"${bad}" is refused`);
  }
});

t.test('durations: at most what a Node timer can wait (a longer one fires at once)', async (t) => {
  t.equal(parseDuration('250'), 250);
  t.equal(parseDuration('2s'), 2000);
  t.equal(parseDuration('24d'), 24 * 86_400_000);
  for (const bad of ['0', '-1', 'x', '25d', '30d', `${2 ** 31}`]) t.throws(() => parseDuration(bad), InvalidArgumentError, `"${bad}" is refused`);
});

t.test('--pdu-interval: 10 ms to 1 h, for node, local, cluster and sim alike', async (t) => {
  t.equal(parsePduInterval('10ms'), 10);
  t.equal(parsePduInterval('1h'), 3_600_000);
  t.equal(parsePduInterval('250'), 250);
  for (const bad of ['9', '1', '61m', '30d']) t.throws(() => parsePduInterval(bad), InvalidArgumentError, `"${bad}" is refused`);
});

t.test('chanmesh cluster: --wait-timeout and --grace are durations like every other, refused before anything is started', async (t) => {
  const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/chanmesh.js');
  const run = (args: string[]) => spawnSync(process.execPath, [bin, 'cluster', ...args], { encoding: 'utf8', timeout: 30_000 });
  // Until December 2026 a regex of the cluster CLI's own read these: `1h`
  // was refused there and taken by every other command.
  for (const [args, option] of [[['up', '--wait-timeout', '5x'], '--wait-timeout'], [['stop', '--grace', '0', 'n1'], '--grace']] as const) {
    const result = run([...args]);
    t.not(result.status, 0, `${args.join(' ')} fails`);
    t.match(result.stderr, new RegExp(`option '${option} <duration>' argument .* is invalid. expected a duration`), 'naming the option and the rule');
  }
  t.match(run(['up', '--help']).stdout, /--wait-timeout <duration>\s+how long to wait for the nodes to start \(default:\s+60s\)/);
});

t.test('--iface is an IPv4 address; --log-level one of pino\'s levels (a name or a typo failed deep in the start, with a stack)', async (t) => {
  t.equal(parseIpv4('10.0.0.5'), '10.0.0.5');
  for (const bad of ['eth0', '', '10.0.0', '::1', '10.0.0.256']) t.throws(() => parseIpv4(bad), InvalidArgumentError, `"${bad}" is refused`);
  const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/chanmesh.js');
  const run = spawnSync(process.execPath, [bin, 'node', '--log-level', 'loud'], { encoding: 'utf8', timeout: 30_000, input: '' });
  t.not(run.status, 0);
  t.match(run.stderr, /argument 'loud' is invalid\. Allowed choices are trace, debug, info, warn, error, fatal, silent/);
  t.notMatch(run.stderr, /\n\s+at /, 'no stack trace');
});

t.test('a start that fails says what to check', async (t) => {
  const failed = (fields: Partial<NodeJS.ErrnoException>, iface?: string) => startFailure(Object.assign(new Error(fields.message ?? 'x'), fields), { iface, port: 0 });
  t.match(failed({ message: 'addMembership ENODEV', syscall: 'addMembership', code: 'ENODEV' }, '10.9.9.9'), /is --iface 10\.9\.9\.9 an address of this host's interfaces/);
  t.match(failed({ message: 'addMembership ENODEV', syscall: 'addMembership', code: 'ENODEV' }), /give --iface <address>/);
  t.match(failed({ message: 'listen EADDRINUSE: address already in use 0.0.0.0:9464', code: 'EADDRINUSE' }), /another process listens there/);
  t.equal(failed({ message: 'something else' }), 'something else');
});
