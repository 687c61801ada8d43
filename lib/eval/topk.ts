/**
 * `topk`: the k largest values of each row and their indices, sorted descending, on the GPU
 * (radix select + bitonic sort, `shaders/eval/topk.wgsl`), with a CPU reference. The k-NN
 * evaluation runs it on [queries, bank] similarity chunks so that only [queries, k] comes back.
 *
 * @module
 */
import { ShapeError } from "../errors.ts";
import { grid, Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import { Tensor } from "../tensor/tensor.ts";

function topkError(x: Tensor, reason: string): ShapeError {
  return new ShapeError("topk", x.shape, null, reason);
}

/**
 * Largest k {@link topk} supports: the sort runs in 8 KiB of workgroup memory.
 *
 * @example
 * ```ts
 * import { TOPK_MAX_K } from "./topk.ts";
 * console.log(TOPK_MAX_K);
 * ```
 */
export const TOPK_MAX_K = 1024;

/** What {@link topk} returns. */
export interface TopK {
  /** [..., k]: the largest values of each row, descending. */
  values: Tensor<"f32">;
  /** [..., k]: their column indices (ties: the lower index first). */
  indices: Tensor<"u32">;
}

/** What {@link topkReference} returns. */
export interface TopKHost {
  /** [rows·k] values, each row descending. */
  values: Float32Array;
  /** [rows·k] column indices. */
  indices: Uint32Array;
}

/**
 * The k largest entries of each row of x (over its last dim), sorted descending, like
 * `torch.topk(x, k, dim=-1)`; equal values keep the lower index first. No autograd.
 *
 * @throws {ShapeError} when x has rank 0 or k is not an integer in [0, min(n, 1024)].
 * @example
 * ```ts ignore
 * import { topk } from "./topk.ts";
 * const { values, indices } = topk(similarities, 20); // [Q, N] → [Q, 20] twice
 * ```
 */
export function topk(x: Tensor, k: number): TopK {
  if (x.rank === 0) throw topkError(x, "topk runs over the last dim and needs rank ≥ 1");
  const n = x.shape[x.rank - 1];
  if (!Number.isInteger(k) || k < 0 || k > n || k > TOPK_MAX_K) {
    throw topkError(
      x,
      `k = ${k} must be an integer in [0, ${Math.min(n, TOPK_MAX_K)}] (the row length, at most ` +
        `${TOPK_MAX_K})`,
    );
  }
  const gpu = x.gpu;
  const outShape = [...x.shape.slice(0, -1), k];
  const values = Tensor.empty(gpu, outShape, "f32");
  const indices = Tensor.empty(gpu, outShape, "u32");
  const rows = n === 0 ? 0 : x.size / n;
  if (values.size === 0) return { values, indices };
  let kCap = 2;
  while (kCap < k) kCap *= 2;
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(SHADERS.eval.topk, "forward", {
      // llvmpipe runs each barrier as a coroutine switch per invocation: fewer, busier lanes.
      WORKGROUP_SIZE: gpu.adapter.info.isFallbackAdapter || n <= 1024 ? 64 : 256,
      K_CAP: kCap,
    }),
    bindings: [x.binding, values.binding, indices.binding],
    params: new Params().u32(rows, n, k, 0).bytes(),
    workgroups: grid(rows, 1, gpu.limits.maxComputeWorkgroupsPerDimension),
  });
  return { values, indices };
}

/**
 * CPU reference of {@link topk} over rows of length `n` (same order and tie rule).
 *
 * @example
 * ```ts
 * import { topkReference } from "./topk.ts";
 * const { values, indices } = topkReference(new Float32Array([1, 3, 2, 3]), 4, 2);
 * console.log(values, indices); // Float32Array [3, 3] Uint32Array [1, 3]
 * ```
 */
export function topkReference(x: ArrayLike<number>, n: number, k: number): TopKHost {
  const rows = n === 0 ? 0 : x.length / n;
  const values = new Float32Array(rows * k);
  const indices = new Uint32Array(rows * k);
  const order = new Uint32Array(n);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < n; i++) order[i] = i;
    const base = r * n;
    order.sort((a, b) => x[base + b] - x[base + a] || a - b);
    for (let j = 0; j < k; j++) {
      indices[r * k + j] = order[j];
      values[r * k + j] = x[base + order[j]];
    }
  }
  return { values, indices };
}
