// `chanmesh health` against a real node process: a stopped (SIGSTOP) node
// still completes TCP connections from its kernel's backlog, so only its
// metrics answer tells it is not serving. Without --metrics it passes, as
// the probe says.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { CHANMESH_BIN, NodeProcess, uniqueGroup } from '../helpers/node-process.ts';
import { closedPort } from '../helpers/ports.ts';

function health(port: number, metrics: string): { code: number | null; out: string } {
  const result = spawnSync(process.execPath, [CHANMESH_BIN, 'health', '--port', String(port), '--metrics', metrics], { encoding: 'utf8', timeout: 20_000 });
  return { code: result.status, out: result.stdout.trim() };
}

t.test('a frozen node is unhealthy when it serves metrics, healthy again when it wakes', async (t) => {
  const node = new NodeProcess({ id: 'probed1', group: uniqueGroup(), args: ['--metrics', '0'] });
  t.teardown(() => node.stop());
  const port = (await node.waitEvent('node.started')).port as number;
  const metrics = String((await node.waitEvent('metrics.listening')).port);
  t.match(health(port, metrics), { code: 0, out: /^healthy: .*answers \/metrics$/ }, 'running: healthy');
  node.signal('SIGSTOP');
  t.match(health(port, metrics), { code: 1, out: /^unhealthy: the node does not answer \/metrics within 2000 ms/ }, 'stopped: unhealthy');
  node.signal('SIGCONT');
  t.match(health(port, metrics), { code: 0, out: /^healthy: / }, 'woken: healthy');
});

t.test('without --metrics the connect probe alone decides, and a frozen node passes it', async (t) => {
  const node = new NodeProcess({ id: 'probed2', group: uniqueGroup() });
  t.teardown(() => node.stop());
  const port = (await node.waitEvent('node.started')).port as number;
  const free = String(await closedPort());
  t.match(health(port, free), { code: 0, out: /no metrics endpoint/ });
  node.signal('SIGSTOP');
  t.match(health(port, free), { code: 0, out: /a stopped process would pass too/ }, 'the limit the probe states');
  node.signal('SIGCONT');
  node.signal('SIGKILL');
  await node.until('exit', () => node.exited);
  t.match(health(port, free), { code: 1, out: /does not accept connections/ }, 'a dead node fails');
});
