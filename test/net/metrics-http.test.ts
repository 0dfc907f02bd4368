// The metrics endpoint (lib/net/metrics-http.ts) on loopback: what it serves,
// and its bounds, each at its value: a stranger's bad request is answered,
// reported and closed, and the endpoint serves on.
import net from 'node:net';
import t, { type Test } from 'tap';
import { METRICS_LIMITS, serveMetrics, type Exposition, type MetricsLimits } from '../../lib/net/metrics-http.ts';
import type { Endpoint } from '../../lib/net/transport.ts';
import { rawExchange } from '../helpers/raw-peer.ts';

const EXPOSITION: Exposition = { contentType: 'text/plain; version=0.0.4; charset=utf-8', render: async () => 'chanmesh_up 1\n' };

async function endpoint(t: Test, exposition = EXPOSITION, limits: MetricsLimits = METRICS_LIMITS) {
  const rejected: Array<{ remote: Endpoint; code: string }> = [];
  const errors: unknown[] = [];
  const served = await serveMetrics({ address: '127.0.0.1', port: 0 }, exposition, (remote, code) => rejected.push({ remote, code }), (error) => errors.push(error), limits);
  t.teardown(() => served.close());
  const url = (path: string) => `http://127.0.0.1:${served.port}${path}`;
  return { served, url, rejected, errors };
}

/** Writes `request` on a raw connection and resolves with all the endpoint answered before it closed. */
async function raw(port: number, request: string, waitMs = 5000): Promise<string> {
  return (await rawExchange(port, Buffer.from(request, 'latin1'), waitMs)).received.toString('latin1');
}

/** A connection that stays open and silent; resolves once it is connected. */
function idle(port: number): Promise<net.Socket> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.on('error', () => {});
    // Read, so that the endpoint's closing is seen.
    socket.resume();
  });
}

t.test('GET and HEAD of /metrics are the exposition; other paths 404, other methods 405', async (t) => {
  const { url, rejected } = await endpoint(t);
  const got = await fetch(url('/metrics'));
  t.equal(got.status, 200);
  t.equal(got.headers.get('content-type'), EXPOSITION.contentType);
  t.equal(await got.text(), 'chanmesh_up 1\n');
  t.equal(await (await fetch(url('/metrics?name[]=chanmesh_up'))).text(), 'chanmesh_up 1\n', 'a query string is no other path');
  const head = await fetch(url('/metrics'), { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.headers.get('content-length'), String('chanmesh_up 1\n'.length), 'HEAD: the length, no body');
  t.equal(await head.text(), '');
  t.equal((await fetch(url('/'))).status, 404);
  t.equal((await fetch(url('/metricsx'))).status, 404);
  const post = await fetch(url('/metrics'), { method: 'POST', body: 'x'.repeat(100_000) });
  t.equal(post.status, 405);
  t.equal(post.headers.get('allow'), 'GET, HEAD');
  t.same(rejected, [], 'a well-formed request is no rejection, whatever it asks');
});

t.test('an exposition that fails is a 500 and an error, and the next scrape is served', async (t) => {
  let fail = true;
  const { url, errors } = await endpoint(t, { contentType: 'text/plain', render: async () => (fail ? Promise.reject(new Error('collect failed')) : 'ok 1\n') });
  t.equal((await fetch(url('/metrics'))).status, 500);
  t.match(errors, [{ message: 'collect failed' }]);
  fail = false;
  t.equal(await (await fetch(url('/metrics'))).text(), 'ok 1\n');
});

t.test('what is not HTTP is a 400, reported with its address; the endpoint serves on', async (t) => {
  const { served, url, rejected } = await endpoint(t);
  const answer = await raw(served.port, 'JOIN #lobby\r\n\r\n');
  t.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
  t.equal(rejected.length, 1);
  t.match(rejected[0], { remote: { address: '127.0.0.1' }, code: /^HPE_/ });
  t.ok(rejected[0]!.remote.port > 0, 'with the port it came from');
  t.equal((await fetch(url('/metrics'))).status, 200);
});

t.test('strangers answered 400 hold no connection slot, even if they never close their side', async (t) => {
  const { served, url, rejected } = await endpoint(t);
  const strangers: net.Socket[] = [];
  for (let i = 0; i < METRICS_LIMITS.maxConnections; i++) {
    // Never read and never closed: only the endpoint can end these.
    const socket = net.connect({ host: '127.0.0.1', port: served.port }, () => socket.write('NOT HTTP\r\n\r\n'));
    socket.on('error', () => {});
    strangers.push(socket);
  }
  t.teardown(() => strangers.forEach((s) => s.destroy()));
  while (rejected.length < METRICS_LIMITS.maxConnections) await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal((await fetch(url('/metrics'))).status, 200, 'a scraper is served');
  t.equal(rejected.length, METRICS_LIMITS.maxConnections, 'and was not turned away');
});

t.test(`request headers are bounded at ${METRICS_LIMITS.maxHeaderBytes} bytes: under it served, over it a 431`, async (t) => {
  const { served, rejected } = await endpoint(t);
  const request = (headerBytes: number) => {
    const head = 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: ';
    return `${head}${'a'.repeat(headerBytes - head.length - 4)}\r\n\r\n`;
  };
  t.match(await raw(served.port, request(METRICS_LIMITS.maxHeaderBytes - 64)), /^HTTP\/1\.1 200 OK\r\n/, 'just under the bound');
  t.same(rejected, []);
  t.match(await raw(served.port, request(METRICS_LIMITS.maxHeaderBytes + 64)), /^HTTP\/1\.1 431 /, 'just over it');
  t.match(rejected, [{ code: 'HPE_HEADER_OVERFLOW' }]);
});

t.test(`at most ${METRICS_LIMITS.maxConnections} connections: one more is closed at once and reported`, async (t) => {
  const { served, url, rejected } = await endpoint(t);
  const held: net.Socket[] = [];
  for (let i = 0; i < METRICS_LIMITS.maxConnections; i++) held.push(await idle(served.port));
  t.teardown(() => held.forEach((s) => s.destroy()));
  const extra = await idle(served.port);
  const extraPort = extra.localPort;
  await new Promise((resolve) => extra.on('close', resolve));
  t.match(rejected, [{ remote: { address: '127.0.0.1', port: extraPort }, code: 'too_many_connections' }], 'the one past the bound, by its port');
  held.pop()!.destroy();
  // The server counts the closed one out when it sees the close: retry until it has.
  for (let attempt = 0; ; attempt++) {
    const status = await fetch(url('/metrics')).then((r) => r.status, () => 0);
    if (status === 200) break;
    t.ok(attempt < 50, 'served again once a connection is free');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
});

t.test(`a request not in within ${METRICS_LIMITS.headersTimeoutMs} ms (its headers) is a 408, reported, and closed; a trickle too`, async (t) => {
  const { served, rejected } = await endpoint(t);
  const started = Date.now();
  const closedAfter = (socket: net.Socket) => new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
  const partial = raw(served.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\n', 3 * METRICS_LIMITS.headersTimeoutMs);
  const silent = await idle(served.port);
  // One header line a second: a slow client never gets more than the headers' time.
  const trickle = await idle(served.port);
  trickle.write('GET /metrics HTTP/1.1\r\n');
  const drip = setInterval(() => trickle.write('X-Drip: 1\r\n'), 1000);
  t.teardown(() => clearInterval(drip));
  const times = await Promise.all([closedAfter(silent), closedAfter(trickle)]);
  t.match(await partial, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  t.ok(times.every((ms) => ms >= METRICS_LIMITS.headersTimeoutMs - 100), `not before the bound (${times.join(', ')} ms)`);
  t.same(rejected.map((r) => r.code), ['ERR_HTTP_REQUEST_TIMEOUT', 'ERR_HTTP_REQUEST_TIMEOUT', 'ERR_HTTP_REQUEST_TIMEOUT'], 'a connection that says nothing at all, too');
});

t.test('one request a connection: a body trickled after the headers is answered and the connection closed at once', async (t) => {
  // Until 7 December 2026 the connection lasted the request's time (10 s),
  // a slot held; answered, it is now closed, the body unread.
  const { served, rejected } = await endpoint(t);
  const slow = await idle(served.port);
  const answers: string[] = [];
  slow.on('data', (d: Buffer) => answers.push(d.toString('latin1')));
  const closed = new Promise<void>((resolve) => slow.on('close', () => resolve()));
  slow.write('POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
  const drip = setInterval(() => slow.writable && slow.write('x'), 200);
  t.teardown(() => clearInterval(drip));
  await closed;
  t.match(answers.join(''), /^HTTP\/1\.1 405 [^]*\r\nConnection: close\r\n/, 'answered, Connection: close, before the body is in');
  t.same(rejected, [], 'no rejection: an answered request');
});

t.test('a client that pipelines is disconnected after its first request: one render, not one per request', async (t) => {
  // 6,000 GETs in one write, never read, started 3,855 renders (+350 MB),
  // and no timeout ran while the answers waited (until 7 December 2026).
  let renders = 0;
  const counting: Exposition = { contentType: EXPOSITION.contentType, render: async () => (renders++, 'chanmesh_up 1\n') };
  const { served, url, rejected } = await endpoint(t, counting);
  const greedy = await idle(served.port);
  greedy.pause(); // reads nothing
  const closed = new Promise<void>((resolve) => greedy.on('close', () => resolve()));
  greedy.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(2000));
  await closed;
  t.ok(renders <= 1, `${renders} render for 2,000 pipelined requests`);
  t.same(rejected.map((r) => r.code), ['pipelined_request'], 'reported once, as a rejected connection');
  const scrape = await fetch(url('/metrics'));
  t.equal(await scrape.text(), 'chanmesh_up 1\n', 'a scraper is served');
  t.equal(scrape.headers.get('connection'), 'close', 'and its connection closed once answered');
});

t.test('close() ends the connections a scraper keeps alive', async (t) => {
  const rejected: unknown[] = [];
  const served = await serveMetrics({ address: '127.0.0.1', port: 0 }, EXPOSITION, (r) => rejected.push(r), () => {});
  const kept = await idle(served.port);
  const closed = new Promise((resolve) => kept.on('close', resolve));
  await served.close();
  await closed;
  t.same(rejected, []);
});

const ipv6Loopback = await new Promise<boolean>((resolve) => {
  const server = net.createServer().listen(0, '::1', () => server.close(() => resolve(true)));
  server.on('error', () => resolve(false));
});

t.test('an IPv6 address is served too', { skip: ipv6Loopback ? false : 'no IPv6 loopback (::1) on this host' }, async (t) => {
  const served = await serveMetrics({ address: '::1', port: 0 }, EXPOSITION, () => {}, () => {});
  t.teardown(() => served.close());
  t.equal(served.address, '::1');
  t.equal(await (await fetch(`http://[::1]:${served.port}/metrics`)).text(), 'chanmesh_up 1\n');
});
