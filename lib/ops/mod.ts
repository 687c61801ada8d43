/**
 * Differentiable ops, one file per family: `elementwise.ts`, `reduce.ts`, `movement.ts`,
 * `matmul.ts` (variants chosen per adapter, `matmul_tune.ts` times them), `normalization.ts` (layerNorm, l2normalize), `softmax.ts`, `activation.ts` (gelu),
 * `attention.ts`, `heads.ts` (fused head split/merge), `weight_norm.ts`, `patchify.ts`, `pos_embed.ts`. Each op's WGSL is
 * `shaders/ops/<op>.wgsl`, forward and backward in one file.
 *
 * @module
 */
export {
  add,
  div,
  exp,
  log,
  mul,
  relu,
  type ScalarReference,
  scale,
  sqrt,
  sub,
} from "./elementwise.ts";
export { mean, sum, sumOfSquares, sumTo } from "./reduce.ts";
export { chunk, concat, expand, permute, reshape, slice, transpose } from "./movement.ts";
export {
  defaultMatmulVariant,
  encodeMatmul,
  forceMatmulVariant,
  linear,
  matmul,
  MATMUL_VARIANTS,
  matmulBucket,
  type MatmulOptions,
  type MatmulProblem,
  type MatmulReference,
  type MatmulVariant,
  matmulVariantFor,
} from "./matmul.ts";
export { type MatmulTuning, tuneMatmul, type TuneMatmulOptions } from "./matmul_tune.ts";
export {
  attention,
  type AttentionOptions,
  type AttentionReference,
  type AttentionWithProbs,
  attentionWithProbs,
} from "./attention.ts";
export { weightNorm, type WeightNormReference } from "./weight_norm.ts";
export {
  L2_NORMALIZE_EPS,
  l2normalize,
  type L2NormalizeReference,
  LAYER_NORM_EPS,
  layerNorm,
  type LayerNormReference,
} from "./normalization.ts";
export { logSoftmax, softmax, type SoftmaxReference } from "./softmax.ts";
export { erf, erfc, gelu } from "./activation.ts";
export {
  im2col,
  type Im2colReference,
  patchEmbed,
  type PatchEmbedGrads,
  type PatchEmbedReference,
} from "./patchify.ts";
export {
  bicubicMatrix,
  bicubicResize,
  type BicubicResizeReference,
  interpolatePosEmbed,
  type InterpolatePosEmbedReference,
  type PosEmbedMode,
} from "./pos_embed.ts";
export {
  crossEntropy,
  type CrossEntropyReference,
  type CrossEntropyRows,
  type CrossEntropyVariant,
  encodeCrossEntropy,
} from "./loss.ts";
export {
  HEADS_REFERENCE,
  type HeadsReference,
  mergeHeads,
  type SplitHeads,
  splitHeads,
} from "./heads.ts";
