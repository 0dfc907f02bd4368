// The real network under a secret (TLS-PSK, lib/net/tls-psk.ts), in one
// process on loopback: the bounds of the handshake.
import net from 'node:net';
import t from 'tap';
import { RealNetwork } from '../../lib/net/real-network.ts';
import { channelKey } from '../../lib/net/tls-psk.ts';
import { SeededRandom } from '../../lib/random.ts';
import type { Endpoint } from '../../lib/net/transport.ts';

function network(secret: string, handshakeTimeoutMs?: number) {
  const rejected: Array<{ remote: Endpoint; code: string }> = [];
  const real = new RealNetwork(new SeededRandom(1), { channelKey: channelKey(Buffer.from(secret)), handshakeTimeoutMs, onRejected: (remote, code) => rejected.push({ remote, code }) });
  return { real, rejected };
}

t.test('a socket that never says hello is dropped at the handshake timeout and reported; the listener serves on', async (t) => {
  const server = network('s', 200);
  const listener = await server.real.listen(0, '127.0.0.1');
  t.teardown(() => listener.close());
  const accepted: string[] = [];
  listener.onConnection((c) => {
    accepted.push(c.remote.address);
    c.onData((chunk) => c.write(chunk));
  });
  const silent = net.connect({ host: '127.0.0.1', port: listener.port });
  silent.on('error', () => {});
  const closedAt = await new Promise<number>((resolve) => {
    const start = Date.now();
    silent.on('close', () => resolve(Date.now() - start));
  });
  t.ok(closedAt >= 150, `not before the timeout (${closedAt} ms)`);
  t.match(server.rejected.map((r) => r.code), ['ERR_TLS_HANDSHAKE_TIMEOUT']);
  t.same(accepted, [], 'the node never saw it');

  const client = network('s');
  const stream = await client.real.connect({ address: '127.0.0.1', port: listener.port }, 2000);
  t.teardown(() => stream.destroy());
  const echoed = new Promise<string>((resolve) => stream.onData((chunk) => resolve(chunk.toString())));
  stream.write(Buffer.from('after the silent one'));
  t.equal(await echoed, 'after the silent one', 'a client with the secret is served');
});

t.test('a client with another secret fails its connect, and the host reports the handshake', async (t) => {
  const server = network('right');
  const listener = await server.real.listen(0, '127.0.0.1');
  t.teardown(() => listener.close());
  await t.rejects(network('wrong').real.connect({ address: '127.0.0.1', port: listener.port }, 2000));
  await new Promise((r) => setTimeout(r, 100));
  t.equal(server.rejected.length, 1);
});

t.test('a connection reset in the middle of its handshake is reported with its address', async (t) => {
  // A reset socket no longer knows its peer: the address is read at accept.
  const server = network('s');
  const listener = await server.real.listen(0, '127.0.0.1');
  t.teardown(() => listener.close());
  const reset = net.connect({ host: '127.0.0.1', port: listener.port });
  reset.on('error', () => {});
  await new Promise<void>((resolve) => reset.once('connect', () => resolve()));
  const localPort = reset.localPort;
  reset.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01])); // the start of a ClientHello
  await new Promise((r) => setTimeout(r, 50));
  reset.resetAndDestroy();
  for (let waited = 0; server.rejected.length === 0 && waited < 2000; waited += 20) await new Promise((r) => setTimeout(r, 20));
  t.same(server.rejected, [{ remote: { address: '127.0.0.1', port: localPort }, code: 'ECONNRESET' }]);
});
