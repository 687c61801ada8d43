// Run: deno bench -A bench/augment_bench.ts
//
// DINO multi-crop augmentation throughput (images/s): MultiCropAugment.apply on a batch already
// on the GPU, parameters drawn on the CPU and uploaded once per call, ≤ 4 dispatches per view.
//   dino 224/96: batch 8 of 3×256×256, 2 × 224² + 8 × 96² bicubic crops (dinoDefault)
//   small 32/16: batch 32 of 3×32×32, 2 × 32² + 6 × 16² bilinear crops
// Napkin math per output element and view: crop reads 4 (bilinear) or 16 (bicubic, mostly
// cached) taps and writes 1; colour reads+writes 1–2×; blur rows reads k taps, writes 1; blur
// columns reads k taps, writes 1 → ≈ 6 × 4 B of compulsory traffic per output element. dino 224/96
// makes 3·(2·224² + 8·96²) = 522k output elements per image → ≈ 12.5 MB per image; the GB/s
// printed below is that traffic over the measured time (lavapipe: a few GB/s at best).
import { getGpu } from "../lib/gpu/device.ts";
import { dinoDefault, MultiCropAugment, type MultiCropConfig } from "../lib/data/augment.ts";
import { rand } from "../lib/tensor/create.ts";

const gpu = await getGpu();

interface Case {
  name: string;
  config: MultiCropConfig;
  batch: number;
  side: number;
}

const cases: Case[] = [
  {
    name: "dino 224/96 ×(2+8), batch 8",
    config: dinoDefault as MultiCropConfig,
    batch: 8,
    side: 256,
  },
  {
    name: "small 32/16 ×(2+6), batch 32",
    config: {
      ...structuredClone(dinoDefault as MultiCropConfig),
      globalSize: 32,
      localSize: 16,
      localCropsNumber: 6,
      interpolation: "bilinear",
      blur: { ...dinoDefault.blur, kernelSize: 3 },
    },
    batch: 32,
    side: 32,
  },
];

const timings = new Map<string, number[]>();

for (const c of cases) {
  const augment = new MultiCropAugment(c.config, 0);
  const images = rand([c.batch, 3, c.side, c.side], { seed: 1 });
  const outputsPerImage = 3 *
    (2 * c.config.globalSize ** 2 + c.config.localCropsNumber * c.config.localSize ** 2);
  Deno.bench({
    name: c.name,
    group: "augment",
    n: 3,
    warmup: 1,
    async fn(b) {
      b.start();
      const t0 = performance.now();
      const views = augment.apply(images);
      await gpu.sync();
      const ms = performance.now() - t0;
      b.end();
      for (const v of views) v.dispose();
      const list = timings.get(c.name) ?? [];
      list.push(ms);
      timings.set(c.name, list);
    },
  });
  globalThis.addEventListener("unload", () => {
    const list = timings.get(c.name);
    if (!list?.length) return;
    const ms = Math.min(...list);
    const imagesPerS = (c.batch / ms) * 1e3;
    const gbs = (imagesPerS * outputsPerImage * 24) / 1e9;
    console.log(
      `${c.name}: ${imagesPerS.toFixed(1)} images/s (best of ${list.length}, ` +
        `${ms.toFixed(1)} ms/batch, ≈ ${gbs.toFixed(2)} GB/s)`,
    );
  });
}
