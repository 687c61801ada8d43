// Run: deno bench -A bench/activation_bench.ts
//
// gelu at ViT-Tiny training shapes: the MLP hidden layer of a batch of 32 global crops,
// 32×197 tokens × 4·192 = 768 features (4.84 M elements, 19.4 MB). Memory-bound, so the napkin
// math counts compulsory traffic only: forward reads x and writes y (8 B/element); backward
// reads x and dy and writes dx (12 B/element). The erf costs ~15 FLOPs and one exp per element,
// far below the bandwidth limit on a GPU. The baseline is a plain copy of the same tensor
// (runUnary, affine op at α = 1, 8 B/element): the ratio to it says how far gelu is from this
// device's memory roofline. Each measured iteration encodes ITERS dispatches and waits once;
// results print after the table.
import { getGpu } from "../lib/gpu/device.ts";
import { encodeGeluBackward, encodeGeluForward } from "../lib/ops/activation.ts";
import { runUnary, UNARY } from "../lib/ops/strided.ts";
import { randn } from "../lib/tensor/create.ts";
import { DispatchBench } from "./harness.ts";

const gpu = await getGpu();
const ROWS = 32 * 197;
const HIDDEN = 4 * 192;
const ITERS = 2;
const ELEMENTS = ROWS * HIDDEN;
const x = randn([ROWS, HIDDEN], { seed: 1 });
const dy = randn([ROWS, HIDDEN], { seed: 2 });
const suite = new DispatchBench(gpu, {
  iters: ITERS,
  n: 2,
  baseline: "copy",
  suffix: `[${ROWS}, ${HIDDEN}] ×${ITERS}`,
});

function bench(name: string, bytesPerElement: number, run: () => void): void {
  suite.add(name, "gelu", bytesPerElement * ELEMENTS, run);
}

bench("copy", 8, () => runUnary(x, UNARY.affine));
bench("gelu forward", 8, () => encodeGeluForward(x));
bench("gelu backward", 12, () => encodeGeluBackward(x, dy));

suite.printOnUnload(`GELU on ${gpu.describe().description}, [${ROWS}, ${HIDDEN}] (best run):`, {
  pad: 14,
});
