/**
 * `LayerNorm` over the last dim, as `torch.nn.LayerNorm` (biased variance; eps 1e-6 as dino).
 *
 * @module
 */
import { layerNorm } from "../ops/normalization.ts";
import { ones, zeros } from "../tensor/create.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { Module } from "./module.ts";

/**
 * Layer normalisation with a learned scale and shift.
 *
 * @example
 * ```ts ignore
 * import { LayerNorm } from "./layer_norm.ts";
 * const norm = new LayerNorm(192);
 * const y = norm.forward(x);
 * ```
 */
export class LayerNorm extends Module {
  /** Scale [D], initialised to 1. */
  readonly weight: Tensor<"f32">;
  /** Shift [D], initialised to 0. */
  readonly bias: Tensor<"f32">;
  /** Added to the variance. */
  readonly eps: number;

  /** A LayerNorm over `dim` features. */
  constructor(dim: number, eps = 1e-6) {
    super();
    this.eps = eps;
    this.weight = this.registerParameter("weight", ones([dim]));
    this.bias = this.registerParameter("bias", zeros([dim]));
  }

  /** Normalises the last dim of x. */
  forward(x: Tensor): Tensor<"f32"> {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}
