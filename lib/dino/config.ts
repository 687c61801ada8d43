/**
 * `DinoConfig`: every hyper-parameter of a DINO run, named as main_dino.py's flags (camelCase),
 * with dino's defaults and its advice.
 *
 * @module
 */

/** The hyper-parameters of a DINO run (main_dino.py flags in camelCase). */
export interface DinoConfig {
  /** Backbone preset: "vit_tiny" | "vit_small" | "vit_base". */
  arch: "vit_tiny" | "vit_small" | "vit_base";
  /** Patch size in pixels. Smaller patches are better but cost more (16 is dino's default). */
  patchSize: number;
  /** Global crop size in pixels (224 in dino). */
  globalSize: number;
  /** Local crop size in pixels (96 in dino). */
  localSize: number;
  /** Image channels (3; 1 for Fashion-MNIST). */
  inChans: number;
  /** Overrides of the preset: token width, depth and heads (for small custom models). */
  embedDim?: number;
  /** Number of blocks, overriding the preset. */
  depth?: number;
  /** Number of heads, overriding the preset. */
  numHeads?: number;
  /** Prototypes K. 65536 works well for complex data such as ImageNet. */
  outDim: number;
  /** Head MLP hidden width (2048 in dino). */
  headHiddenDim: number;
  /** Head bottleneck width (256 in dino). */
  headBottleneckDim: number;
  /** Head MLP layers (3 in dino). */
  headNlayers: number;
  /** Freeze weight_g of the last layer at 1. True makes training more stable; false can help ViT-B. */
  normLastLayer: boolean;
  /** Base EMA momentum of the teacher, raised to 1 by a cosine. 0.996 works well with batch 256. */
  momentumTeacher: number;
  /** Initial teacher temperature. 0.04 works well in most cases; lower it if training is unstable. */
  warmupTeacherTemp: number;
  /** Final teacher temperature. Above 0.07 training tends to be unstable. */
  teacherTemp: number;
  /** Epochs of linear teacher-temperature warm-up (30 in dino's default run). */
  warmupTeacherTempEpochs: number;
  /** Student temperature (0.1). */
  studentTemp: number;
  /** Center EMA momentum (0.9). */
  centerMomentum: number;
  /** Initial weight decay; a cosine raises it. Smaller values suit ViTs less. */
  weightDecay: number;
  /** Final weight decay (0.4 in dino). */
  weightDecayEnd: number;
  /** Per-parameter gradient norm clip; 0 disables. ~3.0 is good for ViTs. */
  clipGrad: number;
  /** Images per step. */
  batchSize: number;
  /** Training epochs. */
  epochs: number;
  /** Epochs during which the last layer stays frozen (1 helps early stability). */
  freezeLastLayer: number;
  /** Peak learning rate at batch 256 (linear scaling: lr · batchSize / 256). */
  lr: number;
  /** Epochs of linear learning-rate warm-up. */
  warmupEpochs: number;
  /** Final learning rate of the cosine. */
  minLr: number;
  /** Scale range of global crops (fraction of the image area). */
  globalCropsScale: [number, number];
  /** Number of local crops (0 disables multi-crop). */
  localCropsNumber: number;
  /** Scale range of local crops. */
  localCropsScale: [number, number];
  /** Stochastic depth of the student (0.1). */
  dropPathRate: number;
  /** Seed of initialisation, data order and augmentation. */
  seed: number;
}

/**
 * main_dino.py's defaults (ViT-S/16 at 224/96 px with 8 local crops, batch 64 per GPU).
 *
 * @example
 * ```ts
 * import { DINO_DEFAULTS } from "./config.ts";
 * console.log(DINO_DEFAULTS.teacherTemp); // 0.04
 * ```
 */
export const DINO_DEFAULTS: Readonly<DinoConfig> = Object.freeze<DinoConfig>({
  arch: "vit_small",
  patchSize: 16,
  globalSize: 224,
  localSize: 96,
  inChans: 3,
  outDim: 65536,
  headHiddenDim: 2048,
  headBottleneckDim: 256,
  headNlayers: 3,
  normLastLayer: true,
  momentumTeacher: 0.996,
  warmupTeacherTemp: 0.04,
  teacherTemp: 0.04,
  warmupTeacherTempEpochs: 0,
  studentTemp: 0.1,
  centerMomentum: 0.9,
  weightDecay: 0.04,
  weightDecayEnd: 0.4,
  clipGrad: 3.0,
  batchSize: 64,
  epochs: 100,
  freezeLastLayer: 1,
  lr: 0.0005,
  warmupEpochs: 10,
  minLr: 1e-6,
  globalCropsScale: [0.4, 1],
  localCropsNumber: 8,
  localCropsScale: [0.05, 0.4],
  dropPathRate: 0.1,
  seed: 0,
});
