// Run: deno bench -A bench/softmax_bench.ts
//
// softmax and logSoftmax at ViT-Tiny training shapes: the attention probabilities of a batch of
// 32 global crops, 3 heads, 197 tokens: 32·3·197 = 18912 rows of length 197 (3.73 M elements,
// 14.9 MB). Memory-bound, so the napkin math counts compulsory traffic only: forward reads x and
// writes y (8 B/element); backward reads y and dy and writes dx (12 B/element). Both kernel
// variants run (rowwise: an invocation per row; workgroup: a workgroup per row, see
// lib/ops/rowwise.ts). The baseline is a plain copy of the same tensor (runUnary, affine op at
// α = 1, 8 B/element): the ratio to it says how far a kernel is from this device's memory
// roofline. Each measured iteration encodes ITERS dispatches and waits once; results print
// after the table.
import { getGpu } from "../lib/gpu/device.ts";
import type { RowVariant } from "../lib/ops/rowwise.ts";
import { encodeSoftmax, encodeSoftmaxBackward } from "../lib/ops/softmax.ts";
import { runUnary, UNARY } from "../lib/ops/strided.ts";
import { randn } from "../lib/tensor/create.ts";
import { DispatchBench } from "./harness.ts";

const gpu = await getGpu();
const ROWS = 32 * 3 * 197;
const D = 197;
const ITERS = 2;
const ELEMENTS = ROWS * D;
const VARIANTS: RowVariant[] = ["rowwise", "workgroup"];
const x = randn([ROWS, D], { seed: 1 });
const dy = randn([ROWS, D], { seed: 2 });
const probs = encodeSoftmax(x, false);
const logProbs = encodeSoftmax(x, true);
const suite = new DispatchBench(gpu, {
  iters: ITERS,
  n: 2,
  baseline: "copy",
  suffix: `[${ROWS}, ${D}] ×${ITERS}`,
});

function bench(name: string, group: string, bytesPerElement: number, run: () => void): void {
  suite.add(name, group, bytesPerElement * ELEMENTS, run);
}

bench("copy", "softmax", 8, () => runUnary(x, UNARY.affine));
for (const variant of VARIANTS) {
  bench(`softmax forward ${variant}`, "softmax", 8, () => encodeSoftmax(x, false, variant));
  bench(
    `softmax backward ${variant}`,
    "softmax",
    12,
    () => encodeSoftmaxBackward(probs, dy, false, variant),
  );
  bench(`logSoftmax forward ${variant}`, "softmax", 8, () => encodeSoftmax(x, true, variant));
  bench(
    `logSoftmax backward ${variant}`,
    "softmax",
    12,
    () => encodeSoftmaxBackward(logProbs, dy, true, variant),
  );
}

suite.printOnUnload(`Softmax on ${gpu.describe().description}, [${ROWS}, ${D}] (best run):`, {
  pad: 30,
});
