/**
 * Named runs: a DINO configuration, its multi-crop augmentation and its dataset, ready for
 * `deno task pretrain --preset <name>`.
 *
 * @module
 */
import { dinoDefault, fmnistTiny, type MultiCropConfig } from "../data/augment.ts";
import { DINO_DEFAULTS, type DinoConfig } from "./config.ts";

/** The datasets the pretrain example can read. */
export type DatasetKind = "synthetic" | "fashion-mnist" | "folder";

/** A named run. */
export interface Preset {
  /** What it is for, one line. */
  description: string;
  /** The DINO hyper-parameters. */
  config: DinoConfig;
  /** The augmentation (crop sizes equal the config's). */
  augment: MultiCropConfig;
  /** The dataset. */
  dataset: DatasetKind;
  /** Training images used (a prefix of the training set); all when undefined. */
  trainImages?: number;
}

/**
 * The presets: `synthetic-tiny` (the default, a few minutes on a CPU adapter),
 * `fmnist-tiny` (../shared/reference/fmnist.md, protocol 10k-15), and `dino-vits16`
 * (main_dino.py's defaults, for a real GPU).
 *
 * @example
 * ```ts
 * import { PRESETS } from "./presets.ts";
 * console.log(PRESETS["fmnist-tiny"].config.patchSize); // 7
 * ```
 */
export const PRESETS: Readonly<Record<string, Preset>> = Object.freeze({
  "synthetic-tiny": {
    description:
      "a small ViT/8 on 32 px synthetic shapes: about 6 minutes with evaluation on a 2-core CPU adapter",
    dataset: "synthetic",
    trainImages: 1024,
    config: {
      ...DINO_DEFAULTS,
      arch: "vit_tiny",
      patchSize: 8,
      globalSize: 32,
      localSize: 16,
      embedDim: 96,
      depth: 4,
      numHeads: 3,
      outDim: 256,
      headHiddenDim: 256,
      headBottleneckDim: 64,
      batchSize: 32,
      epochs: 4,
      // A short run: a larger lr (×32/256 → 5e-4) and a faster teacher than dino's 0.996.
      lr: 0.004,
      warmupEpochs: 1,
      momentumTeacher: 0.99,
      warmupTeacherTemp: 0.04,
      teacherTemp: 0.06,
      warmupTeacherTempEpochs: 2,
      localCropsNumber: 4,
      localCropsScale: [0.1, 0.4],
      freezeLastLayer: 1,
      dropPathRate: 0.1,
    },
    augment: {
      ...dinoDefault,
      globalSize: 32,
      localSize: 16,
      localCropsNumber: 4,
      localCropsScale: [0.1, 0.4],
      interpolation: "bilinear",
      blur: { ...dinoDefault.blur, kernelSize: 3, sigma: [0.1, 1] },
    },
  },
  "fmnist-tiny": {
    description:
      "../shared/reference/fmnist.md: ViT (patch 7, D 96, depth 4) on Fashion-MNIST, protocol 10k-15",
    dataset: "fashion-mnist",
    trainImages: 10_000,
    config: {
      ...DINO_DEFAULTS,
      arch: "vit_tiny",
      patchSize: 7,
      globalSize: 28,
      localSize: 14,
      inChans: 1,
      embedDim: 96,
      depth: 4,
      numHeads: 3,
      outDim: 2048,
      headHiddenDim: 512,
      headBottleneckDim: 128,
      normLastLayer: true,
      momentumTeacher: 0.996,
      warmupTeacherTemp: 0.04,
      teacherTemp: 0.07,
      warmupTeacherTempEpochs: 5,
      weightDecay: 0.04,
      weightDecayEnd: 0.4,
      clipGrad: 3.0,
      batchSize: 256,
      epochs: 15,
      freezeLastLayer: 1,
      lr: 1e-3,
      warmupEpochs: 2,
      minLr: 1e-6,
      globalCropsScale: [0.4, 1],
      localCropsNumber: 4,
      localCropsScale: [0.1, 0.4],
      dropPathRate: 0.1,
      seed: 0,
    },
    augment: { ...fmnistTiny },
  },
  "dino-vits16": {
    description:
      "main_dino.py's defaults: ViT-S/16, 224/96 px, 8 local crops (needs a real GPU and an image folder)",
    dataset: "folder",
    config: { ...DINO_DEFAULTS },
    augment: { ...dinoDefault },
  },
});
