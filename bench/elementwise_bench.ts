// Run: deno bench -A bench/elementwise_bench.ts
//
// Elementwise and movement ops (shaders/ops/elementwise.wgsl) on a ViT-Tiny activation: 32 crops
// × 197 tokens × 192 channels = 1.21 M floats (4.84 MB). Memory-bound, so the napkin math counts
// compulsory traffic only, 4 B per float read or written: unary ops and copies 8 B/element,
// binary ops on equal shapes 12 B/element, a broadcast bias add 8 B/element (the [192] bias
// stays in cache). The baseline is a plain copy (affine at α = 1, the `unary_vec4` entry point):
// the ratio to it says how far an op is from this device's memory roofline. Each measured
// iteration encodes ITERS dispatches and waits once; the cost of an empty wait (~11 ms on
// lavapipe, measured at start) is subtracted. Results print after the table.
//
// Contiguous kernels take a `_vec4` entry point when n % 4 == 0; "copy (scalar, n % 4 ≠ 0)" runs
// the scalar one on one element fewer, so the pair shows what vec4 buys (lavapipe, 2 loaded cores:
// 2.2–2.9× for copies, 2–4× for binary ops and fill). `fill` writes only (4 B/element), `axpy in
// place` 12 B/element. The head split of attention moves qkv [32, 197, 576] into q, k, v
// [32, 3, 197, 64] — 3 × 8 B per element of [32, 197, 192] — in one dispatch (splitHeads,
// heads.wgsl, ~2 GB/s) or, as before, reshape + permute + three slices (two rank-5 strided copies
// of everything, ~0.16 GB/s); the merge moves o [32, 3, 197, 64] → [32, 197, 192] (8 B/element),
// fused (~2 GB/s) or by permute (~0.35 GB/s).
import { getGpu } from "../lib/gpu/device.ts";
import { add, exp, mul, relu } from "../lib/ops/elementwise.ts";
import { mergeHeads, splitHeads } from "../lib/ops/heads.ts";
import { permute, reshape, slice } from "../lib/ops/movement.ts";
import { BINARY, runBinary, runBinaryInPlace, runUnary, UNARY } from "../lib/ops/strided.ts";
import { randn, zeros } from "../lib/tensor/create.ts";
import type { Tensor } from "../lib/tensor/tensor.ts";
import { DispatchBench, measureSyncMs } from "./harness.ts";

const gpu = await getGpu();
const SHAPE = [32, 197, 192];
const ELEMENTS = 32 * 197 * 192;
const ITERS = 10;
const x = randn(SHAPE, { seed: 1 });
const y = randn(SHAPE, { seed: 2 });
const bias = randn([192], { seed: 3 });
const perSample = randn([32, 1, 1], { seed: 7 });
const xOdd = randn([ELEMENTS - 1], { seed: 4 });
const qkv = randn([32, 197, 3 * 192], { seed: 5 });
const heads = randn([32, 3, 197, 64], { seed: 6 });
const xBy4 = randn([32, 196, 192], { seed: 8 });

const SYNC_MS = await measureSyncMs(gpu);
const suite = new DispatchBench(gpu, {
  iters: ITERS,
  n: 3,
  syncMs: SYNC_MS,
  baseline: "copy",
});

function bench(name: string, bytesPerElement: number, run: () => Tensor): void {
  suite.add(name, "elementwise [32, 197, 192]", bytesPerElement * ELEMENTS, run);
}

bench("copy", 8, () => runUnary(x, UNARY.affine));
bench("copy (scalar, n % 4 ≠ 0)", 8, () => runUnary(xOdd, UNARY.affine));
bench("fill (zeros)", 4, () => zeros(SHAPE));
bench("exp", 8, () => exp(x));
bench("relu", 8, () => relu(x));
bench("add (same shape)", 12, () => add(x, y));
bench("mul (same shape)", 12, () => mul(x, y));
bench("add bias [192] (broadcast)", 8, () => add(x, bias));
bench("mul per-sample [32, 1, 1]", 8, () => mul(x, perSample));
bench("relu backward (binary)", 12, () => runBinary(x, y, BINARY.reluBackward, SHAPE));
bench("axpy in place", 12, () => {
  runBinaryInPlace(y, x, BINARY.axpy, 1e-9);
  return y;
});
bench("permute [0, 2, 1] (strided)", 8, () => permute(x, [0, 2, 1]));
// 196 tokens: both swapped dims are multiples of 4, so permute moves 4×4 blocks (transpose.wgsl).
suite.add(
  "permute [0, 2, 1] (4×4 blocks)",
  "elementwise [32, 197, 192]",
  8 * 32 * 196 * 192,
  () => permute(xBy4, [0, 2, 1]),
);
// Tokens 1… of every crop (the patches after the CLS token): 32 runs of 196·192 contiguous floats,
// coalesced into one dim of whole vec4s (`unary_strided_vec4`).
suite.add(
  "slice [:, 1:] (vec4 runs)",
  "elementwise [32, 197, 192]",
  8 * 32 * 196 * 192,
  () => slice(x, 1, 1, 197),
);
bench("splitHeads qkv (fused)", 24, () => splitHeads(qkv, 3)[0]);
bench("split qkv: permute + 3 slices", 24, () => {
  const split = permute(reshape(qkv, [32, 197, 3, 3, 64]), [2, 0, 3, 1, 4]);
  return [0, 1, 2].map((i) => slice(split, 0, i, i + 1))[0];
});
bench("mergeHeads (fused)", 8, () => mergeHeads(heads));
bench("merge: permute [0, 2, 1, 3]", 8, () => permute(heads, [0, 2, 1, 3]));

await suite.warmUp();
suite.printOnUnload(
  `Elementwise on ${gpu.describe().description}, [${SHAPE}] (best of 3 × ${ITERS} ` +
    `dispatches; empty wait ${SYNC_MS.toFixed(1)} ms subtracted):`,
  { pad: 30 },
);
