// Typed KIT channel commands (docs/protocol.md 2.3) over the framing of
// frame.ts. Encoders return a whole frame (length prefix included) and throw
// a plain Error for programmer mistakes; decoders take a body as returned by
// FrameDecoder and throw nothing but DecodeError.
//
// Compatibility rules (2.3):
// - Unknown fields after the known ones of a command are ignored: a legacy
//   server ignores JOIN's peer id, a legacy member reads only STANDBY's
//   first id, and we in turn tolerate extensions of newer peers.
// - List commands (INVITE, STANDBY, MEMBERS) have no "extra" fields: every
//   field is a list element, and the list bound applies ('too_many_fields').
// - An optional field that is present must be valid: `JOIN #a <empty>` is a
//   bad id, not a JOIN without id.
// - SAY text may be empty (see isSayText).

import { DecodeError } from './errors.ts';
import { encodeFrame, splitFields } from './frame.ts';
import { MAX_INVITE_IDS, MAX_MEMBERS, MAX_STANDBYS, MAX_WIRE_NUMBER } from './limits.ts';
import { isChannelName, isMsgId, isPeerId, isSayText, isWireNumber } from './names.ts';

/** The sixth field of a server SAY that the host merged from a RELAY. */
const RELAY_ORIGIN = 'relay';

export type ClientCommand =
  | { type: 'JOIN'; channel: string; peerId?: string }
  | { type: 'SAY'; text: string; msgId?: string }
  | { type: 'EXIT' }
  | { type: 'INVITE'; peerIds: string[] }
  | { type: 'RELAY'; authorId: string; text: string; msgId: string; seq?: number };

export type ServerCommand =
  /** `relayed`: the host merged it from a RELAY (protocol 5.5); on the wire, a sixth field `relay`. */
  | { type: 'SAY'; authorId: string; text: string; msgId?: string; seq?: number; relayed?: boolean }
  | { type: 'STANDBY'; peerIds: string[] }
  | { type: 'WELCOME'; channel: string; epoch: number; count: number }
  | { type: 'MEMBERS'; peerIds: string[] }
  | { type: 'MOVED'; hostId: string; epoch: number }
  /** chanmesh: every RELAY this connection sent before it is decided; one not sent back was turned down (protocol 5.5). */
  | { type: 'MERGED' }
  /** chanmesh: the host accepted this SAY of yours before and keeps it no more (no echo to give); settle your outbox (protocol 5.5). */
  | { type: 'SEEN'; msgId: string }
  /**
   * chanmesh: a message the host accepted before, holds no more, and was
   * offered again (relayed or re-sent): deliver it if you never did; it is
   * not part of the history (protocol 5.5).
   */
  | { type: 'LATE'; authorId: string; text: string; msgId: string };

// ---------------------------------------------------------------- encoding

/** Whole frame of a client-to-server command. Throws Error on invalid content. */
export function encodeClientCommand(c: ClientCommand): Buffer {
  switch (c.type) {
    case 'JOIN':
      requireChannel(c.channel, 'JOIN channel');
      if (c.peerId === undefined) return encodeFrame(['JOIN', c.channel]);
      requireId(c.peerId, 'JOIN peerId');
      return encodeFrame(['JOIN', c.channel, c.peerId]);
    case 'SAY':
      requireText(c.text, 'SAY text');
      if (c.msgId === undefined) return encodeFrame(['SAY', c.text]);
      requireId(c.msgId, 'SAY msgId');
      return encodeFrame(['SAY', c.text, c.msgId]);
    case 'EXIT':
      return encodeFrame(['EXIT']);
    case 'INVITE':
      requireIdList(c.peerIds, 1, MAX_INVITE_IDS, 'INVITE peerIds');
      return encodeFrame(['INVITE', ...c.peerIds]);
    case 'RELAY':
      requireId(c.authorId, 'RELAY authorId');
      requireText(c.text, 'RELAY text');
      requireId(c.msgId, 'RELAY msgId');
      if (c.seq === undefined) return encodeFrame(['RELAY', c.authorId, c.text, c.msgId]);
      return encodeFrame(['RELAY', c.authorId, c.text, c.msgId, formatNumber(c.seq, 'RELAY seq')]);
    default:
      return unknownType(c);
  }
}

/** Whole frame of a server-to-client command. Throws Error on invalid content. */
export function encodeServerCommand(c: ServerCommand): Buffer {
  switch (c.type) {
    case 'SAY': {
      requireId(c.authorId, 'SAY authorId');
      requireText(c.text, 'SAY text');
      if (c.msgId === undefined) {
        if (c.seq !== undefined) throw new Error('encodeServerCommand: SAY seq needs a msgId (fields are positional)');
        return encodeFrame(['SAY', c.authorId, c.text]);
      }
      requireId(c.msgId, 'SAY msgId');
      if (c.seq === undefined) {
        if (c.relayed) throw new Error('encodeServerCommand: SAY relay needs a seq (fields are positional)');
        return encodeFrame(['SAY', c.authorId, c.text, c.msgId]);
      }
      const seq = formatNumber(c.seq, 'SAY seq');
      return encodeFrame(c.relayed ? ['SAY', c.authorId, c.text, c.msgId, seq, RELAY_ORIGIN] : ['SAY', c.authorId, c.text, c.msgId, seq]);
    }
    case 'STANDBY':
      requireIdList(c.peerIds, 1, MAX_STANDBYS, 'STANDBY peerIds');
      return encodeFrame(['STANDBY', ...c.peerIds]);
    case 'WELCOME':
      requireChannel(c.channel, 'WELCOME channel');
      return encodeFrame([
        'WELCOME',
        c.channel,
        formatNumber(c.epoch, 'WELCOME epoch'),
        formatNumber(c.count, 'WELCOME count'),
      ]);
    case 'MEMBERS':
      requireIdList(c.peerIds, 0, MAX_MEMBERS, 'MEMBERS peerIds');
      return encodeFrame(['MEMBERS', ...c.peerIds]);
    case 'MOVED':
      requireId(c.hostId, 'MOVED hostId');
      return encodeFrame(['MOVED', c.hostId, formatNumber(c.epoch, 'MOVED epoch')]);
    case 'MERGED':
      return encodeFrame(['MERGED']);
    case 'SEEN':
      requireId(c.msgId, 'SEEN msgId');
      return encodeFrame(['SEEN', c.msgId]);
    case 'LATE':
      requireId(c.authorId, 'LATE authorId');
      requireText(c.text, 'LATE text');
      requireId(c.msgId, 'LATE msgId');
      return encodeFrame(['LATE', c.authorId, c.text, c.msgId]);
    default:
      return unknownType(c);
  }
}

function requireChannel(s: string, what: string): void {
  if (!isChannelName(s)) throw new Error(`encode: ${what} is not a channel name: ${preview(s)}`);
}

function requireId(s: string, what: string): void {
  if (!isPeerId(s)) throw new Error(`encode: ${what} is not 1-64 printable ASCII: ${preview(s)}`);
}

function requireText(s: string, what: string): void {
  if (!isSayText(s)) throw new Error(`encode: ${what} is not NUL-free valid UTF-8 of at most 4096 bytes`);
}

function requireIdList(ids: readonly string[], min: number, max: number, what: string): void {
  if (!Array.isArray(ids) || ids.length < min || ids.length > max) {
    throw new Error(`encode: ${what} must hold ${min} to ${max} ids`);
  }
  for (const id of ids) requireId(id, what);
}

function formatNumber(n: number, what: string): string {
  if (!isWireNumber(n)) throw new Error(`encode: ${what} must be an integer in 0..2^53-1, got ${String(n)}`);
  return String(n);
}

function unknownType(c: never): never {
  throw new Error(`encode: unknown command type ${preview((c as { type?: unknown }).type)}`);
}

// ---------------------------------------------------------------- decoding

/** A client-to-server command from a frame body. Throws only DecodeError. */
export function decodeClientCommand(body: Buffer): ClientCommand {
  const fields = splitFields(body);
  const name = fields[0]!; // splitFields returns at least one field
  switch (name) {
    case 'JOIN': {
      const channel = channelField(fields, 1);
      const peerId = optionalIdField(fields, 2);
      return peerId === undefined ? { type: 'JOIN', channel } : { type: 'JOIN', channel, peerId };
    }
    case 'SAY': {
      const text = textField(fields, 1);
      const msgId = optionalIdField(fields, 2);
      return msgId === undefined ? { type: 'SAY', text } : { type: 'SAY', text, msgId };
    }
    case 'EXIT':
      return { type: 'EXIT' };
    case 'INVITE':
      return { type: 'INVITE', peerIds: idList(fields, 1, 1, MAX_INVITE_IDS) };
    case 'RELAY': {
      const relay = { type: 'RELAY' as const, authorId: idField(fields, 1), text: textField(fields, 2), msgId: idField(fields, 3) };
      // The seq the message had where the relaying member got it: orders
      // relays that several members send after a takeover (protocol 5.5).
      const seq = optionalNumberField(fields, 4);
      return seq === undefined ? relay : { ...relay, seq };
    }
    default:
      throw new DecodeError('unknown_command', `unknown client command ${preview(name)}`);
  }
}

/** A server-to-client command from a frame body. Throws only DecodeError. */
export function decodeServerCommand(body: Buffer): ServerCommand {
  const fields = splitFields(body);
  const name = fields[0]!;
  switch (name) {
    case 'SAY': {
      const authorId = idField(fields, 1);
      const text = textField(fields, 2);
      const msgId = optionalIdField(fields, 3);
      if (msgId === undefined) return { type: 'SAY', authorId, text };
      const seq = optionalNumberField(fields, 4);
      if (seq === undefined) return { type: 'SAY', authorId, text, msgId };
      // Any other sixth field is one a later version added: ignored (section 2.3).
      return fields[5] === RELAY_ORIGIN ? { type: 'SAY', authorId, text, msgId, seq, relayed: true } : { type: 'SAY', authorId, text, msgId, seq };
    }
    case 'STANDBY':
      return { type: 'STANDBY', peerIds: idList(fields, 1, 1, MAX_STANDBYS) };
    case 'WELCOME':
      return {
        type: 'WELCOME',
        channel: channelField(fields, 1),
        epoch: numberField(fields, 2),
        count: numberField(fields, 3),
      };
    case 'MEMBERS':
      return { type: 'MEMBERS', peerIds: idList(fields, 1, 0, MAX_MEMBERS) };
    case 'MOVED':
      return { type: 'MOVED', hostId: idField(fields, 1), epoch: numberField(fields, 2) };
    case 'MERGED':
      return { type: 'MERGED' };
    case 'SEEN':
      return { type: 'SEEN', msgId: idField(fields, 1) };
    case 'LATE':
      return { type: 'LATE', authorId: idField(fields, 1), text: textField(fields, 2), msgId: idField(fields, 3) };
    default:
      throw new DecodeError('unknown_command', `unknown server command ${preview(name)}`);
  }
}

function required(fields: readonly string[], index: number): string {
  const field = fields[index];
  if (field === undefined) throw new DecodeError('missing_field', `${fields[0]} needs field ${index}`);
  return field;
}

function channelField(fields: readonly string[], index: number): string {
  const field = required(fields, index);
  if (!isChannelName(field)) throw new DecodeError('bad_channel_name', `${fields[0]} field ${index}: ${preview(field)}`);
  return field;
}

function idField(fields: readonly string[], index: number): string {
  return checkId(fields, index, required(fields, index));
}

function optionalIdField(fields: readonly string[], index: number): string | undefined {
  const field = fields[index];
  return field === undefined ? undefined : checkId(fields, index, field);
}

function checkId(fields: readonly string[], index: number, field: string): string {
  // Peer ids and msgIds follow the same rule (2.2); isMsgId is that rule.
  if (!isMsgId(field)) throw new DecodeError('bad_id', `${fields[0]} field ${index}: ${preview(field)}`);
  return field;
}

function textField(fields: readonly string[], index: number): string {
  const field = required(fields, index);
  // splitFields guarantees valid UTF-8 without NUL: only the length can fail.
  if (!isSayText(field)) throw new DecodeError('text_too_long', `${fields[0]} text above 4096 bytes`);
  return field;
}

/** Every field from `from` on is one id: count-bounded, each checked. */
function idList(fields: readonly string[], from: number, min: number, max: number): string[] {
  const ids = fields.slice(from);
  if (ids.length < min) throw new DecodeError('missing_field', `${fields[0]} needs at least ${min} id`);
  if (ids.length > max) throw new DecodeError('too_many_fields', `${fields[0]} carries ${ids.length} ids, at most ${max}`);
  for (let i = 0; i < ids.length; i++) checkId(fields, from + i, ids[i]!);
  return ids;
}

/** Canonical decimal: "0" or no leading zero, no sign, no space, at most 2^53-1. */
const DECIMAL = /^(?:0|[1-9][0-9]{0,15})$/;

function numberField(fields: readonly string[], index: number): number {
  return parseNumber(fields, index, required(fields, index));
}

function optionalNumberField(fields: readonly string[], index: number): number | undefined {
  const field = fields[index];
  return field === undefined ? undefined : parseNumber(fields, index, field);
}

function parseNumber(fields: readonly string[], index: number, field: string): number {
  const n = DECIMAL.test(field) ? Number(field) : NaN;
  if (!(n <= MAX_WIRE_NUMBER)) throw new DecodeError('bad_number', `${fields[0]} field ${index}: ${preview(field)}`);
  return n;
}

/** A short, printable rendering of untrusted input for error messages. */
function preview(value: unknown): string {
  const s = typeof value === 'string' ? value : String(value);
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s);
}
