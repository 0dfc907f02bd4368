// docs/protocol.md 2.1: a 4-byte big-endian body length, then NUL-terminated fields.
import t from 'tap';
import fc from 'fast-check';
import { encodeFrame, FrameDecoder, splitFields } from '../../lib/wire/frame.ts';
import { DecodeError } from '../../lib/wire/errors.ts';
import { MAX_FRAME_BYTES_DEFAULT } from '../../lib/wire/limits.ts';
import { catchError, chunksOf, decodeErrorOf, unicodeText } from './helpers.ts';

const RUNS = 300;

/** A field list of 1-6 fields of any Unicode text (NUL excluded). */
const fieldsArb = fc.array(unicodeText(40), { minLength: 1, maxLength: 6 });

function prefix(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length, 0);
  return b;
}

t.test('encodeFrame writes the length prefix, then each field and its NUL', async (t) => {
  const frame = encodeFrame(['JOIN', '#chat', 'p1']);
  t.strictSame(frame, Buffer.from('\x00\x00\x00\x0eJOIN\x00#chat\x00p1\x00', 'latin1'));
  t.equal(frame.readUInt32BE(0), frame.length - 4, 'the prefix counts body bytes, NULs included');
  const unicode = encodeFrame(['SAY', 'grüße 👋']);
  t.equal(unicode.readUInt32BE(0), 4 + Buffer.byteLength('grüße 👋') + 1, 'the prefix counts bytes, not UTF-16 units');
  t.strictSame(encodeFrame(['EXIT', '']), Buffer.from('\x00\x00\x00\x06EXIT\x00\x00', 'latin1'), 'an empty field is one NUL');
});

t.test('encodeFrame makes exactly one allocation, whatever the frame size', async (t) => {
  const allocUnsafe = Buffer.allocUnsafe;
  let calls = 0;
  Buffer.allocUnsafe = ((size: number) => {
    calls++;
    return allocUnsafe(size);
  }) as typeof Buffer.allocUnsafe;
  try {
    for (const fields of [['EXIT'], ['SAY', 'author', 'ü'.repeat(2000), 'msg-1', '42'], ['MEMBERS', ...Array(512).fill('p'.repeat(64))]]) {
      calls = 0;
      encodeFrame(fields);
      t.equal(calls, 1, `${fields[0]}: one Buffer.allocUnsafe`);
    }
  } finally {
    Buffer.allocUnsafe = allocUnsafe;
  }
});

t.test('encodeFrame refuses what it cannot frame (plain Error, not DecodeError)', async (t) => {
  for (const fields of [[], ['SAY', 'a\0b'], ['SAY', 'lone \ud800 surrogate']]) {
    t.throws(() => encodeFrame(fields), Error);
    t.notOk(catchError(() => encodeFrame(fields)) instanceof DecodeError);
  }
});

t.test('property: every field list round-trips through encodeFrame, FrameDecoder and splitFields', async (t) => {
  fc.assert(
    fc.property(fieldsArb, (fields) => {
      const bodies = new FrameDecoder().push(encodeFrame(fields));
      return bodies.length === 1 && JSON.stringify(splitFields(bodies[0]!)) === JSON.stringify(fields);
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

t.test('property: frames delivered in any chunking decode to the same bodies', async (t) => {
  fc.assert(
    fc.property(fc.array(fieldsArb, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 40 }), (frames, cuts) => {
      const stream = Buffer.concat(frames.map(encodeFrame));
      const decoder = new FrameDecoder();
      const bodies = chunksOf(stream, cuts).flatMap((chunk) => decoder.push(chunk));
      return decoder.bufferedBytes === 0 && JSON.stringify(bodies.map(splitFields)) === JSON.stringify(frames);
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

t.test('several frames in one chunk all come out, in order', async (t) => {
  const stream = Buffer.concat([encodeFrame(['JOIN', '#a']), encodeFrame(['SAY', 'hi']), encodeFrame(['EXIT'])]);
  const bodies = new FrameDecoder().push(stream);
  t.strictSame(bodies.map(splitFields), [['JOIN', '#a'], ['SAY', 'hi'], ['EXIT']]);
});

t.test('a frame split inside its 4-byte prefix, byte by byte', async (t) => {
  const frame = encodeFrame(['SAY', 'split everywhere']);
  const decoder = new FrameDecoder();
  const bodies: Buffer[] = [];
  for (let i = 0; i < frame.length; i++) {
    const out = decoder.push(frame.subarray(i, i + 1));
    if (i < frame.length - 1) t.equal(out.length, 0, `nothing before the last byte (${i})`);
    bodies.push(...out);
  }
  t.strictSame(bodies.map(splitFields), [['SAY', 'split everywhere']]);
  t.strictSame(decoder.push(Buffer.alloc(0)), [], 'an empty chunk is harmless');
});

t.test('the maximum body size: exactly the limit is accepted', async (t) => {
  for (const max of [1, 100, MAX_FRAME_BYTES_DEFAULT]) {
    const body = Buffer.alloc(max, 0x61);
    body[max - 1] = 0;
    const decoder = max === MAX_FRAME_BYTES_DEFAULT ? new FrameDecoder() : new FrameDecoder(max);
    const bodies = decoder.push(Buffer.concat([prefix(max), body]));
    t.equal(bodies.length, 1, `a ${max}-byte body passes a ${max}-byte limit`);
    t.equal(bodies[0]!.length, max);
  }
});

t.test('the maximum body size: limit + 1 is refused from the 4 prefix bytes alone', async (t) => {
  for (const max of [1, 100, MAX_FRAME_BYTES_DEFAULT]) {
    const decoder = max === MAX_FRAME_BYTES_DEFAULT ? new FrameDecoder() : new FrameDecoder(max);
    t.equal(decodeErrorOf(() => decoder.push(prefix(max + 1))), 'frame_too_large', `${max + 1} > ${max}, no body byte pushed`);
  }
  const decoder = new FrameDecoder(10);
  t.strictSame(decoder.push(prefix(11).subarray(0, 3)), [], '3 prefix bytes decide nothing yet');
  t.equal(decodeErrorOf(() => decoder.push(prefix(11).subarray(3))), 'frame_too_large', 'the 4th byte decides');
  t.equal(decodeErrorOf(() => new FrameDecoder().push(prefix(0xffffffff))), 'frame_too_large');
});

t.test('after a throw the decoder stays failed', async (t) => {
  const decoder = new FrameDecoder(10);
  const first = catchError(() => decoder.push(prefix(11)));
  t.ok(first instanceof DecodeError);
  t.ok(decoder.failed);
  t.equal(catchError(() => decoder.push(encodeFrame(['EXIT']))), first, 'the same error again, for any later chunk');
  t.equal(decoder.bufferedBytes, 0, 'nothing stays buffered');
});

t.test('a zero-length body is malformed, known from the prefix', async (t) => {
  t.equal(decodeErrorOf(() => new FrameDecoder().push(prefix(0))), 'frame_malformed');
});

t.test('splitFields: a body must end in NUL and be valid UTF-8', async (t) => {
  t.strictSame(splitFields(Buffer.from('SAY\0\0')), ['SAY', ''], 'an empty last field');
  t.strictSame(splitFields(Buffer.from('\0')), [''], 'one empty field');
  t.equal(decodeErrorOf(() => splitFields(Buffer.from('SAY\0hi'))), 'frame_malformed', 'no final NUL');
  t.equal(decodeErrorOf(() => splitFields(Buffer.alloc(0))), 'frame_malformed', 'empty body');
  t.equal(decodeErrorOf(() => splitFields(Buffer.from([0x53, 0xff, 0x00]))), 'bad_utf8', 'invalid byte');
  t.equal(decodeErrorOf(() => splitFields(Buffer.from([0x53, 0xc3, 0x00]))), 'bad_utf8', 'sequence cut by NUL');
  t.equal(decodeErrorOf(() => splitFields(Buffer.from([0xed, 0xa0, 0x80, 0x00]))), 'bad_utf8', 'encoded surrogate');
  t.equal(decodeErrorOf(() => splitFields(Buffer.from([0xc0, 0x80, 0x00]))), 'bad_utf8', 'overlong NUL');
  t.strictSame(splitFields(Buffer.from('\ufeffSAY\0', 'utf8')), ['\ufeffSAY'], 'a BOM is kept, not stripped');
});

t.test('a 64 KiB frame in 1-byte chunks is copied once, not once per chunk', async (t) => {
  const text = 'x'.repeat(MAX_FRAME_BYTES_DEFAULT - 5);
  const frame = encodeFrame(['SAY', text]);
  t.equal(frame.length, 4 + MAX_FRAME_BYTES_DEFAULT);
  // Count the bytes the decoder allocates: a decoder that concatenated on
  // every chunk would allocate about n^2 / 2 = 2 GiB here.
  const { allocUnsafe, concat } = Buffer;
  let allocatedBytes = 0;
  Buffer.allocUnsafe = ((size: number) => {
    allocatedBytes += size;
    return allocUnsafe(size);
  }) as typeof Buffer.allocUnsafe;
  Buffer.concat = ((list: readonly Uint8Array[], length?: number) => {
    const out = concat(list, length);
    allocatedBytes += out.length;
    return out;
  }) as typeof Buffer.concat;
  const decoder = new FrameDecoder();
  const bodies: Buffer[] = [];
  const started = performance.now();
  try {
    for (let i = 0; i < frame.length; i++) bodies.push(...decoder.push(frame.subarray(i, i + 1)));
  } finally {
    Buffer.allocUnsafe = allocUnsafe;
    Buffer.concat = concat;
  }
  t.comment(`${frame.length} one-byte pushes in ${(performance.now() - started).toFixed(0)} ms`);
  t.equal(bodies.length, 1);
  t.equal(splitFields(bodies[0]!)[1], text);
  t.ok(allocatedBytes <= 2 * frame.length, `${allocatedBytes} bytes allocated for a ${frame.length}-byte frame`);
});

t.test('property: arbitrary bytes in arbitrary chunks only ever throw DecodeError', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 10 }), fc.nat(300), (bytes, cuts, max) => {
      const decoder = new FrameDecoder(max + 1);
      for (const chunk of chunksOf(Buffer.from(bytes), cuts)) {
        const code = decodeErrorOf(() => {
          for (const body of decoder.push(chunk)) decodeErrorOf(() => splitFields(body));
        });
        if (code !== undefined) return decoder.failed;
      }
      return true;
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

t.test('the constructor refuses a nonsensical maximum', async (t) => {
  for (const max of [0, -1, 1.5, Number.NaN, 2 ** 32]) t.throws(() => new FrameDecoder(max));
});
