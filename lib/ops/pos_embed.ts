/**
 * Positional-embedding resize for crops whose patch grid differs from the trained one:
 * `bicubicResize` (a [..., gh, gw] grid to [..., h, w], like `F.interpolate(mode="bicubic",
 * align_corners=False)`) and `interpolatePosEmbed` (a timm/dino `pos_embed` [1, 1 + g², D] to
 * [1, 1 + h·w, D], CLS row passed through).
 *
 * Bicubic resizing is separable and linear: `out = M_h · grid · M_wᵀ` per channel with small
 * interpolation matrices M_h [h, gh], M_w [w, gw] built on the CPU ({@link bicubicMatrix}) and
 * applied with matmul.wgsl; the backward is `dgrid = M_hᵀ · dout · M_w`, where clamped border
 * taps accumulate in the matrices themselves, so no atomics and no saved activations are needed.
 * Napkin math: 2·C·(gh·gw·w + gh·w·h) FLOPs, a few µs of GPU work at ViT sizes.
 *
 * @module
 */
import { defineOp, type Op } from "../autograd/define_op.ts";
import { ShapeError } from "../errors.ts";
import type { Gpu } from "../gpu/device.ts";
import { fromArray } from "../tensor/create.ts";
import type { HostTensor } from "../tensor/host.ts";
import { keep } from "../tensor/scope.ts";
import { numel, type Shape } from "../tensor/shape.ts";
import { Tensor } from "../tensor/tensor.ts";
import { encodeMatmul, type MatmulOptions } from "./matmul.ts";

/**
 * Where the bicubic taps sample, per axis of `in` → `out` cells:
 * - `"size"` (default; timm / DINOv2 / the fixtures): `F.interpolate(size=(h, w))`,
 *   src = (o + 0.5)·in/out − 0.5.
 * - `"dino"`: facebookresearch/dino's `interpolate_pos_encoding`, which passes
 *   `scale_factor = ((h + 0.1)/g, (w + 0.1)/g)`: src = (o + 0.5)/scale − 0.5, output size
 *   floor(g·scale) = h. Use it to reproduce released dino checkpoints at other sizes.
 */
export type PosEmbedMode = "size" | "dino";

/** The cubic convolution constant of PyTorch's bicubic (and OpenCV's). */
const A = -0.75;

/** Source indices (clamped to [0, in − 1]) and weights of the 4 taps of output cell `o`. */
function cubicTaps(
  o: number,
  inSize: number,
  outSize: number,
  mode: PosEmbedMode,
): { index: number[]; weight: number[] } {
  // PyTorch: area_pixel_compute_scale is 1/scale_factor when one is given, in/out otherwise.
  const ratio = mode === "dino" ? 1 / ((outSize + 0.1) / inSize) : inSize / outSize;
  const src = (o + 0.5) * ratio - 0.5; // not clamped for cubic (align_corners=False)
  const i = Math.floor(src);
  const t = src - i;
  const s = 1 - t;
  const weight = [
    ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A,
    ((A + 2) * t - (A + 3)) * t * t + 1,
    ((A + 2) * s - (A + 3)) * s * s + 1,
    ((A * (s + 1) - 5 * A) * (s + 1) + 8 * A) * (s + 1) - 4 * A,
  ];
  const index = [i - 1, i, i + 1, i + 2].map((j) => Math.min(Math.max(j, 0), inSize - 1));
  return { index, weight };
}

/**
 * The bicubic interpolation matrix M [outSize, inSize] (row-major, float64) of one axis:
 * `out = M · in`. Border taps are clamped, so their weights add up in the first and last columns.
 *
 * @example
 * ```ts
 * import { bicubicMatrix } from "./pos_embed.ts";
 * const m = bicubicMatrix(4, 2); // 4 cells → 2: each row sums to 1
 * console.log(m.length); // 8
 * ```
 */
export function bicubicMatrix(
  inSize: number,
  outSize: number,
  mode?: PosEmbedMode,
): Float64Array {
  const m = new Float64Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) {
    const { index, weight } = cubicTaps(o, inSize, outSize, mode ?? "size");
    for (let k = 0; k < 4; k++) m[o * inSize + index[k]] += weight[k];
  }
  return m;
}

const matrixCache = new WeakMap<Gpu, Map<string, Tensor<"f32">>>();

/** M [outSize, inSize] on the GPU, built once per device and sizes (kept out of every scope). */
function matrixOnGpu(gpu: Gpu, inSize: number, outSize: number, mode: PosEmbedMode): Tensor {
  let cache = matrixCache.get(gpu);
  if (!cache) matrixCache.set(gpu, cache = new Map());
  const key = `${inSize}>${outSize}:${mode}`;
  const cached = cache.get(key);
  if (cached && !cached.isDisposed) return cached;
  const m = keep(
    fromArray(Float32Array.from(bicubicMatrix(inSize, outSize, mode)), [outSize, inSize], { gpu }),
  );
  cache.set(key, m);
  return m;
}

/**
 * `encodeMatmul` for the resize products, where one side of the output is a grid size (≈ 2..64):
 * the register-blocked kernel computes 64×64 output tiles and would waste most of its work on
 * such shapes, so one thread per output is used there (5× faster on lavapipe at 14 → 6).
 */
function resizeMatmul(a: Tensor, b: Tensor, out: Tensor, options: MatmulOptions = {}): void {
  const [m, n] = out.shape.slice(-2);
  encodeMatmul(a, b, out, {
    ...options,
    variant: Math.min(m, n) < 64 ? "forward_naive" : "forward",
  });
}

function checkSize(op: string, h: number, w: number, shape: Shape): void {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
    throw new ShapeError(op, shape, [h, w], "the target size must be positive integers");
  }
}

/**
 * Visits the 16 taps of every output cell of a 2-D bicubic resize gh×gw → h×w:
 * `visit(outCell, inCell, weight)` with cells numbered row-major.
 */
function forEachTap2d(
  gh: number,
  gw: number,
  h: number,
  w: number,
  mode: PosEmbedMode,
  visit: (outCell: number, inCell: number, weight: number) => void,
): void {
  const cols = Array.from({ length: w }, (_, ox) => cubicTaps(ox, gw, w, mode));
  for (let oy = 0; oy < h; oy++) {
    const row = cubicTaps(oy, gh, h, mode);
    for (let ox = 0; ox < w; ox++) {
      for (let a = 0; a < 4; a++) {
        for (let b = 0; b < 4; b++) {
          visit(
            oy * w + ox,
            row.index[a] * gw + cols[ox].index[b],
            row.weight[a] * cols[ox].weight[b],
          );
        }
      }
    }
  }
}

/** CPU reference of {@link bicubicResize}, by direct 16-tap sums (no matrices). */
export interface BicubicResizeReference {
  /** out [..., h, w] of grid [..., gh, gw]. */
  forward: (grid: HostTensor, h: number, w: number, mode?: PosEmbedMode) => Float64Array;
  /** dgrid [..., gh, gw] of dout [..., h, w]. */
  backward: (
    dout: HostTensor,
    gh: number,
    gw: number,
    mode?: PosEmbedMode,
  ) => Float64Array;
}

function bicubicResizeReference(
  grid: HostTensor,
  h: number,
  w: number,
  mode?: PosEmbedMode,
): Float64Array {
  const [gh, gw] = grid.shape.slice(-2);
  const channels = numel(grid.shape.slice(0, -2));
  const out = new Float64Array(channels * h * w);
  for (let c = 0; c < channels; c++) {
    forEachTap2d(gh, gw, h, w, mode ?? "size", (o, i, wt) => {
      out[c * h * w + o] += wt * grid.data[c * gh * gw + i];
    });
  }
  return out;
}

function bicubicResizeGradReference(
  dout: HostTensor,
  gh: number,
  gw: number,
  mode?: PosEmbedMode,
): Float64Array {
  const [h, w] = dout.shape.slice(-2);
  const channels = numel(dout.shape.slice(0, -2));
  const dgrid = new Float64Array(channels * gh * gw);
  for (let c = 0; c < channels; c++) {
    forEachTap2d(gh, gw, h, w, mode ?? "size", (o, i, wt) => {
      dgrid[c * gh * gw + i] += wt * dout.data[c * h * w + o];
    });
  }
  return dgrid;
}

interface ResizeSaved {
  identity: boolean;
  shape: Shape;
  mh?: Tensor;
  mw?: Tensor;
}

/**
 * Bicubic resize of the last two dims, `F.interpolate(grid, size=(h, w), mode="bicubic",
 * align_corners=False)` (A = −0.75, border taps clamped): grid [..., gh, gw] → [..., h, w], e.g.
 * a positional-embedding grid [1, D, g, g] or [C, g, g]. In `"size"` mode an unchanged size
 * returns a view. `mode: "dino"` samples as dino's `scale_factor` call does (see
 * {@link PosEmbedMode}).
 *
 * @throws {ShapeError} when grid has rank < 2 or (h, w) are not positive integers.
 * @example
 * ```ts ignore
 * import { bicubicResize } from "./pos_embed.ts";
 * const small = bicubicResize(grid, 6, 6); // [1, 384, 14, 14] → [1, 384, 6, 6]
 * ```
 */
export const bicubicResize: Op<
  [grid: Tensor, h: number, w: number, mode?: PosEmbedMode],
  Tensor<"f32">,
  BicubicResizeReference
> = defineOp({
  name: "bicubicResize",
  forward(ctx, grid: Tensor, h: number, w: number, mode?: PosEmbedMode): Tensor<"f32"> {
    if (grid.rank < 2) {
      throw new ShapeError("bicubicResize", grid.shape, [h, w], "the grid must have rank ≥ 2");
    }
    checkSize("bicubicResize", h, w, grid.shape);
    const [gh, gw] = grid.shape.slice(-2);
    const lead = grid.shape.slice(0, -2);
    const channels = numel(lead);
    const m = mode ?? "size";
    if (m === "size" && gh === h && gw === w) {
      ctx.saved.args = { identity: true, shape: grid.shape } satisfies ResizeSaved;
      return grid.view(grid.shape) as Tensor<"f32">;
    }
    const gpu = grid.gpu;
    const mh = matrixOnGpu(gpu, gh, h, m);
    const mw = matrixOnGpu(gpu, gw, w, m);
    ctx.saved.args = { identity: false, shape: grid.shape, mh, mw } satisfies ResizeSaved;
    const out = Tensor.empty(gpu, [...lead, h, w], "f32");
    if (out.size === 0 || grid.size === 0) return out;
    // Columns first: T [C·gh, w] = grid [C·gh, gw] · M_wᵀ; then rows: out[c] = M_h · T[c].
    const g2 = grid.view([channels * gh, gw]);
    const t = Tensor.empty(gpu, [channels * gh, w], "f32");
    resizeMatmul(g2, mw, t, { transposeB: true });
    const t3 = t.view([channels, gh, w]);
    const out3 = out.view([channels, h, w]);
    resizeMatmul(mh, t3, out3);
    for (const v of [g2, t, t3, out3]) v.dispose();
    return out;
  },
  backward(ctx, g) {
    const { identity, shape, mh, mw } = ctx.saved.args as ResizeSaved;
    if (identity) return [g.view(shape)];
    const [gh, gw] = shape.slice(-2);
    const [h, w] = g.shape.slice(-2);
    const channels = numel(shape.slice(0, -2));
    const dgrid = Tensor.empty(g.gpu, shape, "f32");
    if (dgrid.size === 0 || g.size === 0) return [dgrid];
    // dT[c] = M_hᵀ · dout[c] ([gh, w]); dgrid [C·gh, gw] = dT [C·gh, w] · M_w.
    const g3 = g.view([channels, h, w]);
    const dt = Tensor.empty(g.gpu, [channels, gh, w], "f32");
    resizeMatmul(mh!, g3, dt, { transposeA: true });
    const dt2 = dt.view([channels * gh, w]);
    const dgrid2 = dgrid.view([channels * gh, gw]);
    resizeMatmul(dt2, mw!, dgrid2);
    for (const v of [g3, dt, dt2, dgrid2]) v.dispose();
    return [dgrid];
  },
  reference: { forward: bicubicResizeReference, backward: bicubicResizeGradReference },
});

/** CPU reference of {@link interpolatePosEmbed}. */
export interface InterpolatePosEmbedReference {
  /** out [1, 1 + h·w, D] of pos_embed [1, 1 + g², D]. */
  forward: (
    posEmbed: HostTensor,
    gridSize: number,
    h: number,
    w: number,
    mode?: PosEmbedMode,
  ) => Float64Array;
  /** dpos_embed [1, 1 + g², D] of dout [1, 1 + h·w, D]. */
  backward: (
    dout: HostTensor,
    gridSize: number,
    h: number,
    w: number,
    mode?: PosEmbedMode,
  ) => Float64Array;
}

function interpolateReference(
  pe: HostTensor,
  g: number,
  h: number,
  w: number,
  mode?: PosEmbedMode,
): Float64Array {
  const d = pe.shape[2];
  if (h === g && w === g) return Float64Array.from(pe.data);
  const out = new Float64Array((1 + h * w) * d);
  for (let j = 0; j < d; j++) out[j] = pe.data[j];
  forEachTap2d(g, g, h, w, mode ?? "size", (o, i, wt) => {
    for (let j = 0; j < d; j++) out[(1 + o) * d + j] += wt * pe.data[(1 + i) * d + j];
  });
  return out;
}

function interpolateGradReference(
  dout: HostTensor,
  g: number,
  h: number,
  w: number,
  mode?: PosEmbedMode,
): Float64Array {
  const d = dout.shape[2];
  if (h === g && w === g) return Float64Array.from(dout.data);
  const dpe = new Float64Array((1 + g * g) * d);
  for (let j = 0; j < d; j++) dpe[j] = dout.data[j];
  forEachTap2d(g, g, h, w, mode ?? "size", (o, i, wt) => {
    for (let j = 0; j < d; j++) dpe[(1 + i) * d + j] += wt * dout.data[(1 + o) * d + j];
  });
  return dpe;
}

/** Copies `rows` rows of `d` floats between tensors, at row offsets (a buffer copy). */
function copyRows(
  src: Tensor,
  srcRow: number,
  dst: Tensor,
  dstRow: number,
  rows: number,
  d: number,
): void {
  const bytes = rows * d * 4;
  if (bytes === 0) return;
  src.gpu.stream.copy(
    src.storage.buffer,
    srcRow * d * 4,
    dst.storage.buffer,
    dstRow * d * 4,
    bytes,
  );
}

interface PosEmbedSaved {
  identity: boolean;
  g: number;
  h: number;
  w: number;
  d: number;
  mh?: Tensor;
  mw?: Tensor;
}

/**
 * Resizes a ViT `pos_embed` [1, 1 + g², D] (row 0 the CLS embedding, then the g×g patch grid
 * row-major) to an h×w patch grid: [1, 1 + h·w, D], CLS row copied, patch rows bicubic-resized
 * as in {@link bicubicResize}. When (h, w) == (g, g) the embedding is returned unchanged (a
 * view). The default `"size"` mode matches timm / DINOv2 (and the fixtures); `"dino"` matches
 * facebookresearch/dino's `interpolate_pos_encoding` for its released checkpoints.
 *
 * @throws {ShapeError} when posEmbed is not [1, 1 + gridSize², D] or (h, w) are not positive
 *   integers.
 * @example
 * ```ts ignore
 * import { interpolatePosEmbed } from "./pos_embed.ts";
 * const local = interpolatePosEmbed(posEmbed, 14, 6, 6); // [1, 197, 384] → [1, 37, 384]
 * ```
 */
export const interpolatePosEmbed: Op<
  [posEmbed: Tensor, gridSize: number, h: number, w: number, mode?: PosEmbedMode],
  Tensor<"f32">,
  InterpolatePosEmbedReference
> = defineOp({
  name: "interpolatePosEmbed",
  forward(
    ctx,
    posEmbed: Tensor,
    gridSize: number,
    h: number,
    w: number,
    mode?: PosEmbedMode,
  ): Tensor<"f32"> {
    const g = gridSize;
    const d = posEmbed.shape[2] ?? 0;
    if (
      !Number.isInteger(g) || g < 1 || posEmbed.rank !== 3 || posEmbed.shape[0] !== 1 ||
      posEmbed.shape[1] !== 1 + g * g
    ) {
      throw new ShapeError(
        "interpolatePosEmbed",
        posEmbed.shape,
        [1, 1 + g * g, d],
        `pos_embed must hold a CLS row and a ${g}×${g} grid of patch rows`,
      );
    }
    checkSize("interpolatePosEmbed", h, w, posEmbed.shape);
    if (h === g && w === g) {
      ctx.saved.args = { identity: true, g, h, w, d } satisfies PosEmbedSaved;
      return posEmbed.view(posEmbed.shape) as Tensor<"f32">;
    }
    const m = mode ?? "size";
    const gpu = posEmbed.gpu;
    const mh = matrixOnGpu(gpu, g, h, m);
    const mw = matrixOnGpu(gpu, g, w, m);
    ctx.saved.args = { identity: false, g, h, w, d, mh, mw } satisfies PosEmbedSaved;
    const out = Tensor.empty(gpu, [1, 1 + h * w, d], "f32");
    if (d === 0) return out;
    // Channels last, so no permutes: rows R [h, g·D] = M_h · P [g, g·D], then per output row
    // Q[oy] [w, D] = M_w · R[oy] [g, D] (one batched matmul, M_w broadcast over oy).
    const patches = Tensor.empty(gpu, [g, g * d], "f32");
    copyRows(posEmbed, 1, patches, 0, g * g, d);
    const rows = Tensor.empty(gpu, [h, g * d], "f32");
    resizeMatmul(mh, patches, rows);
    const rows3 = rows.view([h, g, d]);
    const resized = Tensor.empty(gpu, [h, w, d], "f32");
    resizeMatmul(mw, rows3, resized);
    copyRows(posEmbed, 0, out, 0, 1, d);
    copyRows(resized, 0, out, 1, h * w, d);
    for (const v of [patches, rows, rows3, resized]) v.dispose();
    return out;
  },
  backward(ctx, grad) {
    const { identity, g, h, w, d, mh, mw } = ctx.saved.args as PosEmbedSaved;
    if (identity) return [grad.view(grad.shape)];
    const gpu = grad.gpu;
    const dpe = Tensor.empty(gpu, [1, 1 + g * g, d], "f32");
    if (d === 0) return [dpe];
    // dR[oy] [g, D] = M_wᵀ · dQ[oy]; dP [g, g·D] = M_hᵀ · dR [h, g·D].
    const dresized = Tensor.empty(gpu, [h, w, d], "f32");
    copyRows(grad, 1, dresized, 0, h * w, d);
    const drows = Tensor.empty(gpu, [h, g, d], "f32");
    resizeMatmul(mw!, dresized, drows, { transposeA: true });
    const drows2 = drows.view([h, g * d]);
    const dpatches = Tensor.empty(gpu, [g, g * d], "f32");
    resizeMatmul(mh!, drows2, dpatches, { transposeA: true });
    copyRows(grad, 0, dpe, 0, 1, d);
    copyRows(dpatches, 0, dpe, 1, g * g, d);
    for (const v of [dresized, drows, drows2, dpatches]) v.dispose();
    return [dpe];
  },
  reference: { forward: interpolateReference, backward: interpolateGradReference },
});
