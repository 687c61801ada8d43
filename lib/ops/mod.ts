/**
 * Differentiable ops, one file per family: `elementwise.ts`, `reduce.ts`, `movement.ts`,
 * `matmul.ts`. Each op's WGSL is `shaders/ops/<family>.wgsl`.
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
export { linear, matmul, type MatmulOptions } from "./matmul.ts";
export {
  attention,
  type AttentionOptions,
  type AttentionReference,
  type AttentionWithProbs,
  attentionWithProbs,
} from "./attention.ts";
export { weightNorm, type WeightNormReference } from "./weight_norm.ts";
