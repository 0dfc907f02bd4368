// FrameDecoder memory: what a connection holds is proportional to the bytes
// it has buffered (one buffer of the declared body length at most), however
// the peer chunks its bytes; and the copying that buys this changes nothing
// the decoder returns or throws.
import t from 'tap';
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { encodeFrame, FrameDecoder } from '../../lib/wire/frame.ts';
import { DecodeError } from '../../lib/wire/errors.ts';
import { MAX_FRAME_BYTES_DEFAULT } from '../../lib/wire/limits.ts';
import { catchError, chunksOf, prng } from './helpers.ts';

const RUNS = 300;

function prefix(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length, 0);
  return b;
}

/** A frame of `bodyBytes` pseudo-random body bytes (the decoder does not look inside bodies). */
function frameOf(bodyBytes: number, seed: number): { frame: Buffer; body: Buffer } {
  const random = prng(seed);
  const body = Buffer.alloc(bodyBytes);
  for (let i = 0; i < bodyBytes; i++) body[i] = Math.floor(random() * 256);
  return { frame: Buffer.concat([prefix(bodyBytes), body]), body };
}

t.test('a maximum-size frame one byte per push: one buffer retained, the body intact', async (t) => {
  for (const max of [MAX_FRAME_BYTES_DEFAULT, 1000, 2]) {
    const { frame, body } = frameOf(max, max);
    const decoder = max === MAX_FRAME_BYTES_DEFAULT ? new FrameDecoder() : new FrameDecoder(max);
    const bodies: Buffer[] = [];
    let mostRetained = 0;
    let wrongBuffered = 0;
    for (let i = 0; i < frame.length; i++) {
      bodies.push(...decoder.push(frame.subarray(i, i + 1)));
      mostRetained = Math.max(mostRetained, decoder.retainedBuffers);
      // Prefix bytes while the length is unknown, then body bytes received.
      const expected = i === frame.length - 1 ? 0 : i < 3 ? i + 1 : i - 3;
      if (decoder.bufferedBytes !== expected) wrongBuffered++;
    }
    t.equal(mostRetained, 1, `${max}: at most one Buffer held at any time`);
    t.equal(wrongBuffered, 0, `${max}: bufferedBytes counts the bytes received and not yet returned`);
    t.equal(bodies.length, 1, `${max}: one body`);
    t.equal(bodies[0]!.length, max);
    t.ok(bodies[0]!.equals(body), `${max}: the body is byte for byte the one sent`);
    t.equal(decoder.retainedBuffers, 0, `${max}: nothing held once the frame is out`);
    t.equal(decoder.bufferedBytes, 0);
  }
});

t.test('no pushed chunk is kept: one 1-byte buffer reused for every push still yields the right body', async (t) => {
  // A decoder that kept references to the chunks would see only the last
  // byte written here, 65,536 times. (Reusing a chunk is allowed only because
  // no body lies within one chunk: a body inside one is a zero-copy view.)
  const { frame, body } = frameOf(MAX_FRAME_BYTES_DEFAULT, 7);
  const decoder = new FrameDecoder();
  const scratch = Buffer.alloc(1);
  const bodies: Buffer[] = [];
  for (const byte of frame) {
    scratch[0] = byte;
    bodies.push(...decoder.push(scratch));
  }
  t.equal(bodies.length, 1);
  t.ok(bodies[0]!.equals(body));
});

t.test('the socket buffers behind pushed chunks can be collected while a frame is partial', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // Like a socket's 'data' chunks: each a small view of a larger allocation.
  const { frame, body } = frameOf(4000, 3);
  const decoder = new FrameDecoder();
  const refs: WeakRef<ArrayBuffer>[] = [];
  const bodies: Buffer[] = [];
  const pushSlice = (from: number, to: number): void => {
    const backing = new ArrayBuffer(16 * 1024);
    const chunk = Buffer.from(backing, 100, to - from);
    frame.copy(chunk, 0, from, to);
    refs.push(new WeakRef(backing));
    bodies.push(...decoder.push(chunk));
  };
  for (let i = 0; i < frame.length - 1; i++) pushSlice(i, i + 1);
  t.equal(bodies.length, 0, 'the frame is not complete yet');
  t.equal(decoder.bufferedBytes, 3999);
  await new Promise((resolve) => setImmediate(resolve)); // WeakRef targets are kept until the job ends
  gc();
  const alive = refs.filter((ref) => ref.deref() !== undefined).length;
  t.equal(alive, 0, `${refs.length} chunk backing stores pushed, ${alive} still reachable`);
  pushSlice(frame.length - 1, frame.length);
  t.equal(bodies.length, 1);
  t.ok(bodies[0]!.equals(body));
});

/** How a stream is cut: anywhere, into single bytes, or into equal pieces. */
const chunkingArb = fc.oneof(
  fc.array(fc.nat(), { maxLength: 40 }).map((cuts) => (stream: Buffer) => chunksOf(stream, cuts)),
  fc.constant((stream: Buffer) => chunksOf(stream, [...stream.keys()])),
  fc.integer({ min: 1, max: 9 }).map((size) => (stream: Buffer) => chunksOf(stream, [...stream.keys()].filter((i) => i % size === 0))),
);

/** 1-5 frames of 1-300 arbitrary body bytes (bodies that span pushes go through the copying path). */
const framesArb = fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 5 });

t.test('property: any chunking of valid frames yields the same bodies as one push', async (t) => {
  fc.assert(
    fc.property(framesArb, chunkingArb, fc.boolean(), (bodies, chunking, withEmpty) => {
      const stream = Buffer.concat(bodies.map((b) => Buffer.concat([prefix(b.length), b])));
      const whole = new FrameDecoder(300).push(stream);
      const decoder = new FrameDecoder(300);
      const out: Buffer[] = [];
      for (const chunk of chunking(stream)) {
        out.push(...decoder.push(chunk));
        if (withEmpty) out.push(...decoder.push(Buffer.alloc(0)));
        if (decoder.retainedBuffers > 1) return false;
      }
      return (
        decoder.bufferedBytes === 0 &&
        decoder.retainedBuffers === 0 &&
        whole.length === bodies.length &&
        out.length === whole.length &&
        out.every((body, i) => body.equals(whole[i]!) && body.equals(bodies[i]!))
      );
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

/**
 * The decoder before bodies were copied as they arrive (it kept the chunks
 * and cut bodies out of their concatenation): the behaviour to keep.
 */
class ReferenceDecoder {
  private pending = Buffer.alloc(0);
  private bodyBytes = -1;
  private failure: DecodeError | undefined;
  constructor(private readonly maxBodyBytes: number) {}
  get bufferedBytes(): number {
    return this.pending.length;
  }
  get failed(): boolean {
    return this.failure !== undefined;
  }
  push(chunk: Buffer): Buffer[] {
    if (this.failure !== undefined) throw this.failure;
    this.pending = Buffer.concat([this.pending, chunk]);
    const bodies: Buffer[] = [];
    for (;;) {
      if (this.bodyBytes < 0) {
        if (this.pending.length < 4) break;
        const length = this.pending.readUInt32BE(0);
        this.pending = this.pending.subarray(4);
        if (length > this.maxBodyBytes) this.fail(new DecodeError('frame_too_large', `length prefix ${length} above the maximum ${this.maxBodyBytes}`));
        if (length === 0) this.fail(new DecodeError('frame_malformed', 'empty body'));
        this.bodyBytes = length;
      }
      if (this.pending.length < this.bodyBytes) break;
      bodies.push(this.pending.subarray(0, this.bodyBytes));
      this.pending = this.pending.subarray(this.bodyBytes);
      this.bodyBytes = -1;
    }
    return bodies;
  }
  private fail(error: DecodeError): never {
    this.failure = error;
    this.pending = Buffer.alloc(0);
    throw error;
  }
}

/** Streams of valid frames, garbage, oversized and zero prefixes, in any order. */
const streamArb = fc
  .array(
    fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 60 }).map((b) => Buffer.concat([prefix(b.length), b])),
      fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)),
      fc.integer({ min: 0, max: 0xffffffff }).map(prefix),
    ),
    { maxLength: 8 },
  )
  .map((parts) => Buffer.concat(parts));

t.test('property: push by push, the same bodies, bufferedBytes, errors and failed state as the reference decoder', async (t) => {
  fc.assert(
    fc.property(streamArb, chunkingArb, fc.integer({ min: 1, max: 80 }), (stream, chunking, max) => {
      const decoder = new FrameDecoder(max);
      const reference = new ReferenceDecoder(max);
      for (const chunk of chunking(stream)) {
        let got: Buffer[] = [];
        let want: Buffer[] = [];
        const gotError = catchError(() => (got = decoder.push(chunk)));
        const wantError = catchError(() => (want = reference.push(chunk)));
        if (gotError !== undefined || wantError !== undefined) {
          if (!(gotError instanceof DecodeError) || !(wantError instanceof DecodeError)) return false;
          if (gotError.code !== wantError.code || gotError.message !== wantError.message) return false;
          // Stays failed: the same error object again, nothing buffered.
          return decoder.failed && catchError(() => decoder.push(encodeFrame(['EXIT']))) === gotError && decoder.bufferedBytes === 0;
        }
        if (got.length !== want.length || !got.every((body, i) => body.equals(want[i]!))) return false;
        if (decoder.bufferedBytes !== reference.bufferedBytes || decoder.failed) return false;
      }
      return true;
    }),
    { numRuns: 1000 },
  );
  t.pass();
});
