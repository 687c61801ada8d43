/**
 * `softmax` and `logSoftmax` over the last dim, max-subtracted (attention probabilities, the
 * DINO loss). The WGSL is `shaders/ops/softmax.wgsl` (the `LOG` override picks the op); both
 * save their output for the backward and carry a float64 CPU reference for tests.
 *
 * @module
 */
import { defineOp, type Op } from "../autograd/define_op.ts";
import { Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import type { HostTensor } from "../tensor/host.ts";
import { Tensor } from "../tensor/tensor.ts";
import { rowLaunch, rowShape, type RowVariant } from "./rowwise.ts";

/**
 * Encodes softmax (`log: false`) or log-softmax (`log: true`) over the last dim into a new
 * tensor, without autograd (for benches; `softmax`/`logSoftmax` are the ops). `variant` picks
 * the kernel; `defaultRowVariant` (rowwise.ts) when omitted.
 *
 * @throws {ShapeError} when x has rank 0.
 * @example
 * ```ts ignore
 * import { encodeSoftmax } from "./softmax.ts";
 * const p = encodeSoftmax(scores, false);
 * ```
 */
export function encodeSoftmax(x: Tensor, log: boolean, variant?: RowVariant): Tensor<"f32"> {
  return encode(x, undefined, log, "forward", variant);
}

/**
 * Encodes the backward of softmax (`dx = y·(dy − Σ dy·y)`) or log-softmax
 * (`dx = dy − exp(y)·Σ dy`) from the saved output `y`.
 *
 * @example
 * ```ts ignore
 * import { encodeSoftmax, encodeSoftmaxBackward } from "./softmax.ts";
 * const dx = encodeSoftmaxBackward(encodeSoftmax(x, true), dy, true);
 * ```
 */
export function encodeSoftmaxBackward(
  y: Tensor,
  dy: Tensor,
  log: boolean,
  variant?: RowVariant,
): Tensor<"f32"> {
  return encode(y, dy, log, "backward", variant);
}

function encode(
  x: Tensor,
  dy: Tensor | undefined,
  log: boolean,
  stage: "forward" | "backward",
  variant: RowVariant | undefined,
): Tensor<"f32"> {
  const { rows, d } = rowShape(log ? "logSoftmax" : "softmax", x.shape);
  const gpu = x.gpu;
  const out = Tensor.empty(gpu, x.shape, "f32");
  if (out.size === 0) return out;
  const launch = rowLaunch(gpu, stage, rows, d, variant);
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(SHADERS.ops.softmax, launch.entry, {
      LOG: Number(log),
      WORKGROUP_SIZE: launch.workgroupSize,
    }),
    bindings: [x.binding, dy?.binding, out.binding],
    params: new Params().u32(rows, d).bytes(),
    workgroups: launch.workgroups,
  });
  return out;
}

/** The float64 CPU reference of {@link softmax} or {@link logSoftmax}. */
export interface SoftmaxReference {
  /** The op over the last dim of x. */
  forward(x: HostTensor): Float64Array;
  /** dx for the upstream gradient dy at x. */
  backward(x: HostTensor, dy: ArrayLike<number>): Float64Array;
}

/** log Σ exp over each row of [rows, d], max-subtracted. */
function rowLogSumExp(x: HostTensor): { d: number; lse: Float64Array } {
  const d = x.shape[x.shape.length - 1];
  const rows = d === 0 ? 0 : x.data.length / d;
  const lse = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let k = 0; k < d; k++) m = Math.max(m, x.data[r * d + k]);
    let s = 0;
    for (let k = 0; k < d; k++) s += Math.exp(x.data[r * d + k] - m);
    lse[r] = m + Math.log(s);
  }
  return { d, lse };
}

function logSoftmaxRef(x: HostTensor): Float64Array {
  const { d, lse } = rowLogSumExp(x);
  return Float64Array.from(x.data, (v, i) => v - lse[Math.floor(i / d)]);
}

function softmaxRef(x: HostTensor): Float64Array {
  return logSoftmaxRef(x).map(Math.exp);
}

function rowSums(values: ArrayLike<number>, d: number): Float64Array {
  const sums = new Float64Array(d === 0 ? 0 : values.length / d);
  for (let i = 0; i < values.length; i++) sums[Math.floor(i / d)] += values[i];
  return sums;
}

const softmaxReference: SoftmaxReference = {
  forward: softmaxRef,
  backward(x, dy) {
    const y = softmaxRef(x);
    const d = x.shape[x.shape.length - 1];
    const dots = rowSums(y.map((v, i) => v * dy[i]), d);
    return y.map((v, i) => v * (dy[i] - dots[Math.floor(i / d)]));
  },
};

const logSoftmaxReference: SoftmaxReference = {
  forward: logSoftmaxRef,
  backward(x, dy) {
    const p = softmaxRef(x);
    const d = x.shape[x.shape.length - 1];
    const sums = rowSums(dy, d);
    return p.map((v, i) => dy[i] - v * sums[Math.floor(i / d)]);
  },
};

function softmaxOp(name: "softmax" | "logSoftmax", reference: SoftmaxReference) {
  const log = name === "logSoftmax";
  return defineOp({
    name,
    forward(ctx, x: Tensor): Tensor<"f32"> {
      const y = encodeSoftmax(x, log);
      if (ctx.needsGrad) ctx.saved.y = y;
      return y;
    },
    backward: (ctx, grad) => [encodeSoftmaxBackward(ctx.saved.y as Tensor, grad, log)],
    reference,
  });
}

/**
 * Softmax over the last dim, `exp(x − max)/Σ exp(x − max)`, like `torch.softmax(x, -1)`.
 * Exact for logits far beyond exp's f32 range (a +90 spike, rows offset by −50).
 *
 * @throws {ShapeError} naming the op and shape when x has rank 0.
 * @example
 * ```ts ignore
 * import { softmax } from "./softmax.ts";
 * const attn = softmax(scores); // [B, H, N, N], rows sum to 1
 * ```
 */
export const softmax: Op<[x: Tensor], Tensor<"f32">, SoftmaxReference> = softmaxOp(
  "softmax",
  softmaxReference,
);

/**
 * Log-softmax over the last dim, `x − max − log Σ exp(x − max)`, like
 * `torch.log_softmax(x, -1)`; more accurate than `log(softmax(x))` for small probabilities.
 *
 * @throws {ShapeError} naming the op and shape when x has rank 0.
 * @example
 * ```ts ignore
 * import { logSoftmax } from "./softmax.ts";
 * const logp = logSoftmax(scale(student, 1 / 0.1)); // DINO's student log-probabilities
 * ```
 */
export const logSoftmax: Op<[x: Tensor], Tensor<"f32">, SoftmaxReference> = softmaxOp(
  "logSoftmax",
  logSoftmaxReference,
);
