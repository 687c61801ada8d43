/**
 * Matrix products: `matmul` (nn, tn, nt; batched, a rank-2 operand broadcasts over the batch) and
 * `linear` (x·Wᵀ + b with the bias fused into the epilogue). The WGSL is `shaders/ops/matmul.wgsl`.
 *
 * Every product runs one of several kernel variants ({@link MATMUL_VARIANTS}). Which one: the
 * `variant` option of {@link encodeMatmul}, else the `DINOGPU_MATMUL_VARIANT` environment variable
 * (read when `--allow-env` grants it), else {@link forceMatmulVariant}, else the winner that
 * `await tuneMatmul(gpu)` (`matmul_tune.ts`) measured for the problem's size bucket (`pretrain`
 * runs it after its first step on GPU adapters), else a per-adapter default (`small` for tiny
 * batched products, else `texture` on CPU adapters such as lavapipe, shared-memory tiles on GPUs).
 *
 * @module
 */
import { defineOp, type Op } from "../autograd/define_op.ts";
import { ShapeError } from "../errors.ts";
import type { Gpu } from "../gpu/device.ts";
import { type Binding, grid, Params } from "../gpu/dispatch.ts";
import { fitsFlatTexture, flatTexture } from "../gpu/flat_texture.ts";
import type { ShaderSource } from "../gpu/kernel.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import type { HostTensor } from "../tensor/host.ts";
import { Tensor } from "../tensor/tensor.ts";
import { sum } from "./reduce.ts";

/** Options of {@link matmul}. */
export interface MatmulOptions {
  /** Use Aᵀ: A is stored [K, M] (or [batch, K, M]). */
  transposeA?: boolean;
  /** Use Bᵀ: B is stored [N, K] (or [batch, N, K]). */
  transposeB?: boolean;
  /** Multiplies the product (attention's hd^-0.5). Default 1. */
  alpha?: number;
}

/**
 * Kernel variants of matmul.wgsl, in order of complexity:
 * - `naive`: one thread per output (the benchmark baseline);
 * - `small`: one 4×4 block per thread, threads numbered across the batch (tiny batched products);
 * - `block`: a 12×16 register block per thread straight from global memory;
 * - `texture`: `block` taking its vec4 loads of A and B from flat texture copies
 *   (`gpu/flat_texture.ts`), 2.5–3× `block` on lavapipe, whose buffer loads loop over SIMD lanes;
 * - `tiled64`, `tiled128`: 64×64×16 / 128×128×8 tiles staged in workgroup memory, 8×8 outputs
 *   per thread (for real GPUs).
 *
 * @example
 * ```ts
 * import { MATMUL_VARIANTS } from "./matmul.ts";
 * console.log(MATMUL_VARIANTS);
 * ```
 */
export const MATMUL_VARIANTS = [
  "naive",
  "small",
  "block",
  "texture",
  "tiled64",
  "tiled128",
] as const;

/** One of {@link MATMUL_VARIANTS}. */
export type MatmulVariant = (typeof MATMUL_VARIANTS)[number];

/** The size and layout of one product, the unit that variants are chosen for. */
export interface MatmulProblem {
  /** Rows of op(A) and C. */
  m: number;
  /** Columns of op(B) and C. */
  n: number;
  /** The inner dimension. */
  k: number;
  /** Independent products (1 when neither operand is batched). */
  batch: number;
  /** A is stored [K, M]. */
  transposeA: boolean;
  /** B is stored [N, K]. */
  transposeB: boolean;
}

interface VariantSpec {
  entry: string;
  /** Reads A and B from flat textures ({@link TEXTURE_SHADER}). */
  textures?: boolean;
  constants: Record<string, number>;
  /** Output rows and columns per workgroup. */
  tile: [number, number];
}

const SPECS: Record<MatmulVariant, VariantSpec> = {
  naive: { entry: "forward_naive", constants: {}, tile: [16, 16] },
  small: { entry: "forward_small", constants: {}, tile: [4, 4] },
  block: { entry: "forward_block", constants: {}, tile: [96, 128] },
  texture: { entry: "forward_block", textures: true, constants: {}, tile: [96, 128] },
  tiled64: {
    entry: "forward_tiled",
    constants: { TILE_M: 64, TILE_N: 64, TILE_K: 16 },
    tile: [64, 64],
  },
  tiled128: {
    entry: "forward_tiled",
    constants: { TILE_M: 128, TILE_N: 128, TILE_K: 8 },
    tile: [128, 128],
  },
};

/**
 * matmul.wgsl for the `texture` variant: every statement marked `// texture:` swapped for the one
 * after the mark (the operand loads, see the shader).
 */
const TEXTURE_SHADER: ShaderSource = {
  name: "ops/matmul (texture)",
  code: SHADERS.ops.matmul.code.replace(/^(\s*)\S.*\/\/ texture: (.*)$/gm, "$1$2"),
};

/**
 * The spec of `variant` for N columns. The register block is 16 columns wide per thread; its
 * workgroup has 8, 6 or 4 threads along the columns (tiles of 128, 96 or 64), whichever wastes the
 * fewest columns, the widest on ties: ViT widths (192·k) fit 96 exactly where 128 would compute
 * 256 columns for 192.
 */
function launchSpec(variant: MatmulVariant, n: number): VariantSpec {
  const spec = SPECS[variant];
  if (spec.entry !== "forward_block") return spec;
  let best = 8;
  for (const x of [6, 4]) {
    if (Math.ceil(n / (16 * x)) * 16 * x < Math.ceil(n / (16 * best)) * 16 * best) best = x;
  }
  return {
    ...spec,
    constants: { ...spec.constants, BLOCK_Y: best },
    tile: [spec.tile[0], 16 * best],
  };
}

const ENV_VARIANT = "DINOGPU_MATMUL_VARIANT";

interface Choices {
  forced?: MatmulVariant;
  tuned: Map<string, MatmulVariant>;
  /** Buckets met since the last tuning, with the first problem seen in each. */
  untuned: Map<string, MatmulProblem>;
}

const choicesByGpu = new WeakMap<Gpu, Choices>();

function choicesOf(gpu: Gpu): Choices {
  let c = choicesByGpu.get(gpu);
  if (!c) choicesByGpu.set(gpu, c = { tuned: new Map(), untuned: new Map() });
  return c;
}

function checkVariant(name: string, source: string): MatmulVariant {
  if (!(MATMUL_VARIANTS as readonly string[]).includes(name)) {
    throw new RangeError(
      `Cannot use matmul variant "${name}" from ${source}: expected one of ${
        MATMUL_VARIANTS.join(", ")
      }`,
    );
  }
  return name as MatmulVariant;
}

let envVariant: MatmulVariant | null | undefined;

/** The variant named by DINOGPU_MATMUL_VARIANT, read once and only when env access is granted. */
function variantFromEnv(): MatmulVariant | null {
  if (envVariant !== undefined) return envVariant;
  envVariant = null;
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  try {
    const state = deno?.permissions.querySync?.({ name: "env", variable: ENV_VARIANT }).state;
    const value = state === "granted" ? deno?.env.get(ENV_VARIANT) : undefined;
    if (value) envVariant = checkVariant(value, `$${ENV_VARIANT}`);
  } catch (error) {
    if (error instanceof RangeError) throw error;
  }
  return envVariant;
}

function log2Bucket(x: number): number {
  return Math.ceil(Math.log2(Math.max(1, x)));
}

/** True when every operand's contiguous dim is a multiple of 4 (the vec4 load paths). */
function isAligned(p: MatmulProblem): boolean {
  const flags = alignment(p);
  return flags.VEC_A === 1 && flags.VEC_B === 1 && flags.VEC_C === 1;
}

/**
 * The tuning bucket of a problem: transposition, ⌈log₂⌉ of m, n, k and batch, and whether every
 * operand takes vec4 loads. Problems in one bucket share a variant.
 *
 * @example
 * ```ts
 * import { matmulBucket } from "./matmul.ts";
 * const p = { m: 6304, n: 576, k: 192, batch: 1, transposeA: false, transposeB: true };
 * console.log(matmulBucket(p)); // "nt m13 n10 k8 b0 vec4"
 * ```
 */
export function matmulBucket(p: MatmulProblem): string {
  const mode = `${p.transposeA ? "t" : "n"}${p.transposeB ? "t" : "n"}`;
  return `${mode} m${log2Bucket(p.m)} n${log2Bucket(p.n)} k${log2Bucket(p.k)} ` +
    `b${log2Bucket(p.batch)} ${isAligned(p) ? "vec4" : "scalar"}`;
}

/**
 * True for CPU adapters (lavapipe/llvmpipe, SwiftShader, WARP): the one test that picks
 * CPU-specific kernels, tuning caps and defaults.
 *
 * @example
 * ```ts ignore
 * import { isCpuAdapter } from "./matmul.ts";
 * console.log(isCpuAdapter(gpu)); // true on lavapipe
 * ```
 */
export function isCpuAdapter(gpu: Gpu): boolean {
  const info = gpu.adapter.info;
  return (info.isFallbackAdapter ?? false) ||
    /llvmpipe|lavapipe|swiftshader|softpipe|warp|microsoft basic/i.test(info.description ?? "");
}

function fitsTextures(gpu: Gpu, aFloats: number, bFloats: number): boolean {
  return fitsFlatTexture(gpu, aFloats) && fitsFlatTexture(gpu, bFloats);
}

/** True when the `texture` variant would read an operand from a texture: a vec4 path, and room. */
function readsTextures(gpu: Gpu, p: MatmulProblem): boolean {
  const { VEC_A, VEC_B } = alignment(p);
  return (VEC_A === 1 || VEC_B === 1) &&
    fitsTextures(gpu, p.batch * p.m * p.k, p.batch * p.k * p.n);
}

/** Outputs that `variant`'s workgroups compute per output stored (1 when tiles fit exactly). */
function padding(variant: MatmulVariant, p: MatmulProblem): number {
  const [rows, cols] = launchSpec(variant, p.n).tile;
  return (Math.ceil(p.m / rows) * rows * Math.ceil(p.n / cols) * cols) / (p.m * p.n);
}

/**
 * Above this padding the `small` variant wins: its 4×4 block loads 0.5 floats per FMA where the
 * 12×16 block loads 0.15, so the block loses once it computes over ~3.4× the outputs it stores
 * (on lavapipe, 768 products of 17×32×17: small 12 ms, block 111 ms; bench/matmul_bench.ts).
 */
const SMALL_PADDING = 4;

/**
 * The variant used when nothing was forced or tuned: `small` when the usual choice would compute
 * over {@link SMALL_PADDING}× more outputs than stored (attention over a few dozen tokens); else
 * the register block on CPU adapters, reading vec4-aligned operands from flat textures when they
 * fit; on GPUs 128×128 tiles when there are enough of them to fill
 * the device (≥ 256), 64×64 tiles for mid-size products, and the register block for small ones.
 *
 * @example
 * ```ts ignore
 * import { defaultMatmulVariant } from "./matmul.ts";
 * defaultMatmulVariant(gpu, { m: 4096, n: 4096, k: 4096, batch: 1, transposeA: false, transposeB: false });
 * ```
 */
export function defaultMatmulVariant(gpu: Gpu, p: MatmulProblem): MatmulVariant {
  const tiles = (size: number) => Math.ceil(p.m / size) * Math.ceil(p.n / size) * p.batch;
  const usual = isCpuAdapter(gpu)
    ? (readsTextures(gpu, p) ? "texture" : "block")
    : tiles(128) >= 256
    ? "tiled128"
    : tiles(64) >= 64
    ? "tiled64"
    : "block";
  return padding(usual, p) > SMALL_PADDING ? "small" : usual;
}

/**
 * The variant that {@link encodeMatmul} runs for `problem` on `gpu` without a `variant` option:
 * `$DINOGPU_MATMUL_VARIANT`, else the one forced by {@link forceMatmulVariant}, else the tuned
 * winner of the problem's bucket, else the adapter default.
 *
 * @example
 * ```ts ignore
 * import { matmulVariantFor } from "./matmul.ts";
 * const v = matmulVariantFor(gpu, { m: 6304, n: 576, k: 192, batch: 1, transposeA: false, transposeB: true });
 * ```
 */
export function matmulVariantFor(gpu: Gpu, problem: MatmulProblem): MatmulVariant {
  const env = variantFromEnv();
  if (env) return env;
  const choices = choicesOf(gpu);
  if (choices.forced) return choices.forced;
  const key = matmulBucket(problem);
  const tuned = choices.tuned.get(key);
  if (tuned) return tuned;
  if (!choices.untuned.has(key)) choices.untuned.set(key, { ...problem });
  return defaultMatmulVariant(gpu, problem);
}

/**
 * Runs every product on `gpu` with `variant` (tests and benchmarks); `undefined` restores the
 * normal choice. `$DINOGPU_MATMUL_VARIANT` still wins.
 *
 * @example
 * ```ts ignore
 * import { forceMatmulVariant } from "./matmul.ts";
 * forceMatmulVariant(gpu, "tiled64");
 * ```
 */
export function forceMatmulVariant(gpu: Gpu, variant: MatmulVariant | undefined): void {
  choicesOf(gpu).forced = variant === undefined ? undefined : checkVariant(variant, "the caller");
}

/**
 * Records the tuned winner of a bucket (called by `tuneMatmul`).
 *
 * @example
 * ```ts ignore
 * import { recordMatmulTuning } from "./matmul.ts";
 * recordMatmulTuning(gpu, "nt m13 n10 k8 b0 vec4", "block");
 * ```
 */
export function recordMatmulTuning(gpu: Gpu, bucket: string, variant: MatmulVariant): void {
  const choices = choicesOf(gpu);
  choices.tuned.set(bucket, checkVariant(variant, "tuning"));
  choices.untuned.delete(bucket);
}

/**
 * Buckets that products have met on `gpu` without a tuned winner, each with the first problem
 * seen in it (what `tuneMatmul` times by default).
 *
 * @example
 * ```ts ignore
 * import { untunedMatmulProblems } from "./matmul.ts";
 * console.log(untunedMatmulProblems(gpu).size);
 * ```
 */
export function untunedMatmulProblems(gpu: Gpu): ReadonlyMap<string, MatmulProblem> {
  return choicesOf(gpu).untuned;
}

interface MatmulDims {
  batch: number;
  m: number;
  n: number;
  k: number;
  batched: boolean;
}

function matmulDims(
  a: Tensor,
  b: Tensor,
  transA: boolean,
  transB: boolean,
  op: string,
): MatmulDims {
  if (a.rank < 2 || a.rank > 3 || b.rank < 2 || b.rank > 3) {
    throw new ShapeError(op, a.shape, b.shape, "operands must have rank 2 or 3");
  }
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const [k2, n] = transB ? [bc, br] : [br, bc];
  if (k !== k2) {
    throw new ShapeError(op, a.shape, b.shape, `inner dimensions ${k} and ${k2} differ`);
  }
  const batchA = a.rank === 3 ? a.shape[0] : 1;
  const batchB = b.rank === 3 ? b.shape[0] : 1;
  if (a.rank === 3 && b.rank === 3 && batchA !== batchB) {
    throw new ShapeError(op, a.shape, b.shape, `batch sizes ${batchA} and ${batchB} differ`);
  }
  return { batch: Math.max(batchA, batchB), m, n, k, batched: a.rank === 3 || b.rank === 3 };
}

/** VEC_* overrides: which operands' contiguous dims allow vec4 loads and stores. */
function alignment(p: MatmulProblem): Record<"VEC_A" | "VEC_B" | "VEC_C", number> {
  return {
    VEC_A: Number((p.transposeA ? p.m : p.k) % 4 === 0),
    VEC_B: Number((p.transposeB ? p.k : p.n) % 4 === 0),
    VEC_C: Number(p.n % 4 === 0),
  };
}

/**
 * The whole buffer range of `t` rounded up to 16 bytes: the kernels also view a, b and c as
 * `array<vec4f>`, whose last partial vec4 must be inside the binding. Pool buffers are at least
 * 256 bytes and multiples of 64, so the rounded range always exists.
 */
function vec4Binding(t: Tensor): GPUBufferBinding {
  const buffer = t.storage.buffer;
  const size = Math.min(buffer.size, Math.max(16, Math.ceil(t.byteLength / 16) * 16));
  return { buffer, offset: 0, size };
}

/**
 * Encodes C = alpha · op(A) · op(B) (+ bias) into `out` ([batch, M, N] or [M, N]). No autograd:
 * the ops below call it after their checks. Exported for other ops' kernels and benchmarks;
 * `variant` forces a kernel (see the module doc for the normal choice).
 *
 * @throws {ShapeError} when inner or batch dimensions differ.
 * @throws {RangeError} when the grid would exceed the device's workgroup-count limit.
 * @example
 * ```ts ignore
 * import { encodeMatmul } from "./matmul.ts";
 * encodeMatmul(a, b, out, { transposeB: true, variant: "naive" });
 * ```
 */
export function encodeMatmul(
  a: Tensor,
  b: Tensor,
  out: Tensor,
  options: MatmulOptions & {
    bias?: Tensor;
    /** A variant, or the earlier names `forward_naive` (= `naive`) and `forward` (= choose). */
    variant?: MatmulVariant | "forward_naive" | "forward";
  } = {},
): void {
  const transposeA = options.transposeA ?? false;
  const transposeB = options.transposeB ?? false;
  const { batch, m, n, k } = matmulDims(a, b, transposeA, transposeB, "matmul");
  if (batch * m * n === 0) return;
  const gpu = out.gpu;
  const problem: MatmulProblem = { m, n, k, batch, transposeA, transposeB };
  const requested = options.variant === "forward_naive"
    ? "naive"
    : options.variant === "forward"
    ? undefined
    : options.variant;
  let variant = checkVariant(requested ?? matmulVariantFor(gpu, problem), "the variant option");
  if (variant === "texture" && !fitsTextures(gpu, a.size, b.size)) variant = "block";
  const spec = launchSpec(variant, n);
  const kernel = gpu.kernels.get(spec.textures ? TEXTURE_SHADER : SHADERS.ops.matmul, spec.entry, {
    TRANS_A: Number(transposeA),
    TRANS_B: Number(transposeB),
    HAS_BIAS: Number(options.bias !== undefined),
    ...(variant === "naive" ? {} : alignment(problem)),
    ...spec.constants,
  });
  const limit = gpu.limits.maxComputeWorkgroupsPerDimension;
  const workgroups: [number, number, number] = variant === "small"
    ? [...grid(batch * Math.ceil(m / 4) * Math.ceil(n / 4), 64, limit), 1]
    : [Math.ceil(n / spec.tile[1]), Math.ceil(m / spec.tile[0]), batch];
  if (workgroups.some((w) => w > limit)) {
    throw new RangeError(
      `Cannot matmul ${batch}×(${m}×${k}×${n}) with variant ${variant}: it needs ` +
        `[${workgroups.join(", ")}] workgroups and the device allows ${limit} per dimension`,
    );
  }
  // Bindings 0–5 of matmul.wgsl; the texture variant reads vec4s from textures, scalars from a, b.
  const textures: (Binding | undefined)[] = spec.textures
    ? [flatTexture(gpu, 0, a.storage.buffer, a.size), flatTexture(gpu, 1, b.storage.buffer, b.size)]
    : [undefined, undefined];
  gpu.stream.dispatch({
    kernel,
    bindings: [
      vec4Binding(a),
      vec4Binding(b),
      options.bias?.binding ?? gpu.placeholder,
      vec4Binding(out),
      ...textures,
    ],
    params: new Params()
      .u32(m, n, k, batch, a.rank === 3 ? m * k : 0, b.rank === 3 ? k * n : 0, m * n)
      .f32(options.alpha ?? 1)
      .bytes(),
    workgroups,
  });
}

/** Sums a batched gradient over the batch when its operand was rank 2 (broadcast). */
function unbatch(grad: Tensor<"f32">, operand: Tensor): Tensor<"f32"> {
  if (operand.rank === grad.rank) return grad;
  const out = sum(grad, 0);
  grad.dispose();
  return out;
}

function product(a: Tensor, b: Tensor, transA: boolean, transB: boolean, alpha = 1): Tensor<"f32"> {
  const { batch, m, n, batched } = matmulDims(a, b, transA, transB, "matmul");
  const out = Tensor.empty(a.gpu, batched ? [batch, m, n] : [m, n], "f32");
  encodeMatmul(a, b, out, { transposeA: transA, transposeB: transB, alpha });
  return out;
}

function referenceDims(a: HostTensor, b: HostTensor, transA: boolean, transB: boolean) {
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const n = transB ? br : bc;
  const batch = Math.max(
    a.shape.length === 3 ? a.shape[0] : 1,
    b.shape.length === 3 ? b.shape[0] : 1,
  );
  return { m, n, k, batch, aBatched: a.shape.length === 3, bBatched: b.shape.length === 3 };
}

function matmulReference(
  a: HostTensor,
  b: HostTensor,
  transA: boolean,
  transB: boolean,
): Float64Array {
  const { m, n, k, batch, aBatched, bBatched } = referenceDims(a, b, transA, transB);
  const out = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const ao = aBatched ? t * m * k : 0;
    const bo = bBatched ? t * k * n : 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) {
          acc += a.data[ao + (transA ? p * m + i : i * k + p)] *
            b.data[bo + (transB ? j * k + p : p * n + j)];
        }
        out[t * m * n + i * n + j] = acc;
      }
    }
  }
  return out;
}

/** Gradients of op(A)·op(B) in float64, in the stored layouts (broadcast operands summed). */
function matmulGradReference(
  a: HostTensor,
  b: HostTensor,
  dc: HostTensor,
  transA: boolean,
  transB: boolean,
): { da: Float64Array; db: Float64Array } {
  const { m, n, k, batch, aBatched, bBatched } = referenceDims(a, b, transA, transB);
  const da = new Float64Array(a.data.length);
  const db = new Float64Array(b.data.length);
  for (let t = 0; t < batch; t++) {
    const ao = aBatched ? t * m * k : 0;
    const bo = bBatched ? t * k * n : 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const g = dc.data[t * m * n + i * n + j];
        for (let p = 0; p < k; p++) {
          const ai = ao + (transA ? p * m + i : i * k + p);
          const bi = bo + (transB ? j * k + p : p * n + j);
          da[ai] += g * b.data[bi];
          db[bi] += g * a.data[ai];
        }
      }
    }
  }
  return { da, db };
}

/** CPU reference of {@link matmul} (float64). */
export interface MatmulReference {
  /** op(A)·op(B), flat [batch, M, N]. */
  forward(a: HostTensor, b: HostTensor, transA: boolean, transB: boolean): Float64Array;
  /** d/dA and d/dB of Σ dC ⊙ (op(A)·op(B)), in A's and B's stored layouts. */
  backward(
    a: HostTensor,
    b: HostTensor,
    dc: HostTensor,
    transA: boolean,
    transB: boolean,
  ): { da: Float64Array; db: Float64Array };
}

/**
 * C = alpha · op(A) · op(B), like `torch.matmul` (with `.mT` for the transposed forms).
 * Shapes (stored): A [M, K] or [K, M] with `transposeA`, B [K, N] or [N, K] with `transposeB`,
 * each optionally with a leading batch dimension.
 *
 * @throws {ShapeError} naming both shapes when inner or batch dimensions differ.
 * @example
 * ```ts ignore
 * import { matmul } from "./matmul.ts";
 * const scores = matmul(q, k, { transposeB: true, alpha: 0.25 }); // [B, N, hd] × [B, N, hd]ᵀ
 * ```
 */
export const matmul: Op<
  [a: Tensor, b: Tensor, options?: MatmulOptions],
  Tensor<"f32">,
  MatmulReference
> = defineOp({
  name: "matmul",
  forward(ctx, a: Tensor, b: Tensor, options?: MatmulOptions): Tensor<"f32"> {
    const transA = options?.transposeA ?? false;
    const transB = options?.transposeB ?? false;
    const alpha = options?.alpha ?? 1;
    ctx.saved.args = { a, b, transA, transB, alpha };
    return product(a, b, transA, transB, alpha);
  },
  backward(ctx, g) {
    const { a, b, transA, transB, alpha } = ctx.saved.args as {
      a: Tensor;
      b: Tensor;
      transA: boolean;
      transB: boolean;
      alpha: number;
    };
    // C = op(A)·op(B): d op(A) = dC·op(B)ᵀ, d op(B) = op(A)ᵀ·dC, transposed back when stored so.
    const da = a.requiresGrad
      ? unbatch(
        transA ? product(b, g, transB, true, alpha) : product(g, b, false, !transB, alpha),
        a,
      )
      : null;
    const db = b.requiresGrad
      ? unbatch(
        transB ? product(g, a, true, transA, alpha) : product(a, g, !transA, false, alpha),
        b,
      )
      : null;
    return [da, db];
  },
  reference: {
    forward: matmulReference,
    backward: matmulGradReference,
  },
});

/**
 * y = x·Wᵀ + b over the last dim of x, like `torch.nn.functional.linear`; W is [out, in].
 *
 * @throws {ShapeError} when x's last dim is not W's in-features or b is not [out].
 * @example
 * ```ts ignore
 * import { linear } from "./matmul.ts";
 * const y = linear(x, weight, bias); // [B, N, in] → [B, N, out]
 * ```
 */
export const linear: Op<[x: Tensor, weight: Tensor, bias?: Tensor], Tensor<"f32">, undefined> =
  defineOp({
    name: "linear",
    forward(ctx, x: Tensor, weight: Tensor, bias?: Tensor): Tensor<"f32"> {
      if (weight.rank !== 2 || x.rank < 1 || x.shape[x.rank - 1] !== weight.shape[1]) {
        throw new ShapeError(
          "linear",
          x.shape,
          weight.shape,
          "x's last dim must equal weight's in-features",
        );
      }
      const outFeatures = weight.shape[0];
      if (bias && (bias.rank !== 1 || bias.shape[0] !== outFeatures)) {
        throw new ShapeError(
          "linear",
          weight.shape,
          bias.shape,
          `bias must have shape [${outFeatures}]`,
        );
      }
      const rows = x.size / weight.shape[1];
      const x2 = x.view([rows, weight.shape[1]]);
      const out = Tensor.empty(x.gpu, [...x.shape.slice(0, -1), outFeatures], "f32");
      const out2 = out.view([rows, outFeatures]);
      encodeMatmul(x2, weight, out2, { transposeB: true, bias });
      out2.dispose();
      ctx.saved.args = { x2, weight, bias };
      if (!ctx.needsGrad) x2.dispose();
      return out;
    },
    backward(ctx, g) {
      const { x2, weight, bias } = ctx.saved.args as { x2: Tensor; weight: Tensor; bias?: Tensor };
      const g2 = g.view([x2.shape[0], weight.shape[0]]);
      const dx = product(g2, weight, false, false);
      const dw = product(g2, x2, true, false);
      const db = bias ? sum(g2, 0) : null;
      g2.dispose();
      x2.dispose();
      const dxShaped = dx.view([...g.shape.slice(0, -1), weight.shape[1]]);
      dx.dispose();
      return bias ? [dxShaped, dw, db] : [dxShaped, dw];
    },
  });
