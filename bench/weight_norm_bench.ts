// Run: deno bench -A bench/weight_norm_bench.ts
//
// weightNorm on a DINO-head-like last layer, v [2048, 256] (out_dim × bottleneck; the real head
// is 65536 × 256, 32× more rows). Memory-bound: napkin math counts the compulsory traffic only,
// forward reads v and writes W (8 bytes/element), backward reads v and dW and writes dv
// (12 bytes/element; g and dg are O(rows)). Each measured iteration encodes ITERS dispatches and
// waits once. Results print after the table.
import { getGpu } from "../lib/gpu/device.ts";
import { weightNorm } from "../lib/ops/weight_norm.ts";
import { ones, randn } from "../lib/tensor/create.ts";
import { scope } from "../lib/tensor/scope.ts";

const gpu = await getGpu();
const ROWS = 2048;
const COLS = 256;
const ITERS = 20;
const v = randn([ROWS, COLS], { seed: 1 });
const g = ones([ROWS, 1]);
const dW = randn([ROWS, COLS], { seed: 2 });
const best = new Map<string, { ms: number; bytes: number }>();

function record(name: string, ms: number, bytes: number): void {
  const previous = best.get(name);
  if (!previous || ms < previous.ms) best.set(name, { ms, bytes });
}

Deno.bench({
  name: `weightNorm forward ${ROWS}×${COLS} ×${ITERS}`,
  group: "weightNorm",
  baseline: true,
  n: 5,
  warmup: 1,
  async fn(b) {
    b.start();
    const t0 = performance.now();
    scope(() => {
      for (let i = 0; i < ITERS; i++) weightNorm(v, g);
    });
    await gpu.sync();
    record("forward", (performance.now() - t0) / ITERS, 8 * ROWS * COLS);
    b.end();
  },
});

Deno.bench({
  name: `weightNorm forward+backward ${ROWS}×${COLS} ×${ITERS}`,
  group: "weightNorm",
  n: 5,
  warmup: 1,
  async fn(b) {
    v.requireGrad();
    g.requireGrad();
    b.start();
    const t0 = performance.now();
    scope(() => {
      for (let i = 0; i < ITERS; i++) {
        weightNorm(v, g).backward(dW);
        for (const t of [v, g]) {
          t.grad?.dispose();
          t.grad = null;
        }
      }
    });
    await gpu.sync();
    record("forward+backward", (performance.now() - t0) / ITERS, 20 * ROWS * COLS);
    b.end();
    v.requiresGrad = false;
    g.requiresGrad = false;
  },
});

globalThis.addEventListener("unload", () => {
  console.log(`\nweightNorm on ${gpu.describe().description}, ${ROWS}×${COLS} (best run):`);
  for (const [name, { ms, bytes }] of best) {
    console.log(
      `  ${name.padEnd(18)} ${(ms * 1000).toFixed(0).padStart(7)} µs  ${
        (bytes / ms / 1e6).toFixed(2).padStart(7)
      } GB/s`,
    );
  }
});
