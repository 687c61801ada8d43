/**
 * Shared pieces of the golden checkers: reading fixture tensors and metadata, and the comparison
 * rule of the fixture README: `max|got − ref| ≤ tol · max(1, max|ref|)`.
 *
 * @module
 */
import type { SafetensorsFile } from "../../lib/io/safetensors.ts";
import { fromArray } from "../../lib/tensor/create.ts";
import { maxAbs, maxAbsDiff } from "../../lib/tensor/host.ts";
import type { HostTensor } from "../../lib/tensor/host.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";

/** Tolerance for single ops and the ViT step in f32 (fixture README). */
export const OP_TOLERANCE = 1e-4;

/** One compared tensor. */
export interface Comparison {
  /** The tensor name in the fixture. */
  tensor: string;
  /** max |got − ref|. */
  maxAbsErr: number;
  /** The allowed error: tol · max(1, max|ref|). */
  allowed: number;
  /** True when within tolerance. */
  pass: boolean;
}

/** The comparisons of one case (`c0`, …, or the file's single case). */
export interface CaseResult {
  /** Case label, e.g. `c3 nn 128×192×576`. */
  name: string;
  /** Every compared tensor. */
  comparisons: Comparison[];
}

/** A checker module (`tools/golden/<kind>.ts`) exports this as `check`. */
export type GoldenCheck = (file: SafetensorsFile) => Promise<CaseResult[]>;

/** A fixture tensor as f32 on the CPU; throws naming the file and tensor when absent. */
export function hostTensor(
  file: SafetensorsFile,
  name: string,
): HostTensor & { data: Float32Array } {
  const t = file.tensors.get(name);
  if (!t) throw new Error(`${file.source}: missing tensor "${name}"`);
  const data = t.data instanceof Float32Array
    ? t.data
    : Float32Array.from(t.data as ArrayLike<number>);
  return { shape: t.shape, data };
}

/** A fixture tensor uploaded to the GPU as f32. */
export function gpuTensor(file: SafetensorsFile, name: string): Tensor<"f32"> {
  const t = hostTensor(file, name);
  return fromArray(t.data, t.shape);
}

/** A metadata value parsed as JSON (strings that are not JSON are returned as is). */
export function meta<T = unknown>(file: SafetensorsFile, key: string): T {
  const raw = file.metadata[key];
  if (raw === undefined) throw new Error(`${file.source}: missing metadata "${key}"`);
  try {
    return JSON.parse(raw) as T;
  } catch {
    return raw as T;
  }
}

/** Compares `got` with fixture tensor `ref` under the README rule. */
export function compare(
  name: string,
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  tol = OP_TOLERANCE,
): Comparison {
  const maxAbsErr = maxAbsDiff(got, ref);
  const allowed = tol * Math.max(1, maxAbs(ref));
  return { tensor: name, maxAbsErr, allowed, pass: maxAbsErr <= allowed };
}

/** Reads `tensor` back and compares it with the fixture tensor `refName`, then frees it. */
export async function compareTensor(
  file: SafetensorsFile,
  refName: string,
  tensor: Tensor,
  tol = OP_TOLERANCE,
): Promise<Comparison> {
  const ref = hostTensor(file, refName);
  const shapeMatches = tensor.shape.length === ref.shape.length &&
    tensor.shape.every((d, i) => d === ref.shape[i]);
  const got = await tensor.toArray();
  tensor.dispose();
  if (!shapeMatches) {
    return {
      tensor: `${refName} (shape [${tensor.shape}] vs [${ref.shape}])`,
      maxAbsErr: Infinity,
      allowed: 0,
      pass: false,
    };
  }
  return compare(refName, got as Float32Array, ref.data, tol);
}
