/**
 * Per-tensor gradient clipping as dino's `utils.clip_gradients`: each gradient whose L2 norm `n`
 * exceeds `clip` is scaled by `clip/(n + 1e-6)`, in place. Unlike a global-norm clip, every tensor
 * is judged alone. Everything runs on the GPU: the norms never come back to the CPU unless asked.
 * The WGSL is `shaders/optim/clip.wgsl`; `AdamW.step({clipGrad})` fuses the scaling into its own
 * kernel (adamw.ts).
 *
 * @module
 */
import { ShapeError } from "../errors.ts";
import type { Gpu } from "../gpu/device.ts";
import { grid, Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import { Tensor } from "../tensor/tensor.ts";

/** Partial sums per tensor (= the kernel's workgroup size). */
export const CLIP_PARTIALS = 256;

/** Elements per thread below which norm_partials uses fewer workgroups (each has a tree sum). */
const MIN_PER_THREAD = 64;

/**
 * Scratch of a clipping pass over up to `count` tensors: partial sums [count, 256] and
 * [2, count] = the factors, then the norms. Owned by the caller so that a training loop reuses it.
 */
export interface ClipScratch {
  /** Partial sums of g², row `slot` per tensor. */
  partials: Tensor<"f32">;
  /** `coef[0, slot]` = factor = min(clip/(norm + 1e-6), 1); `coef[1, slot]` = norm. */
  coef: Tensor<"f32">;
}

/**
 * Allocates a {@link ClipScratch} for `count` tensors.
 *
 * @example
 * ```ts ignore
 * import { createClipScratch } from "./clip.ts";
 * const scratch = createClipScratch(gpu, params.length);
 * ```
 */
export function createClipScratch(gpu: Gpu, count: number): ClipScratch {
  return {
    partials: Tensor.empty(gpu, [Math.max(1, count), CLIP_PARTIALS], "f32"),
    coef: Tensor.empty(gpu, [2, Math.max(1, count)], "f32"),
  };
}

/**
 * Encodes the norms and clip factors of `grads` (given with their slots in `scratch`): one
 * `norm_partials` dispatch per tensor, then one `coefficients` dispatch for all of them. The
 * gradients are not changed; apply the factors with {@link encodeClipScale} or the AdamW kernel.
 *
 * @example
 * ```ts ignore
 * import { createClipScratch, encodeClipFactors, encodeClipScale } from "./clip.ts";
 * const scratch = createClipScratch(gpu, grads.length);
 * encodeClipFactors(grads.map((g, slot) => ({ grad: g, slot })), 3.0, scratch);
 * grads.forEach((g, slot) => encodeClipScale(g, slot, scratch));
 * ```
 */
export function encodeClipFactors(
  grads: readonly { grad: Tensor; slot: number }[],
  maxNorm: number,
  scratch: ClipScratch,
): void {
  if (grads.length === 0) return;
  const gpu = grads[0].grad.gpu;
  let slots = 0;
  for (const { grad, slot } of grads) {
    const perGroup = CLIP_PARTIALS * MIN_PER_THREAD;
    const groups = Math.min(CLIP_PARTIALS, Math.max(1, Math.ceil(grad.size / perGroup)));
    const entry = grad.size % 4 === 0 ? "norm_partials_vec4" : "norm_partials";
    gpu.stream.dispatch({
      kernel: gpu.kernels.get(SHADERS.optim.clip, entry),
      bindings: [grad.binding, scratch.partials.binding, undefined],
      params: new Params().u32(grad.size, slot, groups, 0).f32(0, 0, 0, 0).bytes(),
      workgroups: [groups],
    });
    slots = Math.max(slots, slot + 1);
  }
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(SHADERS.optim.clip, "coefficients"),
    bindings: [undefined, scratch.partials.binding, scratch.coef.binding],
    params: new Params().u32(slots, 0, scratch.coef.shape[1], 0).f32(maxNorm, 0, 0, 0).bytes(),
    workgroups: grid(slots, 1, gpu.limits.maxComputeWorkgroupsPerDimension),
  });
}

/**
 * Encodes `grad *= factor[slot]` in place, the factor written by {@link encodeClipFactors}.
 *
 * @example
 * ```ts ignore
 * import { encodeClipScale } from "./clip.ts";
 * encodeClipScale(grad, 0, scratch);
 * ```
 */
export function encodeClipScale(grad: Tensor, slot: number, scratch: ClipScratch): void {
  if (grad.size === 0) return;
  const gpu = grad.gpu;
  const vec4 = grad.size % 4 === 0;
  const n = vec4 ? grad.size / 4 : grad.size;
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(SHADERS.optim.clip, vec4 ? "scale_vec4" : "scale"),
    bindings: [grad.binding, undefined, scratch.coef.binding],
    params: new Params().u32(n, slot, 0, 0).f32(0, 0, 0, 0).bytes(),
    workgroups: grid(n, CLIP_PARTIALS, gpu.limits.maxComputeWorkgroupsPerDimension),
  });
}

/**
 * Clips each gradient in place to L2 norm `maxNorm`, as dino's `utils.clip_gradients`:
 * `n = ‖g‖₂; c = maxNorm/(n + 1e-6); if c < 1: g *= c`. Returns the norms before clipping as a
 * tensor [grads.length] that stays on the GPU (read it back only to log it). 2·P + 1 dispatches.
 *
 * @throws {RangeError} when `maxNorm` is not positive or a gradient is not f32.
 * @example
 * ```ts ignore
 * import { clipGradients } from "./clip.ts";
 * const grads = params.map((p) => p.grad).filter((g) => g !== null);
 * const norms = clipGradients(grads, 3.0);
 * ```
 */
export function clipGradients(grads: readonly Tensor[], maxNorm: number): Tensor<"f32"> {
  if (!(maxNorm > 0)) {
    throw new RangeError(`Cannot clipGradients to a max norm of ${maxNorm}: it must be positive`);
  }
  grads.forEach((g) => {
    if (g.dtype !== "f32") {
      throw new ShapeError(
        "clipGradients",
        g.shape,
        g.shape,
        `gradients must be f32, got ${g.dtype}`,
      );
    }
  });
  if (grads.length === 0) {
    throw new RangeError("Cannot clipGradients of an empty list: pass at least one gradient");
  }
  const gpu = grads[0].gpu;
  const scratch = createClipScratch(gpu, grads.length);
  encodeClipFactors(grads.map((grad, slot) => ({ grad, slot })), maxNorm, scratch);
  grads.forEach((g, slot) => encodeClipScale(g, slot, scratch));
  const norms = Tensor.empty(gpu, [grads.length], "f32");
  gpu.stream.copy(
    scratch.coef.storage.buffer,
    4 * grads.length,
    norms.storage.buffer,
    0,
    4 * grads.length,
  );
  scratch.partials.dispose();
  scratch.coef.dispose();
  return norms;
}

/**
 * CPU reference of dino's per-tensor clipping of one gradient, in place; returns its norm before
 * clipping.
 *
 * @example
 * ```ts
 * import { clipReference } from "./clip.ts";
 * const g = new Float64Array([3, 4]);
 * console.log(clipReference(g, 1), g); // 5, [0.6, 0.8] (up to the 1e-6)
 * ```
 */
export function clipReference(grad: Float64Array, maxNorm: number): number {
  let sum = 0;
  for (const g of grad) sum += g * g;
  const norm = Math.sqrt(sum);
  const c = maxNorm / (norm + 1e-6);
  if (c < 1) { for (let i = 0; i < grad.length; i++) grad[i] *= c; }
  return norm;
}
