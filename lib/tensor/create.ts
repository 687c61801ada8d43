/**
 * Tensor creation: constants, uploads from CPU arrays, and seeded random initialisers.
 *
 * @module
 */
import { currentGpu, type Gpu } from "../gpu/device.ts";
import { grid, Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import { Rng } from "../data/rng.ts";
import { GpuUnavailableError } from "../errors.ts";
import { type ArrayFor, BYTES_PER_ELEMENT, type DType, toTypedArray } from "./dtype.ts";
import { checkShape, formatShape, numel, type Shape } from "./shape.ts";
import { Tensor } from "./tensor.ts";

/** Options shared by the creation functions. */
export interface CreateOptions<D extends DType = "f32"> {
  /** Element type; `f32` by default. */
  dtype?: D;
  /** Device; the default device from `getGpu()` otherwise. */
  gpu?: Gpu;
}

/** Options of the random initialisers. */
export interface RandomOptions extends CreateOptions<"f32"> {
  /** Seed of this draw; without it the global generator (see {@link manualSeed}) is used. */
  seed?: number;
  /** A generator to draw from (advanced by the draw); takes precedence over `seed`. */
  rng?: Rng;
}

let globalRng = new Rng(0);

/**
 * Reseeds the global generator used by random initialisers without an explicit seed.
 *
 * @example
 * ```ts ignore
 * import { manualSeed, randn } from "./create.ts";
 * manualSeed(42);
 * const w = randn([4, 4]);
 * ```
 */
export function manualSeed(seed: number): void {
  globalRng = new Rng(seed);
}

function deviceFor(dtype: DType, gpu?: Gpu): Gpu {
  const device = gpu ?? currentGpu();
  if (dtype === "f16" && !device.hasF16) {
    throw new GpuUnavailableError(
      "Cannot create an f16 tensor: the adapter lacks the shader-f16 feature (use f32)",
    );
  }
  return device;
}

/**
 * A tensor of `shape` with every element `value`.
 *
 * @example
 * ```ts ignore
 * import { full } from "./create.ts";
 * const t = full([2, 3], 0.5);
 * ```
 */
export function full<D extends DType = "f32">(
  shape: Shape,
  value: number,
  options: CreateOptions<D> = {},
): Tensor<D> {
  checkShape(shape, "a tensor");
  const dtype = (options.dtype ?? "f32") as D;
  const gpu = deviceFor(dtype, options.gpu);
  const out = Tensor.empty(gpu, shape, dtype);
  const words = Math.ceil(out.byteLength / 4);
  if (words === 0) return out;
  const pattern = new Uint32Array(
    toTypedArray(dtype, new Array(4 / BYTES_PER_ELEMENT[dtype]).fill(value)).buffer,
  )[0];
  // Four words per invocation when the count allows: ~2.5× the bandwidth on lavapipe.
  const vec4 = words % 4 === 0;
  const units = vec4 ? words / 4 : words;
  const kernel = gpu.kernels.get(SHADERS.tensor.fill, vec4 ? "forward_vec4" : "forward");
  gpu.stream.dispatch({
    kernel,
    bindings: [out.binding],
    params: new Params().u32(units, pattern).bytes(),
    workgroups: grid(units, 256, gpu.limits.maxComputeWorkgroupsPerDimension),
  });
  return out;
}

/**
 * A tensor of zeros.
 *
 * @example
 * ```ts ignore
 * import { zeros } from "./create.ts";
 * const t = zeros([2, 3], { dtype: "i32" });
 * ```
 */
export function zeros<D extends DType = "f32">(
  shape: Shape,
  options: CreateOptions<D> = {},
): Tensor<D> {
  return full(shape, 0, options);
}

/**
 * A tensor of ones.
 *
 * @example
 * ```ts ignore
 * import { ones } from "./create.ts";
 * const t = ones([3]);
 * ```
 */
export function ones<D extends DType = "f32">(
  shape: Shape,
  options: CreateOptions<D> = {},
): Tensor<D> {
  return full(shape, 1, options);
}

/**
 * Uploads `data` as a tensor of `shape` (default: 1-D of its length).
 *
 * @throws {RangeError} when `data.length` is not the element count of `shape`.
 * @example
 * ```ts ignore
 * import { fromArray } from "./create.ts";
 * const t = fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
 * ```
 */
export function fromArray<D extends DType = "f32">(
  data: ArrayLike<number>,
  shape: Shape = [data.length],
  options: CreateOptions<D> = {},
): Tensor<D> {
  checkShape(shape, "a tensor");
  if (data.length !== numel(shape)) {
    throw new RangeError(
      `Cannot create a tensor of shape ${formatShape(shape)} from ${data.length} values: ` +
        `expected ${numel(shape)}`,
    );
  }
  const dtype = (options.dtype ?? "f32") as D;
  const gpu = deviceFor(dtype, options.gpu);
  const out = Tensor.empty(gpu, shape, dtype);
  if (out.size === 0) return out;
  const typed: ArrayFor<D> = isTypedArrayOf(dtype, data) ? data : toTypedArray(dtype, data);
  gpu.stream.upload(out.storage.buffer, typed);
  return out;
}

function isTypedArrayOf<D extends DType>(dtype: D, data: ArrayLike<number>): data is ArrayFor<D> {
  switch (dtype) {
    case "f32":
      return data instanceof Float32Array;
    case "i32":
      return data instanceof Int32Array;
    case "u32":
      return data instanceof Uint32Array;
    case "f16":
      return data instanceof Float16Array;
  }
  return false;
}

function randomTensor(
  shape: Shape,
  options: RandomOptions,
  draw: (rng: Rng) => number,
): Tensor<"f32"> {
  checkShape(shape, "a random tensor");
  const rng = options.rng ?? (options.seed === undefined ? globalRng : new Rng(options.seed));
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = draw(rng);
  return fromArray(data, shape, { gpu: options.gpu });
}

/**
 * Uniform samples in [low, high) (default [0, 1)); the same seed gives the same values.
 *
 * @example
 * ```ts ignore
 * import { rand } from "./create.ts";
 * const t = rand([2, 2], { seed: 1 });
 * ```
 */
export function rand(
  shape: Shape,
  options: RandomOptions & { low?: number; high?: number } = {},
): Tensor<"f32"> {
  const { low = 0, high = 1 } = options;
  return randomTensor(shape, options, (rng) => rng.range(low, high));
}

/**
 * Normal samples with mean `mean` and standard deviation `std` (default 0 and 1).
 *
 * @example
 * ```ts ignore
 * import { randn } from "./create.ts";
 * const t = randn([8], { seed: 3, std: 0.1 });
 * ```
 */
export function randn(
  shape: Shape,
  options: RandomOptions & { mean?: number; std?: number } = {},
): Tensor<"f32"> {
  const { mean = 0, std = 1 } = options;
  return randomTensor(shape, options, (rng) => mean + std * rng.normal());
}

/**
 * Truncated normal as `torch.nn.init.trunc_normal_`: N(mean, std²) redrawn until inside the
 * absolute bounds [a, b] (default [-2, 2], as dino uses with std 0.02: effectively untruncated).
 *
 * @example
 * ```ts ignore
 * import { truncNormal } from "./create.ts";
 * const w = truncNormal([192, 64], { std: 0.02, seed: 0 });
 * ```
 */
export function truncNormal(
  shape: Shape,
  options: RandomOptions & { mean?: number; std?: number; a?: number; b?: number } = {},
): Tensor<"f32"> {
  const { mean = 0, std = 1, a = -2, b = 2 } = options;
  if (!(a < b)) throw new RangeError(`Cannot draw a truncated normal with bounds [${a}, ${b}]`);
  return randomTensor(shape, options, (rng) => {
    // Rejection sampling; bounds far in a tail would reject forever, so clamp after 100 tries.
    for (let attempt = 0; attempt < 100; attempt++) {
      const v = mean + std * rng.normal();
      if (v >= a && v <= b) return v;
    }
    return Math.min(b, Math.max(a, mean));
  });
}
