/**
 * Neural-network modules with timm/dino parameter names: `Module` (parameters, state dicts),
 * `Linear`, `LayerNorm`, `Attention`, `Mlp`, `Block`, `VisionTransformer` (with presets) and
 * `DinoHead`. Open `vit.ts` first.
 *
 * @module
 */
export { type LoadOptions, Module } from "./module.ts";
export { Linear, type LinearOptions } from "./linear.ts";
export { LayerNorm } from "./layer_norm.ts";
export { Attention } from "./attention.ts";
export { Mlp } from "./mlp.ts";
export { Block, type BlockOptions, dropPath } from "./block.ts";
export {
  clsOf,
  ConvProjection,
  PatchEmbed,
  VisionTransformer,
  vitBase,
  type VitConfig,
  vitSmall,
  vitTiny,
} from "./vit.ts";
export { DinoHead, type DinoHeadConfig, WeightNormLinear } from "./dino_head.ts";
