// The channel server's own rules, on a fake listener and a manual clock:
// a connection must JOIN first, and within joinTimeoutMs.
import t from 'tap';
import { ChannelServer, type ServerConnection } from '../../lib/node/channel-server.ts';
import type { Endpoint, StreamConnection, StreamListener } from '../../lib/net/transport.ts';
import { encodeClientCommand } from '../../lib/wire/command.ts';
import { JOIN_TIMEOUT_MS, MAX_AWAITING_JOIN } from '../../lib/wire/limits.ts';
import { WARN_WINDOW_MS, WarnThrottle } from '../../lib/warn-throttle.ts';
import { capturedLog } from '../helpers/log-lines.ts';
import { ManualClock } from '../helpers/manual-clock.ts';

class FakeStream implements StreamConnection {
  readonly bufferedBytes = 0;
  destroyed = false;
  private data: (chunk: Buffer) => void = () => {};
  private close: (reason: string) => void = () => {};
  constructor(readonly remote: Endpoint) {}
  write(): boolean {
    return true;
  }
  onData(handler: (chunk: Buffer) => void): void {
    this.data = handler;
  }
  onDrain(): void {}
  onClose(handler: (reason: string) => void): void {
    this.close = handler;
  }
  end(): void {
    this.destroy();
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.close('destroyed');
  }
  receive(chunk: Buffer): void {
    this.data(chunk);
  }
}

function server(joinTimeoutMs = 10_000, maxAwaitingJoin = 256) {
  const clock = new ManualClock();
  let accept: (connection: StreamConnection) => void = () => {};
  const listener: StreamListener = { port: 50000, onConnection: (handler) => (accept = handler), close: () => {} };
  const { log, lines } = capturedLog();
  const joined: ServerConnection[] = [];
  const channelServer = new ChannelServer(
    listener,
    { maxFrameBytes: 65536, maxBufferedBytes: 1 << 20, joinTimeoutMs, maxAwaitingJoin },
    { join: (connection) => joined.push(connection), command: () => {}, closed: () => {} },
    log,
    clock,
    new WarnThrottle(log, clock),
  );
  let port = 40000;
  const connect = (): FakeStream => {
    const stream = new FakeStream({ address: '192.0.2.7', port: port++ });
    accept(stream);
    return stream;
  };
  return { clock, connect, lines, joined, stats: channelServer.stats };
}

t.test('a connection that sends no JOIN within the bound is dropped and logged; one that JOINed in time stays', async (t) => {
  const s = server(10_000);
  const silent = s.connect();
  const prompt = s.connect();
  s.clock.advance(9_999);
  prompt.receive(encodeClientCommand({ type: 'JOIN', channel: '#t', peerId: 'p1' }));
  t.equal(s.joined.length, 1, 'the JOIN reached the node');
  t.notOk(silent.destroyed, 'not yet: the bound is 10 s');
  s.clock.advance(1);
  t.ok(silent.destroyed, 'dropped at 10 s');
  t.notOk(prompt.destroyed, 'the joined connection is served on');
  s.clock.advance(60_000);
  t.notOk(prompt.destroyed, 'a joined connection has no such bound');
  t.same(
    s.lines.filter((l) => l.event === 'connection.rejected').map((l) => [l.transport, l.code, (l.remote as Endpoint).port]),
    [['tcp', 'join_timeout', 40000]],
  );
});

t.test('a JOIN split over several chunks, its last one just in time, counts', async (t) => {
  const s = server(1_000);
  const slow = s.connect();
  const frame = encodeClientCommand({ type: 'JOIN', channel: '#t', peerId: 'p1' });
  slow.receive(frame.subarray(0, 3));
  s.clock.advance(999);
  slow.receive(frame.subarray(3));
  s.clock.advance(5_000);
  t.notOk(slow.destroyed);
  t.equal(s.joined.length, 1);
});

t.test('a connection closed before its bound leaves no timer behind', async (t) => {
  const s = server(1_000);
  const gone = s.connect();
  gone.destroy();
  s.clock.advance(2_000);
  t.same(s.lines.filter((l) => l.event === 'connection.rejected'), [], 'nothing to reject');
});

t.test('past the bound of connections awaiting their JOIN a new one is closed at once; joined ones are not counted, and a freed place is free again', async (t) => {
  const s = server(10_000, 3);
  const member = s.connect();
  member.receive(encodeClientCommand({ type: 'JOIN', channel: '#t', peerId: 'p1' }));
  const idle = [s.connect(), s.connect(), s.connect()];
  const refused = s.connect();
  t.ok(refused.destroyed, 'the fourth connection awaiting a JOIN is closed at once');
  t.ok(idle.every((c) => !c.destroyed), 'the three before it wait');
  t.notOk(member.destroyed, 'the member is not one of them');
  idle[0]!.receive(encodeClientCommand({ type: 'JOIN', channel: '#t', peerId: 'p2' }));
  idle[1]!.destroy();
  const two = [s.connect(), s.connect()];
  t.ok(two.every((c) => !c.destroyed), 'a JOIN and a close freed two places');
  t.ok(s.connect().destroyed, 'and then it is full again');
  s.clock.advance(10_000);
  t.ok(s.connect().destroyed === false, 'the join timeout frees places too');
  t.same(
    s.lines.filter((l) => l.event === 'connection.rejected').map((l) => l.code),
    ['too_many_awaiting_join', 'too_many_awaiting_join', 'join_timeout', 'join_timeout', 'join_timeout'],
  );
  t.same(s.stats, { connectionsAccepted: 7, connectionsRejected: 5, badFrames: 0, slowConsumers: 0 }, 'counted for /stats');
});

t.test('at the node\'s values (lib/wire/limits.ts): 1,024 connections wait for their JOIN, the next is closed at once; each waits 10 s', async (t) => {
  t.equal(MAX_AWAITING_JOIN, 1024);
  const s = server(JOIN_TIMEOUT_MS, MAX_AWAITING_JOIN);
  const waiting = Array.from({ length: MAX_AWAITING_JOIN }, () => s.connect());
  t.ok(waiting.every((c) => !c.destroyed), '1,024 wait');
  t.ok(s.connect().destroyed, 'the 1,025th is closed at once');
  s.clock.advance(JOIN_TIMEOUT_MS - 1);
  t.ok(waiting.every((c) => !c.destroyed), 'for 10 s');
  s.clock.advance(1);
  t.ok(waiting.every((c) => c.destroyed), 'and not a moment longer');
  t.same(s.stats, { connectionsAccepted: 1024, connectionsRejected: 1025, badFrames: 0, slowConsumers: 0 });
  const warned = s.lines.filter((l) => l.event === 'connection.rejected' && l.level === 40);
  t.same(
    warned.map((l) => [l.code, l.throttled]),
    [['too_many_awaiting_join', undefined], ...Array.from({ length: 10 }, () => ['join_timeout', undefined])],
    'at warn: the one refused, and the first 10 timeouts (the rest at debug)',
  );
  s.clock.advance(WARN_WINDOW_MS);
  t.match(s.lines.at(-1), { level: 40, event: 'connection.rejected', code: 'join_timeout', throttled: MAX_AWAITING_JOIN - 10 }, 'then their count');
});
