// docs/protocol.md 2.2-2.4: typed KIT commands, their validation and the decode errors.
import t from 'tap';
import fc from 'fast-check';
import {
  decodeClientCommand,
  decodeServerCommand,
  encodeClientCommand,
  encodeServerCommand,
  type ClientCommand,
  type ServerCommand,
} from '../../lib/wire/command.ts';
import { DecodeError, type DecodeErrorCode } from '../../lib/wire/errors.ts';
import { encodeFrame, FrameDecoder, splitFields } from '../../lib/wire/frame.ts';
import { MAX_INVITE_IDS, MAX_MEMBERS, MAX_SAY_FRAME_BYTES, MAX_STANDBYS, MAX_TEXT_BYTES } from '../../lib/wire/limits.ts';
import { catchError, channelArb, chunksOf, decodeErrorOf, idArb, prng, unicodeText, wireNumberArb } from './helpers.ts';

const RUNS = 300;

/** The body of an encoded frame (what FrameDecoder returns). */
function body(frame: Buffer): Buffer {
  const bodies = new FrameDecoder().push(frame);
  if (bodies.length !== 1) throw new Error('expected one frame');
  return bodies[0]!;
}

/** The body of the given fields, bypassing encoder validation. */
function raw(...fields: string[]): Buffer {
  return body(encodeFrame(fields));
}

const ids = (n: number, prefix = 'p'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

// ------------------------------------------------------------------ arbitraries

const textArb = unicodeText(300);
const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });
/** Drops undefined optional keys, as the decoders never set them. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const clientArb: fc.Arbitrary<ClientCommand> = fc.oneof(
  fc.record({ type: fc.constant('JOIN' as const), channel: channelArb, peerId: optional(idArb) }).map(compact),
  fc.record({ type: fc.constant('SAY' as const), text: textArb, msgId: optional(idArb) }).map(compact),
  fc.constant({ type: 'EXIT' as const }),
  fc.record({ type: fc.constant('INVITE' as const), peerIds: fc.array(idArb, { minLength: 1, maxLength: MAX_INVITE_IDS }) }),
  fc.record({ type: fc.constant('RELAY' as const), authorId: idArb, text: textArb, msgId: idArb, seq: wireNumberArb }, { requiredKeys: ['type', 'authorId', 'text', 'msgId'] }),
);

const serverSayArb = fc
  .record({ authorId: idArb, text: textArb, msgId: optional(idArb), seq: optional(wireNumberArb), relayed: fc.boolean() })
  .map(({ authorId, text, msgId, seq, relayed }): ServerCommand => {
    const positional = msgId === undefined ? undefined : seq;
    return compact({ type: 'SAY' as const, authorId, text, msgId, seq: positional, relayed: relayed && positional !== undefined ? true : undefined });
  });

const serverArb: fc.Arbitrary<ServerCommand> = fc.oneof(
  serverSayArb,
  fc.record({ type: fc.constant('STANDBY' as const), peerIds: fc.array(idArb, { minLength: 1, maxLength: MAX_STANDBYS }) }),
  fc.record({ type: fc.constant('WELCOME' as const), channel: channelArb, epoch: wireNumberArb, count: wireNumberArb }),
  fc.record({ type: fc.constant('MEMBERS' as const), peerIds: fc.array(idArb, { maxLength: 100 }) }),
  fc.record({ type: fc.constant('MOVED' as const), hostId: idArb, epoch: wireNumberArb }),
  fc.constant({ type: 'MERGED' as const }),
  fc.record({ type: fc.constant('SEEN' as const), msgId: idArb }),
  fc.record({ type: fc.constant('LATE' as const), authorId: idArb, text: textArb, msgId: idArb }),
);

// ------------------------------------------------------------------ round trips

t.test('every client command round-trips', async (t) => {
  const examples: ClientCommand[] = [
    { type: 'JOIN', channel: '#chat' },
    { type: 'JOIN', channel: '@secret', peerId: 'node-1' },
    { type: 'SAY', text: 'hello 👋 wörld' },
    { type: 'SAY', text: '', msgId: 'm-1' },
    { type: 'EXIT' },
    { type: 'INVITE', peerIds: ['a'] },
    { type: 'INVITE', peerIds: ids(MAX_INVITE_IDS) },
    { type: 'RELAY', authorId: 'node-2', text: 'missed', msgId: 'm-9' },
  ];
  for (const c of examples) t.strictSame(decodeClientCommand(body(encodeClientCommand(c))), c, c.type);
});

t.test('every server command round-trips', async (t) => {
  const examples: ServerCommand[] = [
    { type: 'SAY', authorId: 'a', text: 'hi' },
    { type: 'SAY', authorId: 'a', text: 'hi', msgId: 'm1' },
    { type: 'SAY', authorId: 'a', text: '', msgId: 'm1', seq: Number.MAX_SAFE_INTEGER },
    { type: 'SAY', authorId: 'a', text: 'merged', msgId: 'm1', seq: 3, relayed: true },
    { type: 'STANDBY', peerIds: ['s1'] },
    { type: 'STANDBY', peerIds: ids(MAX_STANDBYS) },
    { type: 'WELCOME', channel: '#chat', epoch: 0, count: 42 },
    { type: 'MEMBERS', peerIds: [] },
    { type: 'MEMBERS', peerIds: ids(MAX_MEMBERS).map((id) => id.padEnd(64, '.')) },
    { type: 'MOVED', hostId: 'h2', epoch: 7 },
    { type: 'MERGED' },
    { type: 'SEEN', msgId: 'm-7' },
    { type: 'LATE', authorId: 'a', text: 'missed', msgId: 'm-8' },
    { type: 'LATE', authorId: 'a', text: '', msgId: 'm-9' },
  ];
  for (const c of examples) t.strictSame(decodeServerCommand(body(encodeServerCommand(c))), c, c.type);
});

t.test('property: arbitrary valid client commands round-trip', async (t) => {
  fc.assert(
    fc.property(clientArb, (c) => JSON.stringify(decodeClientCommand(body(encodeClientCommand(c)))) === JSON.stringify(c)),
    { numRuns: RUNS },
  );
  t.pass();
});

t.test('property: arbitrary valid server commands round-trip', async (t) => {
  fc.assert(
    fc.property(serverArb, (c) => JSON.stringify(decodeServerCommand(body(encodeServerCommand(c)))) === JSON.stringify(c)),
    { numRuns: RUNS },
  );
  t.pass();
});

t.test('the wire bytes are the draft\'s: name and fields, each NUL-terminated', async (t) => {
  t.strictSame(encodeClientCommand({ type: 'JOIN', channel: '#a', peerId: 'p' }), Buffer.from('\0\0\0\x0aJOIN\0#a\0p\0', 'latin1'));
  t.strictSame(encodeServerCommand({ type: 'WELCOME', channel: '#a', epoch: 3, count: 10 }), Buffer.from('\0\0\0\x10WELCOME\0#a\x003\x0010\0', 'latin1'));
  t.strictSame(encodeClientCommand({ type: 'EXIT' }), Buffer.from('\0\0\0\x05EXIT\0', 'latin1'));
});

t.test('the largest command frames stay within the default maximum frame size', async (t) => {
  const members = encodeServerCommand({ type: 'MEMBERS', peerIds: ids(MAX_MEMBERS).map((id) => id.padEnd(64, '.')) });
  const relay = encodeClientCommand({ type: 'RELAY', authorId: 'a'.repeat(64), text: 'é'.repeat(MAX_TEXT_BYTES / 2), msgId: 'm'.repeat(64) });
  const late = encodeServerCommand({ type: 'LATE', authorId: 'a'.repeat(64), text: 'é'.repeat(MAX_TEXT_BYTES / 2), msgId: 'm'.repeat(64) });
  for (const frame of [members, relay, late]) t.ok(frame.length - 4 <= 65536, `${frame.length - 4} bytes`);
});

// ------------------------------------------------------------------ compatibility

t.test('unknown fields at the end of a known command are ignored (2.3)', async (t) => {
  t.strictSame(decodeClientCommand(raw('JOIN', '#a', 'p1', 'future', '')), { type: 'JOIN', channel: '#a', peerId: 'p1' });
  t.strictSame(decodeClientCommand(raw('SAY', 'hi', 'm1', 'x')), { type: 'SAY', text: 'hi', msgId: 'm1' });
  t.strictSame(decodeClientCommand(raw('EXIT', 'bye')), { type: 'EXIT' });
  t.strictSame(decodeClientCommand(raw('RELAY', 'a', 't', 'm', '5', 'x')), { type: 'RELAY', authorId: 'a', text: 't', msgId: 'm', seq: 5 });
  t.strictSame(decodeServerCommand(raw('SAY', 'a', 't', 'm', '5', 'x')), { type: 'SAY', authorId: 'a', text: 't', msgId: 'm', seq: 5 });
  t.strictSame(decodeServerCommand(raw('SAY', 'a', 't', 'm', '5', 'relay', 'x')), { type: 'SAY', authorId: 'a', text: 't', msgId: 'm', seq: 5, relayed: true });
  t.strictSame(encodeServerCommand({ type: 'SAY', authorId: 'a', text: 't', msgId: 'm', seq: 5, relayed: true }), encodeFrame(['SAY', 'a', 't', 'm', '5', 'relay']), 'a merged SAY: sixth field relay');
  t.throws(() => encodeServerCommand({ type: 'SAY', authorId: 'a', text: 't', msgId: 'm', relayed: true }), /needs a seq/);
  t.strictSame(decodeServerCommand(raw('WELCOME', '#a', '1', '2', 'x')), { type: 'WELCOME', channel: '#a', epoch: 1, count: 2 });
  t.strictSame(decodeServerCommand(raw('MOVED', 'h', '1', 'x')), { type: 'MOVED', hostId: 'h', epoch: 1 });
  t.strictSame(decodeServerCommand(raw('MERGED', 'x')), { type: 'MERGED' }, 'MERGED: a later field is ignored');
  t.strictSame(decodeServerCommand(raw('SEEN', 'm', 'x')), { type: 'SEEN', msgId: 'm' });
  t.strictSame(decodeServerCommand(raw('LATE', 'a', 't', 'm', 'x')), { type: 'LATE', authorId: 'a', text: 't', msgId: 'm' });
});

t.test('a legacy JOIN without peer id and a legacy SAY without msgId are valid', async (t) => {
  t.strictSame(decodeClientCommand(raw('JOIN', '#a')), { type: 'JOIN', channel: '#a' });
  t.strictSame(decodeClientCommand(raw('SAY', 'hi')), { type: 'SAY', text: 'hi' });
  t.strictSame(decodeServerCommand(raw('SAY', 'author', 'hi')), { type: 'SAY', authorId: 'author', text: 'hi' });
});

t.test('in list commands every field is an element, so the count bound applies', async (t) => {
  t.equal(decodeErrorOf(() => decodeClientCommand(raw('INVITE', ...ids(MAX_INVITE_IDS + 1)))), 'too_many_fields');
  t.equal(decodeErrorOf(() => decodeServerCommand(raw('STANDBY', ...ids(MAX_STANDBYS + 1)))), 'too_many_fields');
  t.equal(decodeErrorOf(() => decodeServerCommand(raw('MEMBERS', ...ids(MAX_MEMBERS + 1)))), 'too_many_fields');
  t.equal(decodeErrorOf(() => decodeClientCommand(raw('INVITE'))), 'missing_field', 'INVITE needs one id');
  t.equal(decodeErrorOf(() => decodeServerCommand(raw('STANDBY'))), 'missing_field', 'STANDBY needs one id');
  t.strictSame(decodeServerCommand(raw('MEMBERS')), { type: 'MEMBERS', peerIds: [] }, 'MEMBERS may be empty');
  t.equal(decodeErrorOf(() => decodeServerCommand(raw('STANDBY', 's1', ''))), 'bad_id', 'an empty element is a bad id');
});

t.test('SAY text: empty is allowed, 4096 bytes is the limit', async (t) => {
  const atLimit = '€'.repeat(MAX_TEXT_BYTES / 4) + 'abcd'.repeat(MAX_TEXT_BYTES / 16); // 3 + 1 bytes per char pair
  t.equal(Buffer.byteLength(atLimit), MAX_TEXT_BYTES);
  t.equal((decodeClientCommand(raw('SAY', atLimit)) as { text: string }).text, atLimit);
  t.equal(decodeErrorOf(() => decodeClientCommand(raw('SAY', `${atLimit}x`))), 'text_too_long');
  t.equal(decodeErrorOf(() => decodeServerCommand(raw('SAY', 'a', `${atLimit}x`))), 'text_too_long');
  t.equal(decodeErrorOf(() => decodeClientCommand(raw('RELAY', 'a', `${atLimit}x`, 'm'))), 'text_too_long');
  t.equal(decodeErrorOf(() => decodeServerCommand(raw('LATE', 'a', `${atLimit}x`, 'm'))), 'text_too_long');
  const late = { type: 'LATE' as const, authorId: 'a'.repeat(64), text: atLimit, msgId: 'm'.repeat(64) };
  t.strictSame(decodeServerCommand(body(encodeServerCommand(late))), late, 'LATE with text and ids at their bounds');
  t.equal(decodeErrorOf(() => decodeServerCommand(raw('LATE', 'a'.repeat(65), 't', 'm'))), 'bad_id', 'LATE authorId of 65 bytes');
  t.equal(decodeErrorOf(() => decodeServerCommand(raw('LATE', 'a', 't', ''))), 'bad_id', 'LATE with an empty msgId');
  t.strictSame(decodeClientCommand(raw('SAY', '')), { type: 'SAY', text: '' });
});

t.test('numbers are canonical decimal 0..2^53-1', async (t) => {
  for (const good of ['0', '1', '10', '9007199254740991']) {
    t.equal((decodeServerCommand(raw('MOVED', 'h', good)) as { epoch: number }).epoch, Number(good), good);
  }
  for (const bad of ['', '-1', '+1', '01', '00', ' 1', '1 ', '1.0', '1e3', '0x10', '9007199254740992', '99999999999999999', '١', 'NaN', 'Infinity']) {
    t.equal(decodeErrorOf(() => decodeServerCommand(raw('MOVED', 'h', bad))), 'bad_number', JSON.stringify(bad));
  }
});

// ------------------------------------------------------------------ decode errors

t.test('table: every command decode error code', async (t) => {
  const cases: [string, 'client' | 'server', Buffer, DecodeErrorCode][] = [
    ['frame not NUL-terminated', 'client', Buffer.from('EXIT'), 'frame_malformed'],
    ['empty body', 'server', Buffer.alloc(0), 'frame_malformed'],
    ['unknown command', 'client', raw('PING'), 'unknown_command'],
    ['server command sent by a client', 'client', raw('WELCOME', '#a', '1', '0'), 'unknown_command'],
    ['client command sent by a server', 'server', raw('JOIN', '#a'), 'unknown_command'],
    ['command names are case-sensitive', 'client', raw('join', '#a'), 'unknown_command'],
    ['empty command name', 'client', raw(''), 'unknown_command'],
    ['JOIN without channel', 'client', raw('JOIN'), 'missing_field'],
    ['RELAY without msgId', 'client', raw('RELAY', 'a', 'text'), 'missing_field'],
    ['WELCOME without count', 'server', raw('WELCOME', '#a', '1'), 'missing_field'],
    ['MOVED without epoch', 'server', raw('MOVED', 'h'), 'missing_field'],
    ['SEEN without msgId', 'server', raw('SEEN'), 'missing_field'],
    ['SEEN with an empty msgId', 'server', raw('SEEN', ''), 'bad_id'],
    ['LATE without msgId', 'server', raw('LATE', 'a', 'text'), 'missing_field'],
    ['SAY without text', 'server', raw('SAY', 'a'), 'missing_field'],
    ['INVITE of 65 peers', 'client', raw('INVITE', ...ids(65)), 'too_many_fields'],
    ['invalid UTF-8', 'client', Buffer.from([0x53, 0x41, 0x59, 0x00, 0xfe, 0x00]), 'bad_utf8'],
    ['channel without prefix', 'client', raw('JOIN', 'chat'), 'bad_channel_name'],
    ['channel of only a prefix', 'client', raw('JOIN', '#'), 'bad_channel_name'],
    ['channel of 65 bytes', 'client', raw('JOIN', `#${'c'.repeat(64)}`), 'bad_channel_name'],
    ['channel with a space', 'server', raw('WELCOME', '#a b', '1', '1'), 'bad_channel_name'],
    ['channel with non-ASCII', 'client', raw('JOIN', '#café'), 'bad_channel_name'],
    ['empty peer id', 'client', raw('JOIN', '#a', ''), 'bad_id'],
    ['peer id of 65 bytes', 'client', raw('INVITE', 'p'.repeat(65)), 'bad_id'],
    ['peer id with a control byte', 'server', raw('MOVED', 'h\x01', '1'), 'bad_id'],
    ['msgId with a space', 'client', raw('SAY', 'hi', 'm 1'), 'bad_id'],
    ['author id non-ASCII', 'server', raw('SAY', 'ä', 'hi'), 'bad_id'],
    ['seq with a sign', 'server', raw('SAY', 'a', 'hi', 'm', '-1'), 'bad_number'],
    ['epoch too large', 'server', raw('WELCOME', '#a', '9007199254740992', '0'), 'bad_number'],
    ['text above 4096 bytes', 'client', raw('SAY', 'x'.repeat(4097)), 'text_too_long'],
  ];
  for (const [name, direction, bytes, code] of cases) {
    const decode = direction === 'client' ? decodeClientCommand : decodeServerCommand;
    t.equal(decodeErrorOf(() => decode(bytes)), code, name);
  }
});

t.test('encoders refuse invalid commands with a plain Error (a programmer mistake, not input)', async (t) => {
  const client: unknown[] = [
    { type: 'JOIN', channel: 'nohash' },
    { type: 'JOIN', channel: '#a', peerId: '' },
    { type: 'SAY', text: 'x'.repeat(4097) },
    { type: 'SAY', text: 'a\0b' },
    { type: 'SAY', text: '\udc00' },
    { type: 'SAY', text: 'hi', msgId: 'with space' },
    { type: 'INVITE', peerIds: [] },
    { type: 'INVITE', peerIds: ids(65) },
    { type: 'RELAY', authorId: 'a', text: 'hi', msgId: '' },
    { type: 'HELLO' },
  ];
  for (const c of client) {
    const error = catchError(() => encodeClientCommand(c as ClientCommand));
    t.ok(error instanceof Error && !(error instanceof DecodeError), JSON.stringify(c).slice(0, 60));
  }
  const server: unknown[] = [
    { type: 'SAY', authorId: 'a', text: 'hi', seq: 1 },
    { type: 'SAY', authorId: 'a', text: 'hi', msgId: 'm', seq: -1 },
    { type: 'SAY', authorId: 'a', text: 'hi', msgId: 'm', seq: 1.5 },
    { type: 'STANDBY', peerIds: [] },
    { type: 'STANDBY', peerIds: ids(17) },
    { type: 'WELCOME', channel: '#a', epoch: 2 ** 53, count: 0 },
    { type: 'MEMBERS', peerIds: ids(513) },
    { type: 'MOVED', hostId: 'h', epoch: Number.NaN },
  ];
  for (const c of server) {
    const error = catchError(() => encodeServerCommand(c as ServerCommand));
    t.ok(error instanceof Error && !(error instanceof DecodeError), JSON.stringify(c).slice(0, 60));
  }
});

// ------------------------------------------------------------------ robustness

/** Feeds `bytes` (in `chunks`) to a FrameDecoder and every body to both decoders; true if all ended in value or DecodeError. */
function survives(stream: Buffer, cuts: readonly number[], maxBody = 65536): boolean {
  const decoder = new FrameDecoder(maxBody);
  for (const chunk of chunksOf(stream, cuts)) {
    let bodies: Buffer[];
    try {
      bodies = decoder.push(chunk);
    } catch (error) {
      if (error instanceof DecodeError) return true;
      throw error;
    }
    for (const b of bodies) {
      decodeErrorOf(() => decodeClientCommand(b));
      decodeErrorOf(() => decodeServerCommand(b));
    }
  }
  return true;
}

t.test('property: arbitrary bytes never throw anything but DecodeError', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => survives(Buffer.from(bytes), cuts)),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      decodeErrorOf(() => decodeClientCommand(Buffer.from(bytes)));
      decodeErrorOf(() => decodeServerCommand(Buffer.from(bytes)));
      return true;
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.constantFrom(0, 0x20, 0x80, 0xc3, 0xff, 0x23, 0x40, 0x30) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.nat(255) }),
);

function mutate(frame: Buffer, mutations: readonly { kind: 'set' | 'cut' | 'insert'; at: number; byte?: number }[]): Buffer {
  let bytes = Buffer.from(frame);
  for (const m of mutations) {
    const at = m.at % (bytes.length + 1);
    if (m.kind === 'set' && at < bytes.length) bytes[at] = m.byte!;
    else if (m.kind === 'cut') bytes = bytes.subarray(0, at);
    else if (m.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([m.byte!]), bytes.subarray(at)]);
  }
  return bytes;
}

t.test('property: mutated valid frames never throw anything but DecodeError', async (t) => {
  const frameArb = fc.oneof(clientArb.map(encodeClientCommand), serverArb.map(encodeServerCommand));
  fc.assert(
    fc.property(frameArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 4 }), (frame, mutations, cuts) =>
      survives(mutate(frame, mutations), cuts),
    ),
    { numRuns: RUNS },
  );
  t.pass();
});

t.test('fuzz: 100,000 random frames through FrameDecoder and a command decoder throw only DecodeError', async (t) => {
  const random = prng(0x5eed);
  const below = (n: number): number => Math.floor(random() * n);
  const names = ['JOIN', 'SAY', 'EXIT', 'INVITE', 'RELAY', 'STANDBY', 'WELCOME', 'MEMBERS', 'MOVED', 'MERGED', 'SEEN', 'LATE', 'X', ''].map((n) => Buffer.from(n));
  const pool = [
    ...['#chat', '@p', 'p1', '0', '9007199254740991', '9007199254740992', '-1', 'ü', '', 'x'.repeat(70), 'a b'].map((f) => Buffer.from(f)),
    Buffer.from([0xff]), // never valid in UTF-8
    Buffer.from([0xe2, 0x82]), // a truncated 3-byte sequence
  ];
  const scratch = Buffer.alloc(1024);
  const started = performance.now();
  const outcomes = new Map<string, number>();
  const count = (code: string): void => void outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
  for (let i = 0; i < 100_000; i++) {
    // A body: mostly a command name and up to 5 fields from a pool of good and bad values, sometimes pure noise.
    let length = 4;
    const put = (b: Buffer): void => {
      b.copy(scratch, length);
      length += b.length;
    };
    const noise = (n: number): void => {
      for (let k = 0; k < n; k++) scratch[length++] = below(256);
    };
    if (random() < 0.8) {
      put(names[below(names.length)]!);
      scratch[length++] = 0;
      for (let f = below(6); f > 0; f--) {
        if (random() < 0.7) put(pool[below(pool.length)]!);
        else noise(below(8));
        if (random() < 0.95) scratch[length++] = 0;
      }
    } else {
      noise(below(24));
    }
    // The prefix: mostly right, sometimes anything.
    scratch.writeUInt32BE(random() < 0.9 ? length - 4 : below(2 ** 32), 0);
    const frame = scratch.subarray(0, length);
    const decoder = new FrameDecoder(random() < 0.5 ? 65536 : 16);
    const decode = i % 2 === 0 ? decodeClientCommand : decodeServerCommand;
    const cut = below(length);
    for (const chunk of [frame.subarray(0, cut), frame.subarray(cut)]) {
      let bodies: Buffer[] = [];
      const framing = decodeErrorOf(() => {
        bodies = decoder.push(chunk);
      });
      if (framing !== undefined) {
        count(framing);
        break;
      }
      for (const b of bodies) count(decodeErrorOf(() => decode(b)) ?? 'ok');
    }
  }
  const elapsedMs = performance.now() - started;
  const total = [...outcomes.values()].reduce((a, b) => a + b, 0);
  t.ok(total >= 100_000, `${total} frames decoded or refused`);
  t.ok((outcomes.get('ok') ?? 0) > 1000, 'many frames are valid commands');
  t.ok(outcomes.size >= 8, `outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  t.comment(`100,000 frames in ${elapsedMs.toFixed(0)} ms (about 1.5 s on an idle machine)`);
});

t.test('a decoded body split into fields matches what splitFields returns', async (t) => {
  t.strictSame(splitFields(raw('SAY', 'a', 'b')), ['SAY', 'a', 'b']);
});

t.test('MAX_SAY_FRAME_BYTES is the longest SAY frame a host sends: every field at its maximum', async (t) => {
  const longest = encodeServerCommand({ type: 'SAY', authorId: 'a'.repeat(64), text: '\u00e9'.repeat(MAX_TEXT_BYTES / 2), msgId: 'm'.repeat(64), seq: 2 ** 53 - 1, relayed: true });
  t.equal(longest.length, MAX_SAY_FRAME_BYTES);
  const shorter = encodeServerCommand({ type: 'SAY', authorId: 'a'.repeat(64), text: 'x'.repeat(MAX_TEXT_BYTES), msgId: 'm'.repeat(64), seq: 1 });
  t.ok(shorter.length < MAX_SAY_FRAME_BYTES);
});
