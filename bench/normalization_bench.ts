// Run: deno bench -A bench/normalization_bench.ts
//
// layerNorm and l2normalize at ViT-Tiny training shapes: the tokens of a batch of 32 global
// crops, 32×197 rows of D = 192 (1.21 M elements, 4.8 MB). Memory-bound, so the napkin math
// counts compulsory traffic only: forward reads x and writes y (8 B/element; weight, bias,
// mean, rstd and norms are O(D + rows)); backward reads x (or y) and dy and writes dx
// (12 B/element). layerNorm's full backward also makes dweight/dbias with a column-sum kernel
// that re-reads x and dy: counted at 12 B/element too, so its GB/s shows the cost of that pass.
// Both kernel variants run (rowwise: an invocation per row; workgroup: a workgroup per row, see
// lib/ops/rowwise.ts). The baseline is a plain copy of the same tensor (runUnary, affine op at
// α = 1, 8 B/element): the ratio to it says how far a kernel is from this device's memory
// roofline. Each measured iteration encodes ITERS dispatches and waits once; results print
// after the table.
import { getGpu } from "../lib/gpu/device.ts";
import {
  encodeL2Normalize,
  encodeL2NormalizeBackward,
  encodeLayerNorm,
  encodeLayerNormBackward,
} from "../lib/ops/normalization.ts";
import type { RowVariant } from "../lib/ops/rowwise.ts";
import { runUnary, UNARY } from "../lib/ops/strided.ts";
import { ones, randn, zeros } from "../lib/tensor/create.ts";
import { DispatchBench } from "./harness.ts";

const gpu = await getGpu();
const ROWS = 32 * 197;
const D = 192;
const ITERS = 3;
const ELEMENTS = ROWS * D;
const VARIANTS: RowVariant[] = ["rowwise", "workgroup"];
const x = randn([ROWS, D], { seed: 1 });
const dy = randn([ROWS, D], { seed: 2 });
const weight = ones([D]);
const bias = zeros([D]);
const { mean, rstd } = encodeLayerNorm(x, weight, bias, 1e-6);
const { y: unit, norm } = encodeL2Normalize(x, 1e-12);
const suite = new DispatchBench(gpu, {
  iters: ITERS,
  n: 2,
  baseline: "copy",
  suffix: `[${ROWS}, ${D}] ×${ITERS}`,
});

function bench(name: string, group: string, bytesPerElement: number, run: () => void): void {
  suite.add(name, group, bytesPerElement * ELEMENTS, run);
}

bench("copy", "layerNorm", 8, () => runUnary(x, UNARY.affine));
for (const variant of VARIANTS) {
  bench(
    `layerNorm forward ${variant}`,
    "layerNorm",
    8,
    () => encodeLayerNorm(x, weight, bias, 1e-6, variant),
  );
  bench(
    `layerNorm backward dx ${variant}`,
    "layerNorm",
    12,
    () => encodeLayerNormBackward(x, weight, mean, rstd, dy, { params: false, variant }),
  );
}
bench(
  "layerNorm backward dw+db",
  "layerNorm",
  12,
  () => encodeLayerNormBackward(x, weight, mean, rstd, dy, { dx: false }),
);
for (const variant of VARIANTS) {
  bench(
    `l2normalize forward ${variant}`,
    "l2normalize",
    8,
    () => encodeL2Normalize(x, 1e-12, variant),
  );
  bench(
    `l2normalize backward ${variant}`,
    "l2normalize",
    12,
    () => encodeL2NormalizeBackward(unit, norm, dy, 1e-12, variant),
  );
}

suite.printOnUnload(`Normalisation on ${gpu.describe().description}, [${ROWS}, ${D}] (best run):`, {
  pad: 32,
});
