// docs/protocol.md 3.2-3.4: native PeerPDU v1 in msgpack, split into parts, optionally authenticated.
import t from 'tap';
import fc from 'fast-check';
import { Packr, unpack } from 'msgpackr';
import { DecodeError, type DecodeErrorCode } from '../../lib/wire/errors.ts';
import { MAX_ID_BYTES, MAX_INVITE_IDS, MAX_MEMBERS, MAX_PDU_BYTES, MAX_PDU_PARTS, MAX_STANDBYS } from '../../lib/wire/limits.ts';
import {
  decodePeerPduPart,
  encodePeerPdu,
  PduTooLargeError,
  type HostedChannel,
  type PeerPdu,
  type PeerPduPart,
} from '../../lib/wire/peer-pdu.ts';
import { PduAssembler } from '../../lib/wire/pdu-assembler.ts';
import { hiddenTag } from '../../lib/wire/hidden-tag.ts';
import { catchError, decodeErrorOf, idArb, publicChannelArb, unicodeText, wireNumberArb } from './helpers.ts';

const RUNS = 200;
const SECRET = Buffer.from('correct horse battery staple');

/** The documented key order of 3.2. */
const KEYS = ['version', 'peerId', 'incarnation', 'seq', 'rev', 'part', 'parts', 'nick', 'port', 'interval', 'channels', 'memberships', 'invites'];

const longId = (i: number, length = MAX_ID_BYTES): string => `${i}-`.padEnd(length, 'x');
const ids = (n: number, length = MAX_ID_BYTES): string[] => Array.from({ length: n }, (_, i) => longId(i, length));

function basePdu(overrides: Partial<PeerPdu> = {}): PeerPdu {
  return {
    version: 1,
    peerId: 'node-1',
    incarnation: 123456,
    seq: 7,
    rev: 3,
    nick: 'Ann',
    port: 50000,
    interval: 250,
    channels: [],
    memberships: [],
    invites: [],
    hidden: [],
    ...overrides,
  };
}

/** Encodes, checks every datagram's size, decodes each part and reassembles them in `order`. */
function roundTrip(pdu: PeerPdu, secret?: Buffer, order?: (parts: Buffer[]) => Buffer[]): { result: PeerPdu | undefined; datagrams: Buffer[] } {
  const datagrams = encodePeerPdu(pdu, secret);
  const assembler = new PduAssembler();
  let result: PeerPdu | undefined;
  for (const d of order ? order(datagrams) : datagrams) {
    if (d.length > MAX_PDU_BYTES) throw new Error(`datagram of ${d.length} bytes`);
    const out = assembler.add(decodePeerPduPart(d, secret));
    if (out !== undefined) {
      if (result !== undefined) throw new Error('completed twice');
      result = out;
    }
  }
  return { result, datagrams };
}

/** Packs an arbitrary map the way a foreign encoder might (for crafting invalid datagrams). */
const foreign = new Packr({ useRecords: false, variableMapSize: true });
function craft(map: Record<string, unknown>): Buffer {
  return Buffer.from(foreign.pack(map));
}
/** A valid wire map with `overrides`; an undefined override removes the key. */
function wire(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const map: Record<string, unknown> = { version: 1, peerId: 'n', incarnation: 1, seq: 1, rev: 1, part: 0, parts: 1, nick: '', port: 0, interval: 250, channels: [], memberships: [], invites: [], ...overrides };
  for (const key of Object.keys(map)) if (map[key] === undefined) delete map[key];
  return map;
}

// ------------------------------------------------------------------ arbitraries

const hostedArb = fc.record({
  name: publicChannelArb,
  epoch: wireNumberArb,
  standbys: fc.array(idArb, { maxLength: 3 }),
  members: fc.array(idArb, { maxLength: 20 }),
});

/** PDUs within every bound and small enough for 16 parts (the worst case is about 11 parts). */
const pduArb: fc.Arbitrary<PeerPdu> = fc.record({
  version: fc.constant(1 as const),
  peerId: idArb,
  incarnation: wireNumberArb,
  seq: wireNumberArb,
  rev: wireNumberArb,
  nick: unicodeText(8),
  port: fc.oneof(fc.constant(0), fc.integer({ min: 49152, max: 65535 })),
  interval: fc.integer({ min: 0, max: 0xffffffff }),
  channels: fc.uniqueArray(hostedArb, { maxLength: 3, selector: (c) => c.name }),
  memberships: fc.uniqueArray(fc.record({ host: idArb, channels: fc.array(publicChannelArb, { maxLength: 6 }) }), {
    maxLength: 3,
    selector: (m) => m.host,
  }),
  invites: fc.uniqueArray(fc.record({ channel: publicChannelArb, host: idArb, peerIds: fc.array(idArb, { maxLength: 6 }) }), {
    maxLength: 2,
    selector: (i) => `${i.channel} ${i.host}`,
  }),
  hidden: fc.uniqueArray(fc.record({ tag: fc.stringMatching(/^[0-9a-f]{32}$/), epoch: wireNumberArb }), { maxLength: 3, selector: (h) => h.tag }),
});

const secretArb = fc.option(fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b)), { nil: undefined });

// ------------------------------------------------------------------ round trips

t.test('a small PDU is one datagram and round-trips', async (t) => {
  const pdu = basePdu({
    channels: [{ name: '#chat', epoch: 3, standbys: ['node-2', 'node-3'], members: ['node-1', 'node-2', 'node-3'] }],
    memberships: [{ host: 'node-9', channels: ['#other'] }],
    invites: [{ channel: '#chat', host: 'node-1', peerIds: ['node-4'] }],
  });
  const { result, datagrams } = roundTrip(pdu);
  t.equal(datagrams.length, 1);
  t.strictSame(result, pdu);
  const part = decodePeerPduPart(datagrams[0]!);
  t.equal(part.part, 0);
  t.equal(part.parts, 1);
});

t.test('property: arbitrary PDUs round-trip, every datagram <= 1400 bytes, parts in any order', async (t) => {
  fc.assert(
    fc.property(pduArb, secretArb, fc.infiniteStream(fc.nat()), (pdu, secret, randoms) => {
      const shuffle = (parts: Buffer[]): Buffer[] =>
        parts.map((p) => ({ p, k: randoms.next().value as number })).sort((a, b) => a.k - b.k).map(({ p }) => p);
      const { result, datagrams } = roundTrip(pdu, secret, shuffle);
      return datagrams.length <= MAX_PDU_PARTS && datagrams.every((d) => d.length <= MAX_PDU_BYTES) && JSON.stringify(result) === JSON.stringify(pdu);
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

t.test('encoding is deterministic, in the documented key order, readable by any msgpack decoder', async (t) => {
  const pdu = basePdu({ channels: [{ name: '#a', epoch: 2 ** 40, standbys: ['s'], members: ['m'] }], seq: 2 ** 53 - 1 });
  const [first] = encodePeerPdu(pdu, SECRET);
  const [again] = encodePeerPdu(pdu, SECRET);
  t.strictSame(first, again, 'same PDU, same bytes');
  const plain = unpack(first!) as Record<string, unknown>; // msgpackr's default decoder, no options
  t.strictSame(Object.keys(plain), [...KEYS, 'auth']);
  t.strictSame(Object.keys((plain.channels as object[])[0]!), ['name', 'epoch', 'standbys', 'members']);
  t.equal(first![0], 0x8e, 'a fixmap of 14 keys');
  t.equal(BigInt(plain.seq as bigint), 2n ** 53n - 1n, 'seq above 2^32 is a msgpack integer, not a float');
  t.ok(first!.includes(Buffer.from([0xd3, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), 'as int64');
  const unauthenticated = unpack(encodePeerPdu(pdu)[0]!) as Record<string, unknown>;
  t.strictSame(Object.keys(unauthenticated), KEYS, 'no auth key without a secret');
});

t.test('the greedy layout fills parts: no full part could take one more member', async (t) => {
  const pdu = basePdu({ channels: [{ name: '#big', epoch: 1, standbys: ids(2), members: ids(150) }] });
  const datagrams = encodePeerPdu(pdu, SECRET);
  for (const d of datagrams.slice(0, -1)) t.ok(d.length + 2 + MAX_ID_BYTES > MAX_PDU_BYTES, `part of ${d.length} bytes is full`);
});

t.test('large member lists split and reassemble exactly, in any part order', async (t) => {
  // 512 members of 16-byte ids: about 9 KiB of ids.
  const many = basePdu({ channels: [{ name: '#huge', epoch: 9, standbys: ids(MAX_STANDBYS, 16), members: ids(MAX_MEMBERS, 16) }] });
  const forward = roundTrip(many, SECRET);
  t.strictSame(forward.result, many, `512 members of 16-byte ids in ${forward.datagrams.length} parts`);
  t.strictSame(roundTrip(many, SECRET, (p) => p.slice().reverse()).result, many, 'reversed');
  const middleOut = (p: Buffer[]): Buffer[] => [...p.filter((_, i) => i % 2 === 1), ...p.filter((_, i) => i % 2 === 0)];
  t.strictSame(roundTrip(many, undefined, middleOut).result, many, 'odd parts first');
  for (const d of forward.datagrams) {
    const part = decodePeerPduPart(d, SECRET);
    t.equal(part.channels[0]!.epoch, 9, 'every slice repeats the epoch');
    t.strictSame(part.channels[0]!.standbys, ids(MAX_STANDBYS, 16), 'every slice repeats the standbys');
  }
});

t.test('64-byte ids: 512 members fit the 48 parts of a round in the worst case, and reassemble', async (t) => {
  // 512 ids of 64 bytes are about 33 KiB of msgpack: that is why a round has 48 parts (3.2).
  const channel = (members: number): HostedChannel => ({ name: `#${'c'.repeat(63)}`, epoch: 2 ** 40, standbys: ids(2), members: ids(members) });
  const pdu = (members: number): PeerPdu => basePdu({ peerId: longId(999), nick: 'n'.repeat(32), incarnation: 2 ** 53 - 1, seq: 2 ** 53 - 1, channels: [channel(members)] });
  const { result, datagrams } = roundTrip(pdu(MAX_MEMBERS), SECRET, (p) => p.slice().reverse());
  t.ok(datagrams.length <= MAX_PDU_PARTS, `${datagrams.length} parts`);
  t.ok(datagrams.every((d) => d.length <= MAX_PDU_BYTES));
  t.strictSame(result, pdu(MAX_MEMBERS));
  const two = basePdu({ peerId: longId(999), channels: [channel(MAX_MEMBERS), { ...channel(MAX_MEMBERS), name: `#${'d'.repeat(63)}` }] });
  const error = catchError(() => encodePeerPdu(two, SECRET));
  t.ok(error instanceof PduTooLargeError, 'more than a round holds: a PduTooLargeError (the caller must trim)');
  t.match((error as Error).message, /needs more than 48 datagrams/);
});

t.test('long memberships and invites are sliced and merged like members', async (t) => {
  const channels = Array.from({ length: 256 }, (_, i) => `#${i}-`.padEnd(64, 'c'));
  const pdu = basePdu({
    memberships: [{ host: 'h1', channels: channels.slice(0, 150) }, { host: 'h2', channels: ['#x'] }],
    invites: [{ channel: '#big', host: 'node-1', peerIds: ids(MAX_INVITE_IDS) }],
  });
  const { result, datagrams } = roundTrip(pdu, SECRET, (p) => p.slice().reverse());
  t.ok(datagrams.length > 2);
  t.strictSame(result, pdu);
});

t.test('a worst-case channel entry without members fits only without a tag', async (t) => {
  // 64-byte peer id, 32-byte nick, 64-byte channel name, 16 standbys of 64 bytes, seq, rev and epoch above 2^32.
  const worst = basePdu({
    peerId: longId(0),
    nick: 'ñ'.repeat(16),
    seq: 2 ** 53 - 1,
    rev: 2 ** 53 - 1,
    incarnation: 2 ** 53 - 1,
    port: 65535,
    channels: [{ name: `#${'c'.repeat(63)}`, epoch: 2 ** 53 - 1, standbys: ids(MAX_STANDBYS), members: [] }],
  });
  const plain = encodePeerPdu(worst);
  t.equal(plain.length, 1);
  t.ok(plain[0]!.length > 1300, `${plain[0]!.length} bytes`);
  t.strictSame(roundTrip(worst).result, worst);
  // The 32-byte tag adds 39 bytes: 1,408 > 1,400. That is why a node ranks at
  // most 8 standbys (`--standbys`), although a receiver accepts 16.
  t.throws(() => encodePeerPdu(worst, SECRET), /does not fit a datagram/);
});

// ------------------------------------------------------------------ private channels

t.test('a private channel is never advertised: the encoder throws', async (t) => {
  const cases: Partial<PeerPdu>[] = [
    { channels: [{ name: '@secret', epoch: 1, standbys: [], members: [] }] },
    { memberships: [{ host: 'h', channels: ['#ok', '@secret'] }] },
  ];
  for (const c of cases) {
    const error = catchError(() => encodePeerPdu(basePdu(c)));
    t.ok(error instanceof Error && !(error instanceof DecodeError), JSON.stringify(c));
    t.match((error as Error).message, /private channel/);
  }
});

t.test('a private channel is never accepted as hosted or joined: the decoder rejects it', async (t) => {
  const cases = [
    wire({ channels: [{ name: '@secret', epoch: 1, standbys: [], members: [] }] }),
    wire({ memberships: [{ host: 'h', channels: ['@secret'] }] }),
  ];
  for (const c of cases) t.equal(decodeErrorOf(() => decodePeerPduPart(craft(c))), 'pdu_bounds');
});

t.test('hosted private channels travel blinded in `hidden`, which a PDU without them leaves out', async (t) => {
  const pdu = basePdu({ hidden: [{ tag: hiddenTag('@secret'), epoch: 3 }, { tag: hiddenTag('@other', SECRET), epoch: 2 ** 40 }] });
  const { result, datagrams } = roundTrip(pdu, SECRET);
  t.strictSame(result, pdu);
  const plain = unpack(datagrams[0]!) as Record<string, unknown>;
  t.strictSame(Object.keys(plain), [...KEYS, 'hidden', 'auth'], 'after invites, before auth');
  t.strictSame(Object.keys((plain.hidden as object[])[0]!), ['tag', 'epoch']);
  t.notOk(datagrams[0]!.includes(Buffer.from('@secret')), 'the name itself is nowhere');
  t.notOk('hidden' in (unpack(encodePeerPdu(basePdu())[0]!) as object), 'no hidden channels: no key');
  t.not(hiddenTag('@secret'), hiddenTag('@secret', SECRET), 'with a secret the tag is keyed');
  t.equal(hiddenTag('@secret'), hiddenTag('@secret'), 'and it is a function of the name');
});

t.test('many hidden entries fill several parts and reassemble', async (t) => {
  const hidden = Array.from({ length: 200 }, (_, i) => ({ tag: hiddenTag(`@c${i}`), epoch: i }));
  const pdu = basePdu({ hidden, channels: [{ name: '#a', epoch: 1, standbys: [], members: ids(20) }] });
  const { result, datagrams } = roundTrip(pdu, SECRET, (p) => p.slice().reverse());
  t.ok(datagrams.length > 2, `${datagrams.length} parts`);
  t.strictSame(result, pdu);
});

t.test('hidden entries at the bound: as many as one datagram holds decode, one more is a datagram too large', async (t) => {
  // A hidden entry takes at least 46 bytes, so a datagram of 1,400 holds far
  // fewer than MAX_PDU_HIDDEN (256, the per-part count bound, a second line
  // like channels'): the datagram size is the bound that bites.
  const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ tag: i.toString(16).padStart(32, '0'), epoch: 2 ** 40 }));
  let n = 0;
  while (craft(wire({ hidden: entries(n + 1) })).length <= MAX_PDU_BYTES) n++;
  const fits = craft(wire({ hidden: entries(n) }));
  t.ok(fits.length <= MAX_PDU_BYTES && n > 20 && n < 256, `${n} hidden entries in ${fits.length} bytes`);
  t.equal(decodePeerPduPart(fits).hidden.length, n);
  t.equal(decodeErrorOf(() => decodePeerPduPart(craft(wire({ hidden: entries(n + 1) })))), 'pdu_bounds', `${n + 1}: above ${MAX_PDU_BYTES} bytes`);
});

t.test('an invite may name a private channel: that is how an invited peer finds it', async (t) => {
  const pdu = basePdu({ invites: [{ channel: '@secret', host: 'node-1', peerIds: ['p'] }] });
  t.strictSame(roundTrip(pdu, SECRET).result, pdu);
});

// ------------------------------------------------------------------ validation

t.test('table: every PDU decode error code', async (t) => {
  const tooBig = Buffer.concat([craft(wire()), Buffer.alloc(MAX_PDU_BYTES)]);
  const cases: [string, Buffer, DecodeErrorCode][] = [
    ['empty datagram', Buffer.alloc(0), 'pdu_malformed'],
    ['not msgpack (truncated)', craft(wire()).subarray(0, 20), 'pdu_malformed'],
    ['trailing bytes after the map', Buffer.concat([craft(wire()), Buffer.from([0xc0])]), 'pdu_malformed'],
    ['an array, not a map', craft([1, 2] as unknown as Record<string, unknown>), 'pdu_malformed'],
    ['a string, not a map', Buffer.from([0xa1, 0x61]), 'pdu_malformed'],
    ['missing peerId', craft(wire({ peerId: undefined })), 'pdu_malformed'],
    ['seq as a string', craft(wire({ seq: '1' })), 'pdu_malformed'],
    ['seq as a fraction', craft(wire({ seq: 1.5 })), 'pdu_malformed'],
    ['channels not an array', craft(wire({ channels: {} })), 'pdu_malformed'],
    ['channel entry not a map', craft(wire({ channels: ['#a'] })), 'pdu_malformed'],
    ['channel entry without epoch', craft(wire({ channels: [{ name: '#a', standbys: [], members: [] }] })), 'pdu_malformed'],
    ['members of numbers', craft(wire({ channels: [{ name: '#a', epoch: 1, standbys: [], members: [1] }] })), 'pdu_malformed'],
    ['a channel twice in one part', craft(wire({ channels: [{ name: '#a', epoch: 1, standbys: [], members: [] }, { name: '#a', epoch: 1, standbys: [], members: [] }] })), 'pdu_malformed'],
    ['a membership host twice in one part', craft(wire({ memberships: [{ host: 'h', channels: [] }, { host: 'h', channels: [] }] })), 'pdu_malformed'],
    ['version missing', craft(wire({ version: undefined })), 'pdu_malformed'],
    ['version 2', craft(wire({ version: 2 })), 'pdu_version'],
    ['version 0', craft(wire({ version: 0 })), 'pdu_version'],
    ['above 1,400 bytes', tooBig, 'pdu_bounds'],
    ['empty peerId', craft(wire({ peerId: '' })), 'pdu_bounds'],
    ['peerId of 65 bytes', craft(wire({ peerId: 'p'.repeat(65) })), 'pdu_bounds'],
    ['peerId with a space', craft(wire({ peerId: 'a b' })), 'pdu_bounds'],
    ['incarnation 2^53', craft(wire({ incarnation: 2 ** 53 })), 'pdu_bounds'],
    ['negative incarnation', craft(wire({ incarnation: -1 })), 'pdu_bounds'],
    ['seq 2^53', craft(wire({ seq: 2 ** 53 })), 'pdu_bounds'],
    ['rev 2^53', craft(wire({ rev: 2 ** 53 })), 'pdu_bounds'],
    ['rev missing', craft(wire({ rev: undefined })), 'pdu_malformed'],
    ['seq 2^64-1 as uint64', craft(wire({ seq: 2n ** 64n - 1n })), 'pdu_bounds'],
    ['part == parts', craft(wire({ part: 1, parts: 1 })), 'pdu_bounds'],
    ['parts 0', craft(wire({ part: 0, parts: 0 })), 'pdu_bounds'],
    ['parts 49', craft(wire({ part: 0, parts: 49 })), 'pdu_bounds'],
    ['nick of 33 bytes', craft(wire({ nick: 'ñ'.repeat(16) + 'x' })), 'pdu_bounds'],
    ['port 1000', craft(wire({ port: 1000 })), 'pdu_bounds'],
    ['port 49151', craft(wire({ port: 49151 })), 'pdu_bounds'],
    ['port 65536', craft(wire({ port: 65536 })), 'pdu_bounds'],
    ['interval 2^32 ms', craft(wire({ interval: 2 ** 32 })), 'pdu_bounds'],
    ['channel name without prefix', craft(wire({ channels: [{ name: 'a', epoch: 1, standbys: [], members: [] }] })), 'pdu_bounds'],
    ['17 standbys', craft(wire({ channels: [{ name: '#a', epoch: 1, standbys: ids(17, 1), members: [] }] })), 'pdu_bounds'],
    ['513 members', craft(wire({ channels: [{ name: '#a', epoch: 1, standbys: [], members: Array(513).fill('m') }] })), 'pdu_bounds'],
    ['257 channels in one membership', craft(wire({ memberships: [{ host: 'h', channels: Array(257).fill('#a') }] })), 'pdu_bounds'],
    ['65 invited peers', craft(wire({ invites: [{ channel: '#a', host: 'h', peerIds: Array(65).fill('p') }] })), 'pdu_bounds'],
    ['hidden tag of 31 digits', craft(wire({ hidden: [{ tag: 'a'.repeat(31), epoch: 1 }] })), 'pdu_bounds'],
    ['hidden tag in capitals', craft(wire({ hidden: [{ tag: 'A'.repeat(32), epoch: 1 }] })), 'pdu_bounds'],
    ['hidden tag twice', craft(wire({ hidden: [{ tag: 'a'.repeat(32), epoch: 1 }, { tag: 'a'.repeat(32), epoch: 2 }] })), 'pdu_malformed'],
    ['hidden not an array', craft(wire({ hidden: { tag: 'a'.repeat(32), epoch: 1 } })), 'pdu_malformed'],
  ];
  for (const [name, datagram, code] of cases) t.equal(decodeErrorOf(() => decodePeerPduPart(datagram)), code, name);
});

t.test('incarnation is 0 to 2^53-1 (it grows with every start: the start time in ms)', async (t) => {
  for (const incarnation of [0, 2 ** 32, Date.UTC(2026, 10, 22), 2 ** 53 - 1]) {
    const pdu = basePdu({ incarnation });
    t.strictSame(roundTrip(pdu, SECRET).result, pdu, String(incarnation));
  }
});

t.test('the decoder keeps only documented fields and ignores unknown keys', async (t) => {
  const part = decodePeerPduPart(craft(wire({ future: { x: 1 } })));
  t.strictSame(Object.keys(part).sort(), [...KEYS, 'hidden'].sort());
  // A map key "__proto__" must not become the prototype, or it could supply missing fields.
  const smuggler = wire({ version: undefined });
  Object.defineProperty(smuggler, '__proto__', { value: { version: 1 }, enumerable: true, configurable: true, writable: true });
  t.equal(decodeErrorOf(() => decodePeerPduPart(craft(smuggler))), 'pdu_malformed', '__proto__ cannot supply a missing version');
  t.equal(decodePeerPduPart(craft(wire({ seq: 2 ** 40 }))).seq, 2 ** 40, 'seq as a float64 from a foreign encoder');
});

t.test('the encoder refuses invalid PDUs with a plain Error', async (t) => {
  const bad: Partial<PeerPdu>[] = [
    { version: 2 as 1 },
    { peerId: '' },
    { incarnation: 2 ** 53 },
    { seq: -1 },
    { nick: 'n'.repeat(33) },
    { port: 80 },
    { channels: [{ name: '#a', epoch: 1.5, standbys: [], members: [] }] },
    { channels: [{ name: '#a', epoch: 1, standbys: ids(17, 2), members: [] }] },
    { channels: [{ name: '#a', epoch: 1, standbys: [], members: ids(513, 2) }] },
    { channels: [{ name: '#a', epoch: 1, standbys: [], members: [] }, { name: '#a', epoch: 2, standbys: [], members: [] }] },
    { memberships: [{ host: 'h', channels: [] }, { host: 'h', channels: ['#b'] }] },
    { invites: [{ channel: '#a', host: 'h', peerIds: ids(65, 2) }] },
    { hidden: [{ tag: '@secret', epoch: 1 }] },
    { hidden: [{ tag: hiddenTag('@a'), epoch: 1 }, { tag: hiddenTag('@a'), epoch: 2 }] },
  ];
  for (const overrides of bad) {
    const error = catchError(() => encodePeerPdu(basePdu(overrides)));
    t.ok(error instanceof Error && !(error instanceof DecodeError), JSON.stringify(overrides).slice(0, 70));
  }
  t.throws(() => encodePeerPdu(basePdu(), Buffer.alloc(0)), /secret/);
});

// ------------------------------------------------------------------ robustness

const mutationArb = fc.array(fc.record({ at: fc.nat(), byte: fc.nat(255), cut: fc.boolean() }), { minLength: 1, maxLength: 4 });

function mutate(datagram: Buffer, mutations: readonly { at: number; byte: number; cut: boolean }[]): Buffer {
  let bytes = Buffer.from(datagram);
  for (const m of mutations) {
    const at = m.at % Math.max(1, bytes.length);
    if (m.cut) bytes = bytes.subarray(0, at);
    else if (at < bytes.length) bytes[at] = m.byte;
  }
  return bytes;
}

t.test('property: arbitrary bytes only ever throw DecodeError', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1500 }), secretArb, (bytes, secret) => {
      decodeErrorOf(() => decodePeerPduPart(Buffer.from(bytes), secret));
      return true;
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

t.test('property: mutated valid datagrams only ever throw DecodeError', async (t) => {
  fc.assert(
    fc.property(pduArb, mutationArb, (pdu, mutations) => {
      for (const d of encodePeerPdu(pdu)) decodeErrorOf(() => decodePeerPduPart(mutate(d, mutations)));
      return true;
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

t.test('property: any msgpack value, or a valid map with one value replaced by anything, only throws DecodeError', async (t) => {
  const packr = new Packr({ useRecords: false, variableMapSize: true });
  const pack = (value: unknown): Buffer | undefined => {
    try {
      return Buffer.from(packr.pack(value));
    } catch {
      return undefined; // not encodable by msgpackr: nothing to test
    }
  };
  fc.assert(
    fc.property(fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true }), fc.constantFrom(...KEYS, 'auth', 'hidden', 'channels.0', 'memberships.0', 'invites.0', 'hidden.0'), (value, key) => {
      const direct = pack(value);
      if (direct !== undefined) decodeErrorOf(() => decodePeerPduPart(direct));
      const base = wire({ channels: [{ name: '#a', epoch: 1, standbys: [], members: [] }], memberships: [{ host: 'h', channels: [] }], invites: [{ channel: '#a', host: 'h', peerIds: [] }], hidden: [{ tag: hiddenTag('@a'), epoch: 1 }] });
      const [outer, index] = key.split('.');
      if (index === undefined) base[outer!] = value;
      else (base[outer!] as unknown[])[Number(index)] = value;
      const replaced = pack(base);
      if (replaced !== undefined) decodeErrorOf(() => decodePeerPduPart(replaced));
      return true;
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

// ------------------------------------------------------------------ authentication

t.test('auth: a valid tag is accepted; a receiver without a secret refuses a tagged datagram', async (t) => {
  const pdu = basePdu({ channels: [{ name: '#a', epoch: 1, standbys: [], members: ['x'] }] });
  const [datagram] = encodePeerPdu(pdu, SECRET);
  t.equal(decodePeerPduPart(datagram!, SECRET).peerId, 'node-1');
  // Until December 2026 it took the PDU in and tried the channels of a
  // cluster whose TLS-PSK it cannot speak: it reconnected in a loop.
  t.equal(decodeErrorOf(() => decodePeerPduPart(datagram!)), 'pdu_auth', 'without a secret: pdu_auth');
  t.equal(decodeErrorOf(() => decodePeerPduPart(craft(wire({ auth: 'anything' })))), 'pdu_auth', 'whatever the auth key holds');
  t.strictSame(datagram!.subarray(-39, -32), Buffer.from([0xa4, 0x61, 0x75, 0x74, 0x68, 0xc4, 0x20]), 'ends in "auth" bin8(32) tag');
});

t.test('auth: wrong secret, missing tag and tampering are pdu_auth', async (t) => {
  const pdu = basePdu({ channels: [{ name: '#a', epoch: 1, standbys: [], members: ids(40, 8) }] });
  const [datagram] = encodePeerPdu(pdu, SECRET);
  t.equal(decodeErrorOf(() => decodePeerPduPart(datagram!, Buffer.from('wrong'))), 'pdu_auth', 'wrong secret');
  t.equal(decodeErrorOf(() => decodePeerPduPart(encodePeerPdu(pdu)[0]!, SECRET)), 'pdu_auth', 'no tag');
  fc.assert(
    fc.property(fc.nat(datagram!.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
      const tampered = Buffer.from(datagram!);
      tampered[at]! ^= flip;
      return decodeErrorOf(() => decodePeerPduPart(tampered, SECRET)) === 'pdu_auth';
    }),
    { numRuns: RUNS },
  );
  const truncated = datagram!.subarray(0, datagram!.length - 1);
  t.equal(decodeErrorOf(() => decodePeerPduPart(truncated, SECRET)), 'pdu_auth', 'truncated');
  t.equal(decodeErrorOf(() => decodePeerPduPart(craft(wire()), SECRET)), 'pdu_auth', 'a valid but unauthenticated PDU');
  const fakeTag = craft(wire({ auth: Buffer.alloc(32) }));
  t.equal(decodeErrorOf(() => decodePeerPduPart(fakeTag, SECRET)), 'pdu_auth', 'a tag of zeros');
});

// ------------------------------------------------------------------ reassembly

/** Decoded parts of a PDU split into at least 3 parts. */
function partsOf(seq: number, incarnation = 1, peerId = 'node-1'): PeerPduPart[] {
  const pdu = basePdu({ peerId, seq, incarnation, channels: [{ name: '#a', epoch: 1, standbys: [], members: ids(60) }] });
  const parts = encodePeerPdu(pdu).map((d) => decodePeerPduPart(d));
  if (parts.length < 3) throw new Error('expected at least 3 parts');
  return parts;
}

t.test('assembler: a single-part PDU completes at once', async (t) => {
  const assembler = new PduAssembler();
  const [part] = encodePeerPdu(basePdu()).map((d) => decodePeerPduPart(d));
  t.strictSame(assembler.add(part!), basePdu());
  t.equal(assembler.add(part!), undefined, 'the same round again is ignored');
});

t.test('assembler: completes when all parts of one round arrived; duplicates are ignored', async (t) => {
  const assembler = new PduAssembler();
  const [p0, p1, ...rest] = partsOf(5);
  t.equal(assembler.add(p1!), undefined);
  t.equal(assembler.add(p1!), undefined, 'duplicate');
  for (const p of rest) t.equal(assembler.add(p), undefined);
  const pdu = assembler.add(p0!);
  t.equal(pdu?.channels[0]?.members.length, 60);
  t.equal(assembler.add(p0!), undefined, 'a late duplicate after completion is ignored');
});

t.test('assembler: a newer seq discards the pending round; an older seq is ignored', async (t) => {
  const assembler = new PduAssembler();
  const old = partsOf(5);
  const newer = partsOf(6);
  assembler.add(old[0]!);
  assembler.add(newer[0]!);
  for (const p of old.slice(1)) t.equal(assembler.add(p), undefined, 'parts of the older round are ignored');
  let done: PeerPdu | undefined;
  for (const p of newer.slice(1)) done = assembler.add(p) ?? done;
  t.equal(done?.seq, 6);
});

t.test('assembler: a higher incarnation discards the pending round whatever its seq; a lower one is ignored', async (t) => {
  const assembler = new PduAssembler();
  const before = partsOf(100, 1);
  const restarted = partsOf(1, 2);
  assembler.add(before[0]!);
  assembler.add(restarted[0]!);
  t.equal(assembler.add(before[1]!), undefined, 'a late part of the dead process');
  let done: PeerPdu | undefined;
  for (const p of restarted.slice(1)) done = assembler.add(p) ?? done;
  t.equal(done?.incarnation, 2);
  t.equal(done?.seq, 1);
  const late = partsOf(101, 1);
  for (const p of late) t.equal(assembler.add(p), undefined, 'a whole late round of a lower incarnation is ignored');
  assembler.forget('node-1');
  let again: PeerPdu | undefined;
  for (const p of late) again = assembler.add(p) ?? again;
  t.equal(again?.incarnation, 1, 'after forget() any incarnation starts afresh');
});

t.test('assembler: inconsistent parts drop the round', async (t) => {
  const assembler = new PduAssembler();
  const parts = partsOf(5);
  const changed = parts.map((p, i) => (i === 1 ? { ...p, channels: p.channels.map((c) => ({ ...c, epoch: 99 })) } : p));
  let done: PeerPdu | undefined;
  for (const p of changed) done = assembler.add(p) ?? done;
  t.equal(done, undefined);
  t.equal(assembler.invalidRounds, 1);
  const other = partsOf(6);
  assembler.add(other[0]!);
  t.equal(assembler.add({ ...other[1]!, parts: other[1]!.parts + 1 }), undefined, 'a part count that disagrees');
  t.equal(assembler.invalidRounds, 2);
});

t.test('assembler: bounded, evicting the least recently updated peer; forget', async (t) => {
  const complete = (assembler: PduAssembler, parts: PeerPduPart[]): PeerPdu | undefined => {
    let done: PeerPdu | undefined;
    for (const p of parts) done = assembler.add(p) ?? done;
    return done;
  };
  const assembler = new PduAssembler(2);
  const a = partsOf(1, 1, 'a');
  const b = partsOf(1, 1, 'b');
  const c = partsOf(1, 1, 'c');
  assembler.add(a[0]!);
  assembler.add(b[0]!);
  assembler.add(c[0]!); // a is the least recently updated: evicted
  t.equal(assembler.size, 2);
  t.equal(complete(assembler, b.slice(1))?.peerId, 'b', 'b survived and completes');
  assembler.forget('c');
  t.equal(complete(assembler, c.slice(1)), undefined, "c's first part was forgotten");
  t.equal(complete(assembler, a.slice(1)), undefined, "a's first part was evicted");
  t.ok(assembler.size <= 2);
  t.throws(() => new PduAssembler(0));
});
