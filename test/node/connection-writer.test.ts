// ConnectionWriter: one write per turn, 'drain' respected, and the slow
// consumer bound checked at the bound.
import t from 'tap';
import type { StreamConnection } from '../../lib/net/transport.ts';
import { ConnectionWriter } from '../../lib/node/connection-writer.ts';

/** A stream whose kernel buffer we control: write() returns `accept`. */
function fakeStream() {
  const writes: Buffer[] = [];
  let drain = () => {};
  const stream = {
    remote: { address: '127.0.0.1', port: 1 },
    accept: true,
    buffered: 0,
    ended: false,
    destroyed: false,
    write(chunk: Buffer) {
      writes.push(chunk);
      this.buffered += chunk.length;
      return this.accept;
    },
    get bufferedBytes() {
      return this.buffered;
    },
    onData() {},
    onDrain(h: () => void) {
      drain = h;
    },
    onClose() {},
    end() {
      this.ended = true;
    },
    destroy() {
      this.destroyed = true;
    },
  };
  return { stream, writes, drain: () => drain() };
}

const tick = () => new Promise<void>((r) => queueMicrotask(r));

t.test('frames queued in one turn go out in one write', async (t) => {
  const { stream, writes } = fakeStream();
  const writer = new ConnectionWriter(stream as unknown as StreamConnection, 1024, () => t.fail('not slow'));
  writer.write(Buffer.from('aa'));
  writer.write(Buffer.from('bb'));
  t.equal(writes.length, 0, 'nothing written synchronously');
  await tick();
  t.same(writes.map(String), ['aabb']);
});

t.test("write() returning false holds further frames until 'drain'", async (t) => {
  const { stream, writes, drain } = fakeStream();
  const writer = new ConnectionWriter(stream as unknown as StreamConnection, 1024, () => t.fail('not slow'));
  stream.accept = false;
  writer.write(Buffer.from('1'));
  await tick();
  writer.write(Buffer.from('2'));
  await tick();
  t.same(writes.map(String), ['1'], 'blocked after a false');
  stream.accept = true;
  stream.buffered = 0;
  drain();
  t.same(writes.map(String), ['1', '2'], 'released on drain');
});

t.test('the slow-consumer bound: exactly at the bound kept, one byte over disconnected', async (t) => {
  const { stream } = fakeStream();
  let slow: number | undefined;
  const writer = new ConnectionWriter(stream as unknown as StreamConnection, 100, (bytes) => (slow = bytes));
  stream.accept = false;
  writer.write(Buffer.alloc(90));
  await tick(); // written, not drained: the stream holds 90 bytes
  writer.write(Buffer.alloc(10));
  t.equal(slow, undefined, '100 bytes buffered: at the bound, kept');
  t.notOk(stream.destroyed);
  writer.write(Buffer.alloc(1));
  t.equal(slow, 101, '101 bytes: a slow consumer');
  t.ok(stream.destroyed, 'and its connection destroyed, not left open');
  writer.write(Buffer.alloc(1));
  t.equal(slow, 101, 'reported once; later frames are dropped');
});

t.test('a slow consumer is destroyed, never ended: its unsent frames are dropped, and a later end() (EXIT, MOVED) changes nothing', async (t) => {
  // Until December 2026 the writer only stopped writing: the socket stayed
  // open, the member stayed in its channel missing every message, and the
  // end() of its EXIT returned early, so nothing ever closed it.
  const { stream, writes } = fakeStream();
  const writer = new ConnectionWriter(stream as unknown as StreamConnection, 100, () => {});
  writer.write(Buffer.alloc(60));
  await tick();
  writer.write(Buffer.alloc(30));
  t.notOk(writer.closing);
  writer.write(Buffer.alloc(30));
  t.ok(stream.destroyed, 'destroyed at once');
  t.ok(writer.closing, 'closing: its owner dispatches nothing more from it');
  await tick();
  t.same(writes.map((w) => w.length), [60], 'the frames pending were dropped, not written');
  writer.end();
  t.notOk(stream.ended, 'no end() behind a destroy');
});
