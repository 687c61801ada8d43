/**
 * Normalisations over the last dim: `layerNorm` (the ViT's LayerNorm, saving mean and rstd for
 * its backward) and `l2normalize` (`F.normalize`, the DINO head's bottleneck). The WGSL is
 * `shaders/ops/layer_norm.wgsl` and `shaders/ops/l2_normalize.wgsl`; each op has a float64 CPU
 * reference (`layerNorm.reference`, `l2normalize.reference`) for tests.
 *
 * @module
 */
import { defineOp, type Op } from "../autograd/define_op.ts";
import { ShapeError } from "../errors.ts";
import { Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import type { HostTensor } from "../tensor/host.ts";
import { zeros } from "../tensor/create.ts";
import { Tensor } from "../tensor/tensor.ts";
import { sum } from "./reduce.ts";
import { rowLaunch, rowShape, type RowVariant } from "./rowwise.ts";

/**
 * LayerNorm's default eps (timm's ViT and the fixtures use 1e-6; PyTorch's default is 1e-5).
 *
 * @example
 * ```ts
 * import { LAYER_NORM_EPS } from "./normalization.ts";
 * console.log(LAYER_NORM_EPS);
 * ```
 */
export const LAYER_NORM_EPS = 1e-6;
/**
 * `F.normalize`'s default eps: the norm is clamped to at least this.
 *
 * @example
 * ```ts
 * import { L2_NORMALIZE_EPS } from "./normalization.ts";
 * console.log(L2_NORMALIZE_EPS);
 * ```
 */
export const L2_NORMALIZE_EPS = 1e-12;

const PARAMS_WORKGROUP = 64;

/** The forward results of {@link encodeLayerNorm}. */
export interface LayerNormOutputs {
  /** The normalised, scaled and shifted output, shaped like x. */
  y: Tensor<"f32">;
  /** Per-row mean, x's shape without the last dim. */
  mean: Tensor<"f32">;
  /** Per-row 1/sqrt(var + eps), x's shape without the last dim. */
  rstd: Tensor<"f32">;
}

/** What {@link encodeLayerNormBackward} computes, and how. */
export interface LayerNormBackwardOptions {
  /** Compute dx (default true). */
  dx?: boolean;
  /** Compute dweight and dbias (default true). */
  params?: boolean;
  /** Kernel variant of the dx pass; `defaultRowVariant` (rowwise.ts) when omitted. */
  variant?: RowVariant;
}

/** The gradients of {@link encodeLayerNormBackward}; absent when not asked for. */
export interface LayerNormGrads {
  /** d loss / d x. */
  dx?: Tensor<"f32">;
  /** d loss / d weight = Σ_rows dy·x̂. */
  dweight?: Tensor<"f32">;
  /** d loss / d bias = Σ_rows dy. */
  dbias?: Tensor<"f32">;
}

function checkLayerNorm(x: Tensor, weight: Tensor, bias: Tensor): void {
  const { d } = rowShape("layerNorm", x.shape);
  for (const [name, t] of [["weight", weight], ["bias", bias]] as const) {
    if (t.rank !== 1 || t.shape[0] !== d) {
      throw new ShapeError(
        "layerNorm",
        x.shape,
        t.shape,
        `${name} must have shape [${d}], the last dim of x`,
      );
    }
  }
}

/** layer_norm.wgsl's rowwise entry points have vec4 forms for rows of whole vec4s. */
function layerNormEntry(entry: string, d: number): string {
  return entry.endsWith("_rowwise") && d % 4 === 0 ? `${entry}_vec4` : entry;
}

/**
 * Encodes the LayerNorm forward over the last dim, without autograd or shape checks, returning
 * the per-row statistics too (the golden checker and the benches use it; `layerNorm` is the op).
 * `variant` picks the kernel; `defaultRowVariant` (rowwise.ts) when omitted.
 *
 * @example
 * ```ts ignore
 * import { encodeLayerNorm } from "./normalization.ts";
 * const { y, mean, rstd } = encodeLayerNorm(x, weight, bias, 1e-6);
 * ```
 */
export function encodeLayerNorm(
  x: Tensor,
  weight: Tensor,
  bias: Tensor,
  eps: number,
  variant?: RowVariant,
): LayerNormOutputs {
  const { rows, d } = rowShape("layerNorm", x.shape);
  const gpu = x.gpu;
  const statsShape = x.shape.slice(0, -1);
  const y = Tensor.empty(gpu, x.shape, "f32");
  const mean = Tensor.empty(gpu, statsShape, "f32");
  const rstd = Tensor.empty(gpu, statsShape, "f32");
  if (x.size === 0) return { y, mean, rstd };
  const launch = rowLaunch(gpu, "forward", rows, d, variant);
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(SHADERS.ops.layer_norm, layerNormEntry(launch.entry, d), {
      WORKGROUP_SIZE: launch.workgroupSize,
    }),
    bindings: [
      x.binding,
      weight.binding,
      bias.binding,
      undefined,
      y.binding,
      undefined,
      mean.binding,
      rstd.binding,
    ],
    params: new Params().u32(rows, d).f32(eps).u32(0).bytes(),
    workgroups: launch.workgroups,
  });
  return { y, mean, rstd };
}

/**
 * Encodes the LayerNorm backward from the saved per-row `mean` and `rstd`: `dx` (an invocation
 * or a workgroup per row, see {@link RowVariant}) and/or `dweight`, `dbias` (partial column sums
 * over chunks of rows, then summed).
 *
 * @example
 * ```ts ignore
 * import { encodeLayerNorm, encodeLayerNormBackward } from "./normalization.ts";
 * const { mean, rstd } = encodeLayerNorm(x, weight, bias, 1e-6);
 * const { dx, dweight, dbias } = encodeLayerNormBackward(x, weight, mean, rstd, dy);
 * ```
 */
export function encodeLayerNormBackward(
  x: Tensor,
  weight: Tensor,
  mean: Tensor,
  rstd: Tensor,
  dy: Tensor,
  options: LayerNormBackwardOptions = {},
): LayerNormGrads {
  const { rows, d } = rowShape("layerNorm", x.shape);
  const gpu = x.gpu;
  const grads: LayerNormGrads = {};
  if (options.dx ?? true) {
    const dx = Tensor.empty(gpu, x.shape, "f32");
    if (x.size > 0) {
      const launch = rowLaunch(gpu, "backward", rows, d, options.variant);
      gpu.stream.dispatch({
        kernel: gpu.kernels.get(SHADERS.ops.layer_norm, layerNormEntry(launch.entry, d), {
          WORKGROUP_SIZE: launch.workgroupSize,
        }),
        bindings: [
          x.binding,
          weight.binding,
          undefined,
          dy.binding,
          dx.binding,
          undefined,
          mean.binding,
          rstd.binding,
        ],
        params: new Params().u32(rows, d).f32(0).u32(0).bytes(),
        workgroups: launch.workgroups,
      });
    }
    grads.dx = dx;
  }
  if (options.params ?? true) {
    if (rows === 0 || d === 0) {
      grads.dweight = zeros([d], { gpu });
      grads.dbias = zeros([d], { gpu });
      return grads;
    }
    // ~sqrt(rows) chunks of ~sqrt(rows) rows balances the two stages: 6304 rows → 80 × 79.
    const chunkRows = Math.max(16, Math.ceil(Math.sqrt(rows)));
    const chunks = Math.ceil(rows / chunkRows);
    const partialW = Tensor.empty(gpu, [chunks, d], "f32");
    const partialB = Tensor.empty(gpu, [chunks, d], "f32");
    gpu.stream.dispatch({
      kernel: gpu.kernels.get(SHADERS.ops.layer_norm, "backward_params", {
        WORKGROUP_SIZE: PARAMS_WORKGROUP,
      }),
      bindings: [
        x.binding,
        undefined,
        undefined,
        dy.binding,
        partialW.binding,
        partialB.binding,
        mean.binding,
        rstd.binding,
      ],
      params: new Params().u32(rows, d).f32(0).u32(chunkRows).bytes(),
      workgroups: [Math.ceil(d / PARAMS_WORKGROUP), chunks],
    });
    grads.dweight = sum(partialW, 0);
    grads.dbias = sum(partialB, 0);
    partialW.dispose();
    partialB.dispose();
  }
  return grads;
}

/** The float64 CPU reference of {@link layerNorm}. */
export interface LayerNormReference {
  /** y, mean and rstd of x over its last dim. */
  forward(
    x: HostTensor,
    weight: ArrayLike<number>,
    bias: ArrayLike<number>,
    eps?: number,
  ): { y: Float64Array; mean: Float64Array; rstd: Float64Array };
  /** dx, dweight and dbias for the upstream gradient dy. */
  backward(
    x: HostTensor,
    weight: ArrayLike<number>,
    dy: ArrayLike<number>,
    eps?: number,
  ): { dx: Float64Array; dweight: Float64Array; dbias: Float64Array };
}

function rowStats(
  x: HostTensor,
  eps: number,
): { d: number; mean: Float64Array; rstd: Float64Array } {
  const d = x.shape[x.shape.length - 1];
  const rows = d === 0 ? 0 : x.data.length / d;
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += x.data[r * d + k];
    const mu = s / d;
    let v = 0;
    for (let k = 0; k < d; k++) v += (x.data[r * d + k] - mu) ** 2;
    mean[r] = mu;
    rstd[r] = 1 / Math.sqrt(v / d + eps);
  }
  return { d, mean, rstd };
}

const layerNormReference: LayerNormReference = {
  forward(x, weight, bias, eps = LAYER_NORM_EPS) {
    const { d, mean, rstd } = rowStats(x, eps);
    const y = new Float64Array(x.data.length);
    for (let i = 0; i < y.length; i++) {
      const r = Math.floor(i / d);
      const k = i % d;
      y[i] = (x.data[i] - mean[r]) * rstd[r] * weight[k] + bias[k];
    }
    return { y, mean, rstd };
  },
  backward(x, weight, dy, eps = LAYER_NORM_EPS) {
    const { d, mean, rstd } = rowStats(x, eps);
    const dx = new Float64Array(x.data.length);
    const dweight = new Float64Array(d);
    const dbias = new Float64Array(d);
    for (let r = 0; r < mean.length; r++) {
      let sg = 0;
      let sgx = 0;
      for (let k = 0; k < d; k++) {
        const i = r * d + k;
        const xhat = (x.data[i] - mean[r]) * rstd[r];
        const g = dy[i] * weight[k];
        sg += g;
        sgx += g * xhat;
        dweight[k] += dy[i] * xhat;
        dbias[k] += dy[i];
      }
      for (let k = 0; k < d; k++) {
        const i = r * d + k;
        const xhat = (x.data[i] - mean[r]) * rstd[r];
        dx[i] = rstd[r] * (dy[i] * weight[k] - sg / d - xhat * (sgx / d));
      }
    }
    return { dx, dweight, dbias };
  },
};

/**
 * LayerNorm over the last dim: `y = (x − mean)/sqrt(var + eps)·weight + bias` with the biased
 * variance, like `torch.nn.functional.layer_norm(x, [D], weight, bias, eps)`. `eps` defaults to
 * 1e-6 (timm's ViT), not PyTorch's 1e-5. Saves the per-row mean and rstd for the backward.
 *
 * @throws {ShapeError} naming x's and the parameter's shapes when weight or bias is not [D].
 * @example
 * ```ts ignore
 * import { layerNorm } from "./normalization.ts";
 * const y = layerNorm(tokens, norm1Weight, norm1Bias); // [B, N, D] with [D], [D]
 * ```
 */
export const layerNorm: Op<
  [x: Tensor, weight: Tensor, bias: Tensor, eps?: number],
  Tensor<"f32">,
  LayerNormReference
> = defineOp({
  name: "layerNorm",
  forward(ctx, x: Tensor, weight: Tensor, bias: Tensor, eps?: number): Tensor<"f32"> {
    checkLayerNorm(x, weight, bias);
    const { y, mean, rstd } = encodeLayerNorm(x, weight, bias, eps ?? LAYER_NORM_EPS);
    if (ctx.needsGrad) {
      ctx.saved = { x, weight, bias, mean, rstd };
    } else {
      mean.dispose();
      rstd.dispose();
    }
    return y;
  },
  backward(ctx, grad) {
    const { x, weight, bias, mean, rstd } = ctx.saved as Record<string, Tensor>;
    const wantParams = weight.requiresGrad || bias.requiresGrad;
    const { dx, dweight, dbias } = encodeLayerNormBackward(x, weight, mean, rstd, grad, {
      dx: x.requiresGrad,
      params: wantParams,
    });
    if (dweight && !weight.requiresGrad) dweight.dispose();
    if (dbias && !bias.requiresGrad) dbias.dispose();
    return [
      dx ?? null,
      weight.requiresGrad ? dweight! : null,
      bias.requiresGrad ? dbias! : null,
    ];
  },
  reference: layerNormReference,
});

/** The forward results of {@link encodeL2Normalize}. */
export interface L2NormalizeOutputs {
  /** x / max(‖x‖, eps), shaped like x. */
  y: Tensor<"f32">;
  /** Per-row ‖x‖₂ (not clamped), x's shape without the last dim. */
  norm: Tensor<"f32">;
}

/**
 * Encodes the L2-normalise forward over the last dim, without autograd, returning the per-row
 * norms too (for the golden checker and benches; `l2normalize` is the op). `variant` picks the
 * kernel; `defaultRowVariant` (rowwise.ts) when omitted.
 *
 * @example
 * ```ts ignore
 * import { encodeL2Normalize } from "./normalization.ts";
 * const { y, norm } = encodeL2Normalize(z, 1e-12);
 * ```
 */
export function encodeL2Normalize(
  x: Tensor,
  eps: number,
  variant?: RowVariant,
): L2NormalizeOutputs {
  const { rows, d } = rowShape("l2normalize", x.shape);
  const gpu = x.gpu;
  const y = Tensor.empty(gpu, x.shape, "f32");
  const norm = Tensor.empty(gpu, x.shape.slice(0, -1), "f32");
  if (x.size === 0) return { y, norm };
  const launch = rowLaunch(gpu, "forward", rows, d, variant);
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(SHADERS.ops.l2_normalize, launch.entry, {
      WORKGROUP_SIZE: launch.workgroupSize,
    }),
    bindings: [x.binding, undefined, y.binding, norm.binding],
    params: new Params().u32(rows, d).f32(eps).u32(0).bytes(),
    workgroups: launch.workgroups,
  });
  return { y, norm };
}

/**
 * Encodes the L2-normalise backward `dx = (dy − y·Σ dy·y)/max(‖x‖, eps)` from the saved output
 * `y` and `norm`.
 *
 * @example
 * ```ts ignore
 * import { encodeL2Normalize, encodeL2NormalizeBackward } from "./normalization.ts";
 * const { y, norm } = encodeL2Normalize(x, 1e-12);
 * const dx = encodeL2NormalizeBackward(y, norm, dy, 1e-12);
 * ```
 */
export function encodeL2NormalizeBackward(
  y: Tensor,
  norm: Tensor,
  dy: Tensor,
  eps: number,
  variant?: RowVariant,
): Tensor<"f32"> {
  const { rows, d } = rowShape("l2normalize", y.shape);
  const gpu = y.gpu;
  const dx = Tensor.empty(gpu, y.shape, "f32");
  if (y.size === 0) return dx;
  const launch = rowLaunch(gpu, "backward", rows, d, variant);
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(SHADERS.ops.l2_normalize, launch.entry, {
      WORKGROUP_SIZE: launch.workgroupSize,
    }),
    bindings: [y.binding, dy.binding, dx.binding, norm.binding],
    params: new Params().u32(rows, d).f32(eps).u32(0).bytes(),
    workgroups: launch.workgroups,
  });
  return dx;
}

/** The float64 CPU reference of {@link l2normalize}. */
export interface L2NormalizeReference {
  /** y and the per-row norm of x over its last dim. */
  forward(x: HostTensor, eps?: number): { y: Float64Array; norm: Float64Array };
  /** dx for the upstream gradient dy. */
  backward(x: HostTensor, dy: ArrayLike<number>, eps?: number): Float64Array;
}

const l2normalizeReference: L2NormalizeReference = {
  forward(x, eps = L2_NORMALIZE_EPS) {
    const d = x.shape[x.shape.length - 1];
    const rows = d === 0 ? 0 : x.data.length / d;
    const y = new Float64Array(x.data.length);
    const norm = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += x.data[r * d + k] ** 2;
      norm[r] = Math.sqrt(s);
      const denom = Math.max(norm[r], eps);
      for (let k = 0; k < d; k++) y[r * d + k] = x.data[r * d + k] / denom;
    }
    return { y, norm };
  },
  backward(x, dy, eps = L2_NORMALIZE_EPS) {
    const { y, norm } = l2normalizeReference.forward(x, eps);
    const d = x.shape[x.shape.length - 1];
    const dx = new Float64Array(x.data.length);
    for (let r = 0; r < norm.length; r++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += dy[r * d + k] * y[r * d + k];
      if (norm[r] < eps) dot = 0;
      const denom = Math.max(norm[r], eps);
      for (let k = 0; k < d; k++) dx[r * d + k] = (dy[r * d + k] - y[r * d + k] * dot) / denom;
    }
    return dx;
  },
};

/**
 * L2-normalises over the last dim: `y = x / max(‖x‖₂, eps)`, like
 * `torch.nn.functional.normalize(x, dim=-1, eps=1e-12)`.
 *
 * @throws {ShapeError} naming the op and shape when x has rank 0.
 * @example
 * ```ts ignore
 * import { l2normalize } from "./normalization.ts";
 * const z = l2normalize(bottleneck); // [B, 256], every row of unit length
 * ```
 */
export const l2normalize: Op<[x: Tensor, eps?: number], Tensor<"f32">, L2NormalizeReference> =
  defineOp({
    name: "l2normalize",
    forward(ctx, x: Tensor, eps?: number): Tensor<"f32"> {
      const e = eps ?? L2_NORMALIZE_EPS;
      const { y, norm } = encodeL2Normalize(x, e);
      if (ctx.needsGrad) ctx.saved = { y, norm, eps: e };
      else norm.dispose();
      return y;
    },
    backward(ctx, grad) {
      const { y, norm, eps } = ctx.saved as { y: Tensor; norm: Tensor; eps: number };
      return [encodeL2NormalizeBackward(y, norm, grad, eps)];
    },
    reference: l2normalizeReference,
  });
