/**
 * Encoders for `shaders/ops/elementwise.wgsl`, without autograd: the building blocks of the
 * elementwise, movement and reduction ops and of optimiser updates. Inputs are assumed valid;
 * the public ops check shapes first.
 *
 * @module
 */
import { grid, Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import { broadcastStrides, type Shape, stridesOf } from "../tensor/shape.ts";
import { Tensor } from "../tensor/tensor.ts";

/** Unary op codes of elementwise.wgsl. */
export const UNARY = {
  affine: 0,
  exp: 1,
  log: 2,
  sqrt: 3,
  relu: 4,
  square: 5,
  abs: 6,
  sign: 7,
} as const;

/** Binary op codes of elementwise.wgsl. */
export const BINARY = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  reluBackward: 4,
  axpy: 5,
  maximum: 6,
  mulAffine: 7,
  axpby: 8,
} as const;

const MAX_RANK = 8;
const WORKGROUP_SIZE = 256;

/** Layout of one operand of a strided dispatch. */
export interface StridedOperand {
  /** The tensor read or written. */
  tensor: Tensor;
  /** Element offset of the first element. */
  offset?: number;
  /** Element strides over the iteration shape (0 broadcasts). */
  strides: readonly number[];
}

function header(n: number, rank: number, alpha: number, beta: number): Params {
  return new Params().u32(n, rank).f32(alpha, beta);
}

/**
 * The full Params struct (uniform bindings must cover it) for a contiguous dispatch; `rows` and
 * `run` go to shape[0].x/.y for binary_rows_vec4 and binary_runs_vec4.
 */
function contiguousParams(n: number, alpha: number, beta: number, rows = 0, run = 0): Params {
  return header(n, 0, alpha, beta).u32(0, 0, 0, 0).u32Array([rows, run], 2).u32Array([], 2)
    .u32Array([], 2).u32Array([], 2).f32Array([], 2);
}

/** True when `shape` (leading 1s dropped) is a suffix of `outShape`: it repeats along the rest. */
function isRowOf(shape: Shape, outShape: Shape): boolean {
  const first = shape.findIndex((d) => d !== 1);
  const row = first < 0 ? [] : shape.slice(first);
  const tail = outShape.slice(outShape.length - row.length);
  return row.length <= outShape.length && row.every((d, i) => d === tail[i]);
}

/**
 * The run length when `shape` (trailing 1s dropped) is a prefix of `outShape`: each of its
 * elements covers that many consecutive output elements. 0 otherwise.
 */
function runOf(shape: Shape, outShape: Shape): number {
  let last = shape.length;
  while (last > 0 && shape[last - 1] === 1) last--;
  const offset = outShape.length - shape.length;
  if (offset < 0) return 0;
  for (let d = 0; d < offset; d++) if (outShape[d] !== 1) return 0;
  for (let d = 0; d < last; d++) if (shape[d] !== outShape[offset + d]) return 0;
  return outShape.slice(offset + last).reduce((p, d) => p * d, 1);
}

function dispatch1d(
  out: Tensor,
  entry: string,
  op: number,
  bindings: (GPUBufferBinding | undefined)[],
  params: Params,
  n: number,
  constants: Record<string, number> = {},
): void {
  const gpu = out.gpu;
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(SHADERS.ops.elementwise, entry, { OP: op, ...constants }),
    bindings,
    params: params.bytes(),
    workgroups: grid(n, WORKGROUP_SIZE, gpu.limits.maxComputeWorkgroupsPerDimension),
  });
}

/**
 * A contiguous dispatch of `entry` over n elements: the `_vec4` entry point (four elements per
 * invocation, ~2.5–3× the bandwidth on lavapipe) when n is a multiple of 4, else the scalar one.
 */
function dispatchContiguous(
  out: Tensor,
  entry: "unary" | "binary_same" | "binary_inplace",
  op: number,
  bindings: (GPUBufferBinding | undefined)[],
  n: number,
  alpha: number,
  beta: number,
): void {
  const units = n % 4 === 0 ? n / 4 : n;
  const name = n % 4 === 0 ? `${entry}_vec4` : entry;
  dispatch1d(out, name, op, bindings, contiguousParams(units, alpha, beta), units);
}

/**
 * `out = f(x)` elementwise into a new tensor of x's shape.
 *
 * @example
 * ```ts ignore
 * import { runUnary, UNARY } from "./strided.ts";
 * const y = runUnary(x, UNARY.affine, 2, 1); // 2x + 1
 * ```
 */
export function runUnary(x: Tensor, op: number, alpha = 1, beta = 0): Tensor<"f32"> {
  const out = Tensor.empty(x.gpu, x.shape, "f32");
  if (out.size === 0) return out;
  dispatchContiguous(out, "unary", op, [x.binding, undefined, out.binding], x.size, alpha, beta);
  return out;
}

/**
 * `out = g(a, b)` with numpy broadcasting into a new tensor of shape `outShape`.
 *
 * @example
 * ```ts ignore
 * import { BINARY, runBinary } from "./strided.ts";
 * const c = runBinary(a, b, BINARY.add, [2, 3]);
 * ```
 */
export function runBinary(
  a: Tensor,
  b: Tensor,
  op: number,
  outShape: Shape,
  alpha = 1,
  beta = 0,
): Tensor<"f32"> {
  const out = Tensor.empty(a.gpu, outShape, "f32");
  if (out.size === 0) return out;
  const bindings = [a.binding, b.binding, out.binding];
  if (a.size === out.size && b.size === out.size) {
    dispatchContiguous(out, "binary_same", op, bindings, out.size, alpha, beta);
    return out;
  }
  // One operand full, the other repeated along the leading dims, whole vec4s: no index math.
  const rowsInA = b.size === out.size;
  const rows = rowsInA ? a : b;
  if ((rowsInA || a.size === out.size) && rows.size % 4 === 0 && isRowOf(rows.shape, outShape)) {
    const params = contiguousParams(out.size / 4, alpha, beta, rows.size / 4);
    dispatch1d(out, "binary_rows_vec4", op, bindings, params, out.size / 4, {
      ROWS_IN_A: Number(rowsInA),
    });
    return out;
  }
  // ... or each of its elements repeated over a run of whole vec4s (a per-sample scale).
  const run = rowsInA || a.size === out.size ? runOf(rows.shape, outShape) : 0;
  if (run > 0 && run % 4 === 0) {
    const params = contiguousParams(out.size / 4, alpha, beta, 0, run);
    const fullFirst = rowsInA ? [b.binding, a.binding, out.binding] : bindings;
    dispatch1d(out, "binary_runs_vec4", op, fullFirst, params, out.size / 4, {
      ROWS_IN_A: Number(rowsInA),
    });
    return out;
  }
  runStrided(
    op,
    outShape,
    { tensor: out, strides: stridesOf(outShape) },
    { tensor: a, strides: broadcastStrides(a.shape, outShape) },
    { tensor: b, strides: broadcastStrides(b.shape, outShape) },
    alpha,
    beta,
  );
  return out;
}

/**
 * `target = g(target, b)` in place (same element count), e.g. `axpy` for SGD. Not recorded by
 * autograd.
 *
 * @example
 * ```ts ignore
 * import { BINARY, runBinaryInPlace } from "./strided.ts";
 * runBinaryInPlace(param, grad, BINARY.axpy, -lr); // param -= lr * grad
 * ```
 */
export function runBinaryInPlace(target: Tensor, b: Tensor, op: number, alpha = 1, beta = 0): void {
  if (target.size === 0) return;
  const bindings = [undefined, b.binding, target.binding];
  dispatchContiguous(target, "binary_inplace", op, bindings, target.size, alpha, beta);
}

/**
 * The general strided form: for every coordinate of `shape`, `out[io] = f(a[ia])` (no `b`) or
 * `g(a[ia], b[ib])`, each index `offset + Σ coord·stride`. Covers broadcast, expand, permute,
 * slice and concat; the caller owns the output.
 *
 * @example
 * ```ts ignore
 * import { runStrided, UNARY } from "./strided.ts";
 * // transpose a [2, 3] tensor x into out [3, 2]
 * runStrided(UNARY.affine, [3, 2], { tensor: out, strides: [2, 1] }, { tensor: x, strides: [1, 3] });
 * ```
 */
export function runStrided(
  op: number,
  shape: Shape,
  out: StridedOperand,
  a: StridedOperand,
  b?: StridedOperand,
  alpha = 1,
  beta = 0,
): void {
  let n = 1;
  for (const d of shape) n *= d;
  if (n === 0) return;
  const operands = b ? [a, b, out] : [a, out];
  const merged = coalesce(shape, operands.map((o) => o.strides));
  const vec4 = isVec4Run(merged, operands);
  const [dims, strides] = vec4 ? perVec4(merged) : merged;
  if (dims.length > MAX_RANK) {
    throw new RangeError(
      `Cannot run a strided kernel over rank ${dims.length} (${shape.length} before merging ` +
        `contiguous dims): at most ${MAX_RANK}`,
    );
  }
  const scale = vec4 ? 4 : 1;
  const count = n / scale;
  const [aStrides, bStrides, outStrides] = b ? strides : [strides[0], [], strides[1]];
  const params = header(count, dims.length, alpha, beta)
    .u32((a.offset ?? 0) / scale, (b?.offset ?? 0) / scale, (out.offset ?? 0) / scale, 0)
    .u32Array(dims, 2)
    .u32Array(aStrides, 2)
    .u32Array(bStrides, 2)
    .u32Array(outStrides, 2)
    .f32Array(dims.map((d) => 1 / d), 2);
  const bindings = [a.tensor.binding, b?.tensor.binding, out.tensor.binding];
  // Below 2^23 every index is exact in f32, so the reciprocal division is exact after correction.
  const constants = { RANK: dims.length, FAST_DIV: Number(count <= 2 ** 23) };
  const entry = b ? "binary_strided" : "unary_strided";
  dispatch1d(out.tensor, vec4 ? `${entry}_vec4` : entry, op, bindings, params, count, constants);
}

/**
 * `shape` without its size-1 dims and with each dim merged into the one before it where every
 * operand steps over both as over one (stride[d] = stride[d + 1] · shape[d + 1]): a slice of
 * [B, N, D] along N copies B runs of N·D, not B·N rows of D. Returns [shape, strides per operand].
 */
function coalesce(shape: Shape, strides: readonly (readonly number[])[]): [number[], number[][]] {
  const dims: number[] = [];
  const out: number[][] = strides.map(() => []);
  shape.forEach((size, d) => {
    if (size === 1) return;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, i) => out[i][last] === s[d] * size)) {
      dims[last] *= size;
      strides.forEach((s, i) => out[i][last] = s[d]);
      return;
    }
    dims.push(size);
    strides.forEach((s, i) => out[i].push(s[d]));
  });
  if (dims.length === 0) {
    dims.push(1);
    out.forEach((s) => s.push(0));
  }
  return [dims, out];
}

/**
 * True when the innermost dim is a contiguous run of whole vec4s in every operand (stride 1, a
 * multiple of 4 long, every other stride and offset a multiple of 4, each tensor whole vec4s):
 * the `_vec4` strided entry points then move four elements per index computation.
 */
function isVec4Run([dims, strides]: [number[], number[][]], operands: StridedOperand[]): boolean {
  const last = dims.length - 1;
  return last >= 0 && dims[last] % 4 === 0 &&
    operands.every((o, i) =>
      strides[i][last] === 1 && strides[i].every((s, d) => d === last || s % 4 === 0) &&
      (o.offset ?? 0) % 4 === 0 && o.tensor.size % 4 === 0
    );
}

/** The coalesced iteration in vec4 units: the innermost dim and every stride divided by 4. */
function perVec4([dims, strides]: [number[], number[][]]): [number[], number[][]] {
  const last = dims.length - 1;
  return [
    dims.map((d, i) => (i === last ? d / 4 : d)),
    strides.map((s) => s.map((v, i) => (i === last ? 1 : v / 4))),
  ];
}
