// KIT TCP framing (docs/protocol.md 2.1):
//
//   +--------------------+-----------------------------------------------+
//   | length: uint32 BE  | field NUL field NUL ... field NUL             |
//   +--------------------+-----------------------------------------------+
//
// `length` counts the body bytes, NULs included. Pure and I/O-free: the
// connection code pushes socket chunks in and writes encoded frames out.

import { DecodeError } from './errors.ts';
import { MAX_FRAME_BYTES_DEFAULT } from './limits.ts';
import { isWellFormedText } from './names.ts';

const PREFIX_BYTES = 4;
const MAX_PREFIX_VALUE = 0xffffffff;
const NUL = 0;

/**
 * One frame (length prefix included) in exactly one allocation: the byte
 * lengths are computed first, then every field is written into one buffer.
 * Encode once, write the same Buffer to every member.
 *
 * Throws a plain Error for programmer mistakes: no fields, a field holding
 * NUL (it would end the field early) or a lone surrogate (no UTF-8 form).
 */
export function encodeFrame(fields: readonly string[]): Buffer {
  if (fields.length === 0) throw new Error('encodeFrame: a frame needs at least one field');
  let bodyBytes = 0;
  for (const field of fields) {
    if (field.includes('\0')) throw new Error('encodeFrame: a field contains NUL');
    if (!isWellFormedText(field)) throw new Error('encodeFrame: a field contains a lone surrogate');
    bodyBytes += Buffer.byteLength(field, 'utf8') + 1;
  }
  if (bodyBytes > MAX_PREFIX_VALUE) throw new Error('encodeFrame: body exceeds the uint32 length prefix');
  const frame = Buffer.allocUnsafe(PREFIX_BYTES + bodyBytes);
  frame.writeUInt32BE(bodyBytes, 0);
  let offset = PREFIX_BYTES;
  for (const field of fields) {
    offset += frame.write(field, offset, 'utf8');
    frame[offset++] = NUL;
  }
  return frame;
}

/**
 * Streaming frame decoder: push socket chunks in any split, get complete
 * bodies out (without their length prefix).
 *
 * - The maximum body size is enforced from the length prefix alone: the
 *   moment the 4 prefix bytes are known, a larger value throws
 *   DecodeError('frame_too_large') before a single body byte is buffered.
 *   A zero length throws DecodeError('frame_malformed').
 * - A frame inside one chunk is returned as a zero-copy subarray of that
 *   chunk, so callers must not reuse a chunk's memory after pushing it
 *   (socket chunks are fresh buffers; this is for tests and pools).
 * - A body that spans pushes is copied, as its bytes arrive, into one
 *   buffer of exactly its declared length (allocated once, at its first
 *   byte), which is returned when full; the few bytes of a split length
 *   prefix are kept as a number. No pushed chunk is held after push()
 *   returns, so a connection's memory is that one buffer (at most
 *   maxBodyBytes) however the peer chunks its bytes: a 64 KiB body in
 *   1-byte TCP segments holds one 64 KiB buffer, not 65,536 Buffers each
 *   pinning its socket read buffer. Every byte is copied at most once:
 *   O(n), not O(n^2).
 * - After a throw the decoder stays failed: every later push rethrows the
 *   same error (the caller closes the connection). Complete bodies that
 *   preceded the bad prefix in the same push are not returned: the peer
 *   sent garbage, so nothing of that chunk is trusted.
 * - Whether a body ends in NUL is checked by splitFields, not here.
 */
export class FrameDecoder {
  readonly maxBodyBytes: number;
  /** Length-prefix bytes received of the frame being received (0-3 between pushes); used while bodyBytes is -1. */
  private prefixFill = 0;
  /** Those prefix bytes, read as a big-endian number. */
  private prefixValue = 0;
  /** Body length of the frame being received; -1 while its prefix is incomplete. */
  private bodyBytes = -1;
  /** The body of the frame being received once it spans pushes: exactly bodyBytes long. */
  private partial: Buffer | undefined;
  /** Bytes of `partial` received so far. */
  private partialFill = 0;
  private failure: DecodeError | undefined;

  constructor(maxBodyBytes: number = MAX_FRAME_BYTES_DEFAULT) {
    if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1 || maxBodyBytes > MAX_PREFIX_VALUE) {
      throw new Error(`FrameDecoder: maxBodyBytes must be an integer in 1..${MAX_PREFIX_VALUE}, got ${maxBodyBytes}`);
    }
    this.maxBodyBytes = maxBodyBytes;
  }

  /**
   * Bytes received but not yet returned as a body (prefix bytes included):
   * those of an incomplete length prefix, then, once it is read, the body
   * bytes received so far.
   */
  get bufferedBytes(): number {
    return this.bodyBytes < 0 ? this.prefixFill : this.partialFill;
  }

  /**
   * Buffers the decoder holds between pushes: 0, or 1 while a body spans
   * pushes (never a pushed chunk). For tests and metrics.
   */
  get retainedBuffers(): number {
    return this.partial === undefined ? 0 : 1;
  }

  /** True once push() has thrown; every later push rethrows. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  push(chunk: Buffer): Buffer[] {
    if (this.failure !== undefined) throw this.failure;
    const bodies: Buffer[] = [];
    const end = chunk.length;
    let pos = 0;
    for (;;) {
      if (this.bodyBytes < 0) {
        let length: number;
        if (this.prefixFill === 0 && end - pos >= PREFIX_BYTES) {
          length = chunk.readUInt32BE(pos);
          pos += PREFIX_BYTES;
        } else {
          while (this.prefixFill < PREFIX_BYTES && pos < end) {
            this.prefixValue = this.prefixValue * 256 + chunk[pos++]!;
            this.prefixFill++;
          }
          if (this.prefixFill < PREFIX_BYTES) break;
          length = this.prefixValue;
          this.prefixFill = 0;
          this.prefixValue = 0;
        }
        if (length > this.maxBodyBytes) {
          this.fail(new DecodeError('frame_too_large', `length prefix ${length} above the maximum ${this.maxBodyBytes}`));
        }
        if (length === 0) this.fail(new DecodeError('frame_malformed', 'empty body'));
        this.bodyBytes = length;
      }
      const available = end - pos;
      if (this.partial === undefined) {
        if (available >= this.bodyBytes) {
          bodies.push(chunk.subarray(pos, pos + this.bodyBytes));
          pos += this.bodyBytes;
          this.bodyBytes = -1;
          continue;
        }
        if (available === 0) break;
        this.partial = Buffer.allocUnsafe(this.bodyBytes);
      }
      const count = Math.min(this.bodyBytes - this.partialFill, available);
      chunk.copy(this.partial, this.partialFill, pos, pos + count);
      pos += count;
      this.partialFill += count;
      if (this.partialFill < this.bodyBytes) break;
      bodies.push(this.partial);
      this.partial = undefined;
      this.partialFill = 0;
      this.bodyBytes = -1;
    }
    return bodies;
  }

  private fail(error: DecodeError): never {
    this.failure = error;
    this.prefixFill = 0;
    this.prefixValue = 0;
    this.bodyBytes = -1;
    this.partial = undefined;
    this.partialFill = 0;
    throw error;
  }
}

/** Decodes strictly: invalid UTF-8 throws instead of becoming U+FFFD; a BOM is kept, not stripped. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Splits a body into its fields. The body must be non-empty and end in NUL
 * ('frame_malformed') and be valid UTF-8 ('bad_utf8'). NUL is a complete
 * one-byte character, so the body is valid UTF-8 exactly when every field
 * is: one strict decode of the whole body, then one split.
 */
export function splitFields(body: Buffer): string[] {
  if (body.length === 0) throw new DecodeError('frame_malformed', 'empty body');
  if (body[body.length - 1] !== NUL) throw new DecodeError('frame_malformed', 'body does not end in NUL');
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new DecodeError('bad_utf8', 'body is not valid UTF-8');
  }
  const fields = text.split('\0');
  fields.pop(); // the empty string after the final NUL
  return fields;
}
