// A flood of bad connections or datagrams costs a few warn lines, not one per connection
// (lib/warn-throttle.ts): the first 10 of a kind in 10 s are warn lines, the
// rest go to debug, and a count line follows (here at SIGTERM, which ends
// the window early). The node serves on throughout.
import t from 'tap';
import { NodeProcess, uniqueGroup, type LogEvent } from '../helpers/node-process.ts';
import { frame, rawExchange, sendDatagrams } from '../helpers/raw-peer.ts';
import { WARN_BURST } from '../../lib/warn-throttle.ts';

const FLOOD = 40;

async function flood(port: number, bytes: Buffer): Promise<void> {
  // In batches: the flood is about log lines, not about the connection bounds.
  for (let i = 0; i < FLOOD; i += 10) await Promise.all(Array.from({ length: 10 }, () => rawExchange(port, bytes, 3000)));
}

async function stopped(node: NodeProcess): Promise<void> {
  node.signal('SIGTERM');
  await node.until('exit', () => node.exited, 5000);
}

function lines(node: NodeProcess, match: (e: LogEvent) => boolean) {
  const all = node.events.filter(match);
  return {
    warn: all.filter((e) => e.level === 40 && !('throttled' in e)),
    debug: all.filter((e) => e.level === 20),
    count: all.filter((e) => 'throttled' in e),
  };
}

t.test('garbage frames from 40 connections: 10 decode.error warn lines, 30 at debug, one count', async (t) => {
  const group = uniqueGroup();
  const port = 50041;
  const node = new NodeProcess({ id: 'flooded1', group, args: ['--port', String(port), '--join', '#f'] });
  t.teardown(() => node.stop());
  await node.waitEvent('member.joined', (e) => e.channel === '#f');
  await flood(port, frame(['NO-SUCH-COMMAND', 'x']));
  const isDecodeError = (e: LogEvent) => e.event === 'decode.error' && e.transport === 'tcp';
  await node.until('every decode error', () => node.events.filter(isDecodeError).length >= FLOOD);
  node.send('/say #f still serving');
  await node.waitLine('[#f] <flooded1> still serving');
  const [stats] = await node.query('/stats', '* stats');
  t.match(stats, new RegExp(`badFrames=${FLOOD} .*warnLinesThrottled=${FLOOD - WARN_BURST}$`), '/stats counts them');
  await stopped(node);
  const seen = lines(node, isDecodeError);
  t.equal(seen.warn.length, WARN_BURST, 'the burst at warn');
  t.equal(seen.debug.length, FLOOD - WARN_BURST, 'the rest at debug, each in full');
  t.ok(seen.debug.every((e) => typeof e.remote === 'object' && typeof e.code === 'string'), 'with remote and code');
  t.equal(seen.count.length, 1, 'one count line');
  t.match(seen.count[0], { level: 40, code: seen.debug[0]!.code, throttled: FLOOD - WARN_BURST });
});

t.test('with --secret, 40 plain TCP connections: 10 connection.rejected warn lines, 30 at debug, one count', async (t) => {
  const group = uniqueGroup();
  const port = 50042;
  const node = new NodeProcess({ id: 'flooded2', group, args: ['--port', String(port), '--secret', 'sesame', '--join', '#f'] });
  t.teardown(() => node.stop());
  await node.waitEvent('member.joined', (e) => e.channel === '#f');
  await flood(port, frame(['JOIN', '#f', 'intruder']));
  const isRejected = (e: LogEvent) => e.event === 'connection.rejected' && e.transport === 'tls';
  await node.until('every rejection', () => node.events.filter(isRejected).length >= FLOOD);
  const [stats] = await node.query('/stats', '* stats');
  t.match(stats, new RegExp(`connectionsAccepted=1 connectionsRejected=${FLOOD} .*warnLinesThrottled=${FLOOD - WARN_BURST}$`), '/stats counts them (the one accepted: the node itself, a member of #f)');
  await stopped(node);
  const seen = lines(node, isRejected);
  t.equal(seen.warn.length, WARN_BURST, 'the burst at warn');
  t.equal(seen.debug.length, FLOOD - WARN_BURST, 'the rest at debug');
  t.equal(seen.count.length, 1, 'one count line');
  t.match(seen.count[0], { level: 40, transport: 'tls', throttled: FLOOD - WARN_BURST });
});

t.test('40 garbage datagrams on the group: 10 decode.error warn lines, 30 at debug, one count', async (t) => {
  const group = uniqueGroup();
  const node = new NodeProcess({ id: 'flooded3', group, args: ['--join', '#f'] });
  t.teardown(() => node.stop());
  await node.waitEvent('member.joined', (e) => e.channel === '#f');
  await sendDatagrams(group, Array.from({ length: FLOOD }, () => Buffer.from('not msgpack at all')));
  const isDecodeError = (e: LogEvent) => e.event === 'decode.error' && e.transport === 'udp';
  await node.until('every decode error', () => node.events.filter(isDecodeError).length >= FLOOD);
  const [stats] = await node.query('/stats', '* stats');
  t.match(stats, new RegExp(`datagramsBad=${FLOOD} .*warnLinesThrottled=${FLOOD - WARN_BURST}$`), '/stats counts them');
  t.match(stats, /roundsSent=[1-9]\d* datagramsReceived=\d+ datagramsStale=\d+ /, 'and the rounds this node sent');
  await stopped(node);
  const seen = lines(node, isDecodeError);
  t.equal(seen.warn.length, WARN_BURST, 'the burst at warn');
  t.equal(seen.debug.length, FLOOD - WARN_BURST, 'the rest at debug');
  t.equal(seen.count.length, 1, 'one count line');
  t.match(seen.count[0], { level: 40, transport: 'udp', throttled: FLOOD - WARN_BURST });
});
