// Run: deno bench -A bench/topk_bench.ts
//
// topk at k-NN evaluation shapes: one chunk of 128 queries against a bank of 8192 features,
// k = 20 and 200 (dino reports 20-NN; 200 is its largest k). The kernel reads each row 5 times
// (4 radix-select histogram rounds, 1 gather), so the napkin math counts 5 · 4 B per element;
// the sort of k pairs in workgroup memory is extra. The baseline is a plain copy of the same
// [128, 8192] tensor (runUnary, 8 B/element): the ratio says how far topk is from this device's
// memory roofline. Measured on llvmpipe (2 shared cores): 0.5–0.9 ms per row, 0.6–0.9× copy
// bandwidth; every workgroup barrier there is a coroutine switch and the histogram atomics
// serialise (keys in [0.5, 1) share one top byte, so round 1 hits a single bin).
import { topk } from "../lib/eval/topk.ts";
import { getGpu } from "../lib/gpu/device.ts";
import { runUnary, UNARY } from "../lib/ops/strided.ts";
import { rand } from "../lib/tensor/create.ts";
import { DispatchBench, rate } from "./harness.ts";

const gpu = await getGpu();
const ROWS = 128;
const N = 8192;
const ELEMENTS = ROWS * N;
const sims = rand([ROWS, N], { low: -1, high: 1, seed: 1 });
const suite = new DispatchBench(gpu, {
  iters: 1,
  n: 2,
  baseline: "copy",
  suffix: `[${ROWS}, ${N}]`,
});

function bench(name: string, bytesPerElement: number, run: () => void): void {
  suite.add(name, "topk", bytesPerElement * ELEMENTS, run);
}

bench("copy", 8, () => runUnary(sims, UNARY.affine));
bench("topk k=20", 20, () => topk(sims, 20));
bench("topk k=200", 20, () => topk(sims, 200));

suite.printOnUnload(`topk on ${gpu.describe().description}, [${ROWS}, ${N}] (best run):`, {
  pad: 12,
  row: (name, timing, copyGbs) => {
    const { ms } = timing;
    const gbs = rate(timing);
    return `  ${name.padEnd(12)} ${ms.toFixed(2).padStart(9)} ms  ${
      (ms * 1000 / ROWS).toFixed(0).padStart(6)
    } µs/row  ` +
      `${gbs.toFixed(2).padStart(7)} GB/s  ${(gbs / copyGbs).toFixed(2)}× copy`;
  },
});
