// Run: deno bench -A bench/loss_bench.ts
//
// crossEntropy at linear-probe shapes: a batch of 256 rows over 1000 classes (ImageNet) and over
// 10 classes (Fashion-MNIST, the synthetic shapes). Memory-bound: the forward reads the logits
// once (4 B/element; the per-row loss and lse are negligible), the backward reads the logits and
// writes dx (8 B/element). Both forward variants run (rowwise: an invocation per row; workgroup:
// a workgroup per row). The baseline is a plain copy (runUnary, 8 B/element).
import { getGpu } from "../lib/gpu/device.ts";
import { crossEntropy, type CrossEntropyVariant, encodeCrossEntropy } from "../lib/ops/loss.ts";
import { runUnary, UNARY } from "../lib/ops/strided.ts";
import { fromArray, randn } from "../lib/tensor/create.ts";
import { DispatchBench } from "./harness.ts";

const gpu = await getGpu();
const ROWS = 256;
const ITERS = 4;
const suite = new DispatchBench(gpu, {
  iters: ITERS,
  n: 2,
  suffix: `×${ITERS}`,
});

function bench(name: string, bytes: number, run: () => void): void {
  suite.add(name, "crossEntropy", bytes, run);
}

for (const classes of [1000, 10]) {
  const logits = randn([ROWS, classes], { seed: 1 });
  const labels = fromArray(Array.from({ length: ROWS }, (_, i) => i % classes), [ROWS], {
    dtype: "i32",
  });
  const elements = ROWS * classes;
  bench(`copy [${ROWS}, ${classes}]`, 8 * elements, () => runUnary(logits, UNARY.affine));
  for (const variant of ["rowwise", "workgroup"] as CrossEntropyVariant[]) {
    bench(
      `forward ${variant} [${ROWS}, ${classes}]`,
      4 * elements,
      () => encodeCrossEntropy(logits, labels, variant),
    );
  }
  const x = logits.view(logits.shape).requireGrad();
  bench(`forward+backward [${ROWS}, ${classes}]`, 12 * elements, () => {
    crossEntropy(x, labels).backward();
    x.grad?.dispose();
    x.grad = null;
  });
}

suite.printOnUnload(`crossEntropy on ${gpu.describe().description} (best run):`, { pad: 34 });
