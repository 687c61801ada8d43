/**
 * `evaluateBackbone`: the frozen-feature evaluations of a pretrained ViT in one call — weighted
 * k-NN on CLS features, a linear probe on the CLS of the last blocks, and (where the test images
 * have foreground masks) the IoU of the attention masks — as the pretrain example reports them.
 *
 * @module
 */
import type { VisionTransformer } from "../nn/vit.ts";
import { type AttentionIoU, attentionIoU } from "./attention_maps.ts";
import { clsEmbedder, type Embedder, extractFeatures, type ImageSource } from "./features.ts";
import { reshape } from "../ops/movement.ts";
import { knnClassify, type KnnResult } from "./knn.ts";
import { probeEmbedder, trainLinearProbe } from "./linear_probe.ts";

/** Options of {@link evaluateBackbone}. */
export interface EvaluateOptions {
  /** Labelled training images (the k-NN bank and the probe's training set). */
  train: ImageSource;
  /** Labelled test images (queries). */
  test: ImageSource;
  /** Number of classes. */
  numClasses: number;
  /** Per-channel normalisation applied before the model (as in training). */
  mean: readonly number[];
  /** Per-channel standard deviations. */
  std: readonly number[];
  /** k values of the k-NN (default [20]); T is 0.07 as in dino. */
  ks?: readonly number[];
  /** Linear-probe epochs (default 30; 0 skips the probe). */
  probeEpochs?: number;
  /** CLS tokens of this many last blocks form the probe's features (default 2). */
  probeLastBlocks?: number;
  /** Share of the attention mass kept by the masks (default 0.6). */
  attentionKeep?: number;
  /** Called with a short status line as each part starts. */
  onStatus?: (message: string) => void;
}

/** Results of {@link evaluateBackbone}, accuracies in percent. */
export interface Evaluation {
  /** k-NN top-1/top-5 per k. */
  knn: KnnResult[];
  /** Best linear-probe test top-1, or null when skipped. */
  linearTop1: number | null;
  /** Attention-mask IoU against the ground-truth foreground, or null without masks. */
  attention: AttentionIoU | null;
}

/**
 * The raw-pixel "backbone": each normalised image flattened to one vector, the baseline that
 * learned features are compared with.
 *
 * @example
 * ```ts ignore
 * import { evaluateEmbedders, pixelEmbedder } from "./evaluate.ts";
 * const pixels = await evaluateEmbedders(pixelEmbedder(), pixelEmbedder(), options);
 * ```
 */
export function pixelEmbedder(): Embedder {
  return (images) => reshape(images, [images.shape[0], -1]);
}

/**
 * k-NN with `knnEmbed`'s features and (unless `probeEpochs` is 0 or `probeEmbed` null) a linear
 * probe on `probeEmbed`'s.
 *
 * @example
 * ```ts ignore
 * import { evaluateEmbedders, pixelEmbedder } from "./evaluate.ts";
 * const pixels = await evaluateEmbedders(pixelEmbedder(), pixelEmbedder(), {
 *   train, test, numClasses: 10, mean: [0.286], std: [0.353],
 * });
 * ```
 */
export async function evaluateEmbedders(
  knnEmbed: Embedder,
  probeEmbed: Embedder | null,
  options: EvaluateOptions,
): Promise<Omit<Evaluation, "attention">> {
  const norm = { mean: options.mean, std: options.std, batchSize: 128 };
  options.onStatus?.("extracting features");
  const trainKnn = await extractFeatures(options.train, knnEmbed, norm);
  const testKnn = await extractFeatures(options.test, knnEmbed, norm);
  options.onStatus?.("k-NN");
  const knn = await knnClassify({
    trainFeatures: trainKnn.features,
    trainLabels: trainKnn.labels,
    testFeatures: testKnn.features,
    testLabels: testKnn.labels,
    numClasses: options.numClasses,
    ks: options.ks ?? [20],
  });
  const epochs = options.probeEpochs ?? 30;
  if (!probeEmbed || epochs <= 0) return { knn, linearTop1: null };
  options.onStatus?.("linear probe");
  const same = probeEmbed === knnEmbed;
  const train = same ? trainKnn : await extractFeatures(options.train, probeEmbed, norm);
  const test = same ? testKnn : await extractFeatures(options.test, probeEmbed, norm);
  const probe = await trainLinearProbe({
    trainFeatures: train.features,
    trainLabels: train.labels,
    testFeatures: test.features,
    testLabels: test.labels,
    numClasses: options.numClasses,
    epochs,
  });
  return { knn, linearTop1: probe.bestTop1 };
}

/**
 * Evaluates `vit` (put in eval mode) on frozen features; see the module doc.
 *
 * @example
 * ```ts ignore
 * import { evaluateBackbone } from "./evaluate.ts";
 * const result = await evaluateBackbone(trainer.teacher.backbone, {
 *   train, test, numClasses: 10, mean: [0.286], std: [0.353],
 * });
 * console.log(result.knn[0].top1, result.linearTop1);
 * ```
 */
export async function evaluateBackbone(
  vit: VisionTransformer,
  options: EvaluateOptions,
): Promise<Evaluation> {
  vit.eval();
  const blocks = Math.min(options.probeLastBlocks ?? 2, vit.config.depth);
  const cls = clsEmbedder(vit);
  const probe = blocks === 1 ? cls : probeEmbedder(vit, { nLastBlocks: blocks });
  const { knn, linearTop1 } = await evaluateEmbedders(cls, probe, options);
  let attention: AttentionIoU | null = null;
  if (options.test.length > 0 && options.test.get(0).mask) {
    options.onStatus?.("attention masks");
    attention = await attentionIoU(vit, options.test, {
      mean: options.mean,
      std: options.std,
      batchSize: 128,
      keep: options.attentionKeep ?? 0.6,
    });
  }
  return { knn, linearTop1, attention };
}
