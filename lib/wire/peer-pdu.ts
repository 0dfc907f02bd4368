// Native PeerPDU v1 (docs/protocol.md 3.2, 3.3, 3.4): one msgpack map per
// UDP datagram of at most 1,400 bytes; a PDU that does not fit is split
// into up to 48 parts (MAX_PDU_PARTS), never cut; an optional HMAC tag authenticates it.
//
// Encoding is deterministic: keys in the fixed order of the table in 3.2,
// msgpack's shortest header for every map, array, string and integer, so
// the same PeerPdu always yields the same bytes (and sizes can be computed
// exactly before encoding, which is how parts are filled).

import { createHmac, timingSafeEqual } from 'node:crypto';
import { Packr, Unpackr } from 'msgpackr';
import { DecodeError } from './errors.ts';
import {
  MAX_ID_BYTES,
  MAX_INCARNATION,
  MAX_INVITE_IDS,
  MAX_MEMBERS,
  MAX_PDU_BYTES,
  MAX_PDU_CHANNELS,
  MAX_PDU_HIDDEN,
  MAX_PDU_INTERVAL_MS,
  MAX_PDU_INVITES,
  MAX_PDU_MEMBERSHIPS,
  MAX_PDU_PARTS,
  MAX_SERVER_PORT,
  MAX_STANDBYS,
  MAX_WIRE_NUMBER,
  PDU_AUTH_TAG_BYTES,
} from './limits.ts';
import { isHiddenTag } from './hidden-tag.ts';
import { isChannelName, isNick, isPeerId, isPrivateChannel, isPublicChannel, isServerPort, isWireNumber } from './names.ts';

export interface HostedChannel {
  name: string;
  epoch: number;
  standbys: string[];
  members: string[];
}

export interface Membership {
  host: string;
  channels: string[];
}

export interface Invite {
  channel: string;
  host: string;
  peerIds: string[];
}

/**
 * A hosted private channel, blinded (3.2 `hidden`): hiddenTag(name) and the
 * epoch, nothing else: no name, no standbys, no members.
 */
export interface HiddenHosting {
  tag: string;
  epoch: number;
}

export interface PeerPdu {
  version: 1;
  peerId: string;
  incarnation: number;
  seq: number;
  /**
   * The announcement's revision: the sender raises it whenever anything
   * below (nick to hidden) changes, so a receiver tells a PDU that says
   * nothing new by one comparison (N^2 datagrams per interval mostly do).
   */
  rev: number;
  nick: string;
  port: number;
  /**
   * The sender's PDU interval in ms (0 = not said): a receiver times this
   * peer's liveness (figure 6's X) by the sender's own pace, so nodes with
   * different intervals don't see each other flap.
   */
  interval: number;
  channels: HostedChannel[];
  memberships: Membership[];
  invites: Invite[];
  /** Hosted private channels, blinded. Absent on the wire when empty. */
  hidden: HiddenHosting[];
}

export interface PeerPduPart extends PeerPdu {
  part: number;
  parts: number;
}

export const PDU_VERSION = 1;

/** Per-membership bound on channel names (all parts together): as many as a host may announce per part. */
export const MAX_MEMBERSHIP_CHANNELS = MAX_PDU_CHANNELS;

// ------------------------------------------------------------- msgpack size
// Shortest msgpack encodings, as msgpackr writes them (checked by tests
// against the real encoder, and by encodePeerPdu against MAX_PDU_BYTES).

function uintBytes(n: number): number {
  if (n < 0x80) return 1; // positive fixint
  if (n < 0x100) return 2; // uint8
  if (n < 0x10000) return 3; // uint16
  if (n <= 0xffffffff) return 5; // uint32
  return 9; // int64 (see wireUint)
}

function strBytes(s: string): number {
  const n = Buffer.byteLength(s, 'utf8');
  if (n < 32) return 1 + n; // fixstr
  if (n < 0x100) return 2 + n; // str8
  if (n < 0x10000) return 3 + n; // str16
  return 5 + n; // str32
}

function arrayHeaderBytes(count: number): number {
  return count < 16 ? 1 : count < 0x10000 ? 3 : 5;
}

function mapHeaderBytes(count: number): number {
  return count < 16 ? 1 : 3;
}

/**
 * msgpackr writes integers above 2^32-1 as float64; a BigInt below 2^63 is
 * written as int64 (0xd3) instead, so that every integer stays a msgpack
 * integer on the wire, as the type column of 3.2 says.
 */
function wireUint(n: number): number | bigint {
  return n > 0xffffffff ? BigInt(n) : n;
}

const packr = new Packr({ useRecords: false, variableMapSize: true });
/**
 * int64AsType 'number': 64-bit integers decode to numbers. Values of 2^53
 * and above round to 2^53 or more, so the bound checks still reject them.
 *
 * Only ever given standard msgpack (requireStandardMsgpack): whatever its
 * options, msgpackr's unpack also reads its own extensions (record
 * definitions, which turn later fixints into records; structured-clone
 * references; bundled strings; Date, Set, RegExp, typed arrays ...), and
 * with references one 1,400-byte datagram decoded into thousands of names.
 * No option turns them all off, and addExtension would change every
 * Unpackr of the process, so the bytes are checked before msgpackr sees them.
 */
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

// ------------------------------------------------------------- encoding

/** The wire shapes, in wire key order (object literal order is the key order). */
interface WireChannel {
  name: string;
  epoch: number | bigint;
  standbys: string[];
  members: string[];
}
interface WireMembership {
  host: string;
  channels: string[];
}
interface WireInvite {
  channel: string;
  host: string;
  peerIds: string[];
}
interface WireHidden {
  tag: string;
  epoch: number | bigint;
}
type WireEntry = WireChannel | WireMembership | WireInvite | WireHidden;

/** Index of a list in a part: channels, memberships, invites, hidden (wire order). */
type List = 0 | 1 | 2 | 3;
const CHANNELS: List = 0;
const MEMBERSHIPS: List = 1;
const INVITES: List = 2;
const HIDDEN: List = 3;
const LISTS = 4;
const LIST_MAX_ENTRIES = [MAX_PDU_CHANNELS, MAX_PDU_MEMBERSHIPS, MAX_PDU_INVITES, MAX_PDU_HIDDEN];

/**
 * One list entry as the layout sees it: a map whose last value is a list of
 * strings that may be sliced over several parts (a channel's members, a
 * membership's channels, an invite's peer ids). Every slice repeats the
 * rest of the entry.
 */
interface Piece {
  /** Bytes of the entry without its sliceable list (the list's key included, header excluded). */
  fixedBytes: number;
  items: readonly string[];
  itemBytes: number[];
  build(slice: string[]): WireEntry;
}

function piece(fixedBytes: number, items: readonly string[], build: Piece['build']): Piece {
  return { fixedBytes, items, itemBytes: items.map(strBytes), build };
}

interface PartContent {
  lists: [WireChannel[], WireMembership[], WireInvite[], WireHidden[]];
  /** Bytes of the entries of each list (headers excluded). */
  entryBytes: [number, number, number, number];
}

/** Greedy, in-order filling of parts up to MAX_PDU_BYTES. */
class Layout {
  readonly parts: PartContent[] = [];
  private current: PartContent = Layout.empty();

  /** `baseBytes`: the map with every key and base value, list headers excluded. */
  constructor(private readonly baseBytes: number) {
    this.parts.push(this.current);
  }

  private static empty(): PartContent {
    return { lists: [[], [], [], []], entryBytes: [0, 0, 0, 0] };
  }

  private isEmpty(part: PartContent): boolean {
    return part.lists.every((l) => l.length === 0);
  }

  private newPart(): void {
    // Stop at once rather than lay out a PDU that can never be sent.
    if (this.parts.length === MAX_PDU_PARTS) {
      throw new PduTooLargeError();
    }
    this.current = Layout.empty();
    this.parts.push(this.current);
  }

  /** Size of `part` with one more entry of `entryBytes` in list `list`. */
  private sizeWith(part: PartContent, list: List, entryBytes: number): number {
    let size = this.baseBytes + entryBytes;
    for (let l = 0; l < LISTS; l++) {
      const count = part.lists[l]!.length + (l === list ? 1 : 0);
      // `hidden` is left out of a part that has none (encodePart).
      if (l === HIDDEN) size += count === 0 ? 0 : KEY_BYTES.hidden + arrayHeaderBytes(count) + part.entryBytes[l]!;
      else size += arrayHeaderBytes(count) + part.entryBytes[l]!;
    }
    return size;
  }

  private fits(part: PartContent, list: List, entryBytes: number): boolean {
    return part.lists[list].length < LIST_MAX_ENTRIES[list]! && this.sizeWith(part, list, entryBytes) <= MAX_PDU_BYTES;
  }

  private add(list: List, entry: WireEntry, entryBytes: number): void {
    (this.current.lists[list] as unknown[]).push(entry);
    this.current.entryBytes[list] += entryBytes;
  }

  /**
   * Places one entry: whole into the current part if it fits, else whole
   * into a new part if it fits there, else sliced: as many list items as
   * fit into the current part, the rest into following parts.
   */
  place(list: List, p: Piece): void {
    const n = p.items.length;
    /** Bytes of the entry carrying items [from, from + k), given their summed bytes. */
    const entryBytes = (k: number, itemsBytes: number): number => p.fixedBytes + arrayHeaderBytes(k) + itemsBytes;
    const wholeBytes = entryBytes(n, p.itemBytes.reduce((a, b) => a + b, 0));
    if (this.fits(this.current, list, wholeBytes)) {
      this.add(list, p.build(p.items.slice()), wholeBytes);
      return;
    }
    if (this.fits(Layout.empty(), list, wholeBytes)) {
      this.newPart();
      this.add(list, p.build(p.items.slice()), wholeBytes);
      return;
    }
    if (n === 0) throw new Error('encodePeerPdu: one list entry does not fit a datagram');
    let from = 0;
    while (from < n) {
      // The largest k such that items [from, from + k) fit into the current part.
      let k = 0;
      let itemsBytes = 0;
      while (from + k < n && this.fits(this.current, list, entryBytes(k + 1, itemsBytes + p.itemBytes[from + k]!))) {
        itemsBytes += p.itemBytes[from + k]!;
        k++;
      }
      if (k === 0) {
        if (this.isEmpty(this.current)) {
          throw new Error('encodePeerPdu: a list entry with a single item does not fit a datagram');
        }
        this.newPart();
        continue;
      }
      this.add(list, p.build(p.items.slice(from, from + k)), entryBytes(k, itemsBytes));
      from += k;
      if (from < n) this.newPart();
    }
  }
}

const KEY_BYTES = {
  version: strBytes('version'),
  peerId: strBytes('peerId'),
  incarnation: strBytes('incarnation'),
  seq: strBytes('seq'),
  rev: strBytes('rev'),
  part: strBytes('part'),
  parts: strBytes('parts'),
  nick: strBytes('nick'),
  port: strBytes('port'),
  interval: strBytes('interval'),
  channels: strBytes('channels'),
  memberships: strBytes('memberships'),
  invites: strBytes('invites'),
  hidden: strBytes('hidden'),
  auth: strBytes('auth'),
  name: strBytes('name'),
  epoch: strBytes('epoch'),
  standbys: strBytes('standbys'),
  members: strBytes('members'),
  host: strBytes('host'),
  channel: strBytes('channel'),
  peerIds: strBytes('peerIds'),
  tag: strBytes('tag'),
};

/** The msgpack bytes `bin8 32` + 32 zero bytes: the tag placeholder. */
const AUTH_BIN_BYTES = 2 + PDU_AUTH_TAG_BYTES;
const ZERO_TAG = Buffer.alloc(PDU_AUTH_TAG_BYTES);
/** A datagram with a tag ends in: fixstr "auth", bin8 header of 32, the tag. */
const AUTH_TRAILER = Buffer.from([0xa4, 0x61, 0x75, 0x74, 0x68, 0xc4, PDU_AUTH_TAG_BYTES]);

/** The map with every base key and value, list headers excluded (`hidden`'s key is counted with its entries, in Layout). */
function baseBytes(pdu: PeerPdu, authenticated: boolean): number {
  const keys = 13 + (pdu.hidden.length > 0 ? 1 : 0) + (authenticated ? 1 : 0);
  return (
    mapHeaderBytes(keys) +
    KEY_BYTES.version + uintBytes(PDU_VERSION) +
    KEY_BYTES.peerId + strBytes(pdu.peerId) +
    KEY_BYTES.incarnation + uintBytes(pdu.incarnation) +
    KEY_BYTES.seq + uintBytes(pdu.seq) +
    KEY_BYTES.rev + uintBytes(pdu.rev) +
    KEY_BYTES.part + uintBytes(MAX_PDU_PARTS - 1) +
    KEY_BYTES.parts + uintBytes(MAX_PDU_PARTS) +
    KEY_BYTES.nick + strBytes(pdu.nick) +
    KEY_BYTES.port + uintBytes(pdu.port) +
    KEY_BYTES.interval + uintBytes(pdu.interval) +
    KEY_BYTES.channels + KEY_BYTES.memberships + KEY_BYTES.invites +
    (authenticated ? KEY_BYTES.auth + AUTH_BIN_BYTES : 0)
  );
}

function channelPiece(c: HostedChannel): Piece {
  let standbysBytes = arrayHeaderBytes(c.standbys.length);
  for (const s of c.standbys) standbysBytes += strBytes(s);
  const fixed =
    mapHeaderBytes(4) +
    KEY_BYTES.name + strBytes(c.name) +
    KEY_BYTES.epoch + uintBytes(c.epoch) +
    KEY_BYTES.standbys + standbysBytes +
    KEY_BYTES.members;
  const epoch = wireUint(c.epoch);
  return piece(fixed, c.members, (members) => ({ name: c.name, epoch, standbys: c.standbys.slice(), members }));
}

function membershipPiece(m: Membership): Piece {
  const fixed = mapHeaderBytes(2) + KEY_BYTES.host + strBytes(m.host) + KEY_BYTES.channels;
  return piece(fixed, m.channels, (channels) => ({ host: m.host, channels }));
}

function invitePiece(i: Invite): Piece {
  const fixed = mapHeaderBytes(3) + KEY_BYTES.channel + strBytes(i.channel) + KEY_BYTES.host + strBytes(i.host) + KEY_BYTES.peerIds;
  return piece(fixed, i.peerIds, (peerIds) => ({ channel: i.channel, host: i.host, peerIds }));
}

/** A hidden entry has no list to slice: `fixedBytes` is all of it but the empty list's header, which place() adds. */
function hiddenPiece(h: HiddenHosting): Piece {
  const fixed = mapHeaderBytes(2) + KEY_BYTES.tag + strBytes(h.tag) + KEY_BYTES.epoch + uintBytes(h.epoch) - arrayHeaderBytes(0);
  const epoch = wireUint(h.epoch);
  return piece(fixed, [], () => ({ tag: h.tag, epoch }));
}

/** What a PDU announces (`nick` to `hidden`), as one string: equal keys, same announcement, same `rev`. */
export function announcementKey(pdu: Pick<PeerPdu, 'nick' | 'port' | 'interval' | 'channels' | 'memberships' | 'invites' | 'hidden'>): string {
  return JSON.stringify([pdu.nick, pdu.port, pdu.interval, pdu.channels, pdu.memberships, pdu.invites, pdu.hidden]);
}

/** A valid PDU that needs more than MAX_PDU_PARTS datagrams: the sender must announce less (lib/node/pdu-trim.ts). */
export class PduTooLargeError extends Error {
  constructor() {
    super(`encodePeerPdu: the PDU needs more than ${MAX_PDU_PARTS} datagrams`);
    this.name = 'PduTooLargeError';
  }
}

/**
 * Encodes a PDU into 1 to MAX_PDU_PARTS (48) datagrams of at most 1,400 bytes each.
 *
 * Base fields go into every part; channels, then memberships, then invites,
 * then hidden fill parts greedily in order (a part without hidden entries
 * leaves the key out, so a node without private channels sends what it
 * always did). An entry that does not fit the current part starts a new
 * one; an entry too large for any part is sliced (a channel's members, a
 * membership's channels, an invite's peer ids), every slice repeating the
 * rest of the entry; PduAssembler concatenates the slices.
 *
 * With `secret`, every datagram carries an HMAC-SHA256 tag (3.3).
 *
 * Throws a plain Error (programmer error) for an invalid PDU: a private '@'
 * channel anywhere but in an invite, a bad name, id, number or hidden tag, a
 * list above its bound, duplicate entries (same channel name, same
 * membership host, same invite channel and host, same tag: merge them
 * first), or an empty secret; a PduTooLargeError for a PDU that needs more
 * than MAX_PDU_PARTS datagrams.
 */
export function encodePeerPdu(pdu: PeerPdu, secret?: Buffer): Buffer[] {
  validatePdu(pdu);
  if (secret !== undefined) requireSecret(secret);
  const layout = new Layout(baseBytes(pdu, secret !== undefined));
  for (const c of pdu.channels) layout.place(CHANNELS, channelPiece(c));
  for (const m of pdu.memberships) layout.place(MEMBERSHIPS, membershipPiece(m));
  for (const i of pdu.invites) layout.place(INVITES, invitePiece(i));
  for (const h of pdu.hidden) layout.place(HIDDEN, hiddenPiece(h));
  const parts = layout.parts;
  return parts.map((content, part) => encodePart(pdu, part, parts.length, content, secret));
}

function encodePart(pdu: PeerPdu, part: number, parts: number, content: PartContent, secret: Buffer | undefined): Buffer {
  const wire: Record<string, unknown> = {
    version: PDU_VERSION,
    peerId: pdu.peerId,
    incarnation: wireUint(pdu.incarnation),
    seq: wireUint(pdu.seq),
    rev: wireUint(pdu.rev),
    part,
    parts,
    nick: pdu.nick,
    port: pdu.port,
    interval: pdu.interval,
    channels: content.lists[CHANNELS],
    memberships: content.lists[MEMBERSHIPS],
    invites: content.lists[INVITES],
  };
  if (content.lists[HIDDEN].length > 0) wire.hidden = content.lists[HIDDEN];
  if (secret !== undefined) wire.auth = ZERO_TAG;
  // A copy we own: msgpackr returns a view of its shared scratch buffer.
  const datagram = Buffer.from(packr.pack(wire));
  if (datagram.length > MAX_PDU_BYTES) {
    throw new Error(`encodePeerPdu: internal error, part of ${datagram.length} bytes`);
  }
  if (secret !== undefined) tag(secret, datagram).copy(datagram, datagram.length - PDU_AUTH_TAG_BYTES);
  return datagram;
}

/** HMAC-SHA256(secret, datagram with its last 32 bytes zeroed). */
function tag(secret: Buffer, datagram: Buffer): Buffer {
  const zeroed = Buffer.from(datagram);
  zeroed.fill(0, zeroed.length - PDU_AUTH_TAG_BYTES);
  return createHmac('sha256', secret).update(zeroed).digest();
}

function requireSecret(secret: Buffer): void {
  if (!Buffer.isBuffer(secret) || secret.length === 0) {
    throw new Error('PeerPDU secret must be a non-empty Buffer (omit it to disable authentication)');
  }
}

function validatePdu(pdu: PeerPdu): void {
  const fail = (what: string): never => {
    throw new Error(`encodePeerPdu: ${what}`);
  };
  if (pdu.version !== PDU_VERSION) fail(`version must be ${PDU_VERSION}`);
  if (!isPeerId(pdu.peerId)) fail('peerId is not 1-64 printable ASCII');
  if (!isWireNumber(pdu.incarnation, MAX_INCARNATION)) fail('incarnation must be an integer in 0..2^53-1');
  if (!isWireNumber(pdu.seq)) fail('seq must be an integer in 0..2^53-1');
  if (!isWireNumber(pdu.rev)) fail('rev must be an integer in 0..2^53-1');
  if (!isNick(pdu.nick)) fail('nick must be valid UTF-8 of at most 32 bytes');
  if (!isServerPort(pdu.port)) fail('port must be 0 or 49152..65535');
  if (!isWireNumber(pdu.interval, MAX_PDU_INTERVAL_MS)) fail('interval must be an integer in 0..2^32-1');
  const publicChannel = (name: string, where: string): void => {
    if (isPrivateChannel(name)) fail(`private channel ${JSON.stringify(name)} in ${where}: never advertised`);
    if (!isPublicChannel(name)) fail(`${where}: not a channel name`);
  };
  const ids = (list: readonly string[], max: number, where: string): void => {
    if (!Array.isArray(list) || list.length > max) fail(`${where}: at most ${max} ids`);
    for (const id of list) if (!isPeerId(id)) fail(`${where}: not a peer id`);
  };
  const unique = new Set<string>();
  for (const c of pdu.channels) {
    publicChannel(c.name, 'channels');
    if (!isWireNumber(c.epoch)) fail(`channel ${c.name}: epoch must be an integer in 0..2^53-1`);
    ids(c.standbys, MAX_STANDBYS, `channel ${c.name} standbys`);
    ids(c.members, MAX_MEMBERS, `channel ${c.name} members`);
    if (unique.has(c.name)) fail(`channel ${c.name} listed twice`);
    unique.add(c.name);
  }
  unique.clear();
  for (const m of pdu.memberships) {
    if (!isPeerId(m.host)) fail('membership host is not a peer id');
    if (!Array.isArray(m.channels) || m.channels.length > MAX_MEMBERSHIP_CHANNELS) fail(`membership ${m.host}: at most ${MAX_MEMBERSHIP_CHANNELS} channels`);
    for (const name of m.channels) publicChannel(name, `membership ${m.host}`);
    if (unique.has(m.host)) fail(`membership host ${m.host} listed twice`);
    unique.add(m.host);
  }
  unique.clear();
  for (const i of pdu.invites) {
    // SERVER-INVITE names the channel, private ones included: an invite is
    // how an invited peer learns where a private channel lives.
    if (!isChannelName(i.channel)) fail('invites: not a channel name');
    if (!isPeerId(i.host)) fail('invite host is not a peer id');
    ids(i.peerIds, MAX_INVITE_IDS, `invite ${i.channel}`);
    const key = inviteKey(i);
    if (unique.has(key)) fail(`invite of ${i.channel} at ${i.host} listed twice`);
    unique.add(key);
  }
  unique.clear();
  if (!Array.isArray(pdu.hidden)) fail('hidden must be an array');
  for (const h of pdu.hidden) {
    if (!isHiddenTag(h.tag)) fail('hidden: a tag is 32 lowercase hex digits');
    if (!isWireNumber(h.epoch)) fail(`hidden ${h.tag}: epoch must be an integer in 0..2^53-1`);
    if (unique.has(h.tag)) fail(`hidden ${h.tag} listed twice`);
    unique.add(h.tag);
  }
}

/** Channel names and peer ids are printable ASCII, so a space cannot occur in either. */
export function inviteKey(i: { channel: string; host: string }): string {
  return `${i.channel} ${i.host}`;
}

// ------------------------------------------------------------- decoding

/**
 * Decodes and validates one datagram. Throws only DecodeError:
 * - 'pdu_auth': with `secret`, no tag trailer, or a wrong tag, checked
 *   before the datagram is parsed; without `secret`, an `auth` key.
 * - 'pdu_malformed': not one msgpack map, not standard msgpack (an ext
 *   type, such as msgpackr's records or structured clones, or 0xc1), a key
 *   missing or of the wrong msgpack type, an entry that is not a map, or
 *   duplicate entries in a list.
 * - 'pdu_version': `version` is an integer other than 1.
 * - 'pdu_bounds': above 1,400 bytes, or a value of the right type outside
 *   its bound: an id, name, nick or hidden tag breaking its rule, a private
 *   '@' channel anywhere but in an invite, a number out of range, a list too long, not part < parts <= 48.
 * Unknown keys are ignored (forward compatibility); the result holds only
 * the documented fields. The one plain Error is for an empty `secret` (a
 * configuration mistake, not input).
 */
export function decodePeerPduPart(datagram: Buffer, secret?: Buffer): PeerPduPart {
  if (secret !== undefined) requireSecret(secret);
  if (datagram.length === 0) throw new DecodeError('pdu_malformed', 'empty datagram');
  if (datagram.length > MAX_PDU_BYTES) throw new DecodeError('pdu_bounds', `datagram of ${datagram.length} bytes`);
  if (secret !== undefined) verifyTag(datagram, secret);
  requireStandardMsgpack(datagram);
  let value: unknown;
  try {
    // A fresh view: msgpackr caches a `dataView` property on the object it reads.
    value = unpackr.unpack(new Uint8Array(datagram.buffer, datagram.byteOffset, datagram.length));
  } catch {
    throw new DecodeError('pdu_malformed', 'not one msgpack value');
  }
  return readPart(value, secret !== undefined);
}

/**
 * Walks `bytes` as msgpack without decoding it: throws 'pdu_malformed'
 * unless they are exactly one value of standard msgpack with no ext type
 * (0xc7-0xc9, 0xd4-0xd8: msgpackr's records, structured clones, bundled
 * strings, timestamps, anything else) and no 0xc1 (never used). Every
 * token is read where it starts, never searched for, so an ext byte inside
 * a string, a bin or a number is no ext. What msgpackr then decodes is
 * plain maps, arrays, strings, bins, numbers, booleans and nil, each taking
 * at least one byte of the datagram: at most 1,400 values, nothing shared.
 * Iterative (a count of values still to read), so nesting costs no stack.
 */
function requireStandardMsgpack(bytes: Uint8Array): void {
  const end = bytes.length;
  let at = 0;
  /** Values still to read: each takes at least one byte, so more than the bytes left is a truncated datagram. */
  let values = 1;
  /** The big-endian unsigned integer of `n` bytes at `at` (a length or a count), and moves past it. */
  const uint = (n: number): number => {
    if (at + n > end) malformed('truncated msgpack');
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 0x100 + bytes[at++]!;
    return v;
  };
  while (values > 0) {
    if (at >= end) malformed('truncated msgpack');
    const token = bytes[at++]!;
    values--;
    /** Bytes of payload after the header. */
    let skip = 0;
    if (token < 0x80 || token >= 0xe0) {
      // positive or negative fixint
    } else if (token < 0x90) {
      values += 2 * (token & 0x0f); // fixmap: keys and values
    } else if (token < 0xa0) {
      values += token & 0x0f; // fixarray
    } else if (token < 0xc0) {
      skip = token & 0x1f; // fixstr
    } else {
      switch (token) {
        case 0xc0: // nil
        case 0xc2: // false
        case 0xc3: // true
          break;
        case 0xc4: // bin 8
        case 0xd9: // str 8
          skip = uint(1);
          break;
        case 0xc5: // bin 16
        case 0xda: // str 16
          skip = uint(2);
          break;
        case 0xc6: // bin 32
        case 0xdb: // str 32
          skip = uint(4);
          break;
        case 0xcc: // uint 8
        case 0xd0: // int 8
          skip = 1;
          break;
        case 0xcd: // uint 16
        case 0xd1: // int 16
          skip = 2;
          break;
        case 0xca: // float 32
        case 0xce: // uint 32
        case 0xd2: // int 32
          skip = 4;
          break;
        case 0xcb: // float 64
        case 0xcf: // uint 64
        case 0xd3: // int 64
          skip = 8;
          break;
        case 0xdc: // array 16
          values += uint(2);
          break;
        case 0xdd: // array 32
          values += uint(4);
          break;
        case 0xde: // map 16
          values += 2 * uint(2);
          break;
        case 0xdf: // map 32
          values += 2 * uint(4);
          break;
        case 0xc1:
          malformed('byte 0xc1 (never used in msgpack)');
        // 0xc7-0xc9 (ext 8/16/32) and 0xd4-0xd8 (fixext 1-16), the only bytes left.
        default:
          malformed(`msgpack ext type (0x${token.toString(16)}): not standard msgpack`);
      }
    }
    at += skip;
    if (at > end || values > end - at) malformed('truncated msgpack');
  }
  if (at !== end) malformed('trailing bytes after the msgpack value');
}

function verifyTag(datagram: Buffer, secret: Buffer): void {
  const trailerAt = datagram.length - PDU_AUTH_TAG_BYTES - AUTH_TRAILER.length;
  if (trailerAt < 1 || !datagram.subarray(trailerAt, trailerAt + AUTH_TRAILER.length).equals(AUTH_TRAILER)) {
    throw new DecodeError('pdu_auth', 'no authentication tag');
  }
  const expected = tag(secret, datagram);
  if (!timingSafeEqual(expected, datagram.subarray(datagram.length - PDU_AUTH_TAG_BYTES))) {
    throw new DecodeError('pdu_auth', 'wrong authentication tag');
  }
}

type WireMap = Record<string, unknown>;

function malformed(what: string): never {
  throw new DecodeError('pdu_malformed', what);
}

function outOfBounds(what: string): never {
  throw new DecodeError('pdu_bounds', what);
}

/** A msgpack map decoded by msgpackr: a plain object (never an array, Buffer, Date, Map ...). */
function asMap(value: unknown, what: string): WireMap {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) {
    malformed(`${what} is not a map`);
  }
  return value as WireMap;
}

function asArray(value: unknown, max: number, what: string): unknown[] {
  if (!Array.isArray(value)) malformed(`${what} is not an array`);
  if (value.length > max) outOfBounds(`${what} has ${value.length} entries, at most ${max}`);
  return value;
}

function asUint(value: unknown, max: number, what: string): number {
  if (typeof value === 'bigint') outOfBounds(`${what} above ${max}`);
  if (typeof value !== 'number') malformed(`${what} is not an integer`);
  if (!Number.isInteger(value)) malformed(`${what} is not an integer`);
  if (value < 0 || value > max) outOfBounds(`${what} = ${value} outside 0..${max}`);
  return value + 0; // -0 (a float) becomes 0
}

function asString(value: unknown, what: string): string {
  if (typeof value !== 'string') malformed(`${what} is not a string`);
  return value;
}

function asPeerId(value: unknown, what: string): string {
  if (!isPeerId(asString(value, what))) outOfBounds(`${what} is not 1-${MAX_ID_BYTES} printable ASCII`);
  return value as string;
}

function asPublicChannel(value: unknown, what: string): string {
  const name = asString(value, what);
  if (isPrivateChannel(name)) outOfBounds(`${what}: private channel advertised`);
  if (!isChannelName(name)) outOfBounds(`${what} is not a channel name`);
  return name;
}

/** Invites may name private channels (3.2): that is what they are for. */
function asChannelName(value: unknown, what: string): string {
  const name = asString(value, what);
  if (!isChannelName(name)) outOfBounds(`${what} is not a channel name`);
  return name;
}

function asIds(value: unknown, max: number, what: string): string[] {
  return asArray(value, max, what).map((id) => asPeerId(id, `${what} entry`));
}

function readPart(value: unknown, authenticated: boolean): PeerPduPart {
  const map = asMap(value, 'PDU');
  const version = map.version;
  if (typeof version !== 'number' && typeof version !== 'bigint') malformed('version is not an integer');
  if (version !== PDU_VERSION) throw new DecodeError('pdu_version', `version ${String(version)}`);
  const peerId = asPeerId(map.peerId, 'peerId');
  const incarnation = asUint(map.incarnation, MAX_INCARNATION, 'incarnation');
  const seq = asUint(map.seq, MAX_WIRE_NUMBER, 'seq');
  const rev = asUint(map.rev, MAX_WIRE_NUMBER, 'rev');
  const parts = asUint(map.parts, MAX_PDU_PARTS, 'parts');
  const part = asUint(map.part, MAX_PDU_PARTS, 'part');
  if (parts < 1 || part >= parts) outOfBounds(`part ${part} of ${parts}`);
  const nick = asString(map.nick, 'nick');
  if (!isNick(nick)) outOfBounds('nick above 32 bytes');
  const port = asUint(map.port, MAX_SERVER_PORT, 'port');
  if (!isServerPort(port)) outOfBounds(`port ${port} neither 0 nor 49152..65535`);
  const interval = asUint(map.interval, MAX_PDU_INTERVAL_MS, 'interval');
  if (authenticated) {
    const auth = map.auth;
    if (!(auth instanceof Uint8Array) || auth.length !== PDU_AUTH_TAG_BYTES) malformed('auth is not bin(32)');
  } else if (map.auth !== undefined) {
    // Its sender's cluster speaks TLS-PSK on every channel: nothing of it
    // could be joined, and taken in, its channels made this node try (3.3).
    throw new DecodeError('pdu_auth', 'an authenticated PDU: its sender has a --secret, this node none');
  }

  const unique = new Set<string>();
  const channels = asArray(map.channels, MAX_PDU_CHANNELS, 'channels').map((entry): HostedChannel => {
    const c = asMap(entry, 'channels entry');
    const name = asPublicChannel(c.name, 'channels entry name');
    if (unique.has(name)) malformed(`channel ${name} twice in one part`);
    unique.add(name);
    return {
      name,
      epoch: asUint(c.epoch, MAX_WIRE_NUMBER, `channel ${name} epoch`),
      standbys: asIds(c.standbys, MAX_STANDBYS, `channel ${name} standbys`),
      members: asIds(c.members, MAX_MEMBERS, `channel ${name} members`),
    };
  });
  unique.clear();
  const memberships = asArray(map.memberships, MAX_PDU_MEMBERSHIPS, 'memberships').map((entry): Membership => {
    const m = asMap(entry, 'memberships entry');
    const host = asPeerId(m.host, 'membership host');
    if (unique.has(host)) malformed(`membership host ${host} twice in one part`);
    unique.add(host);
    const names = asArray(m.channels, MAX_MEMBERSHIP_CHANNELS, `membership ${host} channels`);
    return { host, channels: names.map((n) => asPublicChannel(n, `membership ${host} channel`)) };
  });
  unique.clear();
  const invites = asArray(map.invites, MAX_PDU_INVITES, 'invites').map((entry): Invite => {
    const i = asMap(entry, 'invites entry');
    const invite: Invite = {
      channel: asChannelName(i.channel, 'invite channel'),
      host: asPeerId(i.host, 'invite host'),
      peerIds: asIds(i.peerIds, MAX_INVITE_IDS, 'invite peerIds'),
    };
    const key = inviteKey(invite);
    if (unique.has(key)) malformed(`invite ${key} twice in one part`);
    unique.add(key);
    return invite;
  });
  unique.clear();
  // Optional: a part without hidden entries leaves the key out.
  const hidden = map.hidden === undefined ? [] : asArray(map.hidden, MAX_PDU_HIDDEN, 'hidden').map((entry): HiddenHosting => {
    const h = asMap(entry, 'hidden entry');
    const tag = asString(h.tag, 'hidden tag');
    if (!isHiddenTag(tag)) outOfBounds('hidden tag is not 32 lowercase hex digits');
    if (unique.has(tag)) malformed(`hidden ${tag} twice in one part`);
    unique.add(tag);
    return { tag, epoch: asUint(h.epoch, MAX_WIRE_NUMBER, `hidden ${tag} epoch`) };
  });

  return { version: PDU_VERSION, peerId, incarnation, seq, rev, nick, port, interval, channels, memberships, invites, hidden, part, parts };
}
