// Run: deno bench -A bench/dino_step_bench.ts
//      DINO_STEP_BENCH_STEPS=5 deno bench -A bench/dino_step_bench.ts
//
// One DINO training iteration end to end (teacher forward on the 2 global crops, student forward
// and backward on all crops, clipping, AdamW, EMA, center) — images/s and peak GPU bytes — and
// the multi-crop augmentation of the same batch, as a share of the step.
//   vit_tiny/4 32 px: ViT-Tiny (D 192, depth 12, 3 heads), 2 × 32² + 6 × 16² crops, batch 32,
//                     K = 65536 as dino.
//   vit_small/16:     ViT-S (D 384, depth 12, 6 heads), 2 × 224² + 8 × 96² crops, batch 32 — only
//                     on a real GPU (a software adapter would take minutes per step).
// Napkin math: the student sees 2·65 + 6·17 = 232 tokens per image (ViT-Tiny/4), each costing
// ≈ 24·D² FLOPs per block forward → ≈ 2.5 GFLOP per image forward, ×3 with backward, plus the
// teacher: ≈ 9 GFLOP per image, 285 GFLOP per step at batch 32.
import { getGpu } from "../lib/gpu/device.ts";
import { dinoDefault, MultiCropAugment, type MultiCropConfig } from "../lib/data/augment.ts";
import { DINO_DEFAULTS, type DinoConfig } from "../lib/dino/config.ts";
import { DinoTrainer } from "../lib/dino/train.ts";
import { rand } from "../lib/tensor/create.ts";
import type { Tensor } from "../lib/tensor/tensor.ts";

const gpu = await getGpu();
const software = gpu.describe().isFallbackAdapter;
const STEPS = Number(Deno.env.get("DINO_STEP_BENCH_STEPS") ?? 2);

interface Case {
  name: string;
  config: DinoConfig;
  augment: MultiCropConfig;
  imageSide: number;
  gpuOnly: boolean;
}

const cases: Case[] = [
  {
    name: "vit_tiny/4 32px 2×32+6×16 batch 32",
    config: {
      ...DINO_DEFAULTS,
      arch: "vit_tiny",
      patchSize: 4,
      globalSize: 32,
      localSize: 16,
      localCropsNumber: 6,
      batchSize: 32,
      epochs: 1,
      warmupEpochs: 0,
    },
    augment: {
      ...dinoDefault,
      globalSize: 32,
      localSize: 16,
      localCropsNumber: 6,
      interpolation: "bilinear",
      blur: { ...dinoDefault.blur, kernelSize: 3 },
    },
    imageSide: 32,
    gpuOnly: false,
  },
  {
    name: "vit_small/16 2×224+8×96 batch 32",
    config: { ...DINO_DEFAULTS, batchSize: 32, epochs: 1, warmupEpochs: 0 },
    augment: { ...dinoDefault },
    imageSide: 256,
    gpuOnly: true,
  },
];

for (const c of cases) {
  const ignore = c.gpuOnly && software;
  let trainer: DinoTrainer | null = null;
  let augment: MultiCropAugment | null = null;
  let images: Tensor | null = null;
  let views: Tensor[] = [];
  let it = 0;
  const setup = async () => {
    if (trainer) return;
    trainer = new DinoTrainer(c.config, 1000);
    augment = new MultiCropAugment(c.augment, 0);
    images = rand([c.config.batchSize, 3, c.imageSide, c.imageSide], { seed: 0 });
    views = augment.apply(images);
    await trainer.step(views, it++).item(); // warm-up: pipelines, pool, optimizer state
  };
  Deno.bench({
    name: `augment ${c.name}`,
    group: c.name,
    ignore,
    n: STEPS,
    warmup: 0,
    async fn(b) {
      await setup();
      b.start();
      const out = augment!.apply(images!);
      await gpu.sync();
      b.end();
      for (const v of out) v.dispose();
    },
  });
  Deno.bench({
    name: `step ${c.name}`,
    group: c.name,
    baseline: true,
    ignore,
    n: STEPS,
    warmup: 0,
    async fn(b) {
      await setup();
      gpu.pool.resetPeak();
      const base = gpu.pool.stats().liveBytes;
      b.start();
      const t0 = performance.now();
      const loss = trainer!.step(views, it++);
      await loss.item();
      const seconds = (performance.now() - t0) / 1000;
      b.end();
      loss.dispose();
      const peak = gpu.pool.stats().peakBytes;
      console.log(
        `${c.name}: ${(c.config.batchSize / seconds).toFixed(2)} img/s, ${
          seconds.toFixed(2)
        } s/step, ` +
          `peak GPU ${(peak / 2 ** 20).toFixed(0)} MiB (${
            ((peak - base) / 2 ** 20).toFixed(0)
          } MiB for the step) ` +
          `on ${gpu.describe().description}`,
      );
    },
  });
}
