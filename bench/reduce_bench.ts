// Run: deno bench -A bench/reduce_bench.ts
//
// Reductions (shaders/ops/reduce.wgsl) on a ViT-Tiny activation: 32 crops × 197 tokens × 192
// channels = 1.21 M floats (4.84 MB). Napkin math: a reduction reads every input once and writes
// a much smaller output, so traffic ≈ 4 B per input element (+ 4 B per output). The rows differ
// in which kernel runs: over the last dim (192 of 6304 rows) a workgroup per row (`sum_rows`);
// over tokens or over every row (bias gradients: [6304, 192] → [192]) one thread per output
// looping down a column (`sum_strided`), which has only 192 or 6144 threads to spread; the
// whole tensor (`sum`, `sumOfSquares`) one long row in two passes (1024 interleaved parts of
// vec4s, `sum_partials_vec4`, then the parts). The baseline is a plain copy
// (8 B/element). Each measured iteration encodes ITERS dispatches and waits once; the cost of
// an empty wait (~11 ms on lavapipe, measured at start) is subtracted. Results print after.
import { getGpu } from "../lib/gpu/device.ts";
import { mean, sum, sumOfSquares, sumTo } from "../lib/ops/reduce.ts";
import { runUnary, UNARY } from "../lib/ops/strided.ts";
import { randn } from "../lib/tensor/create.ts";
import type { Tensor } from "../lib/tensor/tensor.ts";
import { DispatchBench, measureSyncMs } from "./harness.ts";

const gpu = await getGpu();
const SHAPE = [32, 197, 192];
const ELEMENTS = 32 * 197 * 192;
const ITERS = 4;
const x = randn(SHAPE, { seed: 1 });
const rows = x.view([32 * 197, 192]);

const SYNC_MS = await measureSyncMs(gpu);
const suite = new DispatchBench(gpu, {
  iters: ITERS,
  n: 3,
  syncMs: SYNC_MS,
  baseline: "copy",
});

function bench(name: string, bytes: number, run: () => Tensor): void {
  suite.add(name, "reduce [32, 197, 192]", bytes, run);
}

const IN = 4 * ELEMENTS;
bench("copy", 8 * ELEMENTS, () => runUnary(x, UNARY.affine));
bench("sum over channels (dim -1)", IN + 4 * 32 * 197, () => sum(x, -1));
bench("mean over channels, keepdim", IN + 4 * 32 * 197, () => mean(x, -1, true));
bench("mean over tokens (dim 1)", IN + 4 * 32 * 192, () => mean(x, 1));
bench("sumTo [192] (bias grad)", IN + 4 * 192, () => sumTo(rows, [192]));
bench("sum over all", IN + 4, () => sum(x));
bench("sumOfSquares (grad norm)", IN + 4, () => sumOfSquares(x));

await suite.warmUp();
suite.printOnUnload(
  `Reductions on ${gpu.describe().description}, [${SHAPE}] (best of 3 × ${ITERS} ` +
    `dispatches; empty wait ${SYNC_MS.toFixed(1)} ms subtracted):`,
  { pad: 30 },
);
