/**
 * `crossEntropy`: softmax cross-entropy of logits against integer class labels, mean over rows
 * (the linear-probe loss). The WGSL is `shaders/ops/cross_entropy.wgsl`; the forward saves the
 * per-row log-sum-exp so the backward is one elementwise pass.
 *
 * @module
 */
import { defineOp, type Op } from "../autograd/define_op.ts";
import { ShapeError } from "../errors.ts";
import { grid, Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import type { HostTensor } from "../tensor/host.ts";
import { Tensor } from "../tensor/tensor.ts";
import { mean } from "./reduce.ts";

/** Forward variants of cross_entropy.wgsl: one invocation or one workgroup per row. */
export type CrossEntropyVariant = "rowwise" | "workgroup";

/** The forward results of {@link encodeCrossEntropy}. */
export interface CrossEntropyRows {
  /** Per-row loss `lse − x[label]` (NaN for a label outside [0, C)), the logits' leading shape. */
  loss: Tensor<"f32">;
  /** Per-row log Σ exp of the logits, saved for the backward. */
  lse: Tensor<"f32">;
}

/**
 * Encodes the per-row forward of {@link crossEntropy} without autograd (for tests and benches).
 * `variant` defaults to `"rowwise"` on software adapters (llvmpipe runs barriers as coroutine
 * switches) and for ≤ 32 classes, `"workgroup"` (a power of two near C/4 in [32, 256]
 * invocations per row) otherwise.
 *
 * @throws {ShapeError} as {@link crossEntropy}.
 * @example
 * ```ts ignore
 * import { encodeCrossEntropy } from "./loss.ts";
 * const { loss, lse } = encodeCrossEntropy(logits, labels, "workgroup");
 * ```
 */
export function encodeCrossEntropy(
  logits: Tensor,
  labels: Tensor,
  variant?: CrossEntropyVariant,
): CrossEntropyRows {
  const { rows, classes } = checkShapes(logits, labels);
  const gpu = logits.gpu;
  const batch = logits.shape.slice(0, -1);
  const loss = Tensor.empty(gpu, batch, "f32");
  const lse = Tensor.empty(gpu, batch, "f32");
  if (rows === 0) return { loss, lse };
  const maxPerDim = gpu.limits.maxComputeWorkgroupsPerDimension;
  const rowwise =
    (variant ?? (gpu.adapter.info.isFallbackAdapter || classes <= 32 ? "rowwise" : "workgroup")) ===
      "rowwise";
  let size = 64;
  if (!rowwise) {
    size = 32;
    while (size < 256 && size * 4 < classes) size *= 2;
  }
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(
      SHADERS.ops.cross_entropy,
      rowwise ? "forward_rowwise" : "forward",
      { WORKGROUP_SIZE: size },
    ),
    bindings: [logits.binding, labels.binding, undefined, loss.binding, lse.binding, undefined],
    params: new Params().u32(rows, classes).f32(1 / rows, NaN).bytes(),
    workgroups: rowwise ? grid(rows, size, maxPerDim) : grid(rows, 1, maxPerDim),
  });
  return { loss, lse };
}

/** The float64 CPU reference of {@link crossEntropy}. */
export interface CrossEntropyReference {
  /** Mean over rows of `lse(x_r) − x_r[label_r]`; NaN when a label is outside [0, C). */
  forward(logits: HostTensor, labels: ArrayLike<number>): number;
  /** d loss / d logits, times the upstream gradient `dy` of the scalar loss. */
  backward(logits: HostTensor, labels: ArrayLike<number>, dy?: number): Float64Array;
}

function rowLse(logits: HostTensor, r: number, c: number): number {
  let m = -Infinity;
  for (let k = 0; k < c; k++) m = Math.max(m, logits.data[r * c + k]);
  let s = 0;
  for (let k = 0; k < c; k++) s += Math.exp(logits.data[r * c + k] - m);
  return m + Math.log(s);
}

const crossEntropyReference: CrossEntropyReference = {
  forward(logits, labels) {
    const c = logits.shape[logits.shape.length - 1];
    const rows = labels.length;
    let total = 0;
    for (let r = 0; r < rows; r++) {
      const label = labels[r];
      if (!(label >= 0 && label < c)) return NaN;
      total += rowLse(logits, r, c) - logits.data[r * c + label];
    }
    return total / rows;
  },
  backward(logits, labels, dy = 1) {
    const c = logits.shape[logits.shape.length - 1];
    const rows = labels.length;
    const dx = new Float64Array(rows * c);
    for (let r = 0; r < rows; r++) {
      const lse = rowLse(logits, r, c);
      for (let k = 0; k < c; k++) {
        const p = Math.exp(logits.data[r * c + k] - lse);
        dx[r * c + k] = (dy / rows) * (p - (k === labels[r] ? 1 : 0));
      }
    }
    return dx;
  },
};

function checkShapes(logits: Tensor, labels: Tensor): { rows: number; classes: number } {
  if (logits.rank < 1 || logits.shape[logits.rank - 1] === 0) {
    throw new ShapeError(
      "crossEntropy",
      logits.shape,
      null,
      "logits must be [..., C] with at least one class",
    );
  }
  const classes = logits.shape[logits.rank - 1];
  const rows = logits.size / classes;
  const batch = logits.shape.slice(0, -1);
  if (
    labels.rank !== batch.length || labels.shape.some((d, i) => d !== batch[i]) ||
    (labels.dtype !== "i32" && labels.dtype !== "u32")
  ) {
    throw new ShapeError(
      "crossEntropy",
      logits.shape,
      labels.shape,
      `labels must be i32 or u32 of shape [${batch.join(", ")}] (got ${labels.dtype})`,
    );
  }
  return { rows, classes };
}

/**
 * Softmax cross-entropy, mean over rows, like `torch.nn.functional.cross_entropy(logits, labels)`:
 * `mean_r(log Σ_c exp(x_rc) − x_r[label_r])`. Max-subtracted, so huge logits stay finite.
 * Labels are an `i32` (or `u32`) tensor shaped like the logits without their last dim; a label
 * outside [0, C) makes the loss NaN. The gradient flows to the logits only.
 *
 * @throws {ShapeError} naming both shapes when labels do not match the logits' leading dims.
 * @example
 * ```ts ignore
 * import { crossEntropy } from "./loss.ts";
 * import { fromArray } from "../tensor/create.ts";
 * const loss = crossEntropy(linear(features, w, b), fromArray(labels, [256], { dtype: "i32" }));
 * loss.backward();
 * ```
 */
export const crossEntropy: Op<
  [logits: Tensor, labels: Tensor],
  Tensor<"f32">,
  CrossEntropyReference
> = defineOp({
  name: "crossEntropy",
  dtypes: "any",
  forward(ctx, logits: Tensor, labels: Tensor): Tensor<"f32"> {
    const { rows, classes } = checkShapes(logits, labels);
    const { loss: perRow, lse } = encodeCrossEntropy(logits, labels);
    const out = mean(perRow);
    perRow.dispose();
    if (ctx.needsGrad) ctx.saved = { logits, labels, lse, rows, classes };
    else lse.dispose();
    return out;
  },
  backward(ctx, grad) {
    const { logits, labels, lse, rows, classes } = ctx.saved as {
      logits: Tensor;
      labels: Tensor;
      lse: Tensor;
      rows: number;
      classes: number;
    };
    const gpu = logits.gpu;
    const dx = Tensor.empty(gpu, logits.shape, "f32");
    if (dx.size > 0) {
      gpu.stream.dispatch({
        kernel: gpu.kernels.get(SHADERS.ops.cross_entropy, "backward", { WORKGROUP_SIZE: 256 }),
        bindings: [
          logits.binding,
          labels.binding,
          grad.binding,
          undefined,
          lse.binding,
          dx.binding,
        ],
        params: new Params().u32(rows, classes).f32(1 / rows, NaN).bytes(),
        workgroups: grid(dx.size, 256, gpu.limits.maxComputeWorkgroupsPerDimension),
      });
    }
    return [dx, null];
  },
  reference: crossEntropyReference,
});
