// Run: deno bench -A bench/adamw_bench.ts
//
// AdamW over a ViT-S/16 backbone-sized parameter set (dino vit_small: 150 tensors, 21.7M params)
// and, for comparison, over ONE flat tensor of the same size: the difference is what one dispatch
// per parameter costs against a single-kernel design (see the header of lib/optim/adamw.ts).
// Napkin math per parameter element (f32):
//   AdamW            reads p, g, m, v and writes p, m, v:                 7 × 4 B = 28 B
//   AdamW + clip     + the norm pass reads g, the step writes clipped g:  9 × 4 B = 36 B
// GB/s below = those bytes × 21.7M over the measured time (best of n).
import { getGpu } from "../lib/gpu/device.ts";
import { AdamW, type AdamWParam } from "../lib/optim/adamw.ts";
import { full } from "../lib/tensor/create.ts";

const gpu = await getGpu();
const D = 384;
const DEPTH = 12;

/** dino vit_small (patch 16, 224²): the names and shapes of its 150 parameter tensors. */
function vitSmallShapes(): [string, number[]][] {
  const shapes: [string, number[]][] = [
    ["cls_token", [1, 1, D]],
    ["pos_embed", [1, 197, D]],
    ["patch_embed.proj.weight", [D, 3, 16, 16]],
    ["patch_embed.proj.bias", [D]],
  ];
  for (let i = 0; i < DEPTH; i++) {
    const b = `blocks.${i}`;
    shapes.push(
      [`${b}.norm1.weight`, [D]],
      [`${b}.norm1.bias`, [D]],
      [`${b}.attn.qkv.weight`, [3 * D, D]],
      [`${b}.attn.qkv.bias`, [3 * D]],
      [`${b}.attn.proj.weight`, [D, D]],
      [`${b}.attn.proj.bias`, [D]],
      [`${b}.norm2.weight`, [D]],
      [`${b}.norm2.bias`, [D]],
      [`${b}.mlp.fc1.weight`, [4 * D, D]],
      [`${b}.mlp.fc1.bias`, [4 * D]],
      [`${b}.mlp.fc2.weight`, [D, 4 * D]],
      [`${b}.mlp.fc2.bias`, [D]],
    );
  }
  shapes.push(["norm.weight", [D]], ["norm.bias", [D]]);
  return shapes;
}

function makeParams(shapes: [string, number[]][]): AdamWParam[] {
  return shapes.map(([name, shape]) => {
    const param = full(shape, 0.02);
    param.grad = full(shape, 1e-3);
    return { name, param, weightDecay: shape.length > 1 && !name.endsWith(".bias") };
  });
}

const vit = makeParams(vitSmallShapes());
const total = vit.reduce((n, p) => n + p.param.size, 0);
const flat = makeParams([["flat", [total]]]);
const optimizers = { vit: new AdamW(vit), flat: new AdamW(flat) };
await gpu.sync();

const cases = [
  { name: `AdamW, ${vit.length} tensors`, opt: optimizers.vit, clip: 0, bytes: 28 },
  { name: `AdamW + clip, ${vit.length} tensors`, opt: optimizers.vit, clip: 3, bytes: 36 },
  { name: "AdamW, 1 flat tensor", opt: optimizers.flat, clip: 0, bytes: 28 },
  { name: "AdamW + clip, 1 flat tensor", opt: optimizers.flat, clip: 3, bytes: 36 },
];
const best = new Map<string, number>();

for (const c of cases) {
  Deno.bench({
    name: `${c.name} (${(total / 1e6).toFixed(1)}M params)`,
    group: "adamw",
    n: 2,
    warmup: 1,
    async fn(b) {
      b.start();
      const t0 = performance.now();
      c.opt.step({ lr: 1e-4, weightDecay: 0.04, clipGrad: c.clip });
      await gpu.sync();
      best.set(c.name, Math.min(best.get(c.name) ?? Infinity, performance.now() - t0));
      b.end();
    },
  });
}

globalThis.addEventListener("unload", () => {
  for (const c of cases) {
    const ms = best.get(c.name);
    if (ms === undefined) continue;
    console.log(
      `${c.name}: ${ms.toFixed(1)} ms, ${((c.bytes * total) / ms / 1e6).toFixed(2)} GB/s ` +
        `(${(total / 1e6).toFixed(1)}M params, ${gpu.describe().description})`,
    );
  }
});
