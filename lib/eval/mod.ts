/**
 * Evaluation of frozen features: weighted k-NN (as dino's eval_knn.py), a linear probe, attention
 * maps with mask IoU (as visualize_attention.py), PNG output, and `evaluateBackbone` running them
 * together. Open `evaluate.ts` first.
 *
 * @module
 */
export {
  evaluateBackbone,
  evaluateEmbedders,
  type EvaluateOptions,
  type Evaluation,
  pixelEmbedder,
} from "./evaluate.ts";
export {
  clsEmbedder,
  type Embedder,
  extractFeatures,
  type FeatureOptions,
  type Features,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type ImageSample,
  type ImageSource,
  loadBatch,
} from "./features.ts";
export { knnClassify, type KnnOptions, type KnnResult } from "./knn.ts";
export {
  featureStats,
  type LinearProbeOptions,
  type LinearProbeResult,
  probeEmbedder,
  type ProbeEpoch,
  type ProbeFeatureOptions,
  trainLinearProbe,
} from "./linear_probe.ts";
export {
  type AttentionIoU,
  attentionIoU,
  type AttentionIoUOptions,
  type AttentionMaps,
  attentionMassMask,
  clsAttention,
  headMap,
  maskIoU,
  saveAttentionPngs,
  upsampleMask,
} from "./attention_maps.ts";
export {
  decodePng,
  encodePng,
  heatmap,
  imageToRgba,
  resizeNearest,
  type RgbaImage,
  viridis,
} from "./png.ts";
export { type TopK, topk, TOPK_MAX_K, type TopKHost, topkReference } from "./topk.ts";
export { type BackboneOptions, loadBackbone } from "./backbone.ts";
export { linePlot, type LinePlotOptions } from "./plot.ts";
