/**
 * The ViT patch embedding: `im2col` (non-overlapping p×p patches to rows) and `patchEmbed`
 * (`Conv2d(C, D, kernel=p, stride=p)` as im2col + {@link linear}, flattened to tokens). The WGSL
 * is `shaders/ops/patchify.wgsl` (im2col forward, col2im backward); the matmuls are matmul.wgsl.
 *
 * @module
 */
import { defineOp, type Op } from "../autograd/define_op.ts";
import { ShapeError } from "../errors.ts";
import { grid, Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import type { HostTensor } from "../tensor/host.ts";
import type { Shape } from "../tensor/shape.ts";
import { Tensor } from "../tensor/tensor.ts";
import { linear, matmul } from "./matmul.ts";
import { sum } from "./reduce.ts";
import { runStrided, UNARY } from "./strided.ts";

const WORKGROUP_SIZE = 256;

/** Sizes of a patchified image batch. */
interface PatchGeometry {
  batch: number;
  channels: number;
  height: number;
  width: number;
  patch: number;
  gridH: number;
  gridW: number;
  /** Patches per image, N = gridH · gridW. */
  patches: number;
  /** Columns of the im2col matrix, C · p². */
  k: number;
}

/** Checks x [B, C, H, W] against patch size p; `other` is the second shape named in errors. */
function patchGeometry(x: Shape, p: number, op: string, other: Shape): PatchGeometry {
  if (!Number.isInteger(p) || p < 1) {
    throw new RangeError(`Cannot ${op} with patch size ${p}: it must be a positive integer`);
  }
  if (x.length !== 4) {
    throw new ShapeError(op, x, other, "the image must have rank 4 [B, C, H, W]");
  }
  const [batch, channels, height, width] = x;
  if (height % p !== 0) {
    throw new ShapeError(op, x, other, `height ${height} is not divisible by patch size ${p}`);
  }
  if (width % p !== 0) {
    throw new ShapeError(op, x, other, `width ${width} is not divisible by patch size ${p}`);
  }
  const gridH = height / p;
  const gridW = width / p;
  return {
    batch,
    channels,
    height,
    width,
    patch: p,
    gridH,
    gridW,
    patches: gridH * gridW,
    k: channels * p * p,
  };
}

/**
 * Encodes im2col (x → cols) or col2im (dcols → dx), sizes already checked. Both are the permutation
 * x [B, C, Hp, p, Wp, p] ↔ cols [B, Hp, Wp, C, p, p], whose patch rows are runs of p contiguous
 * floats on both sides: with p and W multiples of 4 a strided copy moves them as vec4s (1.5–2× the
 * patchify.wgsl kernel on lavapipe); otherwise that kernel, a thread per element, is faster than
 * the scalar strided copy (p = 7: 1.1–1.3×).
 */
function encodePatchify(
  entry: "im2col" | "col2im",
  src: Tensor,
  dst: Tensor,
  geo: PatchGeometry,
): void {
  if (dst.size === 0) return;
  const { batch, channels: c, height: h, width: w, patch: p, gridH, gridW } = geo;
  if (p % 4 === 0 && w % 4 === 0) {
    // Strides of x and of cols over the iteration shape [B, Hp, Wp, C, p (ky), p (kx)].
    const shape = [batch, gridH, gridW, c, p, p];
    const image = { strides: [c * h * w, p * w, p, h * w, w, 1] };
    const rows = {
      strides: [gridH * gridW * c * p * p, gridW * c * p * p, c * p * p, p * p, p, 1],
    };
    const [from, to] = entry === "im2col" ? [image, rows] : [rows, image];
    runStrided(UNARY.affine, shape, { tensor: dst, ...to }, { tensor: src, ...from });
    return;
  }
  const gpu = dst.gpu;
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(SHADERS.ops.patchify, entry),
    bindings: [src.binding, dst.binding],
    params: new Params()
      .u32(dst.size, geo.channels, geo.height, geo.width, geo.patch, geo.gridW, geo.patches, 0)
      .bytes(),
    workgroups: grid(dst.size, WORKGROUP_SIZE, gpu.limits.maxComputeWorkgroupsPerDimension),
  });
}

/** im2col of a host image: cols [B·N, C·p²] in float64. */
function im2colReference(x: HostTensor, p: number): Float64Array {
  const g = patchGeometry(x.shape, p, "im2col", [p, p]);
  const out = new Float64Array(g.batch * g.patches * g.k);
  let i = 0;
  for (let b = 0; b < g.batch; b++) {
    for (let py = 0; py < g.gridH; py++) {
      for (let px = 0; px < g.gridW; px++) {
        for (let c = 0; c < g.channels; c++) {
          for (let ky = 0; ky < p; ky++) {
            const base = ((b * g.channels + c) * g.height + py * p + ky) * g.width + px * p;
            for (let kx = 0; kx < p; kx++) out[i++] = x.data[base + kx];
          }
        }
      }
    }
  }
  return out;
}

/** col2im (the adjoint of im2col): dx [B, C, H, W] from dcols [B·N, C·p²], in float64. */
function col2imReference(dcols: HostTensor, xShape: Shape, p: number): Float64Array {
  const g = patchGeometry(xShape, p, "col2im", dcols.shape);
  const dx = new Float64Array(g.batch * g.channels * g.height * g.width);
  let i = 0;
  for (let b = 0; b < g.batch; b++) {
    for (let py = 0; py < g.gridH; py++) {
      for (let px = 0; px < g.gridW; px++) {
        for (let c = 0; c < g.channels; c++) {
          for (let ky = 0; ky < p; ky++) {
            const base = ((b * g.channels + c) * g.height + py * p + ky) * g.width + px * p;
            for (let kx = 0; kx < p; kx++) dx[base + kx] += dcols.data[i++];
          }
        }
      }
    }
  }
  return dx;
}

/** CPU reference of {@link im2col}. */
export interface Im2colReference {
  /** cols [B·N, C·p²] of x [B, C, H, W]. */
  forward: (x: HostTensor, patchSize: number) => Float64Array;
  /** dx [B, C, H, W] of dcols [B·N, C·p²]; `xShape` is x's shape. */
  backward: (dcols: HostTensor, xShape: Shape, patchSize: number) => Float64Array;
}

/**
 * Non-overlapping p×p patches of an image batch as rows: x [B, C, H, W] → cols [B·N, C·p²],
 * N = (H/p)·(W/p), row b·N + py·(W/p) + px, column c·p² + ky·p + kx (the order of
 * `Conv2d.weight.reshape(D, -1)`). Backward is col2im, a gather since patches do not overlap.
 *
 * @throws {ShapeError} when x is not rank 4 or H or W is not divisible by `patchSize`.
 * @example
 * ```ts ignore
 * import { im2col } from "./patchify.ts";
 * const cols = im2col(images, 16); // [32, 3, 224, 224] → [32·196, 768]
 * ```
 */
export const im2col: Op<[x: Tensor, patchSize: number], Tensor<"f32">, Im2colReference> = defineOp({
  name: "im2col",
  forward(ctx, x: Tensor, patchSize: number): Tensor<"f32"> {
    const geo = patchGeometry(x.shape, patchSize, "im2col", [patchSize, patchSize]);
    ctx.saved.geo = geo;
    const cols = Tensor.empty(x.gpu, [geo.batch * geo.patches, geo.k], "f32");
    encodePatchify("im2col", x, cols, geo);
    return cols;
  },
  backward(ctx, g) {
    const geo = ctx.saved.geo as PatchGeometry;
    const dx = Tensor.empty(g.gpu, [geo.batch, geo.channels, geo.height, geo.width], "f32");
    encodePatchify("col2im", g, dx, geo);
    return [dx];
  },
  reference: { forward: im2colReference, backward: col2imReference },
});

/** Gradients of the patch embedding, float64. */
export interface PatchEmbedGrads {
  /** d/dx, [B, C, H, W]. */
  dx: Float64Array;
  /** d/dweight, [D, C, p, p]. */
  dweight: Float64Array;
  /** d/dbias, [D]. */
  dbias: Float64Array;
}

/** CPU reference of {@link patchEmbed}: the convolution itself, not im2col + matmul. */
export interface PatchEmbedReference {
  /** y [B, N, D]. */
  forward: (
    x: HostTensor,
    weight: HostTensor,
    bias: HostTensor | undefined,
    patchSize: number,
  ) => Float64Array;
  /** Gradients given dy [B, N, D]. */
  backward: (
    x: HostTensor,
    weight: HostTensor,
    dy: HostTensor,
    patchSize: number,
  ) => PatchEmbedGrads;
}

/**
 * Calls `visit(xIndex, wOffset, yRow)` for every (output token, input pixel) pair of the
 * convolution: yRow = b·N + n, wOffset = c·p² + ky·p + kx.
 */
function forEachTap(
  g: PatchGeometry,
  visit: (xIndex: number, wOffset: number, yRow: number) => void,
): void {
  const p = g.patch;
  for (let b = 0; b < g.batch; b++) {
    for (let py = 0; py < g.gridH; py++) {
      for (let px = 0; px < g.gridW; px++) {
        const yRow = b * g.patches + py * g.gridW + px;
        for (let c = 0; c < g.channels; c++) {
          for (let ky = 0; ky < p; ky++) {
            for (let kx = 0; kx < p; kx++) {
              const xIndex = ((b * g.channels + c) * g.height + py * p + ky) * g.width + px * p +
                kx;
              visit(xIndex, (c * p + ky) * p + kx, yRow);
            }
          }
        }
      }
    }
  }
}

function patchEmbedReference(
  x: HostTensor,
  weight: HostTensor,
  bias: HostTensor | undefined,
  p: number,
): Float64Array {
  const g = patchGeometry(x.shape, p, "patchEmbed", weight.shape);
  const d = weight.shape[0];
  const y = new Float64Array(g.batch * g.patches * d);
  for (let row = 0; row < g.batch * g.patches; row++) {
    for (let o = 0; o < d; o++) y[row * d + o] = bias ? bias.data[o] : 0;
  }
  forEachTap(g, (xi, wo, row) => {
    const v = x.data[xi];
    for (let o = 0; o < d; o++) y[row * d + o] += weight.data[o * g.k + wo] * v;
  });
  return y;
}

function patchEmbedGradReference(
  x: HostTensor,
  weight: HostTensor,
  dy: HostTensor,
  p: number,
): PatchEmbedGrads {
  const g = patchGeometry(x.shape, p, "patchEmbed", weight.shape);
  const d = weight.shape[0];
  const dx = new Float64Array(x.data.length);
  const dweight = new Float64Array(weight.data.length);
  const dbias = new Float64Array(d);
  for (let row = 0; row < g.batch * g.patches; row++) {
    for (let o = 0; o < d; o++) dbias[o] += dy.data[row * d + o];
  }
  forEachTap(g, (xi, wo, row) => {
    const v = x.data[xi];
    let acc = 0;
    for (let o = 0; o < d; o++) {
      const gy = dy.data[row * d + o];
      acc += weight.data[o * g.k + wo] * gy;
      dweight[o * g.k + wo] += gy * v;
    }
    dx[xi] += acc;
  });
  return { dx, dweight, dbias };
}

interface PatchEmbedSaved {
  geo: PatchGeometry;
  x: Tensor;
  weight: Tensor;
  bias?: Tensor;
  /** im2col(x), kept only when the weight needs its gradient (dW = dyᵀ·cols). */
  cols?: Tensor;
  /** weight as [D, C·p²], kept only when x needs its gradient (dcols = dy·W). */
  w2?: Tensor;
}

/**
 * ViT patch embedding, `Conv2d(C, D, kernel_size=p, stride=p)` followed by
 * `.flatten(2).transpose(1, 2)` as in timm/dino `PatchEmbed`: x [B, C, H, W], weight [D, C, p, p],
 * bias [D] (or undefined) → tokens [B, N, D], N = (H/p)·(W/p), token n = py·(W/p) + px.
 * Computed as `linear(im2col(x, p), weight.reshape(D, C·p²), bias)`. The backward computes only
 * what is needed: the image usually needs no gradient, which saves the dy·W product and col2im.
 *
 * @throws {ShapeError} naming x's and weight's shapes when x is not [B, C, H, W], weight is not
 *   [D, C, p, p], bias is not [D], or H or W is not divisible by `patchSize`.
 * @example
 * ```ts ignore
 * import { patchEmbed } from "./patchify.ts";
 * const tokens = patchEmbed(images, proj.weight, proj.bias, 16); // [B, 196, 384] at 224 px
 * ```
 */
export const patchEmbed: Op<
  [x: Tensor, weight: Tensor, bias: Tensor | undefined, patchSize: number],
  Tensor<"f32">,
  PatchEmbedReference
> = defineOp({
  name: "patchEmbed",
  forward(
    ctx,
    x: Tensor,
    weight: Tensor,
    bias: Tensor | undefined,
    patchSize: number,
  ): Tensor<"f32"> {
    const geo = patchGeometry(x.shape, patchSize, "patchEmbed", weight.shape);
    const [d, c, kh, kw] = weight.shape;
    if (weight.rank !== 4 || c !== geo.channels || kh !== patchSize || kw !== patchSize) {
      throw new ShapeError(
        "patchEmbed",
        x.shape,
        weight.shape,
        `weight must have shape [D, ${geo.channels}, ${patchSize}, ${patchSize}]`,
      );
    }
    if (bias && (bias.rank !== 1 || bias.shape[0] !== d)) {
      throw new ShapeError("patchEmbed", weight.shape, bias.shape, `bias must have shape [${d}]`);
    }
    const cols = Tensor.empty(x.gpu, [geo.batch * geo.patches, geo.k], "f32");
    encodePatchify("im2col", x, cols, geo);
    const w2 = weight.view([d, geo.k]);
    const y2 = linear(cols, w2, bias);
    const y = y2.view([geo.batch, geo.patches, d]);
    y2.dispose();
    const saved: PatchEmbedSaved = { geo, x, weight, bias };
    if (ctx.needsGrad && weight.requiresGrad) saved.cols = cols;
    else cols.dispose();
    if (ctx.needsGrad && x.requiresGrad) saved.w2 = w2;
    else w2.dispose();
    ctx.saved.args = saved;
    return y;
  },
  backward(ctx, g) {
    const { geo, x, weight, bias, cols, w2 } = ctx.saved.args as PatchEmbedSaved;
    const d = weight.shape[0];
    const g2 = g.view([geo.batch * geo.patches, d]);
    let dx: Tensor | null = null;
    if (x.requiresGrad && w2) {
      const dcols = matmul(g2, w2);
      dx = Tensor.empty(g.gpu, x.shape, "f32");
      encodePatchify("col2im", dcols, dx, geo);
      dcols.dispose();
      w2.dispose();
    }
    let dweight: Tensor | null = null;
    if (weight.requiresGrad && cols) {
      const dw2 = matmul(g2, cols, { transposeA: true });
      dweight = dw2.view(weight.shape);
      dw2.dispose();
      cols.dispose();
    }
    const dbias = bias?.requiresGrad ? sum(g2, 0) : null;
    g2.dispose();
    return bias ? [dx, dweight, dbias] : [dx, dweight];
  },
  reference: { forward: patchEmbedReference, backward: patchEmbedGradReference },
});
