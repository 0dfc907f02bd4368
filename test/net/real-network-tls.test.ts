// The real network under a secret (TLS-PSK, lib/net/tls-psk.ts), in one
// process on loopback: the bounds of the handshake.
import net from 'node:net';
import t from 'tap';
import { RealNetwork } from '../../lib/net/real-network.ts';
import { channelKey, MAX_AWAITING_HANDSHAKE } from '../../lib/net/tls-psk.ts';
import { SeededRandom } from '../../lib/random.ts';
import { CLOSED_BEFORE_HELLO, hungUp, type Endpoint } from '../../lib/net/transport.ts';

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

t.test('handshakes in progress are bounded: past the bound a connection is closed at once and reported; a slot frees when one ends', async (t) => {
  const rejected: string[] = [];
  const server = new RealNetwork(new SeededRandom(1), { channelKey: channelKey(Buffer.from('s')), maxAwaitingHandshake: 3, onRejected: (_remote, code) => rejected.push(code) });
  const listener = await server.listen(0, '127.0.0.1');
  t.teardown(() => listener.close());
  listener.onConnection((c) => c.onData((chunk) => c.write(chunk)));
  const open = () => {
    const socket = net.connect({ host: '127.0.0.1', port: listener.port });
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    return { socket, closed };
  };
  const silent = [open(), open(), open()];
  await Promise.all(silent.map((s) => new Promise((r) => s.socket.once('connect', r))));
  await new Promise((r) => setTimeout(r, 100));
  const fourth = open();
  await fourth.closed;
  t.same(rejected, ['too_many_awaiting_handshake'], 'the fourth silent connection: closed at once');
  await t.rejects(new RealNetwork(new SeededRandom(2), { channelKey: channelKey(Buffer.from('s')) }).connect({ address: '127.0.0.1', port: listener.port }, 2000), 'a holder of the secret too, while strangers hold every slot');

  // A stranger that gives up (closes before any hello) frees its slot.
  silent[0]!.socket.end();
  await silent[0]!.closed;
  await new Promise((r) => setTimeout(r, 100));
  const stream = await new RealNetwork(new SeededRandom(3), { channelKey: channelKey(Buffer.from('s')) }).connect({ address: '127.0.0.1', port: listener.port }, 2000);
  t.teardown(() => stream.destroy());
  const echoed = new Promise<string>((resolve) => stream.onData((chunk) => resolve(chunk.toString())));
  stream.write(Buffer.from('in the freed slot'));
  t.equal(await echoed, 'in the freed slot', 'then a holder of the secret is served');
  t.same(rejected, ['too_many_awaiting_handshake', 'too_many_awaiting_handshake', CLOSED_BEFORE_HELLO], 'the fourth, the holder, then the stranger that left on its own: told as a hang-up');
  t.ok(hungUp(CLOSED_BEFORE_HELLO) && hungUp('ECONNRESET') && !hungUp('too_many_awaiting_handshake'), 'which is no news (debug)');
  for (const s of silent) s.socket.destroy();
});

t.test('the default bound is MAX_AWAITING_HANDSHAKE (1,024): that many strangers wait, the next one is closed at once', async (t) => {
  t.equal(MAX_AWAITING_HANDSHAKE, 1024);
  const { real, rejected } = network('s');
  const listener = await real.listen(0, '127.0.0.1');
  t.teardown(() => listener.close());
  const sockets: net.Socket[] = [];
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  const open = () => {
    const socket = net.connect({ host: '127.0.0.1', port: listener.port });
    socket.on('error', () => {});
    sockets.push(socket);
    return socket;
  };
  // In batches, so the listen backlog never overflows into SYN retries.
  for (let i = 0; i < MAX_AWAITING_HANDSHAKE; i += 128) {
    await Promise.all(Array.from({ length: 128 }, () => new Promise((r) => open().once('connect', r))));
  }
  // All 1,024 are in the accept queue before the next one connects, and the
  // listener takes them in order: no waiting needed.
  const next = open();
  await new Promise((r) => next.once('connect', r));
  const port = next.localPort;
  await new Promise((r) => next.once('close', r));
  t.same(
    rejected.map((r) => [r.code, r.remote.port]),
    [['too_many_awaiting_handshake', port]],
    'of 1,025, the last alone: closed at once',
  );
});
