/**
 * Movement: `reshape` (no copy), `expand`, `permute`, `transpose`, `slice`, `concat`, `chunk`.
 * All copies are one strided dispatch of `shaders/ops/elementwise.wgsl`, except a swap of the last
 * two dims of multiples of 4, which moves 4×4 blocks (`shaders/ops/transpose.wgsl`).
 *
 * @module
 */
import { defineOp, type Op } from "../autograd/define_op.ts";
import { ShapeError } from "../errors.ts";
import { grid, Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import {
  broadcastStrides,
  formatShape,
  normalizeDim,
  numel,
  type Shape,
  stridesOf,
} from "../tensor/shape.ts";
import { zeros } from "../tensor/create.ts";
import { Tensor } from "../tensor/tensor.ts";
import { sumTo } from "./reduce.ts";
import { runStrided, UNARY } from "./strided.ts";

/**
 * Same elements, another shape (one size may be -1); shares memory, like `torch.reshape` on a
 * contiguous tensor.
 *
 * @example
 * ```ts ignore
 * import { reshape } from "./movement.ts";
 * const y = reshape(x, [2, -1]);
 * ```
 */
export const reshape: Op<[x: Tensor, shape: Shape], Tensor, undefined> = defineOp({
  name: "reshape",
  dtypes: "any",
  forward(ctx, x: Tensor, shape: Shape): Tensor {
    const known = shape.filter((d) => d !== -1);
    const inferred = shape.length - known.length === 1 ? x.size / Math.max(1, numel(known)) : null;
    const target = shape.map((d) => (d === -1 ? inferred ?? -1 : d));
    if (numel(target) !== x.size || target.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new ShapeError("reshape", x.shape, shape, `${x.size} elements cannot take that shape`);
    }
    ctx.saved.shape = x.shape;
    return x.view(target);
  },
  backward: (ctx, grad) => [grad.view(ctx.saved.shape as Shape)],
});

/**
 * Broadcasts `x` to `shape` (a copy), times `alpha`. Its backward sums back with `sumTo`.
 *
 * @example
 * ```ts ignore
 * import { expand } from "./movement.ts";
 * const rows = expand(bias, [8, bias.shape[0]]);
 * ```
 */
export const expand: Op<[x: Tensor, shape: Shape, alpha?: number], Tensor<"f32">, undefined> =
  defineOp({
    name: "expand",
    forward(ctx, x: Tensor, shape: Shape, alpha?: number): Tensor<"f32"> {
      const offset = shape.length - x.rank;
      if (offset < 0 || x.shape.some((d, i) => d !== 1 && d !== shape[offset + i])) {
        throw new ShapeError(
          "expand",
          x.shape,
          shape,
          "only size-1 or missing dimensions broadcast",
        );
      }
      ctx.saved.shape = x.shape;
      ctx.saved.alpha = alpha ?? 1;
      const out = Tensor.empty(x.gpu, shape, "f32");
      runStrided(
        UNARY.affine,
        shape,
        { tensor: out, strides: stridesOf(shape) },
        { tensor: x, strides: broadcastStrides(x.shape, shape) },
        undefined,
        alpha ?? 1,
      );
      return out;
    },
    backward(ctx, grad): Tensor[] {
      const summed: Tensor<"f32"> = sumTo(grad, ctx.saved.shape as Shape);
      if (ctx.saved.alpha === 1) return [summed];
      const scaled = Tensor.empty(grad.gpu, summed.shape, "f32");
      runStrided(
        UNARY.affine,
        summed.shape,
        { tensor: scaled, strides: stridesOf(summed.shape) },
        { tensor: summed, strides: stridesOf(summed.shape) },
        undefined,
        ctx.saved.alpha as number,
      );
      summed.dispose();
      return [scaled];
    },
  });

/**
 * Reorders dimensions (a copy), like `torch.permute`.
 *
 * @example
 * ```ts ignore
 * import { permute } from "./movement.ts";
 * const y = permute(x, [0, 2, 1, 3]); // [B, N, H, hd] → [B, H, N, hd]
 * ```
 */
export const permute: Op<[x: Tensor, dims: readonly number[]], Tensor<"f32">, undefined> = defineOp(
  {
    name: "permute",
    forward(ctx, x: Tensor, dims: readonly number[]): Tensor<"f32"> {
      const order = dims.map((d) => normalizeDim(d, x.rank, "permute"));
      if (order.length !== x.rank || new Set(order).size !== x.rank) {
        throw new ShapeError("permute", x.shape, dims, "dims must name every dimension once");
      }
      ctx.saved.inverse = order.map((_, i) => order.indexOf(i));
      const shape = order.map((d) => x.shape[d]);
      const out = Tensor.empty(x.gpu, shape, "f32");
      if (swapsLastTwoBy4(x.shape, order)) {
        transposeBlocks(x, out);
        return out;
      }
      const inStrides = stridesOf(x.shape);
      runStrided(
        UNARY.affine,
        shape,
        { tensor: out, strides: stridesOf(shape) },
        { tensor: x, strides: order.map((d) => inStrides[d]) },
      );
      return out;
    },
    backward: (ctx, grad): Tensor[] => [permute(grad, ctx.saved.inverse as number[])],
  },
);

/** True when `order` swaps the last two dims only and both are multiples of 4. */
function swapsLastTwoBy4(shape: Shape, order: readonly number[]): boolean {
  const r = shape.length;
  if (r < 2 || shape[r - 1] % 4 !== 0 || shape[r - 2] % 4 !== 0) return false;
  return order.every((d, i) => d === (i === r - 1 ? r - 2 : i === r - 2 ? r - 1 : i));
}

/** out [..., C, R] = x [..., R, C] with the last two dims swapped, in 4×4 blocks. */
function transposeBlocks(x: Tensor, out: Tensor): void {
  if (x.size === 0) return;
  const [rows, cols] = x.shape.slice(-2);
  const batch = x.size / (rows * cols);
  const gpu = x.gpu;
  const workgroupSize = 64;
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(SHADERS.ops.transpose, "transpose_blocks", {
      WORKGROUP_SIZE: workgroupSize,
    }),
    bindings: [x.binding, out.binding],
    params: new Params().u32(batch, rows, cols, 0).bytes(),
    workgroups: grid(x.size / 16, workgroupSize, gpu.limits.maxComputeWorkgroupsPerDimension),
  });
}

/**
 * Swaps two dimensions (a copy), like `torch.transpose`.
 *
 * @example
 * ```ts ignore
 * import { transpose } from "./movement.ts";
 * const xt = transpose(x, -2, -1);
 * ```
 */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor<"f32"> {
  const order = Array.from({ length: x.rank }, (_, i) => i);
  const a = normalizeDim(dim0, x.rank, "transpose");
  const b = normalizeDim(dim1, x.rank, "transpose");
  [order[a], order[b]] = [order[b], order[a]];
  return permute(x, order);
}

/**
 * Elements `start..end-1` along `dim` (a copy), like `x.narrow(dim, start, end - start)`.
 *
 * @example
 * ```ts ignore
 * import { slice } from "./movement.ts";
 * const cls = slice(tokens, 1, 0, 1); // [B, 1, D]
 * ```
 */
export const slice: Op<
  [x: Tensor, dim: number, start: number, end: number],
  Tensor<"f32">,
  undefined
> = defineOp({
  name: "slice",
  forward(ctx, x: Tensor, dim: number, start: number, end: number): Tensor<"f32"> {
    const d = normalizeDim(dim, x.rank, "slice");
    if (
      !Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > x.shape[d] ||
      start > end
    ) {
      throw new RangeError(
        `Cannot slice [${start}, ${end}) of dim ${dim} of a tensor of shape ${
          formatShape(x.shape)
        }`,
      );
    }
    ctx.saved.args = { shape: x.shape, d, start };
    const out = Tensor.empty(x.gpu, x.shape.map((s, i) => (i === d ? end - start : s)), "f32");
    encodeNarrow(x, out, d, start);
    return out;
  },
  backward(ctx, grad) {
    const { shape, d, start } = ctx.saved.args as { shape: Shape; d: number; start: number };
    const out = zeros(shape, { gpu: grad.gpu });
    encodeWriteInto(out, grad, d, start);
    return [out];
  },
});

/**
 * Encodes `out` = the `out.shape[d]` elements of `src` from `start` along dim `d` (other dims
 * equal), without autograd: `slice`'s copy, for kernels that write into a tensor they own.
 *
 * @example
 * ```ts ignore
 * import { encodeNarrow } from "./movement.ts";
 * encodeNarrow(padded, keys, 1, 0); // keys [B, N, D] = padded [B, N + 3, D][:, :N]
 * ```
 */
export function encodeNarrow(src: Tensor, out: Tensor, d: number, start: number): void {
  const strides = stridesOf(src.shape);
  runStrided(
    UNARY.affine,
    out.shape,
    { tensor: out, strides: stridesOf(out.shape) },
    { tensor: src, strides, offset: start * strides[d] },
  );
}

/**
 * Encodes a copy of `src` into `out` from `start` along dim `d` (other dims equal; the rest of
 * `out` keeps its values), without autograd: `concat`'s copy.
 *
 * @example
 * ```ts ignore
 * import { encodeWriteInto } from "./movement.ts";
 * encodeWriteInto(padded, keys, 1, 0); // padded [B, N + 3, D][:, :N] = keys [B, N, D]
 * ```
 */
export function encodeWriteInto(out: Tensor, src: Tensor, d: number, start: number): void {
  const strides = stridesOf(out.shape);
  runStrided(
    UNARY.affine,
    src.shape,
    { tensor: out, strides, offset: start * strides[d] },
    { tensor: src, strides: stridesOf(src.shape) },
  );
}

/**
 * Joins tensors along `dim` (all other sizes equal), like `torch.cat`.
 *
 * @example
 * ```ts ignore
 * import { concat } from "./movement.ts";
 * const tokens = concat([cls, patches], 1); // [B, 1 + N, D]
 * ```
 */
export const concat: Op<[tensors: readonly Tensor[], dim: number], Tensor<"f32">, undefined> =
  defineOp({
    name: "concat",
    forward(ctx, tensors: readonly Tensor[], dim: number): Tensor<"f32"> {
      if (tensors.length === 0) throw new RangeError("Cannot concat an empty list of tensors");
      const first = tensors[0];
      const d = normalizeDim(dim, first.rank, "concat");
      for (const t of tensors) {
        if (t.rank !== first.rank || t.shape.some((s, i) => i !== d && s !== first.shape[i])) {
          throw new ShapeError("concat", first.shape, t.shape, `sizes differ outside dim ${dim}`);
        }
      }
      const sizes = tensors.map((t) => t.shape[d]);
      ctx.saved.args = { d, sizes };
      const shape = first.shape.map((s, i) => (i === d ? sizes.reduce((a, b) => a + b, 0) : s));
      const out = Tensor.empty(first.gpu, shape, "f32");
      let start = 0;
      for (const t of tensors) {
        encodeWriteInto(out, t, d, start);
        start += t.shape[d];
      }
      return out;
    },
    backward(ctx, grad): Tensor[] {
      const { d, sizes } = ctx.saved.args as { d: number; sizes: number[] };
      let start = 0;
      return sizes.map((size) => slice(grad, d, start, start += size));
    },
  });

/**
 * Splits `x` into `chunks` equal parts along `dim`, like `torch.chunk` with divisible sizes.
 *
 * @example
 * ```ts ignore
 * import { chunk } from "./movement.ts";
 * const [q, k, v] = chunk(qkv, 3, -1);
 * ```
 */
export function chunk(x: Tensor, chunks: number, dim: number): Tensor<"f32">[] {
  const d = normalizeDim(dim, x.rank, "chunk");
  if (!Number.isInteger(chunks) || chunks < 1 || x.shape[d] % chunks !== 0) {
    throw new RangeError(
      `Cannot chunk dim ${dim} of size ${x.shape[d]} into ${chunks} equal parts`,
    );
  }
  const size = x.shape[d] / chunks;
  return Array.from({ length: chunks }, (_, i) => slice(x, d, i * size, (i + 1) * size));
}
