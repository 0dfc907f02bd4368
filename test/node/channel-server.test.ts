// The channel server's own rules, on a fake listener and a manual clock:
// a connection must JOIN first, and within joinTimeoutMs; a closing one says
// nothing more; a slow consumer is disconnected.
import t from 'tap';
import { ChannelServer, type ServerConnection } from '../../lib/node/channel-server.ts';
import type { Endpoint, StreamConnection, StreamListener } from '../../lib/net/transport.ts';
import { encodeClientCommand } from '../../lib/wire/command.ts';
import { JOIN_TIMEOUT_MS, MAX_AWAITING_JOIN } from '../../lib/wire/limits.ts';
import { WARN_WINDOW_MS, WarnThrottle } from '../../lib/warn-throttle.ts';
import { capturedLog } from '../helpers/log-lines.ts';
import { ManualClock } from '../helpers/manual-clock.ts';

/** A peer that reads nothing: every byte written stays buffered. */
class FakeStream implements StreamConnection {
  bufferedBytes = 0;
  destroyed = false;
  ended = false;
  private data: (chunk: Buffer) => void = () => {};
  private close: (reason: string) => void = () => {};
  constructor(readonly remote: Endpoint) {}
  write(chunk: Buffer): boolean {
    this.bufferedBytes += chunk.length;
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
    this.ended = true;
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

function server(joinTimeoutMs = 10_000, maxAwaitingJoin = 256, maxBufferedBytes = 1 << 20) {
  const clock = new ManualClock();
  let accept: (connection: StreamConnection) => void = () => {};
  const listener: StreamListener = { port: 50000, onConnection: (handler) => (accept = handler), close: () => {} };
  const { log, lines } = capturedLog();
  const joined: ServerConnection[] = [];
  /** What reached the node, in order: the channel-host machine's inputs. */
  const calls: string[] = [];
  const channelServer: ChannelServer = new ChannelServer(
    listener,
    { maxFrameBytes: 65536, maxBufferedBytes, joinTimeoutMs, maxAwaitingJoin },
    {
      join: (connection, command) => {
        // As the node does (ChanmeshNode.onJoin): the JOIN names the connection's channel.
        connection.channel = command.channel;
        connection.peerId = command.peerId;
        joined.push(connection);
        calls.push(`JOIN ${command.channel} ${command.peerId}`);
      },
      command: (connection, command) => {
        calls.push(command.type === 'SAY' ? `SAY ${command.text}` : command.type);
        // As the channel host does: an EXIT closes the connection.
        if (command.type === 'EXIT') channelServer.close(connection.id, 'exit');
      },
      closed: (connection) => calls.push(`closed ${connection.peerId}`),
    },
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
  return { clock, connect, lines, joined, calls, channelServer, stats: channelServer.stats };
}

const join = (channel: string, peerId: string) => encodeClientCommand({ type: 'JOIN', channel, peerId });
const say = (text: string) => encodeClientCommand({ type: 'SAY', text });

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

t.test('no frame after a rejected one is dispatched, in the same chunk or later', async (t) => {
  // Until December 2026 the frames after a protocol violation in the same
  // TCP chunk still reached the channel: a SAY said after it was delivered.
  const s = server();
  const secondChannel = s.connect();
  secondChannel.receive(Buffer.concat([join('#a', 'bad1'), join('#b', 'bad1'), say('after second_channel')]));
  t.ok(secondChannel.destroyed, 'JOIN of another channel: closed');
  secondChannel.receive(say('in a later chunk'));
  const notJoined = s.connect();
  notJoined.receive(Buffer.concat([say('too early'), join('#a', 'bad2'), say('after not_joined')]));
  t.ok(notJoined.destroyed, 'SAY before JOIN: closed');
  t.same(s.calls, ['JOIN #a bad1', 'closed bad1'], 'the node saw the first JOIN and the close, nothing after the violation');
  t.same(
    s.lines.filter((l) => l.event === 'decode.error').map((l) => l.code),
    ['second_channel', 'not_joined'],
  );
});

t.test('no frame after an EXIT is dispatched: the connection is closing', async (t) => {
  const s = server();
  const member = s.connect();
  member.receive(Buffer.concat([join('#a', 'p1'), encodeClientCommand({ type: 'EXIT' }), say('after EXIT'), join('#a', 'p1')]));
  member.receive(say('in a later chunk'));
  t.ok(member.ended, 'closed after what was queued (end, not destroy)');
  t.same(s.calls, ['JOIN #a p1', 'EXIT', 'closed p1']);
});

t.test('a slow consumer is disconnected: its connection destroyed, the node told it closed, its later frames ignored', async (t) => {
  const s = server(10_000, 256, 1_000);
  const slow = s.connect();
  const reader = s.connect();
  slow.receive(join('#a', 'slow'));
  reader.receive(join('#a', 'reader'));
  const [slowConnection, readerConnection] = s.joined as [ServerConnection, ServerConnection];
  // SAYs of 100 bytes, one a turn: the slow one reads none of them.
  for (let i = 0; i < 20; i++) {
    s.channelServer.send([slowConnection.id, readerConnection.id], [{ type: 'SAY', authorId: 'reader', text: 'x'.repeat(100) }]);
    await new Promise<void>((resolve) => setImmediate(resolve)); // flushed
    reader.bufferedBytes = 0; // this one reads
  }
  t.ok(slow.destroyed, 'destroyed, its unsent bytes dropped');
  t.notOk(slow.ended);
  t.notOk(reader.destroyed, 'the member that reads stays');
  t.same(s.calls, ['JOIN #a slow', 'JOIN #a reader', 'closed slow'], 'closed like any closed connection: the host removes the member');
  t.match(
    s.lines.filter((l) => l.event === 'connection.slow_consumer'),
    [{ level: 40, channel: '#a', remote: { port: 40000 } }],
    'logged once',
  );
  t.equal(s.stats.slowConsumers, 1);
  slow.receive(say('still talking'));
  t.same(s.calls.at(-1), 'closed slow', 'what it sends after is not dispatched');
});
