// docs/protocol.md 3.2: a PeerPDU datagram is standard msgpack (no ext types:
// none of msgpackr's records, structured clones, bundled strings ...), and a
// receiver holds at most MAX_PENDING_PDU_PARTS parts of incomplete rounds
// over all peers together.
import t from 'tap';
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { MAX_PDU_BYTES, MAX_PDU_PARTS, MAX_PENDING_PDU_PARTS } from '../../lib/wire/limits.ts';
import { PduAssembler } from '../../lib/wire/pdu-assembler.ts';
import { decodePeerPduPart, encodePeerPdu, type PeerPdu, type PeerPduPart } from '../../lib/wire/peer-pdu.ts';
import { decodeErrorOf } from './helpers.ts';

const RUNS = 200;

/** A valid wire map (one part of one), with `overrides`. */
function wire(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { version: 1, peerId: 'n', incarnation: 1, seq: 1, rev: 1, part: 0, parts: 1, nick: '', port: 0, interval: 250, channels: [], memberships: [], invites: [], ...overrides };
}

const standard = new Packr({ useRecords: false, variableMapSize: true });
const pack = (packr: Packr, value: unknown): Buffer => Buffer.from(packr.pack(value));
/** msgpackr's own decoder, set up as the PDU decoder's is: it reads every one of its extensions. */
const msgpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

// ------------------------------------------------------------------ standard msgpack only

t.test('msgpackr records are a decode error, though msgpackr itself reads them back', async (t) => {
  const map = wire({ memberships: [{ host: 'h', channels: ['#a'] }, { host: 'i', channels: ['#b'] }] });
  const datagram = pack(new Packr({ useRecords: true }), map);
  t.equal(datagram[0], 0xd4, 'starts with a record definition (fixext 1, type 0x72)');
  t.equal(datagram[1], 0x72);
  t.strictSame(msgpackr.unpack(datagram), map, 'msgpackr decodes it to a valid PDU map');
  t.equal(decodeErrorOf(() => decodePeerPduPart(datagram)), 'pdu_malformed');
});

t.test('structured-clone references and bundled strings are a decode error', async (t) => {
  const shared = Array.from({ length: 150 }, (_, i) => `#${i}`);
  const cloned = wire({ memberships: [{ host: 'h', channels: shared }, { host: 'i', channels: shared }] });
  const references = pack(new Packr({ structuredClone: true, useRecords: false }), cloned);
  t.strictSame(msgpackr.unpack(references), cloned, 'msgpackr decodes the second list from a reference to the first');
  t.ok(references.length < 1000, 'so 300 names fit in fewer bytes than they take');
  t.equal(decodeErrorOf(() => decodePeerPduPart(references)), 'pdu_malformed', 'structured clone');
  const bundled = pack(new Packr({ bundleStrings: true, useRecords: false }), wire({ nick: 'a nick long enough to bundle' }));
  t.equal(bundled.readUInt16BE(3), 0xd662, 'a bundled-strings ext (fixext 4, type 0x62)');
  t.equal(decodeErrorOf(() => decodePeerPduPart(bundled)), 'pdu_malformed', 'bundled strings');
  const reviewer = pack(new Packr({ structuredClone: true, useRecords: true }), wire({ memberships: Array.from({ length: 57 }, (_, i) => ({ host: `h${i}`, channels: shared })) }));
  t.ok(reviewer.length <= MAX_PDU_BYTES, `57 x 150 names in ${reviewer.length} bytes`);
  t.equal(decodeErrorOf(() => decodePeerPduPart(reviewer)), 'pdu_malformed', 'records and references together');
});

t.test('every ext header, whatever its type, and 0xc1 are a decode error, even under an ignored key', async (t) => {
  // A valid map with one more (unknown, so ignored) key `x` whose value is `value`.
  const withX = (value: number[]): Buffer => {
    const map = pack(standard, wire());
    t.equal(map[0], 0x8d, 'a fixmap of 13 keys');
    return Buffer.concat([Buffer.from([0x8e]), map.subarray(1), Buffer.from([0xa1, 0x78]), Buffer.from(value)]);
  };
  t.strictSame(decodePeerPduPart(withX([0xc0])).peerId, 'n', 'the same map with x = nil decodes');
  // [what, bytes, whether msgpackr's own decoder reads it (which is what the PDU decoder did)]
  const cases: [string, number[], boolean][] = [
    ['fixext 1, type 0 (msgpackr: undefined)', [0xd4, 0x00, 0x00], true],
    ['fixext 1, type 0x72 (a record definition, then a record reference 0x40)', [0x92, 0xd4, 0x72, 0x40, 0x91, 0xa1, 0x61, 0x01, 0x40, 0x02], true],
    ['fixext 2', [0xd5, 0x01, 0x00, 0x00], false],
    ['fixext 4, type -1 (timestamp)', [0xd6, 0xff, 0x00, 0x00, 0x00, 0x01], true],
    ['fixext 8', [0xd7, 0x01, ...Array<number>(8).fill(0)], false],
    ['fixext 16', [0xd8, 0x01, ...Array<number>(16).fill(0)], false],
    ['ext 8, type 0x73 (msgpackr: Set)', [0xc7, 0x00, 0x73, 0x90], true],
    ['ext 8 with a payload', [0xc7, 0x02, 0x01, 0x00, 0x00], false],
    ['ext 16', [0xc8, 0x00, 0x01, 0x01, 0x00], false],
    ['ext 32', [0xc9, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00], false],
    ['0xc1 (never used)', [0xc1], true],
    ['an ext inside an array', [0x92, 0x01, 0xd4, 0x00, 0x00], true],
    ['an ext as a map key', [0x81, 0xd4, 0x00, 0x00, 0x01], true],
  ];
  for (const [name, value, readByMsgpackr] of cases) {
    if (readByMsgpackr) t.doesNotThrow(() => msgpackr.unpack(withX(value)), `msgpackr reads ${name}`);
    t.equal(decodeErrorOf(() => decodePeerPduPart(withX(value))), 'pdu_malformed', name);
  }
  // What msgpackr's encoder makes of values msgpack has no type for: ext, refused.
  for (const [name, value] of [['a Date', new Date(0)], ['undefined', [undefined]]] as const) {
    t.equal(decodeErrorOf(() => decodePeerPduPart(pack(standard, wire({ x: value })))), 'pdu_malformed', name);
  }
});

t.test('ext bytes inside strings, bins and numbers are data, not ext headers', async (t) => {
  const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  // U+0500 and U+0640 are UTF-8 d4 80 and d9 80; 'Ç' is c3 87; 0xc7c8c9 and 0xd4d5d6d7 as uints.
  const map = wire({ nick: 'ԀـÇ', seq: 0xc7c8c9, rev: 0xd4d5d6d7, incarnation: 0xc1, x: every, y: 'Ԁ'.repeat(200) });
  const part = decodePeerPduPart(pack(standard, map));
  t.equal(part.nick, 'ԀـÇ');
  t.equal(part.seq, 0xc7c8c9);
  t.equal(part.rev, 0xd4d5d6d7);
  t.equal(part.incarnation, 0xc1);
  // 0x40-0x7f are msgpackr record references only after a record definition: here plain fixints.
  for (let seq = 0x40; seq < 0x80; seq++) t.equal(decodePeerPduPart(pack(standard, wire({ seq, rev: seq }))).seq, seq);
});

t.test('truncated and trailing bytes are still decode errors', async (t) => {
  const datagram = pack(standard, wire({ x: [1, 2, 3] }));
  for (let cut = 1; cut < datagram.length; cut++) t.equal(decodeErrorOf(() => decodePeerPduPart(datagram.subarray(0, cut))), 'pdu_malformed', `cut at ${cut}`);
  t.equal(decodeErrorOf(() => decodePeerPduPart(Buffer.concat([datagram, Buffer.from([0x00])]))), 'pdu_malformed', 'a byte after the map');
  // Counts far beyond the datagram are refused at once, not allocated.
  t.equal(decodeErrorOf(() => decodePeerPduPart(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]))), 'pdu_malformed', 'array32 of 2^32-1');
  t.equal(decodeErrorOf(() => decodePeerPduPart(Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]))), 'pdu_malformed', 'map32 of 2^32-1');
  t.equal(decodeErrorOf(() => decodePeerPduPart(Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]))), 'pdu_malformed', 'str32 of 2^32-1');
  t.equal(decodeErrorOf(() => decodePeerPduPart(Buffer.alloc(MAX_PDU_BYTES, 0x91))), 'pdu_malformed', '1,400 nested arrays');
});

t.test('property: any JSON-like value under an unknown key (standard msgpack) still decodes', async (t) => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 3 }), (value) => {
      const datagram = pack(standard, wire({ x: value }));
      fc.pre(datagram.length <= MAX_PDU_BYTES);
      return decodePeerPduPart(datagram).peerId === 'n';
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

// ------------------------------------------------------------------ the pending-parts budget

function basePdu(peerId: string, seq = 1, incarnation = 1): PeerPdu {
  return { version: 1, peerId, incarnation, seq, rev: seq, nick: '', port: 0, interval: 250, channels: [], memberships: [], invites: [], hidden: [] };
}
/** Part `part` of a round of `parts` (empty lists: every part agrees with the others). */
function partOf(peerId: string, part: number, parts: number, seq = 1, incarnation = 1): PeerPduPart {
  return { ...basePdu(peerId, seq, incarnation), part, parts };
}
const peerName = (i: number): string => `f${String(i).padStart(4, '0')}`;

t.test('1,024 peers each sending 47 of 48 parts: never more than the budget held; every round kept still completes', async (t) => {
  const assembler = new PduAssembler();
  t.equal(assembler.maxPendingParts, MAX_PENDING_PDU_PARTS);
  const peers = 1024;
  let most = 0;
  let returned = 0;
  // In the reviewer's order: part 0 of every peer, then part 1 of every peer ...
  for (let p = 0; p < MAX_PDU_PARTS - 1; p++) {
    for (let i = 0; i < peers; i++) {
      if (assembler.add(partOf(peerName(i), p, MAX_PDU_PARTS)) !== undefined) returned++;
      most = Math.max(most, assembler.pendingParts);
    }
  }
  t.equal(returned, 0, 'no round complete');
  t.ok(most <= MAX_PENDING_PDU_PARTS, `at most ${most} parts held`);
  t.equal(assembler.size, peers, 'every peer still tracked');
  const held = assembler.pendingParts;
  t.equal(held % (MAX_PDU_PARTS - 1), 0, 'the rounds kept hold 47 parts each');
  const kept = held / (MAX_PDU_PARTS - 1);
  t.equal(kept, Math.floor(MAX_PENDING_PDU_PARTS / (MAX_PDU_PARTS - 1)), 'as many rounds as the budget holds');
  t.equal(assembler.evictedRounds, peers - kept, 'the others were evicted');
  let completed = 0;
  for (let i = 0; i < peers; i++) {
    const pdu = assembler.add(partOf(peerName(i), MAX_PDU_PARTS - 1, MAX_PDU_PARTS));
    if (pdu !== undefined) {
      t.strictSame(pdu, basePdu(peerName(i)));
      completed++;
    }
  }
  t.equal(completed, kept, 'each round kept completes with its last part, each evicted one does not');
  t.equal(assembler.pendingParts, 0);
  t.equal(assembler.evictedRounds, peers - kept, 'completing evicts nothing');
});

t.test('eviction drops the least recently updated pending round, not the oldest', async (t) => {
  const assembler = new PduAssembler(1024, 60);
  let most = 0;
  const send = (peerId: string, from: number, to: number, parts = MAX_PDU_PARTS): (PeerPdu | undefined)[] => {
    const out: (PeerPdu | undefined)[] = [];
    for (let p = from; p < to; p++) {
      out.push(assembler.add(partOf(peerId, p, parts)));
      most = Math.max(most, assembler.pendingParts);
    }
    return out;
  };
  send('a', 0, 20);
  send('b', 0, 20, 22); // a round of 22 parts
  send('c', 0, 20);
  t.equal(assembler.pendingParts, 60, 'at the budget: nothing evicted yet');
  t.equal(assembler.evictedRounds, 0);
  send('d', 0, 1);
  t.equal(assembler.evictedRounds, 1, 'one part more: a round evicted');
  t.equal(assembler.pendingParts, 41, "a's 20 parts let go");
  send('b', 20, 21, 22); // b updated after c: c is now the least recently updated
  send('e', 0, 19);
  t.equal(assembler.evictedRounds, 2);
  t.equal(assembler.pendingParts, 21 + 1 + 19, 'c evicted, not b, which started before it');
  t.strictSame(send('b', 21, 22, 22), [basePdu('b')], 'b completes with its last part');
  t.equal(assembler.pendingParts, 20);
  t.ok(send('a', 20, MAX_PDU_PARTS).every((r) => r === undefined), "the rest of a's evicted round is ignored");
  t.ok(send('c', 20, MAX_PDU_PARTS).every((r) => r === undefined), "and so is c's");
  t.equal(assembler.pendingParts, 20, 'holding none of it');
  assembler.add(partOf('a', 0, 2, 2));
  t.strictSame(assembler.add(partOf('a', 1, 2, 2)), basePdu('a', 2), "a's next round completes");
  t.equal(assembler.size, 5);
  t.ok(most <= 60, `never above the budget (at most ${most})`);
});

t.test('every way a round ends lets go of its parts', async (t) => {
  const assembler = new PduAssembler(2, MAX_PDU_PARTS - 1);
  assembler.add(partOf('a', 0, 10));
  assembler.add(partOf('a', 1, 10));
  t.equal(assembler.pendingParts, 2);
  assembler.add(partOf('a', 0, 10, 2));
  t.equal(assembler.pendingParts, 1, 'a newer round replaces the pending one');
  assembler.add(partOf('a', 1, 11, 2));
  t.equal(assembler.pendingParts, 0, 'a part count that disagrees drops the round');
  t.equal(assembler.invalidRounds, 1);
  assembler.add(partOf('b', 0, 10));
  assembler.forget('b');
  t.equal(assembler.pendingParts, 0, 'forget');
  assembler.add(partOf('c', 0, 10));
  assembler.add(partOf('d', 0, 10));
  assembler.add(partOf('e', 0, 10)); // tracks 2 peers at most: c is forgotten
  t.equal(assembler.size, 2);
  t.equal(assembler.pendingParts, 2, 'a forgotten peer');
  for (let p = 0; p < MAX_PDU_PARTS - 1; p++) assembler.add(partOf('f', p, MAX_PDU_PARTS));
  t.equal(assembler.pendingParts, MAX_PDU_PARTS - 1, 'the smallest budget holds one whole round: the others made room');
  t.ok(assembler.add(partOf('f', MAX_PDU_PARTS - 1, MAX_PDU_PARTS)) !== undefined, 'and it completes');
  t.equal(assembler.pendingParts, 0);
  t.throws(() => new PduAssembler(1024, MAX_PDU_PARTS - 2), /maxPendingParts/);
  t.throws(() => new PduAssembler(1024, 100.5), /maxPendingParts/);
});

t.test('decoded parts of real datagrams: the budget holds across peers', async (t) => {
  const assembler = new PduAssembler(1024, 60);
  const pdu = (peerId: string): PeerPdu => ({ ...basePdu(peerId), channels: [{ name: '#a', epoch: 1, standbys: [], members: Array.from({ length: 512 }, (_, i) => `${i}-`.padEnd(64, 'x')) }] });
  const rounds = ['p', 'q', 'r', 's'].map((peerId) => encodePeerPdu(pdu(peerId)).map((d) => decodePeerPduPart(d)));
  t.ok(rounds[0]!.length > 25, `${rounds[0]!.length} parts a round`);
  const held = rounds[0]!.length - 1;
  for (const round of rounds) for (const part of round.slice(1)) assembler.add(part);
  t.equal(assembler.evictedRounds, 2, 'the rounds of p and q evicted');
  t.equal(assembler.pendingParts, 2 * held, 'those of r and s kept');
  t.equal(assembler.add(rounds[0]![0]!), undefined, "p's round cannot complete");
  t.strictSame(assembler.add(rounds[3]![0]!), pdu('s'), 'the rounds kept complete');
  t.strictSame(assembler.add(rounds[2]![0]!), pdu('r'));
  t.equal(assembler.pendingParts, 0);
});

// ------------------------------------------------------------------ property

interface Op {
  peer: number;
  incarnation: number;
  seq: number;
  part: number;
  /** Sends a part count that disagrees with the round's. */
  wrongCount: boolean;
  forget: boolean;
}
const opArb: fc.Arbitrary<Op> = fc.record({
  peer: fc.nat(5),
  incarnation: fc.integer({ min: 1, max: 2 }),
  seq: fc.integer({ min: 1, max: 4 }),
  part: fc.nat(MAX_PDU_PARTS - 1),
  wrongCount: fc.nat(9).map((n) => n === 0),
  forget: fc.nat(19).map((n) => n === 0),
});
/** The part count of a round: fixed per (peer, incarnation, seq), 1 to 48. */
const countOf = (op: Op): number => 1 + ((op.peer * 7 + op.incarnation * 13 + op.seq * 5) % MAX_PDU_PARTS);

t.test('property: for any interleaving of parts, the parts held never exceed the budget, and what completes is what an unbounded assembler completes', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: MAX_PDU_PARTS - 1, max: 150 }), fc.array(opArb, { maxLength: 600 }), (budget, ops) => {
      const bounded = new PduAssembler(1024, budget);
      const unbounded = new PduAssembler(1024, Number.MAX_SAFE_INTEGER);
      for (const op of ops) {
        const peerId = `p${op.peer}`;
        if (op.forget) {
          bounded.forget(peerId);
          unbounded.forget(peerId);
          continue;
        }
        const parts = op.wrongCount ? 1 + (countOf(op) % MAX_PDU_PARTS) : countOf(op);
        const part = partOf(peerId, op.part % parts, parts, op.seq, op.incarnation);
        const got = bounded.add(part);
        const reference = unbounded.add(part);
        if (bounded.pendingParts > budget || bounded.pendingParts < 0) return false;
        // Eviction can only lose a round, never make up or change one.
        if (got !== undefined && JSON.stringify(got) !== JSON.stringify(reference)) return false;
        if (bounded.evictedRounds === 0 && (got === undefined) !== (reference === undefined)) return false;
        if (bounded.evictedRounds === 0 && bounded.pendingParts !== unbounded.pendingParts) return false;
      }
      // No count drifts: with every peer forgotten nothing is held.
      for (let peer = 0; peer < 6; peer++) {
        bounded.forget(`p${peer}`);
        unbounded.forget(`p${peer}`);
      }
      return bounded.pendingParts === 0 && unbounded.pendingParts === 0;
    }),
    { numRuns: RUNS },
  );
  t.pass();
});
