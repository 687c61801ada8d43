// Run: deno bench -A bench/patchify_bench.ts
//
//      PATCHIFY_BENCH_B=32 deno bench -A bench/patchify_bench.ts   (the real ViT-S/16 batch)
//
// Patch embedding (lib/ops/patchify.ts) at two model sizes:
//   ViT-S/16 at 224 px: B=32 (default 2, so that lavapipe finishes in well under a minute), C=3,
//                       p=16, D=384 → N=196, K=C·p²=768
//   ViT-Tiny/4 at 32 px: B=64, C=3, p=4,  D=192 → N=64,  K=48
// Napkin math:
//   im2col: a permutation, 8 bytes per element (one f32 read, one write): 8·B·C·H·W bytes
//           (ViT-S/16, B=32: 38.5 MB per call).
//   patchEmbed forward: 2·B·N·K·D FLOPs for the matmul (ViT-S/16, B=32: 3.70 GFLOP) + im2col;
//   forward + backward (weight and bias only, as in training: images need no gradient):
//           2× the matmul FLOPs (dW = dyᵀ·cols) + a column sum.
// Each iteration encodes REPS calls and waits once; rates are printed at the end from the best
// iteration (Deno.bench reports the mean time per iteration).
import { getGpu } from "../lib/gpu/device.ts";
import { im2col, patchEmbed } from "../lib/ops/patchify.ts";
import { randn } from "../lib/tensor/create.ts";
import { scope } from "../lib/tensor/scope.ts";

const gpu = await getGpu();
const REPS = 2;

interface Config {
  name: string;
  b: number;
  c: number;
  size: number;
  p: number;
  d: number;
}

const VIT_S_BATCH = Number(Deno.env.get("PATCHIFY_BENCH_B") ?? 2);

const CONFIGS: Config[] = [
  { name: `ViT-S/16 224px B=${VIT_S_BATCH}`, b: VIT_S_BATCH, c: 3, size: 224, p: 16, d: 384 },
  { name: "ViT-Tiny/4 32px B=64", b: 64, c: 3, size: 32, p: 4, d: 192 },
];

const best = new Map<string, { seconds: number; amount: number; unit: string }>();

function record(name: string, seconds: number, amount: number, unit: string): void {
  const prev = best.get(name);
  if (!prev || seconds < prev.seconds) best.set(name, { seconds, amount, unit });
}

for (const cfg of CONFIGS) {
  const { b, c, size, p, d } = cfg;
  const n = (size / p) ** 2;
  const k = c * p * p;
  const x = randn([b, c, size, size], { seed: 1 });
  const weight = randn([d, c, p, p], { seed: 2, std: 0.02 }).requireGrad();
  const bias = randn([d], { seed: 3, std: 0.02 }).requireGrad();
  const dy = randn([b, n, d], { seed: 4 });
  const matmulFlops = 2 * b * n * k * d;

  Deno.bench({
    name: `im2col ${cfg.name}`,
    group: "im2col",
    n: 3,
    warmup: 1,
    async fn(t) {
      t.start();
      const start = performance.now();
      scope(() => {
        for (let i = 0; i < REPS; i++) im2col(x, p).dispose();
      });
      await gpu.sync();
      const seconds = (performance.now() - start) / 1e3;
      t.end();
      record(`im2col ${cfg.name}`, seconds, REPS * 8 * x.size / 1e9, "GB/s");
    },
  });

  Deno.bench({
    name: `patchEmbed forward ${cfg.name}`,
    group: "patchEmbed",
    n: 3,
    warmup: 1,
    async fn(t) {
      t.start();
      const start = performance.now();
      scope(() => {
        for (let i = 0; i < REPS; i++) patchEmbed(x, weight.view(weight.shape), bias, p);
      });
      await gpu.sync();
      const seconds = (performance.now() - start) / 1e3;
      t.end();
      record(`patchEmbed forward ${cfg.name}`, seconds, REPS * matmulFlops / 1e9, "GFLOP/s");
    },
  });

  Deno.bench({
    name: `patchEmbed forward+backward ${cfg.name}`,
    group: "patchEmbed",
    n: 3,
    warmup: 1,
    async fn(t) {
      t.start();
      const start = performance.now();
      scope(() => {
        for (let i = 0; i < REPS; i++) {
          patchEmbed(x, weight, bias, p).backward(dy);
          weight.grad = null;
          bias.grad = null;
        }
      });
      await gpu.sync();
      const seconds = (performance.now() - start) / 1e3;
      t.end();
      record(
        `patchEmbed forward+backward ${cfg.name}`,
        seconds,
        REPS * 2 * matmulFlops / 1e9,
        "GFLOP/s",
      );
    },
  });
}

globalThis.addEventListener("unload", () => {
  for (const [name, { seconds, amount, unit }] of best) {
    console.log(`${name}: ${(amount / seconds).toFixed(2)} ${unit} (best ${seconds * 1e3} ms)`);
  }
});
