// Run: deno bench -A bench/attention_bench.ts
//
// Scaled-dot-product attention at ViT token counts (N = 197: 14×14 patches + CLS, hd = 64):
// ViT-Tiny (H = 3) and ViT-S (H = 6), forward and forward+backward, through the public ops.
// Napkin math: the forward is two products of 2·B·H·N²·hd FLOPs (q kᵀ and P v), so
// 4·B·H·N²·hd (0.95 GFLOP for ViT-Tiny at B = 32); the backward adds four (dv, dP, dq, dk),
// so forward+backward is 12·B·H·N²·hd. The softmax (~5 FLOPs per score) is left out.
// Bytes: P is 4·B·H·N² (15 MB for ViT-Tiny at B = 32), written once and read three times.
// On a software adapter (llvmpipe) B drops from 32 to 4 so that the file runs in well under a
// minute; GFLOP/s are per batch either way. Results print after the table.
import { getGpu } from "../lib/gpu/device.ts";
import { attention } from "../lib/ops/attention.ts";
import { randn } from "../lib/tensor/create.ts";
import { scope } from "../lib/tensor/scope.ts";
import type { Tensor } from "../lib/tensor/tensor.ts";

const gpu = await getGpu();
const software = gpu.describe().isFallbackAdapter;
const B = software ? 4 : 32;
const N = 197;
const HD = 64;
const best = new Map<string, { ms: number; flops: number }>();

function inputs(heads: number): Tensor<"f32">[] {
  const shape = [B, heads, N, HD];
  return [1, 2, 3, 4].map((seed) => randn(shape, { seed }));
}

for (const [model, heads] of [["ViT-Tiny", 3], ["ViT-S", 6]] as const) {
  const [q, k, v, dO] = inputs(heads);
  const flops = 4 * B * heads * N * N * HD;
  const record = (name: string, ms: number, f: number) => {
    const previous = best.get(name);
    if (!previous || ms < previous.ms) best.set(name, { ms, flops: f });
  };

  Deno.bench({
    name: `attention forward ${model} B=${B} H=${heads} N=${N} hd=${HD}`,
    group: `attention ${model}`,
    baseline: true,
    n: 5,
    warmup: 1,
    async fn(b) {
      b.start();
      const t0 = performance.now();
      scope(() => attention(q, k, v));
      await gpu.sync();
      record(`forward ${model}`, performance.now() - t0, flops);
      b.end();
    },
  });

  Deno.bench({
    name: `attention forward+backward ${model} B=${B} H=${heads} N=${N} hd=${HD}`,
    group: `attention ${model}`,
    n: 5,
    warmup: 1,
    async fn(b) {
      for (const t of [q, k, v]) t.requireGrad();
      b.start();
      const t0 = performance.now();
      scope(() => {
        attention(q, k, v).backward(dO);
        for (const t of [q, k, v]) {
          t.grad?.dispose();
          t.grad = null;
        }
      });
      await gpu.sync();
      record(`forward+backward ${model}`, performance.now() - t0, 3 * flops);
      b.end();
      for (const t of [q, k, v]) t.requiresGrad = false;
    },
  });
}

globalThis.addEventListener("unload", () => {
  console.log(`\nattention on ${gpu.describe().description}, B=${B}, N=${N}, hd=${HD} (best run):`);
  for (const [name, { ms, flops }] of best) {
    console.log(
      `  ${name.padEnd(28)} ${ms.toFixed(1).padStart(8)} ms  ${
        (flops / ms / 1e6).toFixed(2).padStart(7)
      } GFLOP/s`,
    );
  }
});
