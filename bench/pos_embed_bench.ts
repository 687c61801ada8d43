// Run: deno bench -A bench/pos_embed_bench.ts
//
// interpolatePosEmbed (lib/ops/pos_embed.ts), the per-step resize of pos_embed for local crops:
//   ViT-S/16: D=384, 14×14 → 6×6 (224 px → 96 px crops);  tiny ViT: D=48, 4×4 → 2×2.
// Napkin math: rows pass 2·h·g·(g·D) FLOPs, columns pass 2·h·w·g·D: 0.5 MFLOP at ViT-S/16 —
// nothing next to a step, so this is dispatch-bound (2 matmuls + 3 buffer copies per direction).
// Each iteration encodes REPS forward(+backward) calls and waits once.
import { getGpu } from "../lib/gpu/device.ts";
import { interpolatePosEmbed } from "../lib/ops/pos_embed.ts";
import { randn } from "../lib/tensor/create.ts";
import { scope } from "../lib/tensor/scope.ts";

const gpu = await getGpu();
const REPS = 20;

for (const [name, d, g, h] of [["ViT-S/16 14→6", 384, 14, 6], ["tiny 4→2", 48, 4, 2]] as const) {
  const posEmbed = randn([1, 1 + g * g, d], { seed: 1, std: 0.02 }).requireGrad();
  const dout = randn([1, 1 + h * h, d], { seed: 2 });
  const flops = 2 * h * g * g * d + 2 * h * h * g * d;
  console.log(`${name}: ${(flops / 1e6).toFixed(2)} MFLOP per forward`);

  Deno.bench({
    name: `interpolatePosEmbed forward ${name}`,
    group: "interpolatePosEmbed",
    n: 5,
    warmup: 1,
    async fn(t) {
      t.start();
      scope(() => {
        for (let i = 0; i < REPS; i++) interpolatePosEmbed(posEmbed.view(posEmbed.shape), g, h, h);
      });
      await gpu.sync();
      t.end();
    },
  });

  Deno.bench({
    name: `interpolatePosEmbed forward+backward ${name}`,
    group: "interpolatePosEmbed",
    n: 5,
    warmup: 1,
    async fn(t) {
      t.start();
      scope(() => {
        for (let i = 0; i < REPS; i++) {
          interpolatePosEmbed(posEmbed, g, h, h).backward(dout);
          posEmbed.grad = null;
        }
      });
      await gpu.sync();
      t.end();
    },
  });
}
