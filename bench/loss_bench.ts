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
import { scope } from "../lib/tensor/scope.ts";

const gpu = await getGpu();
const ROWS = 256;
const ITERS = 4;
const best = new Map<string, { ms: number; bytes: number }>();

function bench(name: string, bytes: number, run: () => void): void {
  Deno.bench({
    name: `${name} ×${ITERS}`,
    group: "crossEntropy",
    n: 2,
    warmup: 1,
    async fn(b) {
      b.start();
      const t0 = performance.now();
      scope(() => {
        for (let i = 0; i < ITERS; i++) run();
      });
      await gpu.sync();
      const ms = (performance.now() - t0) / ITERS;
      b.end();
      const previous = best.get(name);
      if (!previous || ms < previous.ms) best.set(name, { ms, bytes });
    },
  });
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

globalThis.addEventListener("unload", () => {
  console.log(`\ncrossEntropy on ${gpu.describe().description} (best run):`);
  for (const [name, { ms, bytes }] of best) {
    console.log(
      `  ${name.padEnd(34)} ${(ms * 1000).toFixed(0).padStart(7)} µs  ${
        (bytes / ms / 1e6).toFixed(2).padStart(7)
      } GB/s`,
    );
  }
});
