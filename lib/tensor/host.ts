/**
 * CPU tensors for references and tests: a shape and a flat row-major array.
 *
 * @module
 */
import type { Shape } from "./shape.ts";

/**
 * A tensor on the CPU, row-major.
 *
 * @example
 * ```ts
 * import type { HostTensor } from "./host.ts";
 * const x: HostTensor = { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) };
 * ```
 */
export interface HostTensor {
  /** Sizes of each dimension. */
  shape: Shape;
  /** The elements, row-major. */
  data: Float32Array | Float64Array;
}

/**
 * Largest |a − b| over two equally long arrays.
 *
 * @example
 * ```ts
 * import { maxAbsDiff } from "./host.ts";
 * console.log(maxAbsDiff([1, 2], [1, 2.5])); // 0.5
 * ```
 */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new RangeError(`Cannot compare arrays of length ${a.length} and ${b.length}`);
  }
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
  }
  return max;
}

/**
 * Largest |x| of an array (0 when empty).
 *
 * @example
 * ```ts
 * import { maxAbs } from "./host.ts";
 * console.log(maxAbs([-3, 2])); // 3
 * ```
 */
export function maxAbs(a: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]));
  return max;
}
