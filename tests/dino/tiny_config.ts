// The tiny DINO run shared by the training tests.
import { DINO_DEFAULTS, type DinoConfig } from "../../lib/dino/config.ts";

/** A tiny run: ViT with D 24, depth 2, 8 px patches on 16 px globals and 8 px locals. */
export const TINY: DinoConfig = {
  ...DINO_DEFAULTS,
  arch: "vit_tiny",
  patchSize: 8,
  globalSize: 16,
  localSize: 8,
  embedDim: 24,
  depth: 2,
  numHeads: 2,
  outDim: 64,
  headHiddenDim: 32,
  headBottleneckDim: 16,
  batchSize: 4,
  epochs: 2,
  warmupEpochs: 1,
  localCropsNumber: 2,
  dropPathRate: 0.1,
};
