// What a connection can hold on a real node, and for how long: a slow
// consumer is disconnected (and leaves its channel), a connection the node
// closed is gone END_GRACE_MS later even if its client keeps its side open,
// and nothing a connection sends after a protocol violation reaches its
// channel. Until December 2026 none of the three held.
import net from 'node:net';
import t from 'tap';
import { END_GRACE_MS } from '../../lib/net/real-network.ts';
import { NodeProcess, uniqueGroup } from '../helpers/node-process.ts';
import { frame, RawClient } from '../helpers/raw-peer.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw socket, connected; `closed` once it is closed whole. */
async function rawSocket(port: number, options: { allowHalfOpen?: boolean } = {}) {
  const socket = net.connect({ host: '127.0.0.1', port, ...options });
  socket.on('error', () => {});
  const state = { socket, closed: false, ended: false };
  socket.on('end', () => (state.ended = true));
  socket.on('close', () => (state.closed = true));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return state;
}

t.test('a member that does not read is disconnected as a slow consumer, and the others see it leave', async (t) => {
  const node = new NodeProcess({ id: 'bounds1', group: uniqueGroup() });
  t.teardown(() => node.stop());
  const port = Number((await node.waitEvent('node.started')).port);
  // No 'data' listener: the socket reads until its own small buffer is full, then nothing.
  const slow = await rawSocket(port);
  t.teardown(() => slow.socket.destroy());
  slow.socket.write(frame(['JOIN', '#slow', 'slow']));
  const talker = await RawClient.connect(port);
  t.teardown(() => talker.close());
  talker.send(['JOIN', '#slow', 'talker']);
  await talker.waitFor((f) => f[0] === 'MEMBERS' && f.includes('slow') && f.includes('talker'));

  // Past the kernel's buffers and the 8 MiB of the node's own: at most ~24 MB.
  const text = 'z'.repeat(4000);
  for (let i = 0; i < 6000 && !node.event('connection.slow_consumer'); i++) {
    talker.send(['SAY', text, `m${i}`]);
    if (i % 100 === 99) await sleep(5);
  }
  const logged = await node.waitEvent('connection.slow_consumer', (e) => e.channel === '#slow', 20_000);
  t.ok(Number(logged.bufferedBytes) > 8 * 1024 * 1024, 'logged past 8 MiB');

  // It reads again: what the kernel still held, then the close.
  slow.socket.resume();
  await node.until('the slow member closed by the node', () => slow.closed, 10_000);
  t.pass('the node closed the slow member\'s connection');
  const members = await talker.waitFor((f) => f[0] === 'MEMBERS' && !f.includes('slow'), 10_000);
  t.same(members.slice(1), ['talker'], 'the others\' next MEMBERS omits it');
  t.equal(node.event('node.fault'), undefined);
});

t.test('a connection closed after EXIT is gone within the grace even if its client never closes its side', async (t) => {
  const node = new NodeProcess({ id: 'bounds2', group: uniqueGroup() });
  t.teardown(() => node.stop());
  const port = Number((await node.waitEvent('node.started')).port);
  const lingerer = await rawSocket(port, { allowHalfOpen: true });
  t.teardown(() => lingerer.socket.destroy());
  lingerer.socket.resume();
  lingerer.socket.write(Buffer.concat([frame(['JOIN', '#h', 'lingerer']), frame(['EXIT'])]));
  await node.until('the node\'s FIN', () => lingerer.ended, 5_000);
  const finAt = Date.now();
  // Our side stays open. A socket closed under it is seen only on a write
  // (the node's kernel resets it): write now and then until it is.
  const deadline = finAt + END_GRACE_MS + 30_000;
  while (!lingerer.closed && Date.now() < deadline) {
    lingerer.socket.write(frame(['EXIT']));
    await sleep(200);
  }
  t.ok(lingerer.closed, `closed by the node ${Date.now() - finAt} ms after its FIN (grace ${END_GRACE_MS} ms)`);
});

t.test('nothing a connection sends after a protocol violation in the same chunk reaches the channel', async (t) => {
  const node = new NodeProcess({ id: 'bounds3', group: uniqueGroup() });
  t.teardown(() => node.stop());
  const port = Number((await node.waitEvent('node.started')).port);
  const honest = await RawClient.connect(port);
  t.teardown(() => honest.close());
  honest.send(['JOIN', '#a', 'honest']);
  await honest.waitFor((f) => f[0] === 'WELCOME');

  const secondChannel = await rawSocket(port);
  t.teardown(() => secondChannel.socket.destroy());
  secondChannel.socket.resume();
  secondChannel.socket.write(Buffer.concat([frame(['JOIN', '#a', 'bad1']), frame(['JOIN', '#b', 'bad1']), frame(['SAY', 'after second_channel', 'g1'])]));
  const notJoined = await rawSocket(port);
  t.teardown(() => notJoined.socket.destroy());
  notJoined.socket.resume();
  notJoined.socket.write(Buffer.concat([frame(['SAY', 'too early']), frame(['JOIN', '#a', 'bad2']), frame(['SAY', 'after not_joined', 'g2'])]));
  await node.until('both closed', () => secondChannel.closed && notJoined.closed, 5_000);

  // The honest member's own SAY comes after anything the node took from the others.
  honest.send(['SAY', 'barrier', 'h1']);
  await honest.waitFor((f) => f[0] === 'SAY' && f[2] === 'barrier');
  t.same(honest.frames.filter((f) => f[0] === 'SAY').map((f) => f[2]), ['barrier'], 'only its own SAY');
  const codes = () => node.events.filter((e) => e.event === 'decode.error').map((e) => String(e.code));
  await node.until('both logged', () => codes().length >= 2);
  t.same(codes().sort(), ['not_joined', 'second_channel']);
});

t.test('a joiner of a channel whose history is long lines gets the whole WELCOME: the unsent bound follows the history', async (t) => {
  // 2,100 lines of 4,000 bytes make a WELCOME of 8.5 MB, over the fixed
  // 8 MiB bound of before 7 December 2026: every joiner was a slow
  // consumer, disconnected mid-WELCOME, and nobody could join.
  const node = new NodeProcess({ id: 'bounds4', group: uniqueGroup(), args: ['--history', '2100'] });
  t.teardown(() => node.stop());
  const port = Number((await node.waitEvent('node.started')).port);
  const talker = await RawClient.connect(port);
  t.teardown(() => talker.close());
  talker.send(['JOIN', '#long', 'talker']);
  await talker.waitFor((f) => f[0] === 'WELCOME');
  const text = 'y'.repeat(4000);
  for (let i = 0; i < 2100; i++) {
    talker.send(['SAY', text, `m${i}`]);
    if (i % 100 === 99) await sleep(5);
  }
  await talker.waitFor((f) => f[0] === 'SAY' && f[3] === 'm2099', 30_000);
  const joiner = await RawClient.connect(port);
  t.teardown(() => joiner.close());
  joiner.send(['JOIN', '#long', 'joiner']);
  const welcome = await joiner.waitFor((f) => f[0] === 'WELCOME', 10_000);
  t.equal(welcome[3], '2100', 'WELCOME announces 2,100 lines of history');
  await joiner.waitFor((f) => f[0] === 'SAY' && f[3] === 'm2099', 30_000);
  t.equal(joiner.frames.filter((f) => f[0] === 'SAY').length, 2100, 'and all of them arrive');
  t.notOk(node.event('connection.slow_consumer'), 'nobody was a slow consumer');
});
