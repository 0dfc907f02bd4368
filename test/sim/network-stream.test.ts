import t from 'tap';
import type { StreamConnection } from '../../lib/net/transport.ts';
import { KIT_PORT_MAX, KIT_PORT_MIN } from '../../lib/net/transport.ts';
import { SeededRandom } from '../../lib/random.ts';
import { collect, connectPair, FIXED_5MS, host, makeWorld } from './world.ts';

/** The error a rejected connect() gave, and the virtual time its continuation ran at. */
async function connectOutcome(
  promise: Promise<StreamConnection>,
  now: () => number,
): Promise<{ code: unknown; atMs: number }> {
  try {
    await promise;
    return { code: 'connected', atMs: now() };
  } catch (error) {
    return { code: (error as { code?: unknown }).code, atMs: now() };
  }
}

t.test('connect resolves after one RTT and its continuation runs at that virtual time', async (t) => {
  const world = makeWorld(2, FIXED_5MS);
  const listener = await host(world, 1).network.listen(50000);
  const acceptedAt: number[] = [];
  listener.onConnection(() => acceptedAt.push(world.scheduler.now()));
  let continuedAt = -1;
  let remote = '';
  const client = (async () => {
    const connection = await host(world, 0).network.connect({ address: '10.0.0.2', port: 50000 }, 1000);
    continuedAt = world.scheduler.now();
    remote = `${connection.remote.address}:${connection.remote.port}`;
  })();
  await world.scheduler.runUntil(100);
  await client;
  t.equal(continuedAt, 10, 'the await continuation observes now() == the connect time (one RTT)');
  t.same(acceptedAt, [5], 'the server accepts when the SYN arrives');
  t.equal(remote, '10.0.0.2:50000');
  t.equal(world.network.stats().connectionsOpened, 1);
});

t.test('no listener: ECONNREFUSED after one RTT; crashed host too', async (t) => {
  const world = makeWorld(3, FIXED_5MS);
  const refused = connectOutcome(
    host(world, 0).network.connect({ address: '10.0.0.2', port: 50000 }, 1000),
    () => world.scheduler.now(),
  );
  await host(world, 2).network.listen(50000);
  world.network.crash('h3');
  const crashed = connectOutcome(
    host(world, 0).network.connect({ address: '10.0.0.3', port: 50000 }, 1000),
    () => world.scheduler.now(),
  );
  await world.scheduler.runUntil(100);
  t.same(await refused, { code: 'ECONNREFUSED', atMs: 10 });
  t.same(await crashed, { code: 'ECONNREFUSED', atMs: 10 });
  t.equal(world.network.stats().connectionsRefused, 2);
});

t.test('across a partition, or to an address nobody has: ETIMEDOUT after timeoutMs', async (t) => {
  const world = makeWorld(2, FIXED_5MS);
  await host(world, 1).network.listen(50000);
  world.network.partition([['h1'], ['h2']]);
  const cut = connectOutcome(
    host(world, 0).network.connect({ address: '10.0.0.2', port: 50000 }, 300),
    () => world.scheduler.now(),
  );
  const nobody = connectOutcome(
    host(world, 0).network.connect({ address: '10.9.9.9', port: 50000 }, 200),
    () => world.scheduler.now(),
  );
  await world.scheduler.runUntil(1000);
  t.same(await cut, { code: 'ETIMEDOUT', atMs: 300 });
  t.same(await nobody, { code: 'ETIMEDOUT', atMs: 200 });
  t.equal(world.network.stats().connectionsTimedOut, 2);
});

t.test('a frozen server completes the handshake; its process sees the connection at thaw', async (t) => {
  const world = makeWorld(2, FIXED_5MS);
  const listener = await host(world, 1).network.listen(50000);
  const events: string[] = [];
  listener.onConnection((connection) => {
    events.push(`accepted@${world.scheduler.now()}`);
    connection.onData((chunk) => events.push(`data:${chunk.toString()}@${world.scheduler.now()}`));
  });
  world.network.freeze('h2');
  const pending = host(world, 0).network.connect({ address: '10.0.0.2', port: 50000 }, 1000);
  let connectedAt = -1;
  void pending.then(() => {
    connectedAt = world.scheduler.now();
  });
  await world.scheduler.runUntil(20);
  (await pending).write(Buffer.from('hi'));
  await world.scheduler.runUntil(50);
  t.equal(connectedAt, 10, "the frozen host's kernel answered the SYN");
  t.same(events, [], 'nothing while frozen');
  world.network.thaw('h2');
  await world.scheduler.runUntil(50);
  t.same(events, ['accepted@50', 'data:hi@50']);
});

t.test('streams arrive in order under random latency, with chunks cut at random points', async (t) => {
  const world = makeWorld(2, { latencyMsMin: 0.1, latencyMsMean: 3, latencyMsMax: 50, splitChunks: true });
  const { client, server } = await connectPair(world, 0, 1);
  const received = collect(server);
  const chunkCount: number[] = [];
  server.onData((chunk) => chunkCount.push(chunk.length));
  const random = new SeededRandom(99);
  const sent: Buffer[] = [];
  for (let i = 0; i < 2000; i++) {
    const chunk = Buffer.alloc(1 + Math.floor(random.next() * 40), i % 251);
    sent.push(chunk);
    client.write(chunk);
    if (i % 10 === 0) await world.scheduler.runFor(random.next() * 2);
  }
  await world.scheduler.runFor(200);
  t.ok(received.bytes().equals(Buffer.concat(sent)), 'every byte, in order');
  t.ok(chunkCount.length > 2500, `chunks were cut (${chunkCount.length} pieces for 2000 writes)`);
  t.equal(client.bufferedBytes, 0, 'everything acknowledged');
});

t.test('backpressure: write returns false past the high-water mark, onDrain when it falls', async (t) => {
  const world = makeWorld(2, FIXED_5MS);
  const { client, server } = await connectPair(world, 0, 1);
  const received = collect(server);
  const chunk = Buffer.alloc(16 * 1024, 7);
  const results: boolean[] = [];
  for (let i = 0; i < 5; i++) results.push(client.write(chunk));
  t.same(results, [true, true, true, true, false], 'false once bufferedBytes exceeds 64 KiB');
  t.equal(client.bufferedBytes, 80 * 1024);
  let drainedAt = -1;
  let bufferedAtDrain = -1;
  client.onDrain(() => {
    drainedAt = world.scheduler.now();
    bufferedAtDrain = client.bufferedBytes;
  });
  const start = world.scheduler.now();
  await world.scheduler.runFor(100);
  t.equal(drainedAt, start + 10, 'drain after the data and its acknowledgement travelled');
  t.ok(bufferedAtDrain <= 32 * 1024, 'at or below the low-water mark');
  t.equal(received.bytes().length, 80 * 1024);
});

t.test('end(): queued bytes first, then both sides close with "closed"', async (t) => {
  const world = makeWorld(2, FIXED_5MS);
  const { client, server } = await connectPair(world, 0, 1);
  const atServer = collect(server);
  const atClient = collect(client);
  client.write(Buffer.from('last words'));
  client.end();
  t.equal(client.write(Buffer.from('too late')), false, 'nothing is written after end()');
  server.write(Buffer.from('reply in flight'));
  await world.scheduler.runFor(100);
  t.equal(atServer.bytes().toString(), 'last words');
  t.equal(atServer.closed(), 'closed');
  t.equal(atClient.bytes().toString(), 'reply in flight', "the peer's queued bytes still arrive");
  t.equal(atClient.closed(), 'closed');
});

t.test('destroy(): "destroyed" here, "reset" at the peer one latency later', async (t) => {
  const world = makeWorld(2, FIXED_5MS);
  const { client, server } = await connectPair(world, 0, 1);
  const atServer = collect(server);
  let clientReason: string | undefined;
  client.onClose((reason) => {
    clientReason = reason;
  });
  const start = world.scheduler.now();
  let resetAt = -1;
  server.onClose(() => {
    resetAt = world.scheduler.now();
  });
  client.destroy();
  client.destroy();
  await world.scheduler.runFor(100);
  t.equal(clientReason, 'destroyed');
  t.equal(atServer.closed(), 'reset');
  t.equal(resetAt, start + 5);
  let lateReason: string | undefined;
  client.onClose((reason) => {
    lateReason = reason;
  });
  await world.scheduler.runFor(1);
  t.equal(lateReason, 'destroyed', 'a handler registered after the close is still called');
});

t.test('a crash resets the peers of its streams, and its listeners vanish', async (t) => {
  const world = makeWorld(3, FIXED_5MS);
  const toServer = await connectPair(world, 0, 1);
  await t.rejects(host(world, 1).network.listen(50000), { code: 'EADDRINUSE' }, 'one listener per port');
  const atClient = collect(toServer.client);
  const atServer = collect(toServer.server);
  toServer.server.write(Buffer.from('lost with the host'));
  const crashAt = world.scheduler.now();
  let resetAt = -1;
  toServer.client.onClose(() => {
    resetAt = world.scheduler.now();
  });
  world.network.crash('h2');
  await world.scheduler.runFor(100);
  t.equal(atClient.closed(), 'reset');
  t.equal(resetAt, crashAt + 5, 'the peer learns after one latency');
  t.equal(atClient.bytes().length, 0, 'bytes in flight from the crashed host are dropped');
  t.equal(atServer.closed(), undefined, 'a crashed process sees nothing');
  t.equal(toServer.client.write(Buffer.from('x')), false);

  const refused = connectOutcome(
    host(world, 0).network.connect({ address: '10.0.0.2', port: 50000 }, 1000),
    () => world.scheduler.now(),
  );
  await world.scheduler.runFor(100);
  t.equal((await refused).code, 'ECONNREFUSED');

  const restarted = world.network.host('h2', '10.0.0.2');
  t.throws(() => world.network.host('h2', '10.0.0.2'), /already running/);
  const listener = await restarted.network.listen(50000);
  let accepted = 0;
  listener.onConnection(() => accepted++);
  const again = host(world, 0).network.connect({ address: '10.0.0.2', port: 50000 }, 1000);
  await world.scheduler.runFor(100);
  t.equal((await again).remote.address, '10.0.0.2');
  t.equal(accepted, 1, 'the restarted host accepts again');
});

t.test('a partition holds stream bytes until heal, in order', async (t) => {
  const world = makeWorld(2, { latencyMsMin: 1, latencyMsMean: 4, latencyMsMax: 30 });
  const { client, server } = await connectPair(world, 0, 1);
  const received = collect(server);
  client.write(Buffer.from('a'));
  world.network.partition([['h1'], ['h2']]);
  client.write(Buffer.from('b'));
  client.write(Buffer.from('c'));
  await world.scheduler.runFor(1000);
  t.equal(received.bytes().toString(), '', 'nothing crosses, not even what was in flight');
  t.equal(received.closed(), undefined, 'the stream is not broken by a partition');
  world.network.heal();
  client.write(Buffer.from('d'));
  await world.scheduler.runFor(100);
  t.equal(received.bytes().toString(), 'abcd');
});

t.test("a frozen receiver's kernel takes the bytes that arrive: a partition that begins later does not hold them; its process reads them at thaw", async (t) => {
  const world = makeWorld(2, FIXED_5MS);
  const { client, server } = await connectPair(world, 0, 1);
  const received = collect(server);
  world.network.freeze('h2');
  client.write(Buffer.from('in the kernel'));
  await world.scheduler.runFor(10); // arrived after 5 ms
  world.network.partition([['h1'], ['h2']]);
  client.write(Buffer.from(', held'));
  await world.scheduler.runFor(100);
  t.equal(received.bytes().toString(), '', 'nothing while frozen');
  world.network.thaw('h2');
  await world.scheduler.runFor(10);
  t.equal(received.bytes().toString(), 'in the kernel', 'at thaw: what arrived before the partition, not what it holds');
  world.network.heal();
  await world.scheduler.runFor(100);
  t.equal(received.bytes().toString(), 'in the kernel, held', 'the rest after the heal, in order');
});

t.test('destroying a stream across a partition drops its held bytes; the peer learns at heal', async (t) => {
  const world = makeWorld(2, FIXED_5MS);
  const { client, server } = await connectPair(world, 0, 1);
  const received = collect(server);
  world.network.partition([['h1'], ['h2']]);
  client.write(Buffer.from('held'));
  await world.scheduler.runFor(100);
  client.destroy();
  await world.scheduler.runFor(100);
  t.equal(received.closed(), undefined);
  world.network.heal();
  await world.scheduler.runFor(100);
  t.equal(received.bytes().length, 0);
  t.equal(received.closed(), 'reset');
});

t.test('bytes and FIN that arrive before onData wait for it, like a paused socket', async (t) => {
  const world = makeWorld(2, { latencyMsMin: 0, latencyMsMean: 0, latencyMsMax: 0 });
  const listener = await host(world, 1).network.listen(0);
  t.ok(listener.port >= KIT_PORT_MIN && listener.port <= KIT_PORT_MAX, `port 0 picks a KIT port (${listener.port})`);
  listener.onConnection((connection) => {
    connection.write(Buffer.from('greeting'));
    connection.end();
  });
  const pending = host(world, 0).network.connect({ address: '10.0.0.2', port: listener.port }, 1000);
  await world.scheduler.runFor(10);
  const connection = await pending; // with zero latency, bytes and FIN are already there
  const received = collect(connection);
  await world.scheduler.runFor(10);
  t.equal(received.bytes().toString(), 'greeting', 'unread bytes wait for the first onData');
  t.equal(received.closed(), 'closed', 'and the close comes after them');
});

t.test('bounds: a writer that ignores backpressure is stopped at streamBufferBytesMax', async (t) => {
  const world = makeWorld(2, { ...FIXED_5MS, streamHighWaterBytes: 64 * 1024, streamBufferBytesMax: 128 * 1024 });
  const { client } = await connectPair(world, 0, 1);
  const chunk = Buffer.alloc(16 * 1024);
  for (let i = 0; i < 8; i++) client.write(chunk); // exactly at the bound: accepted
  t.equal(client.bufferedBytes, 128 * 1024);
  t.throws(() => client.write(chunk), /ignores write\(\) returning false/);
});

t.test('bounds: the accept backlog holds 511 connections for a listener without a handler', async (t) => {
  const world = makeWorld(2, FIXED_5MS);
  const listener = await host(world, 1).network.listen(50000);
  const closes: string[] = [];
  for (let i = 0; i < 512; i++) {
    void host(world, 0)
      .network.connect({ address: '10.0.0.2', port: 50000 }, 1000)
      .then((connection) => connection.onClose((reason) => closes.push(reason)));
  }
  await world.scheduler.runFor(100);
  t.same(closes, ['reset'], 'the 512th is reset');
  let accepted = 0;
  listener.onConnection(() => accepted++);
  await world.scheduler.runFor(1);
  t.equal(accepted, 511, 'the backlog is handed over once a handler exists');
});
