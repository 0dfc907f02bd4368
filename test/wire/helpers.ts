// Shared arbitraries and helpers of the wire tests.
import fc from 'fast-check';
import { DecodeError, type DecodeErrorCode } from '../../lib/wire/errors.ts';
import { isWellFormedText } from '../../lib/wire/names.ts';

/** The DecodeError code `fn` throws, undefined if it returns; any other throwable is rethrown (fails the test). */
export function decodeErrorOf(fn: () => unknown): DecodeErrorCode | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    if (error instanceof DecodeError) return error.code;
    throw error;
  }
}

/** Runs `fn`; true if it returned, false if it threw a DecodeError; rethrows anything else. */
export function onlyDecodeErrors(fn: () => unknown): boolean {
  return decodeErrorOf(fn) === undefined;
}

/** A printable ASCII string (0x21-0x7E) of the given length bounds. */
export function printable(minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength, maxLength });
}

export const idArb = printable(1, 64);
export const publicChannelArb = printable(1, 63).map((s) => `#${s}`);
export const channelArb = fc.tuple(fc.constantFrom('#', '@'), printable(1, 63)).map(([p, s]) => p + s);

/** Any Unicode text without NUL and without lone surrogates (so it has a UTF-8 form). */
export function unicodeText(maxLength: number): fc.Arbitrary<string> {
  return fc
    .string({ unit: 'binary', maxLength })
    .map((s) => s.replaceAll('\0', ''))
    .filter(isWellFormedText);
}

/** 0..2^53-1, biased towards both small values and the extremes. */
export const wireNumberArb = fc.oneof(fc.nat(300), fc.maxSafeNat(), fc.constant(Number.MAX_SAFE_INTEGER));

/** Cut points that split `length` bytes into chunks: sorted, unique, inside (0, length). */
export function chunksOf(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % (bytes.length + 1))))]
    .filter((c) => c > 0 && c < bytes.length)
    .sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(start, p));
    start = p;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

/** A small deterministic PRNG (mulberry32) for the large fuzz loops. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What `fn` throws (undefined when it returns). */
export function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
