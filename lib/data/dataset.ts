/**
 * The `Dataset` interface that every data source implements (IDX files, image folders, the
 * synthetic shapes), plus small helpers shared by them: {@link subset}, {@link deriveSeed} and
 * {@link toFloatImage}.
 *
 * A dataset is random access and synchronous: `get(i)` returns one image as a `Float32Array` in
 * C×H×W order with values in [0, 1]. Sources that decode files (image folders) decode them when
 * they are opened, so `get` never waits on I/O.
 *
 * @module
 */

/** One example of a {@link Dataset}. */
export interface Sample {
  /** Pixels in C×H×W order (channel-major), each in [0, 1]. */
  image: Float32Array;
  /** Number of channels C (1 for grayscale, 3 for RGB). */
  channels: number;
  /** Image height H in pixels. */
  height: number;
  /** Image width W in pixels. */
  width: number;
  /** Class index in [0, numClasses). */
  label: number;
  /** Ground-truth foreground mask, H×W, 1 on the object and 0 elsewhere, where the source has one. */
  mask?: Uint8Array;
}

/**
 * A labelled image dataset with random access.
 *
 * @example
 * ```ts
 * import type { Dataset } from "./dataset.ts";
 * function meanPixel(ds: Dataset): number {
 *   let s = 0, n = 0;
 *   for (let i = 0; i < ds.length; i++) {
 *     for (const v of ds.get(i).image) { s += v; n++; }
 *   }
 *   return s / n;
 * }
 * ```
 */
export interface Dataset {
  /** Number of examples. */
  readonly length: number;
  /** Number of classes; every label is below it. */
  readonly numClasses: number;
  /** Class names, `numClasses` of them, indexed by label. */
  readonly classNames: readonly string[];
  /** Channels of every image (1 or 3). */
  readonly channels: number;
  /** Height of every image when they all share one; `undefined` for mixed sizes. */
  readonly height?: number;
  /** Width of every image when they all share one; `undefined` for mixed sizes. */
  readonly width?: number;
  /** The example at index `i` (0 ≤ i < length); throws a `RangeError` outside. */
  get(i: number): Sample;
}

/**
 * Throws a `RangeError` unless `i` is an integer index into a dataset of `length` examples.
 *
 * @example
 * ```ts
 * import { checkIndex } from "./dataset.ts";
 * checkIndex(3, 10, "ImageFolder"); // ok
 * ```
 */
export function checkIndex(i: number, length: number, what: string): void {
  if (!Number.isInteger(i) || i < 0 || i >= length) {
    throw new RangeError(
      `Cannot get example ${i} of ${what}: index must be an integer in [0, ${length})`,
    );
  }
}

/**
 * A view of `dataset` restricted to `indices` (in that order). Used for protocols such as "the
 * first 10,000 training images".
 *
 * @example
 * ```ts
 * import { subset } from "./dataset.ts";
 * import { SyntheticShapes } from "./synthetic.ts";
 * const first100 = subset(new SyntheticShapes({ length: 1000 }), Array.from({ length: 100 }, (_, i) => i));
 * console.log(first100.length); // 100
 * ```
 */
export function subset(dataset: Dataset, indices: ArrayLike<number>): Dataset {
  const idx = new Int32Array(indices.length);
  for (let k = 0; k < idx.length; k++) {
    checkIndex(indices[k], dataset.length, "the dataset of a subset");
    idx[k] = indices[k];
  }
  return {
    length: idx.length,
    numClasses: dataset.numClasses,
    classNames: dataset.classNames,
    channels: dataset.channels,
    height: dataset.height,
    width: dataset.width,
    get(i: number): Sample {
      checkIndex(i, idx.length, "a subset");
      return dataset.get(idx[i]);
    },
  };
}

/**
 * A 53-bit seed derived from a base seed and a stream index (an epoch, an example), so that
 * `new Rng(deriveSeed(seed, i))` gives independent streams: neighbouring `(seed, i)` pairs share no
 * state word. Both inputs are reduced to 32 bits.
 *
 * @example
 * ```ts
 * import { deriveSeed } from "./dataset.ts";
 * import { Rng } from "./rng.ts";
 * const epochRng = new Rng(deriveSeed(0, 3));
 * ```
 */
export function deriveSeed(seed: number, index: number): number {
  const a = mix32(seed >>> 0);
  const b = mix32((index >>> 0) ^ 0x9e3779b9);
  const lo = mix32((a ^ b) >>> 0);
  // The high 21 bits reach a second state word of the Rng (see its constructor).
  const hi = (mix32((a + 0x85ebca6b + Math.imul(b, 3)) >>> 0) >>> 11) & 0x1fffff;
  return hi * 2 ** 32 + lo;
}

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * Converts 8-bit pixels (H×W×C interleaved, or planar C×H×W when `planar`) to a `Float32Array`
 * in C×H×W order with values in [0, 1], optionally replicating one channel `repeat` times.
 *
 * @example
 * ```ts
 * import { toFloatImage } from "./dataset.ts";
 * const f = toFloatImage(new Uint8Array([0, 255]), 1, 1, 2, { planar: true });
 * console.log(f); // Float32Array [0, 1]
 * ```
 */
export function toFloatImage(
  pixels: Uint8Array,
  channels: number,
  height: number,
  width: number,
  options: { planar?: boolean; repeat?: number } = {},
): Float32Array {
  const hw = height * width;
  const repeat = options.repeat ?? 1;
  const out = new Float32Array(channels * repeat * hw);
  const inv = 1 / 255;
  if (options.planar || channels === 1) {
    for (let i = 0; i < channels * hw; i++) out[i] = pixels[i] * inv;
  } else {
    for (let c = 0; c < channels; c++) {
      const base = c * hw;
      for (let p = 0, q = c; p < hw; p++, q += channels) out[base + p] = pixels[q] * inv;
    }
  }
  for (let r = 1; r < repeat; r++) out.copyWithin(r * channels * hw, 0, channels * hw);
  return out;
}
