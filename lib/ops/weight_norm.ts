/**
 * Weight normalisation `weightNorm(v, g)`: W[o, :] = g[o] · v[o, :] / ‖v[o, :]‖₂, the weight of
 * DINO's last head layer (`torch.nn.utils.weight_norm(nn.Linear(...), dim=0)`, no eps). The head
 * then computes y = x·Wᵀ with `linear` from `matmul.ts`. The WGSL is `shaders/ops/weight_norm.wgsl`:
 * one dispatch each way, one thread per row; the backward recomputes the row norms instead of
 * saving them.
 *
 * @module
 */
import { defineOp, type Op } from "../autograd/define_op.ts";
import { ShapeError } from "../errors.ts";
import { grid, Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import type { HostTensor } from "../tensor/host.ts";
import { Tensor } from "../tensor/tensor.ts";

const WORKGROUP_SIZE = 64;

/** The CPU reference of {@link weightNorm}, in float64. */
export interface WeightNormReference {
  /** W for v [O, I] and g [O] or [O, 1]. */
  forward(v: HostTensor, g: HostTensor): Float64Array;
  /** dv [O, I] and dg (g's length) given dW [O, I]. */
  backward(v: HostTensor, g: HostTensor, dW: HostTensor): { dv: Float64Array; dg: Float64Array };
}

function checkShapes(v: Tensor, g: Tensor): void {
  if (v.rank !== 2) {
    throw new ShapeError(
      "weightNorm",
      v.shape,
      g.shape,
      `v must have rank 2 ([O, I]), got rank ${v.rank}`,
    );
  }
  const rows = v.shape[0];
  const ok = (g.rank === 1 && g.shape[0] === rows) ||
    (g.rank === 2 && g.shape[0] === rows && g.shape[1] === 1);
  if (!ok) {
    throw new ShapeError(
      "weightNorm",
      v.shape,
      g.shape,
      `g must have shape [${rows}] or [${rows}, 1], one gain per row of v`,
    );
  }
}

function encode(
  entry: "forward" | "backward",
  rows: number,
  cols: number,
  bindings: (GPUBufferBinding | undefined)[],
  gpu: Tensor["gpu"],
): void {
  if (rows === 0) return;
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(
      SHADERS.ops.weight_norm,
      cols % 4 === 0 ? `${entry}_vec4` : entry,
      { WORKGROUP_SIZE },
    ),
    bindings,
    params: new Params().u32(rows, cols).bytes(),
    workgroups: grid(rows, WORKGROUP_SIZE, gpu.limits.maxComputeWorkgroupsPerDimension),
  });
}

function referenceForward(v: HostTensor, g: HostTensor): Float64Array {
  const [rows, cols] = v.shape;
  const w = new Float64Array(rows * cols);
  for (let o = 0; o < rows; o++) {
    let sq = 0;
    for (let i = 0; i < cols; i++) sq += v.data[o * cols + i] ** 2;
    const factor = g.data[o] / Math.sqrt(sq);
    for (let i = 0; i < cols; i++) w[o * cols + i] = factor * v.data[o * cols + i];
  }
  return w;
}

function referenceBackward(
  v: HostTensor,
  g: HostTensor,
  dW: HostTensor,
): { dv: Float64Array; dg: Float64Array } {
  const [rows, cols] = v.shape;
  const dv = new Float64Array(rows * cols);
  const dg = new Float64Array(rows);
  for (let o = 0; o < rows; o++) {
    let sq = 0;
    let dot = 0;
    for (let i = 0; i < cols; i++) {
      sq += v.data[o * cols + i] ** 2;
      dot += dW.data[o * cols + i] * v.data[o * cols + i];
    }
    const norm = Math.sqrt(sq);
    dg[o] = dot / norm;
    for (let i = 0; i < cols; i++) {
      const vHat = v.data[o * cols + i] / norm;
      dv[o * cols + i] = (g.data[o] / norm) * (dW.data[o * cols + i] - vHat * dg[o]);
    }
  }
  return { dv, dg };
}

/**
 * W[o, :] = g[o] · v[o, :] / ‖v[o, :]‖₂ for v [O, I] and g [O] or [O, 1] (torch's `weight_g`
 * shape), like `torch._weight_norm(v, g, dim=0)`. No eps: a zero row of v gives NaN, as in
 * PyTorch. Backward: dg = Σ_i dW·v̂, dv = g/‖v‖ · (dW − v̂ · dg), with v̂ = v/‖v‖.
 *
 * @throws {ShapeError} naming `weightNorm` and both shapes when v is not rank 2 or g is not one
 * gain per row.
 * @example
 * ```ts ignore
 * import { weightNorm } from "./weight_norm.ts";
 * import { linear } from "./matmul.ts";
 * const logits = linear(z, weightNorm(weightV, weightG)); // [B, 256] → [B, 65536]
 * ```
 */
export const weightNorm: Op<[v: Tensor, g: Tensor], Tensor<"f32">, WeightNormReference> = defineOp({
  name: "weightNorm",
  forward(ctx, v: Tensor, g: Tensor): Tensor<"f32"> {
    checkShapes(v, g);
    const [rows, cols] = v.shape;
    const w = Tensor.empty(v.gpu, v.shape, "f32");
    encode("forward", rows, cols, [
      v.binding,
      g.binding,
      undefined,
      w.binding,
      undefined,
      undefined,
    ], v.gpu);
    ctx.saved.v = v;
    ctx.saved.g = g;
    return w;
  },
  backward(ctx, grad) {
    const { v, g } = ctx.saved as { v: Tensor; g: Tensor };
    const [rows, cols] = v.shape;
    const dv = Tensor.empty(v.gpu, v.shape, "f32");
    const dg = Tensor.empty(v.gpu, g.shape, "f32");
    encode(
      "backward",
      rows,
      cols,
      [v.binding, g.binding, grad.binding, undefined, dv.binding, dg.binding],
      v.gpu,
    );
    return [
      v.requiresGrad ? dv : (dv.dispose(), null),
      g.requiresGrad ? dg : (dg.dispose(), null),
    ];
  },
  reference: { forward: referenceForward, backward: referenceBackward },
});
