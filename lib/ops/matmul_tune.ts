/**
 * Matmul autotuning. Ops are synchronous, timing is not: call `await tuneMatmul(gpu)` once the
 * shapes are known (after a first training step, or with explicit problems at setup) and every
 * later product in a tuned bucket runs the variant that was fastest on this adapter. Until then
 * `encodeMatmul` uses the adapter default and remembers the bucket, so a bare `tuneMatmul(gpu)`
 * tunes exactly the buckets met so far.
 *
 * Cost: per bucket a warm-up (which compiles each variant's pipeline once per process, ~0.15 s
 * each on lavapipe), then interleaved rounds of one timed sync per variant while the bucket's
 * budget lasts (default 100 ms, at least two rounds), on a copy of the problem cut to ≤ 2²⁵
 * FLOPs on CPU adapters (5–20 ms per run on lavapipe) and ≤ 2³⁴ on GPUs (≈ 1 ms at 30 TFLOP/s).
 *
 * @module
 */
import type { Gpu } from "../gpu/device.ts";
import { full } from "../tensor/create.ts";
import { Tensor } from "../tensor/tensor.ts";
import {
  defaultMatmulVariant,
  encodeMatmul,
  isCpuAdapter,
  MATMUL_VARIANTS,
  matmulBucket,
  type MatmulProblem,
  type MatmulVariant,
  recordMatmulTuning,
  untunedMatmulProblems,
} from "./matmul.ts";

/** Options of {@link tuneMatmul}. */
export interface TuneMatmulOptions {
  /** Problems to tune besides the untuned buckets met so far (one per bucket is timed). */
  problems?: readonly MatmulProblem[];
  /** Variants to time; default every variant but `naive`. */
  variants?: readonly MatmulVariant[];
  /** Wall-clock budget per bucket in milliseconds (default 100); one timed run always happens. */
  budgetMs?: number;
  /** Skip the buckets met so far and tune only `problems` (default false). */
  onlyProblems?: boolean;
}

/** What {@link tuneMatmul} measured for one bucket. */
export interface MatmulTuning {
  /** The bucket (see `matmulBucket`). */
  bucket: string;
  /** The problem that was timed: the original with the batch and rows cut to the FLOP cap. */
  timed: MatmulProblem;
  /** Best milliseconds per run of each variant timed. */
  msPerRun: Partial<Record<MatmulVariant, number>>;
  /** The fastest variant, now used for the bucket. */
  winner: MatmulVariant;
}

const CPU_FLOP_CAP = 2 ** 25;
const GPU_FLOP_CAP = 2 ** 34;
const MAX_ROUNDS = 5;
const MAX_REPEATS = 32;
/** Repeats per timed sync aim at this many milliseconds of kernel time. */
const MIN_TIMED_MS = 4;

/**
 * `p` cut towards 2·M·N·K·batch ≤ `cap`: first the batch, then K (to ≥ 512), then the rows (to
 * ≥ 384, a multiple of every variant's tile height, so no variant pays for a ragged last tile
 * that the real problem does not have). K and M keep their residue mod 4, which decides the vec4
 * paths. The columns are never cut: they decide how many workgroups run side by side.
 */
function shrink(p: MatmulProblem, cap: number): MatmulProblem {
  const flops = (q: MatmulProblem) => 2 * q.m * q.n * q.k * q.batch;
  const cut = (size: number, floor: number, target: number) => {
    const kept = Math.max(floor, Math.floor(target));
    return kept >= size ? size : kept - (kept % 4) + (size % 4);
  };
  const out = { ...p };
  if (flops(out) > cap) out.batch = Math.max(1, Math.floor(cap / flops({ ...out, batch: 1 })));
  if (flops(out) > cap) out.k = cut(out.k, 512, cap / (2 * out.m * out.n * out.batch));
  if (flops(out) > cap) out.m = cut(out.m, 384, cap / (2 * out.n * out.k * out.batch));
  return out;
}

function operands(gpu: Gpu, p: MatmulProblem): [Tensor, Tensor, Tensor] {
  const lead = p.batch > 1 ? [p.batch] : [];
  // Small exact values: no denormals or NaN, which slow CPU adapters down.
  const a = full([...lead, ...(p.transposeA ? [p.k, p.m] : [p.m, p.k])], 0.5, { gpu });
  const b = full([...lead, ...(p.transposeB ? [p.n, p.k] : [p.k, p.n])], 0.25, { gpu });
  const c = Tensor.empty(gpu, [...lead, p.m, p.n], "f32");
  return [a, b, c];
}

async function timeRuns(
  gpu: Gpu,
  run: () => void,
  repeats: number,
  syncMs: number,
): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < repeats; i++) run();
  await gpu.sync();
  return Math.max(1e-3, (performance.now() - start - syncMs) / repeats);
}

/**
 * Times the matmul variants on each untuned bucket (and `options.problems`) and makes the
 * fastest the choice for later products in that bucket on `gpu`.
 *
 * @example
 * ```ts ignore
 * import { getGpu } from "../gpu/device.ts";
 * import { tuneMatmul } from "./matmul_tune.ts";
 * const gpu = await getGpu();
 * const results = await tuneMatmul(gpu, {
 *   problems: [{ m: 6304, n: 576, k: 192, batch: 1, transposeA: false, transposeB: true }],
 * });
 * console.log(results.map((r) => `${r.bucket}: ${r.winner}`));
 * ```
 */
export async function tuneMatmul(
  gpu: Gpu,
  options: TuneMatmulOptions = {},
): Promise<MatmulTuning[]> {
  const variants = options.variants ?? MATMUL_VARIANTS.filter((v) => v !== "naive");
  if (variants.length === 0) throw new RangeError("Cannot tune matmul without variants to time");
  const budget = options.budgetMs ?? 100;
  const buckets = new Map<string, MatmulProblem>();
  if (!options.onlyProblems) {
    for (const [key, p] of untunedMatmulProblems(gpu)) buckets.set(key, p);
  }
  for (const p of options.problems ?? []) {
    const key = matmulBucket(p);
    if (!buckets.has(key)) buckets.set(key, p);
  }
  const cpu = isCpuAdapter(gpu);
  const results: MatmulTuning[] = [];
  for (const [bucket, problem] of buckets) {
    if (problem.m * problem.n * problem.batch === 0) continue;
    const timed = shrink(problem, cpu ? CPU_FLOP_CAP : GPU_FLOP_CAP);
    const [a, b, c] = operands(gpu, timed);
    try {
      const runner = (variant: MatmulVariant) => () =>
        encodeMatmul(a, b, c, {
          transposeA: timed.transposeA,
          transposeB: timed.transposeB,
          variant,
        });
      // Warm-up: compiles every pipeline and touches the buffers; then the cost of a bare sync
      // (~11 ms on lavapipe), which is subtracted from each timing.
      for (const v of variants) runner(v)();
      await gpu.sync();
      const syncStart = performance.now();
      await gpu.sync();
      const syncMs = performance.now() - syncStart;
      // Interleaved rounds (each variant once per round, best run kept) so that a burst of load
      // from other processes does not decide the winner; later rounds repeat short kernels.
      const started = performance.now();
      const msPerRun: Partial<Record<MatmulVariant, number>> = {};
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const roundStart = performance.now();
        for (const v of variants) {
          const estimate = msPerRun[v];
          const repeats = estimate === undefined
            ? 1
            : Math.min(MAX_REPEATS, Math.max(1, Math.ceil(MIN_TIMED_MS / estimate)));
          const ms = await timeRuns(gpu, runner(v), repeats, syncMs);
          msPerRun[v] = Math.min(estimate ?? Infinity, ms);
        }
        const now = performance.now();
        if (round >= 1 && now - started + (now - roundStart) > budget) break;
      }
      // A challenger must beat the adapter default by 5 %: timing noise should not flip choices.
      const fallback = defaultMatmulVariant(gpu, problem);
      const fastest = variants.reduce((best, v) => (msPerRun[v]! < msPerRun[best]! ? v : best));
      const winner =
        msPerRun[fallback] !== undefined && msPerRun[fallback]! <= 1.05 * msPerRun[fastest]!
          ? fallback
          : fastest;
      recordMatmulTuning(gpu, bucket, winner);
      results.push({ bucket, timed, msPerRun, winner });
    } finally {
      a.dispose();
      b.dispose();
      c.dispose();
    }
  }
  return results;
}
