// A flood of bad connections or datagrams costs a few warn lines, not one
// each (lib/warn-throttle.ts): the first 10 of a kind in 10 s are warn
// lines, the rest go to debug, and a count line follows (here at SIGTERM,
// which ends the window early). /stats counts them, and the node serves on.
import net from 'node:net';
import t, { type Test as Tap } from 'tap';
import { NodeProcess, uniqueGroup, type LogEvent } from '../helpers/node-process.ts';
import { frame, rawExchange, sendDatagrams } from '../helpers/raw-peer.ts';
import { WARN_BURST } from '../../lib/warn-throttle.ts';

const FLOOD = 40;

async function flood(port: number, bytes: Buffer): Promise<void> {
  // In batches: the flood is about log lines, not about the connection bounds.
  for (let i = 0; i < FLOOD; i += 10) await Promise.all(Array.from({ length: 10 }, () => rawExchange(port, bytes, 3000)));
}

/** A node on a free port (a fixed one may be any other test node's: they pick theirs at random in the same range). */
async function flooded(t: Tap, id: string, args: string[]): Promise<{ node: NodeProcess; port: number }> {
  const node = new NodeProcess({ id, group: uniqueGroup(), args: [...args, '--join', '#f'] });
  t.teardown(() => node.stop());
  const port = (await node.waitEvent('node.started')).port as number;
  await node.waitEvent('member.joined', (e) => e.channel === '#f');
  return { node, port };
}

/** Stop the node (SIGTERM ends the window early) and check what it logged of the kind `match` picks. */
async function checkThrottled(t: Tap, node: NodeProcess, match: (e: LogEvent) => boolean, count: Record<string, unknown>): Promise<void> {
  node.signal('SIGTERM');
  await node.until('exit', () => node.exited, 5000);
  const all = node.events.filter(match);
  const warn = all.filter((e) => e.level === 40 && !('throttled' in e));
  const debug = all.filter((e) => e.level === 20);
  const counts = all.filter((e) => 'throttled' in e);
  t.equal(warn.length, WARN_BURST, 'the burst at warn');
  t.equal(debug.length, FLOOD - WARN_BURST, 'the rest at debug');
  t.ok(debug.every((e) => typeof e.remote === 'object' && typeof e.code === 'string'), 'each in full, with remote and code');
  t.equal(counts.length, 1, 'one count line');
  t.match(counts[0], { level: 40, ...count, throttled: FLOOD - WARN_BURST });
}

t.test('garbage frames from 40 connections: 10 decode.error warn lines, 30 at debug, one count', async (t) => {
  const { node, port } = await flooded(t, 'flooded1', []);
  await flood(port, frame(['NO-SUCH-COMMAND', 'x']));
  const isDecodeError = (e: LogEvent) => e.event === 'decode.error' && e.transport === 'tcp';
  await node.until('every decode error', () => node.events.filter(isDecodeError).length >= FLOOD);
  node.send('/say #f still serving');
  await node.waitLine('[#f] <flooded1> still serving');
  const [stats] = await node.query('/stats', '* stats');
  t.match(stats, new RegExp(`badFrames=${FLOOD} .*warnLinesThrottled=${FLOOD - WARN_BURST}$`), '/stats counts them');
  const code = node.event('decode.error', isDecodeError)!.code;
  await checkThrottled(t, node, isDecodeError, { transport: 'tcp', code });
});

t.test('with --secret, 40 plain TCP connections: 10 connection.rejected warn lines, 30 at debug, one count', async (t) => {
  const { node, port } = await flooded(t, 'flooded2', ['--secret', 'sesame']);
  await flood(port, frame(['JOIN', '#f', 'intruder']));
  const isRejected = (e: LogEvent) => e.event === 'connection.rejected' && e.transport === 'tls';
  await node.until('every rejection', () => node.events.filter(isRejected).length >= FLOOD);
  const [stats] = await node.query('/stats', '* stats');
  t.match(stats, new RegExp(`connectionsAccepted=1 connectionsRejected=${FLOOD} .*warnLinesThrottled=${FLOOD - WARN_BURST}$`), '/stats counts them (the one accepted: the node itself, a member of #f)');
  await checkThrottled(t, node, isRejected, { transport: 'tls' });
});

t.test('40 garbage datagrams on the group: 10 decode.error warn lines, 30 at debug, one count', async (t) => {
  const { node } = await flooded(t, 'flooded3', []);
  await sendDatagrams(node.options.group, Array.from({ length: FLOOD }, () => Buffer.from('not msgpack at all')));
  const isDecodeError = (e: LogEvent) => e.event === 'decode.error' && e.transport === 'udp';
  await node.until('every decode error', () => node.events.filter(isDecodeError).length >= FLOOD);
  const [stats] = await node.query('/stats', '* stats');
  t.match(stats, new RegExp(`datagramsBad=${FLOOD} .*warnLinesThrottled=${FLOOD - WARN_BURST}$`), '/stats counts them');
  t.match(stats, /roundsSent=[1-9]\d* datagramsReceived=\d+ datagramsStale=\d+ /, 'and the rounds this node sent');
  await checkThrottled(t, node, isDecodeError, { transport: 'udp' });
});

t.test('with --secret, a client that hangs up before its hello (a health probe) is no news: debug, not counted', async (t) => {
  const { node, port } = await flooded(t, 'flooded4', ['--secret', 'sesame']);
  const probe = net.connect({ host: '127.0.0.1', port }, () => probe.end());
  probe.on('error', () => {});
  const hungUp = await node.waitEvent('connection.rejected', (e) => e.code === 'closed_before_hello' || e.code === 'ECONNRESET');
  t.match(hungUp, { level: 20, transport: 'tls' }, 'a debug line');
  const [stats] = await node.query('/stats', '* stats');
  t.match(stats, / connectionsRejected=0 .*warnLinesThrottled=0$/, 'not counted');
});
