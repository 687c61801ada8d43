/**
 * Shape arithmetic: element counts, strides, broadcasting and dimension normalisation.
 *
 * @module
 */
import { ShapeError } from "../errors.ts";

/** A tensor shape: sizes of each dimension, outermost first. */
export type Shape = readonly number[];

/**
 * Number of elements of `shape` (1 for a scalar `[]`).
 *
 * @example
 * ```ts
 * import { numel } from "./shape.ts";
 * console.log(numel([2, 3, 4])); // 24
 * ```
 */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Row-major strides of `shape`, in elements.
 *
 * @example
 * ```ts
 * import { stridesOf } from "./shape.ts";
 * console.log(stridesOf([2, 3, 4])); // [12, 4, 1]
 * ```
 */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/**
 * Checks that `shape` is a list of non-negative integers; `what` names it in the error.
 *
 * @example
 * ```ts
 * import { checkShape } from "./shape.ts";
 * checkShape([2, 3], "zeros"); // ok
 * ```
 */
export function checkShape(shape: Shape, what: string): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new RangeError(
      `Cannot create ${what} with shape ${JSON.stringify(shape)}: ` +
        `sizes must be non-negative integers`,
    );
  }
}

/**
 * Normalises a possibly negative dimension index for a tensor of `rank` dimensions.
 *
 * @example
 * ```ts
 * import { normalizeDim } from "./shape.ts";
 * console.log(normalizeDim(-1, 3, "sum")); // 2
 * ```
 */
export function normalizeDim(dim: number, rank: number, op: string): number {
  const d = dim < 0 ? dim + rank : dim;
  if (!Number.isInteger(d) || d < 0 || d >= Math.max(rank, 1)) {
    throw new RangeError(`Cannot ${op} over dim ${dim}: the tensor has ${rank} dimensions`);
  }
  return d;
}

/**
 * The broadcast shape of `a` and `b` (numpy rules), or a {@link ShapeError} naming `op`.
 *
 * @example
 * ```ts
 * import { broadcastShapes } from "./shape.ts";
 * console.log(broadcastShapes([4, 1, 3], [2, 3], "add")); // [4, 2, 3]
 * ```
 */
export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(op, a, b, `dimension ${i} of the broadcast (${da} vs ${db}) differs`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides to read a tensor of shape `from` as if it had the (broadcast) shape `to`: 0 on
 * broadcast dimensions.
 *
 * @example
 * ```ts
 * import { broadcastStrides } from "./shape.ts";
 * console.log(broadcastStrides([3], [2, 3])); // [0, 1]
 * ```
 */
export function broadcastStrides(from: Shape, to: Shape): number[] {
  const strides = stridesOf(from);
  const out = new Array<number>(to.length).fill(0);
  for (let i = 0; i < from.length; i++) {
    const j = to.length - from.length + i;
    out[j] = from[i] === 1 ? 0 : strides[i];
  }
  return out;
}

/**
 * True when both shapes are equal.
 *
 * @example
 * ```ts
 * import { sameShape } from "./shape.ts";
 * console.log(sameShape([2, 3], [2, 3])); // true
 * ```
 */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Formats a shape as `[2, 3]` for error messages.
 *
 * @example
 * ```ts
 * import { formatShape } from "./shape.ts";
 * console.log(formatShape([2, 3])); // "[2, 3]"
 * ```
 */
export function formatShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}
