// The real network's end(): flush, then close; and when the peer never
// closes its side, destroyed END_GRACE_MS later, so that a half-open
// stranger holds no socket for longer than that.
import net from 'node:net';
import t, { type Test } from 'tap';
import { END_GRACE_MS, RealNetwork } from '../../lib/net/real-network.ts';
import type { StreamConnection } from '../../lib/net/transport.ts';
import { SeededRandom } from '../../lib/random.ts';

/** A listener whose every connection is sent `last` and ended at once; resolves with when it was ended and when it closed. */
async function endingListener(t: Test, last: string, endGraceMs?: number) {
  const listener = await new RealNetwork(new SeededRandom(1), { endGraceMs }).listen(0, '127.0.0.1');
  t.teardown(() => listener.close());
  const closed = new Promise<{ endedAt: number; closedAt: number }>((resolve) => {
    listener.onConnection((stream: StreamConnection) => {
      stream.write(Buffer.from(last));
      const endedAt = Date.now();
      stream.end();
      stream.onClose(() => resolve({ endedAt, closedAt: Date.now() }));
    });
  });
  return { port: listener.port, closed };
}

function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);
}

t.test('a socket we end() whose peer keeps its side open is destroyed after the grace; the peer read the last bytes first', async (t) => {
  const { port, closed } = await endingListener(t, 'MOVED');
  const peer = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  t.teardown(() => peer.destroy());
  peer.on('error', () => {});
  let received = '';
  peer.on('data', (d) => (received += String(d)));
  const finished = new Promise<void>((resolve) => peer.once('end', () => resolve()));
  await within(30_000, finished, 'our FIN');
  t.equal(received, 'MOVED', 'the last frames arrive before our FIN');
  // Generous slack above the grace: a loaded machine runs timers late.
  const { endedAt, closedAt } = await within(END_GRACE_MS + 30_000, closed, 'closed after the grace');
  t.ok(closedAt - endedAt >= END_GRACE_MS - 50, `not before the grace (${closedAt - endedAt} ms)`);
});

t.test('a peer that closes its side at once is closed at once, without waiting for the grace', async (t) => {
  // A grace far longer than the wait below: the close cannot be the grace's
  // (no bound on how fast it is, which a busy machine could break).
  const graceMs = 600_000;
  const { port, closed } = await endingListener(t, 'bye', graceMs);
  // allowHalfOpen false (the default): the peer answers our FIN with its own.
  const peer = net.connect({ host: '127.0.0.1', port });
  t.teardown(() => peer.destroy());
  peer.on('error', () => {});
  peer.resume();
  const { endedAt, closedAt } = await within(60_000, closed, 'closed without the grace');
  t.ok(closedAt - endedAt < graceMs, `closed in ${closedAt - endedAt} ms`);
});
