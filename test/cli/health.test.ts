// `chanmesh health` (lib/cli/health.ts) against stand-ins on loopback: the
// connect probe, and the metrics answer that tells a running node from a
// stopped one whose kernel still completes connections.
import http from 'node:http';
import net from 'node:net';
import t, { type Test } from 'tap';
import { checkHealth } from '../../lib/cli/health.ts';
import type { Endpoint } from '../../lib/net/transport.ts';
import { closedPort } from '../helpers/ports.ts';

async function listening(t: Test, server: net.Server): Promise<Endpoint> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.close();
    (server as http.Server).closeAllConnections?.();
  });
  return { address: '127.0.0.1', port: (server.address() as net.AddressInfo).port };
}

async function closed(): Promise<Endpoint> {
  return { address: '127.0.0.1', port: await closedPort() };
}

const metricsServer = (status: number) => http.createServer((_, response) => response.writeHead(status).end('chanmesh_node_info{peer_id="x"} 1\n'));
/** Accepts and never answers: what a stopped process looks like from outside. */
const silentServer = () => net.createServer(() => {});

t.test('channel port open and metrics answered: healthy', async (t) => {
  const verdict = await checkHealth(await listening(t, net.createServer()), await listening(t, metricsServer(200)));
  t.match(verdict, { healthy: true, reason: /accepts connections and the node answers \/metrics/ });
});

t.test('no metrics endpoint (refused): the connect probe decides, and says so', async (t) => {
  const channel = await listening(t, net.createServer());
  t.match(await checkHealth(channel, await closed()), { healthy: true, reason: /no metrics endpoint/ });
  t.match(await checkHealth(await closed(), await closed()), { healthy: false, reason: /does not accept connections/ });
});

t.test('a metrics port that accepts but never answers: unhealthy, within the timeout', async (t) => {
  // The verdict names the timeout that gave it; how soon it came is no
  // assertion (a busy machine runs timers late), and a probe that hung
  // would time the test out.
  const verdict = await checkHealth(await listening(t, silentServer()), await listening(t, silentServer()), 300);
  t.match(verdict, { healthy: false, reason: /does not answer \/metrics within 300 ms/ });
});

t.test('a metrics endpoint that answers other than 200: unhealthy, with the status', async (t) => {
  const verdict = await checkHealth(await listening(t, net.createServer()), await listening(t, metricsServer(500)));
  t.match(verdict, { healthy: false, reason: /answered status 500/ });
});

t.test('an endpoint on every interface is asked on loopback', async (t) => {
  const { port } = await listening(t, metricsServer(200));
  t.match(await checkHealth(await listening(t, net.createServer()), { address: '0.0.0.0', port }), { healthy: true, reason: /answers \/metrics/ });
});
