/**
 * AdamW exactly as torch 1.13 `torch.optim.AdamW` (single-tensor path), with dino's per-tensor
 * gradient clipping fused in. The WGSL is `shaders/optim/adamw.wgsl`.
 *
 * Per step and parameter with a gradient (t = the parameter's own step count, after increment):
 * ```
 * p = p·(1 − lr·wd)                               decoupled decay first (wd = 0 outside the decay group)
 * m = β1·m + (1 − β1)·g ;  v = β2·v + (1 − β2)·g²
 * p = p − lr/(1 − β1^t) · m / (sqrt(v)/sqrt(1 − β2^t) + eps)     eps after the bias correction
 * ```
 * A parameter whose `.grad` is null is skipped entirely: no decay, no state, no step count.
 *
 * Why one dispatch per parameter rather than one kernel over all of them: parameters and
 * gradients live in their own tensors (autograd allocates each `.grad`), and WGSL has no arrays
 * of buffers, so a single kernel would need either a flat copy of every gradient and parameter
 * (an extra 16 bytes of traffic per element, more than the 28 the update itself moves) or a
 * fixed number of bindings per dispatch (a switch per element, and at most 8–10 storage buffers
 * on many adapters). The per-parameter kernel is fully fused (clip factor, decay, moments, bias
 * correction: one read and one write of each array), its scalars come from the CPU where the step
 * counts live (no readback), and bench/adamw_bench.ts measures what the extra dispatches cost
 * against one flat dispatch of the same size.
 *
 * @module
 */
import { ShapeError } from "../errors.ts";
import { grid, Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import { zeros } from "../tensor/create.ts";
import { keep } from "../tensor/scope.ts";
import { formatShape, sameShape } from "../tensor/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { type ClipScratch, createClipScratch, encodeClipFactors } from "./clip.ts";

const WORKGROUP_SIZE = 256;

/** One parameter handed to {@link AdamW}. */
export interface AdamWParam {
  /** State-dict name, e.g. `blocks.0.attn.qkv.weight`. */
  name: string;
  /** The parameter, updated in place. Its `.grad` is read at each step. */
  param: Tensor;
  /** True for the decay group (dino: ndim > 1 and not a bias), false for biases and norms. */
  weightDecay: boolean;
}

/** Options of the {@link AdamW} constructor. */
export interface AdamWOptions {
  /** (β1, β2). Default (0.9, 0.999), torch's and dino's. */
  betas?: readonly [number, number];
  /** Added to the bias-corrected sqrt(v). Default 1e-8. */
  eps?: number;
}

/** Options of {@link AdamW.step}: dino writes its schedules in here every iteration. */
export interface AdamWStepOptions {
  /** Learning rate (from the lr schedule). */
  lr: number;
  /** Weight decay of the decay group (from the wd schedule); the other group always uses 0. */
  weightDecay: number;
  /**
   * When > 0, clips each gradient to this L2 norm first (dino `clip_grad`, default 3.0), in place,
   * as `clipGradients` does; fused into the update. 0 or absent: no clipping.
   */
  clipGrad?: number;
}

/** The optimizer state of one parameter. */
export interface AdamWState {
  /** Steps taken by this parameter (torch's `state["step"]`). */
  step: number;
  /** First moment m. */
  expAvg: Tensor<"f32">;
  /** Second moment v. */
  expAvgSq: Tensor<"f32">;
}

/**
 * The state as plain tensors for a checkpoint: `exp_avg.<name>` and `exp_avg_sq.<name>` for every
 * parameter with state (like the fixtures' `adam.*` tensors), and the step count per name.
 */
export interface AdamWStateDict {
  /** `exp_avg.<name>` and `exp_avg_sq.<name>` tensors. */
  tensors: Record<string, Tensor>;
  /** Step count per parameter name (0 or absent: no state). */
  steps: Record<string, number>;
}

interface Entry extends AdamWParam {
  state: AdamWState | null;
}

/**
 * AdamW over named parameters with a decay group, per-parameter step counts and fused per-tensor
 * clipping. `step()` only encodes GPU work: it reads nothing back.
 *
 * @example
 * ```ts ignore
 * import { AdamW } from "./adamw.ts";
 * const opt = new AdamW(
 *   model.namedParameters().map(([name, param]) => ({
 *     name, param, weightDecay: param.rank > 1 && !name.endsWith(".bias"),
 *   })),
 * );
 * loss.backward();
 * opt.step({ lr: lrSchedule[it], weightDecay: wdSchedule[it], clipGrad: 3.0 });
 * ```
 */
export class AdamW {
  /** (β1, β2). */
  readonly betas: readonly [number, number];
  /** eps. */
  readonly eps: number;
  #entries: Entry[];
  #byName = new Map<string, Entry>();
  #scratch: ClipScratch | null = null;

  /**
   * An optimizer over `params` (their order is the dispatch order).
   *
   * @throws {RangeError} on duplicate names, non-f32 parameters or betas outside [0, 1).
   */
  constructor(params: readonly AdamWParam[], options: AdamWOptions = {}) {
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    for (const beta of this.betas) {
      if (!(beta >= 0 && beta < 1)) {
        throw new RangeError(`Cannot create AdamW with beta ${beta}: betas must lie in [0, 1)`);
      }
    }
    this.#entries = params.map((p) => ({ ...p, state: null }));
    for (const entry of this.#entries) {
      if (this.#byName.has(entry.name)) {
        throw new RangeError(`Cannot create AdamW: parameter name ${entry.name} appears twice`);
      }
      if (entry.param.dtype !== "f32") {
        throw new RangeError(
          `Cannot create AdamW over ${entry.name}: parameters must be f32, got ${entry.param.dtype}`,
        );
      }
      this.#byName.set(entry.name, entry);
    }
  }

  /** The parameters, in dispatch order. */
  get params(): readonly AdamWParam[] {
    return this.#entries.map(({ name, param, weightDecay }) => ({ name, param, weightDecay }));
  }

  /**
   * One optimizer step over every parameter that has a gradient: optional per-tensor clipping,
   * then AdamW. Encodes 1 dispatch per parameter (2 per parameter + 1 with clipping); allocates
   * only on the first step of a parameter (its moments).
   *
   * @throws {ShapeError} when a gradient's shape differs from its parameter's.
   */
  step(options: AdamWStepOptions): void {
    const { lr, weightDecay } = options;
    const clip = options.clipGrad ?? 0;
    const [beta1, beta2] = this.betas;
    const active: { entry: Entry; grad: Tensor; slot: number }[] = [];
    this.#entries.forEach((entry, slot) => {
      const grad = entry.param.grad;
      if (!grad) return;
      if (!sameShape(grad.shape, entry.param.shape) || grad.dtype !== "f32") {
        throw new ShapeError(
          "AdamW.step",
          entry.param.shape,
          grad.shape,
          `the gradient of ${entry.name} must be f32 of its parameter's shape`,
        );
      }
      active.push({ entry, grad, slot });
    });
    if (active.length === 0) return;
    const gpu = active[0].grad.gpu;
    if (clip > 0) {
      this.#scratch ??= keepScratch(createClipScratch(gpu, this.#entries.length));
      encodeClipFactors(active, clip, this.#scratch);
    }
    const constants = { CLIP: clip > 0 ? 1 : 0 };
    const coef = clip > 0 ? this.#scratch!.coef.binding : gpu.placeholder;
    for (const { entry, grad, slot } of active) {
      const state = entry.state ??= {
        step: 0,
        expAvg: keep(zeros(entry.param.shape, { gpu })),
        expAvgSq: keep(zeros(entry.param.shape, { gpu })),
      };
      const t = ++state.step;
      const wd = entry.weightDecay ? weightDecay : 0;
      if (entry.param.size === 0) continue;
      const vec4 = entry.param.size % 4 === 0;
      const n = vec4 ? entry.param.size / 4 : entry.param.size;
      gpu.stream.dispatch({
        kernel: gpu.kernels.get(SHADERS.optim.adamw, vec4 ? "step_vec4" : "step", constants),
        bindings: [
          entry.param.binding,
          grad.binding,
          state.expAvg.binding,
          state.expAvgSq.binding,
          coef,
        ],
        params: new Params()
          .u32(n, slot, 0, 0)
          .f32(1 - lr * wd, beta1, 1 - beta1, beta2, 1 - beta2)
          .f32(lr / (1 - beta1 ** t), Math.sqrt(1 - beta2 ** t), this.eps)
          .bytes(),
        workgroups: grid(n, WORKGROUP_SIZE, gpu.limits.maxComputeWorkgroupsPerDimension),
      });
    }
  }

  /**
   * The state of parameter `name`: undefined before its first step with a gradient. The tensors
   * are the optimizer's own (do not dispose them).
   */
  state(name: string): AdamWState | undefined {
    const entry = this.#byName.get(name);
    if (!entry) throw new RangeError(`Cannot find AdamW state of ${name}: no such parameter`);
    return entry.state ?? undefined;
  }

  /**
   * The state for a checkpoint: views of the moment tensors (disposing them frees nothing) named
   * `exp_avg.<name>` / `exp_avg_sq.<name>`, and every parameter's step count. Read them out before
   * the next `step()` changes them.
   */
  stateDict(): AdamWStateDict {
    const tensors: Record<string, Tensor> = {};
    const steps: Record<string, number> = {};
    for (const entry of this.#entries) {
      steps[entry.name] = entry.state?.step ?? 0;
      if (!entry.state) continue;
      tensors[`exp_avg.${entry.name}`] = entry.state.expAvg.view(entry.param.shape);
      tensors[`exp_avg_sq.${entry.name}`] = entry.state.expAvgSq.view(entry.param.shape);
    }
    return { tensors, steps };
  }

  /**
   * Loads a state written by {@link AdamW.stateDict} (or a checkpoint of the same names): copies
   * the moments into the optimizer's own tensors. A parameter with step count 0 or without
   * tensors starts fresh, as in torch.
   *
   * @throws {RangeError} when a step count is given without its tensors, or a shape differs.
   */
  loadStateDict(dict: AdamWStateDict): void {
    for (const entry of this.#entries) {
      const step = dict.steps[entry.name] ?? 0;
      const m = dict.tensors[`exp_avg.${entry.name}`];
      const v = dict.tensors[`exp_avg_sq.${entry.name}`];
      if (step === 0) {
        this.#dropState(entry);
        continue;
      }
      if (!m || !v) {
        throw new RangeError(
          `Cannot load AdamW state of ${entry.name}: step ${step} without exp_avg.${entry.name} ` +
            `and exp_avg_sq.${entry.name}`,
        );
      }
      for (const t of [m, v]) {
        if (!sameShape(t.shape, entry.param.shape) || t.dtype !== "f32") {
          throw new RangeError(
            `Cannot load AdamW state of ${entry.name}: a moment of shape ${formatShape(t.shape)} ` +
              `for a parameter of shape ${formatShape(entry.param.shape)}`,
          );
        }
      }
      const gpu = entry.param.gpu;
      const state = entry.state ??= {
        step: 0,
        expAvg: keep(zeros(entry.param.shape, { gpu })),
        expAvgSq: keep(zeros(entry.param.shape, { gpu })),
      };
      state.step = step;
      if (entry.param.size === 0) continue;
      gpu.stream.copy(m.storage.buffer, 0, state.expAvg.storage.buffer, 0, m.byteLength);
      gpu.stream.copy(v.storage.buffer, 0, state.expAvgSq.storage.buffer, 0, v.byteLength);
    }
  }

  /** Frees the optimizer state and scratch. */
  dispose(): void {
    for (const entry of this.#entries) this.#dropState(entry);
    this.#scratch?.partials.dispose();
    this.#scratch?.coef.dispose();
    this.#scratch = null;
  }

  #dropState(entry: Entry): void {
    entry.state?.expAvg.dispose();
    entry.state?.expAvgSq.dispose();
    entry.state = null;
  }
}

function keepScratch(scratch: ClipScratch): ClipScratch {
  keep(scratch.partials);
  keep(scratch.coef);
  return scratch;
}

/** Hyper-parameters of one {@link adamwReference} step. */
export interface AdamWReferenceOptions {
  /** Learning rate. */
  lr: number;
  /** Effective weight decay of this parameter (0 outside the decay group). */
  weightDecay: number;
  /** The parameter's step count after increment (1 on its first step). */
  step: number;
  /** (β1, β2); default (0.9, 0.999). */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
}

/**
 * CPU reference (float64) of one torch 1.13 AdamW step of one parameter, in place.
 *
 * @example
 * ```ts
 * import { adamwReference } from "./adamw.ts";
 * const p = new Float64Array([1]), m = new Float64Array(1), v = new Float64Array(1);
 * adamwReference(p, new Float64Array([0.5]), m, v, { lr: 0.1, weightDecay: 0, step: 1 });
 * console.log(p[0]); // ≈ 0.9 (the first step moves by lr·sign(g))
 * ```
 */
export function adamwReference(
  param: Float64Array,
  grad: ArrayLike<number>,
  expAvg: Float64Array,
  expAvgSq: Float64Array,
  options: AdamWReferenceOptions,
): void {
  const [beta1, beta2] = options.betas ?? [0.9, 0.999];
  const eps = options.eps ?? 1e-8;
  const t = options.step;
  const stepSize = options.lr / (1 - beta1 ** t);
  const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
  for (let i = 0; i < param.length; i++) {
    const g = grad[i];
    param[i] *= 1 - options.lr * options.weightDecay;
    expAvg[i] = beta1 * expAvg[i] + (1 - beta1) * g;
    expAvgSq[i] = beta2 * expAvgSq[i] + (1 - beta2) * g * g;
    param[i] -= stepSize * expAvg[i] / (Math.sqrt(expAvgSq[i]) / bc2Sqrt + eps);
  }
}
