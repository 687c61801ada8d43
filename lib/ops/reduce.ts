/**
 * Reductions: `sum`, `mean` over dims (with `keepdim`), `sumTo` (undo broadcasting) and
 * `sumOfSquares` (for global norms). The WGSL is `shaders/ops/reduce.wgsl`.
 *
 * @module
 */
import { defineOp, type Op } from "../autograd/define_op.ts";
import { grid, Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import type { HostTensor } from "../tensor/host.ts";
import { formatShape, normalizeDim, numel, type Shape } from "../tensor/shape.ts";
import { Tensor } from "../tensor/tensor.ts";
import { expand } from "./movement.ts";

const PRE = { identity: 0, square: 1, abs: 2 } as const;
const WORKGROUP_SIZE = 256;

/** Row length from which fewer than 64 rows are summed in two passes (reduceLongRows). */
const LONG_ROW = 8192;

/**
 * Sums axis `dim` of `x` (after `pre`), times `alpha`; the axis is removed. Contiguous rows
 * (inner = 1): a few long ones in two passes, else a workgroup per row on GPUs (and for fewer
 * than 64 rows on CPU adapters, where barriers are coroutine switches), else a thread per row.
 * Columns (inner > 1): a thread per column, four at a time when inner % 4 = 0.
 */
function reduceAxis(x: Tensor, dim: number, alpha: number, pre: number): Tensor<"f32"> {
  const outer = numel(x.shape.slice(0, dim));
  const n = x.shape[dim];
  const inner = numel(x.shape.slice(dim + 1));
  const outShape = [...x.shape.slice(0, dim), ...x.shape.slice(dim + 1)];
  if (inner === 1 && outer < 64 && n >= LONG_ROW) {
    return reshapeResult(reduceLongRows(x, outer, n, alpha, pre), outShape);
  }
  const out = Tensor.empty(x.gpu, outShape, "f32");
  if (out.size === 0) return out;
  const gpu = x.gpu;
  const software = gpu.adapter.info.isFallbackAdapter ?? false;
  const byRows = inner === 1 && n >= 64 && (!software || outer < 64);
  if (inner === 1 && !byRows) sumParts(x, out, outer, n, 1, alpha, pre);
  else if (inner % 4 === 0) sumColumns(x, out, outer, n, inner, alpha, pre);
  else {
    const maxPerDim = gpu.limits.maxComputeWorkgroupsPerDimension;
    gpu.stream.dispatch({
      kernel: gpu.kernels.get(SHADERS.ops.reduce, byRows ? "sum_rows" : "sum_strided", {
        PRE: pre,
      }),
      bindings: [x.binding, out.binding],
      params: new Params().u32(outer, n, inner).f32(alpha).u32(1).bytes(),
      workgroups: byRows
        ? grid(outer, 1, maxPerDim)
        : grid(outer * inner, WORKGROUP_SIZE, maxPerDim),
    });
  }
  return out;
}

/**
 * Encodes out[row, p] = alpha · Σ pre(x[row, p + j·parts]) for `outer` contiguous rows of `n`
 * (`sum_partials`, on vec4s when rows are whole vec4s): one thread per part of a row.
 */
function sumParts(
  x: Tensor,
  out: Tensor,
  outer: number,
  n: number,
  parts: number,
  alpha: number,
  pre: number,
): void {
  const gpu = x.gpu;
  const entry = n % 4 === 0 ? "sum_partials_vec4" : "sum_partials";
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(SHADERS.ops.reduce, entry, { PRE: pre }),
    bindings: [x.binding, out.binding],
    params: new Params().u32(outer, n, parts).f32(alpha).u32(1).bytes(),
    workgroups: grid(outer * parts, WORKGROUP_SIZE, gpu.limits.maxComputeWorkgroupsPerDimension),
  });
}

/** Threads from which a column sum runs in one pass (below, rows are split into parts). */
const COLUMN_THREADS = 2048;

/**
 * Encodes out[o, i] = alpha · Σ_k pre(x[o, k, i]) for inner % 4 = 0, four columns per thread
 * (`sum_strided_vec4`). With fewer than {@link COLUMN_THREADS} such threads (a bias gradient,
 * [tokens, D] → [D]) the rows are first summed in interleaved parts, then the parts.
 */
function sumColumns(
  x: Tensor,
  out: Tensor,
  outer: number,
  n: number,
  inner: number,
  alpha: number,
  pre: number,
): void {
  const gpu = x.gpu;
  const threads = (outer * inner) / 4;
  const parts = threads >= COLUMN_THREADS
    ? 1
    : Math.min(Math.ceil(COLUMN_THREADS / threads), Math.ceil(n / 32));
  const partial = parts > 1 ? Tensor.empty(gpu, [outer, parts, inner], "f32") : out;
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(SHADERS.ops.reduce, "sum_strided_vec4", { PRE: pre }),
    bindings: [x.binding, partial.binding],
    params: new Params().u32(outer, n, inner).f32(parts > 1 ? 1 : alpha).u32(parts).bytes(),
    workgroups: grid(threads * parts, WORKGROUP_SIZE, gpu.limits.maxComputeWorkgroupsPerDimension),
  });
  if (parts === 1) return;
  sumColumns(partial, out, outer, parts, inner, alpha, PRE.identity);
  partial.dispose();
}

/**
 * Sums `outer` (< 64) contiguous rows of `n` ≥ {@link LONG_ROW} values in two passes: 1024
 * interleaved parts per row, then the parts of each row. A single workgroup (or thread) per row
 * would leave all but a few cores idle: full sums, global norms.
 */
function reduceLongRows(
  x: Tensor,
  outer: number,
  n: number,
  alpha: number,
  pre: number,
): Tensor<"f32"> {
  const parts = Math.min(1024, Math.ceil(n / 1024));
  const partial = Tensor.empty(x.gpu, [outer, parts], "f32");
  sumParts(x, partial, outer, n, parts, 1, pre);
  const out = reduceAxis(partial, 1, alpha, PRE.identity);
  partial.dispose();
  return out;
}

function normalizeDims(
  dims: number | readonly number[] | undefined,
  rank: number,
  op: string,
): number[] {
  if (dims === undefined) return Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const list = typeof dims === "number" ? [dims] : [...dims];
  const normalized = [...new Set(list.map((d) => normalizeDim(d, rank, op)))];
  return normalized.sort((a, b) => b - a);
}

/**
 * Reduces `dims` (highest first, so lower indices stay valid), freeing intermediates. Adjacent
 * reduced dims are merged into one first: a full sum is one pass over one long row.
 */
function reduceDims(x: Tensor, dims: number[], alpha: number, pre: number): Tensor<"f32"> {
  if (dims.length === 0) return reduceAxis(x.view([1, ...x.shape]), 0, alpha, pre);
  const merged: number[] = [];
  const shape: number[] = [];
  x.shape.forEach((d, i) => {
    if (dims.includes(i) && dims.includes(i - 1)) shape[shape.length - 1] *= d;
    else {
      if (dims.includes(i)) merged.unshift(shape.length);
      shape.push(d);
    }
  });
  const view = x.view(shape);
  let current: Tensor = view;
  merged.forEach((dim, i) => {
    const next = reduceAxis(current, dim, i === 0 ? alpha : 1, i === 0 ? pre : PRE.identity);
    current.dispose();
    current = next;
  });
  return current as Tensor<"f32">;
}

function keptShape(shape: Shape, dims: number[], keepdim: boolean): number[] {
  if (keepdim) return shape.map((d, i) => (dims.includes(i) ? 1 : d));
  return shape.filter((_, i) => !dims.includes(i));
}

function reshapeResult(out: Tensor<"f32">, shape: number[]): Tensor<"f32"> {
  const viewed = out.view(shape);
  out.dispose();
  return viewed;
}

function sumReference(x: HostTensor, dims: number[]): Float64Array {
  const outShape = x.shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const out = new Float64Array(numel(outShape));
  const strides = outShape.map((_, i) => numel(outShape.slice(i + 1)));
  for (let i = 0; i < x.data.length; i++) {
    let rest = i;
    let o = 0;
    for (let d = x.shape.length - 1; d >= 0; d--) {
      const c = rest % x.shape[d];
      rest = Math.floor(rest / x.shape[d]);
      if (!dims.includes(d)) o += c * strides[d];
    }
    out[o] += x.data[i];
  }
  return out;
}

/**
 * Sum over `dim` (a dim, a list, or all when omitted), like `torch.sum`.
 *
 * @example
 * ```ts ignore
 * import { sum } from "./reduce.ts";
 * const total = sum(x);              // shape []
 * const rows = sum(x, -1, true);     // [..., 1]
 * ```
 */
export const sum: Op<
  [x: Tensor, dim?: number | readonly number[], keepdim?: boolean],
  Tensor<"f32">,
  { forward: (x: HostTensor, dims: number[]) => Float64Array }
> = defineOp({
  name: "sum",
  forward(ctx, x: Tensor, dim?: number | readonly number[], keepdim?: boolean): Tensor<"f32"> {
    const dims = normalizeDims(dim, x.rank, "sum");
    ctx.saved.shape = x.shape;
    ctx.saved.kept = keptShape(x.shape, dims, true);
    return reshapeResult(
      reduceDims(x, dims, 1, PRE.identity),
      keptShape(x.shape, dims, keepdim ?? false),
    );
  },
  backward(ctx, grad) {
    const g = grad.view(ctx.saved.kept as number[]);
    const out = expand(g, ctx.saved.shape as Shape);
    g.dispose();
    return [out];
  },
  reference: {
    /** Sum over `dims` keeping them as size 1. */
    forward: (x: HostTensor, dims: number[]) => sumReference(x, dims),
  },
});

/**
 * Mean over `dim` (a dim, a list, or all when omitted), like `torch.mean`.
 *
 * @example
 * ```ts ignore
 * import { mean } from "./reduce.ts";
 * const m = mean(x, 0);
 * ```
 */
export const mean: Op<
  [x: Tensor, dim?: number | readonly number[], keepdim?: boolean],
  Tensor<"f32">,
  undefined
> = defineOp({
  name: "mean",
  forward(ctx, x: Tensor, dim?: number | readonly number[], keepdim?: boolean): Tensor<"f32"> {
    const dims = normalizeDims(dim, x.rank, "mean");
    const count = dims.reduce((n, d) => n * x.shape[d], 1);
    ctx.saved.shape = x.shape;
    ctx.saved.kept = keptShape(x.shape, dims, true);
    ctx.saved.count = count;
    const out = reduceDims(x, dims, 1 / count, PRE.identity);
    return reshapeResult(out, keptShape(x.shape, dims, keepdim ?? false));
  },
  backward(ctx, grad) {
    const g = grad.view(ctx.saved.kept as number[]);
    const out = expand(g, ctx.saved.shape as Shape, 1 / (ctx.saved.count as number));
    g.dispose();
    return [out];
  },
});

/**
 * Sums a broadcast gradient back to `shape` (the inverse of broadcasting `shape` to `x.shape`).
 * Returns a new tensor even when nothing is summed.
 *
 * @example
 * ```ts ignore
 * import { sumTo } from "./reduce.ts";
 * const gBias = sumTo(gradOut, [bias.shape[0]]); // [N, D] → [D]
 * ```
 */
export const sumTo: Op<[x: Tensor, shape: Shape], Tensor<"f32">, undefined> = defineOp({
  name: "sumTo",
  forward(ctx, x: Tensor, shape: Shape): Tensor<"f32"> {
    const offset = x.rank - shape.length;
    if (offset < 0 || shape.some((d, i) => d !== 1 && d !== x.shape[offset + i])) {
      throw new RangeError(
        `Cannot sum a tensor of shape ${formatShape(x.shape)} to ${formatShape(shape)}: ` +
          `the target does not broadcast to the source`,
      );
    }
    ctx.saved.shape = x.shape;
    const dims: number[] = [];
    for (let i = x.rank - 1; i >= 0; i--) {
      if (i < offset || (shape[i - offset] === 1 && x.shape[i] !== 1)) dims.push(i);
    }
    if (dims.length === 0) {
      return reshapeResult(reduceAxis(x.view([1, ...x.shape]), 0, 1, 0), [...shape]);
    }
    return reshapeResult(reduceDims(x, dims, 1, PRE.identity), [...shape]);
  },
  backward: (ctx, grad): Tensor[] => [expand(grad, ctx.saved.shape as Shape)],
});

/**
 * Σ x² over all elements as a scalar tensor (no gradient); `sqrt` of it is the L2 norm.
 *
 * @example
 * ```ts ignore
 * import { sumOfSquares } from "./reduce.ts";
 * const sq = sumOfSquares(grad); // shape []
 * ```
 */
export function sumOfSquares(x: Tensor): Tensor<"f32"> {
  const flat = x.view([1, x.size]);
  const out = reduceAxis(flat, 1, 1, PRE.square);
  flat.dispose();
  return reshapeResult(out, []);
}
