// Randomness is injected (ids, incarnations, jitter), so that the simulator
// replays a run exactly from one seed.

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
}

/** Uniform integer in [min, max]. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random.next() * (max - min + 1));
}

/** `ms` scaled by a uniform factor in [1 - spread, 1]. */
export function jitterDown(random: Random, ms: number, spread: number): number {
  return ms * (1 - spread * random.next());
}

/**
 * xoshiro128** seeded through splitmix32: small, fast, good enough for
 * simulation, and identical on every platform.
 */
export class SeededRandom implements Random {
  // The state is kept as signed 32-bit integers (`| 0`): V8 keeps those
  // unboxed, while `>>> 0` values above 2^31 become heap numbers. Only the
  // result is made unsigned; the sequence is the same either way.
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const splitmix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) | 0;
    };
    this.a = splitmix();
    this.b = splitmix();
    this.c = splitmix();
    this.d = splitmix();
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** A child generator, so that sub-systems don't shift each other's draws. */
  fork(): SeededRandom {
    return new SeededRandom(this.nextU32());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The real node's source: Math.random is fine outside the simulator. */
export const systemRandom: Random = { next: () => Math.random() };
