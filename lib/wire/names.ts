// The naming and text rules of docs/protocol.md 2.2 (and CLIENT-NICK of
// 3.2), one function per rule. Every encoder, decoder and any other layer
// that validates a name calls these; nothing re-implements them.
//
// All predicates take `unknown`, so that decoders of untyped input (msgpack)
// can call them directly.

import {
  MAX_CHANNEL_NAME_BYTES,
  MAX_ID_BYTES,
  MAX_NICK_BYTES,
  MAX_SERVER_PORT,
  MAX_TEXT_BYTES,
  MAX_WIRE_NUMBER,
  MIN_SERVER_PORT,
} from './limits.ts';

const HASH = 0x23; // '#': public channel
const AT = 0x40; // '@': private channel

/** 1 to `maxLength` printable ASCII characters (0x21-0x7E): no space, no control byte, no NUL. */
function isPrintableAscii(s: unknown, maxLength: number): s is string {
  if (typeof s !== 'string') return false;
  const length = s.length;
  if (length === 0 || length > maxLength) return false;
  for (let i = 0; i < length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** A surrogate half without its partner: no valid UTF-8 encoding exists for it. */
const LONE_SURROGATE = /\p{Cs}/u;

/** A string that encodes to valid UTF-8 (no lone surrogates). */
export function isWellFormedText(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/** '#' or '@', then 1-63 printable ASCII characters: 2 to 64 bytes. */
export function isChannelName(s: unknown): s is string {
  if (!isPrintableAscii(s, MAX_CHANNEL_NAME_BYTES) || s.length < 2) return false;
  const first = s.charCodeAt(0);
  return first === HASH || first === AT;
}

/** A valid channel name starting with '#': may be advertised in a PeerPDU. */
export function isPublicChannel(name: unknown): name is string {
  return isChannelName(name) && name.charCodeAt(0) === HASH;
}

/** A valid channel name starting with '@': NEVER advertised in a PeerPDU. */
export function isPrivateChannel(name: unknown): name is string {
  return isChannelName(name) && name.charCodeAt(0) === AT;
}

/** A peer id: 1-64 printable ASCII characters. */
export function isPeerId(s: unknown): s is string {
  return isPrintableAscii(s, MAX_ID_BYTES);
}

/** A msgId: 1-64 printable ASCII characters, unique per author (uniqueness is the author's job). */
export function isMsgId(s: unknown): s is string {
  return isPrintableAscii(s, MAX_ID_BYTES);
}

/**
 * SAY text: valid UTF-8, no NUL (the framing forbids it), at most 4,096
 * bytes. The empty string IS valid: the draft does not forbid an empty SAY,
 * and refusing it would make a legacy client's empty line close its
 * connection (2.4). Whether to relay an empty SAY is the node's decision.
 */
export function isSayText(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  // Cheap bound first: UTF-8 needs at least one byte per UTF-16 unit.
  if (s.length > MAX_TEXT_BYTES) return false;
  if (s.includes('\0') || !isWellFormedText(s)) return false;
  return Buffer.byteLength(s, 'utf8') <= MAX_TEXT_BYTES;
}

/** CLIENT-NICK: valid UTF-8 of at most 32 bytes (may be empty). */
export function isNick(s: unknown): s is string {
  if (typeof s !== 'string' || s.length > MAX_NICK_BYTES) return false;
  return isWellFormedText(s) && Buffer.byteLength(s, 'utf8') <= MAX_NICK_BYTES;
}

/** A server port (3.2 `port`): 0 for "hosts nothing", else a dynamic port, 49152-65535. */
export function isServerPort(port: unknown): port is number {
  return port === 0 || (isWireNumber(port, MAX_SERVER_PORT) && port >= MIN_SERVER_PORT);
}

/** A wire number: an integer in 0..max (default 2^53-1). */
export function isWireNumber(n: unknown, max: number = MAX_WIRE_NUMBER): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= max;
}
