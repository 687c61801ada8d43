/**
 * Shared pieces of the row-wise ops (`layerNorm`, `l2normalize`, `softmax`, `logSoftmax`): a
 * tensor seen as [rows, D] over its last dim, the two kernel variants (an invocation or a
 * workgroup per row) and how to launch them, and the error for a tensor without a last dim.
 *
 * @module
 */
import { ShapeError } from "../errors.ts";
import type { Gpu } from "../gpu/device.ts";
import { grid } from "../gpu/dispatch.ts";
import type { Shape } from "../tensor/shape.ts";

/** A shape seen as `rows` rows of length `d` (its last dim). */
export interface RowShape {
  /** Product of every dim but the last. */
  rows: number;
  /** The last dim. */
  d: number;
}

/**
 * The [rows, D] view of `shape` over its last dim.
 *
 * @throws {ShapeError} naming `op` and the shape when it has no dims.
 * @example
 * ```ts
 * import { rowShape } from "./rowwise.ts";
 * console.log(rowShape("softmax", [2, 3, 5])); // { rows: 6, d: 5 }
 * ```
 */
export function rowShape(op: string, shape: Shape): RowShape {
  if (shape.length === 0) {
    throw shapeError(op, shape, `${op} runs over the last dim and needs a tensor of rank ≥ 1`);
  }
  const d = shape[shape.length - 1];
  return { rows: d === 0 ? 0 : shapeSize(shape) / d, d };
}

function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * A {@link ShapeError} about one tensor: `Cannot <op> a tensor of shape <shape>: <reason>`.
 *
 * @example
 * ```ts
 * import { shapeError } from "./rowwise.ts";
 * console.log(shapeError("softmax", [], "it needs rank ≥ 1").message);
 * // Cannot softmax a tensor of shape []: it needs rank ≥ 1
 * ```
 */
export function shapeError(op: string, shape: Shape, reason: string): ShapeError {
  return new ShapeError(op, shape, null, reason);
}

/**
 * How a row-wise kernel spreads rows over invocations (the shaders have both):
 * - `"rowwise"`: one invocation per row, no workgroup memory and no barriers. Best on CPU
 *   adapters (llvmpipe runs each barrier as a coroutine switch: ~7× faster at [6304, 192]) and
 *   for rows too short to fill a workgroup.
 * - `"workgroup"`: one workgroup per row with tree reductions in workgroup memory; coalesced,
 *   and long rows spread over up to 256 invocations. Best on GPUs.
 */
export type RowVariant = "rowwise" | "workgroup";

const ROWWISE_WORKGROUP = 64;

/**
 * The variant the ops use on `gpu` for rows of length `d`: `"rowwise"` on software adapters
 * (llvmpipe) and for d ≤ 32, `"workgroup"` otherwise.
 *
 * @example
 * ```ts ignore
 * import { defaultRowVariant } from "./rowwise.ts";
 * console.log(defaultRowVariant(gpu, 192)); // "rowwise" on llvmpipe, "workgroup" on a GPU
 * ```
 */
export function defaultRowVariant(gpu: Gpu, d: number): RowVariant {
  return gpu.adapter.info.isFallbackAdapter || d <= 32 ? "rowwise" : "workgroup";
}

/** The entry point, workgroup size and grid of a row-wise dispatch. */
export interface RowLaunch {
  /** `<stage>` for the workgroup variant, `<stage>_rowwise` for the rowwise one. */
  entry: string;
  /** The `WORKGROUP_SIZE` override. */
  workgroupSize: number;
  /** Workgroup counts, folded into two dims above the per-dim limit. */
  workgroups: [number, number];
}

/**
 * Launch settings of entry point `stage` (`forward`, `backward`) for `rows` rows of length `d`.
 * Shaders rebuild the row as `wid.x + wid.y * num_workgroups.x` (workgroup variant) or
 * `gid.x + gid.y * num_workgroups.x * WORKGROUP_SIZE` (rowwise) and skip rows past the end.
 *
 * @example
 * ```ts ignore
 * import { rowLaunch } from "./rowwise.ts";
 * const { entry, workgroupSize, workgroups } = rowLaunch(gpu, "forward", 32 * 197, 192);
 * ```
 */
export function rowLaunch(
  gpu: Gpu,
  stage: string,
  rows: number,
  d: number,
  variant: RowVariant = defaultRowVariant(gpu, d),
): RowLaunch {
  const maxPerDim = gpu.limits.maxComputeWorkgroupsPerDimension;
  if (variant === "rowwise") {
    return {
      entry: `${stage}_rowwise`,
      workgroupSize: ROWWISE_WORKGROUP,
      workgroups: grid(rows, ROWWISE_WORKGROUP, maxPerDim),
    };
  }
  return { entry: stage, workgroupSize: rowWorkgroupSize(d), workgroups: grid(rows, 1, maxPerDim) };
}

/**
 * Invocations per workgroup of the workgroup variant for rows of length `d`: a power of two near
 * d/4 in [32, 256], so each invocation handles ~4 elements and short rows do not idle 256 lanes
 * (D = 192 → 64, D = 1000 → 256).
 *
 * @example
 * ```ts
 * import { rowWorkgroupSize } from "./rowwise.ts";
 * console.log(rowWorkgroupSize(192)); // 64
 * ```
 */
export function rowWorkgroupSize(d: number): number {
  let size = 32;
  while (size < 256 && size * 4 < d) size *= 2;
  return size;
}
