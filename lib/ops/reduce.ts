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

/** Sums axis `dim` of `x` (after `pre`), times `alpha`; the axis is removed. */
function reduceAxis(x: Tensor, dim: number, alpha: number, pre: number): Tensor<"f32"> {
  const outer = numel(x.shape.slice(0, dim));
  const n = x.shape[dim];
  const inner = numel(x.shape.slice(dim + 1));
  const outShape = [...x.shape.slice(0, dim), ...x.shape.slice(dim + 1)];
  const out = Tensor.empty(x.gpu, outShape, "f32");
  if (out.size === 0) return out;
  const gpu = x.gpu;
  const maxPerDim = gpu.limits.maxComputeWorkgroupsPerDimension;
  // A workgroup per row pays off on GPUs when rows are long and few threads would otherwise
  // work; CPU adapters run each barrier as a coroutine switch, so there a thread per row wins
  // unless there are too few rows to occupy the cores.
  const software = gpu.adapter.info.isFallbackAdapter ?? false;
  const byRows = inner === 1 && n >= 64 && (!software || outer < 64);
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(SHADERS.ops.reduce, byRows ? "sum_rows" : "sum_strided", { PRE: pre }),
    bindings: [x.binding, out.binding],
    params: new Params().u32(outer, n, inner).f32(alpha).bytes(),
    workgroups: byRows ? grid(outer, 1, maxPerDim) : grid(outer * inner, WORKGROUP_SIZE, maxPerDim),
  });
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

/** Reduces `dims` (highest first, so lower indices stay valid), freeing intermediates. */
function reduceDims(x: Tensor, dims: number[], alpha: number, pre: number): Tensor<"f32"> {
  if (dims.length === 0) return reduceAxis(x.view([1, ...x.shape]), 0, alpha, pre);
  let current: Tensor = x;
  dims.forEach((dim, i) => {
    const next = reduceAxis(current, dim, i === 0 ? alpha : 1, i === 0 ? pre : PRE.identity);
    if (current !== x) current.dispose();
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
