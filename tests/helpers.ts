// Helpers shared by the test files: seeded random host arrays, central finite differences and
// the fixture tolerance rule max|got − ref| ≤ tol · max(1, max|ref|).
import assert from "@std/assert";
import type { Rng } from "../lib/data/rng.ts";
import { type HostTensor, maxAbs, maxAbsDiff } from "../lib/tensor/host.ts";

/** Number of elements of `shape`. */
export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** `n` floats `offset + scale · N(0, 1)` drawn from `rng`. */
export function randomData(rng: Rng, n: number, scale = 1, offset = 0): Float32Array {
  return Float32Array.from({ length: n }, () => offset + scale * rng.normal());
}

/** A host tensor of `shape` with entries `std · N(0, 1)` drawn from `rng`. */
export function randomHost(
  shape: number[],
  rng: Rng,
  std = 1,
): HostTensor & { data: Float32Array } {
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = std * rng.normal();
  return { shape, data };
}

/** Asserts the fixture rule max|got − ref| ≤ tol · max(1, max|ref|). */
export function assertClose(
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  tol: number,
  what: string,
): void {
  const err = maxAbsDiff(got, ref);
  const allowed = tol * Math.max(1, maxAbs(ref));
  assert.ok(err <= allowed, `${what}: max abs err ${err} > allowed ${allowed}`);
}

/** Central differences of the scalar f at `at`, in float64. */
export function numericGrad(
  f: (v: Float64Array) => number,
  at: Float64Array,
  h = 1e-6,
): Float64Array {
  const grad = new Float64Array(at.length);
  for (let i = 0; i < at.length; i++) {
    const v = Float64Array.from(at);
    v[i] = at[i] + h;
    const up = f(v);
    v[i] = at[i] - h;
    grad[i] = (up - f(v)) / (2 * h);
  }
  return grad;
}

/** Σ a[i] · b[i]. */
export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
