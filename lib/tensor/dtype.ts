/**
 * Element types of tensors and the typed arrays that hold them on the CPU.
 *
 * @module
 */

/** Element type of a tensor. `f16` needs the adapter feature `shader-f16`. */
export type DType = "f32" | "i32" | "u32" | "f16";

/** The typed array that holds each dtype on the CPU. */
export interface DTypeArrays {
  /** 32-bit float. */
  f32: Float32Array;
  /** 32-bit signed integer. */
  i32: Int32Array;
  /** 32-bit unsigned integer. */
  u32: Uint32Array;
  /** 16-bit float. */
  f16: Float16Array;
}

/** The typed array of dtype `D`, e.g. `ArrayFor<"f32">` is `Float32Array`. */
export type ArrayFor<D extends DType> = DTypeArrays[D];

/**
 * Bytes per element of each dtype.
 *
 * @example
 * ```ts
 * import { BYTES_PER_ELEMENT } from "./dtype.ts";
 * console.log(BYTES_PER_ELEMENT.f16); // 2
 * ```
 */
export const BYTES_PER_ELEMENT: Readonly<Record<DType, number>> = {
  f32: 4,
  i32: 4,
  u32: 4,
  f16: 2,
};

/**
 * Views `buffer` as the typed array of `dtype`.
 *
 * @example
 * ```ts
 * import { typedArray } from "./dtype.ts";
 * console.log(typedArray("i32", new ArrayBuffer(8)).length); // 2
 * ```
 */
export function typedArray<D extends DType>(dtype: D, buffer: ArrayBuffer): ArrayFor<D> {
  switch (dtype) {
    case "f32":
      return new Float32Array(buffer) as ArrayFor<D>;
    case "i32":
      return new Int32Array(buffer) as ArrayFor<D>;
    case "u32":
      return new Uint32Array(buffer) as ArrayFor<D>;
    case "f16":
      return new Float16Array(buffer) as ArrayFor<D>;
  }
  throw new TypeError(`Cannot view bytes as dtype ${dtype}: expected f32, i32, u32 or f16`);
}

/**
 * Copies `values` into a new typed array of `dtype`.
 *
 * @example
 * ```ts
 * import { toTypedArray } from "./dtype.ts";
 * console.log(toTypedArray("u32", [1, 2, 3])); // Uint32Array(3) [1, 2, 3]
 * ```
 */
export function toTypedArray<D extends DType>(dtype: D, values: ArrayLike<number>): ArrayFor<D> {
  const out = typedArray(dtype, new ArrayBuffer(values.length * BYTES_PER_ELEMENT[dtype]));
  out.set(values);
  return out;
}
