/**
 * Seeded random numbers: xoshiro128** seeded through splitmix32. Same seed, same sequence, on
 * every platform; the state is six JSON-safe numbers, so checkpoints can save and restore it.
 *
 * @module
 */

/**
 * A seeded random number generator.
 *
 * @example
 * ```ts
 * import { Rng } from "./rng.ts";
 * const rng = new Rng(0);
 * const a = rng.uniform();
 * console.log(new Rng(0).uniform() === a); // true
 * ```
 */
export class Rng {
  #s = new Uint32Array(4);
  #spareNormal: number | null = null;

  /** A generator seeded with the integer `seed`. */
  constructor(seed = 0) {
    let x = seed >>> 0;
    const hi = Math.floor(seed / 2 ** 32) >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9 + (i === 1 ? hi : 0)) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }

  /** The next 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A float uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A float uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** An integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** True with probability `p`. */
  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** A standard normal sample (Box–Muller, both values used). */
  normal(): number {
    if (this.#spareNormal !== null) {
      const v = this.#spareNormal;
      this.#spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /** A permutation of 0..n-1. */
  permutation(n: number): number[] {
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  /** The generator state as six JSON-safe numbers (four words, spare-normal flag and value). */
  get state(): number[] {
    return [...this.#s, this.#spareNormal === null ? 0 : 1, this.#spareNormal ?? 0];
  }

  /** Restores a state from {@link Rng.state}. */
  set state(state: number[]) {
    if (
      !Array.isArray(state) || state.length !== 6 ||
      state.slice(0, 4).some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff) ||
      typeof state[5] !== "number"
    ) {
      throw new RangeError(
        `Cannot restore an Rng from ${JSON.stringify(state)}: expected its 6-number state`,
      );
    }
    this.#s.set(state.slice(0, 4));
    this.#spareNormal = state[4] ? state[5] : null;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
