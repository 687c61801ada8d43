/**
 * `Linear`: y = x·Wᵀ + b with W [out, in], as `torch.nn.Linear`.
 *
 * @module
 */
import type { Rng } from "../data/rng.ts";
import { linear } from "../ops/matmul.ts";
import { rand, truncNormal, zeros } from "../tensor/create.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { Module } from "./module.ts";

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Add a bias (default true). */
  bias?: boolean;
  /**
   * `"trunc_normal"` (dino/timm: weights N(0, 0.02²), bias 0; the default) or `"torch"`
   * (torch's default: U(±1/√in) for weight and bias).
   */
  init?: "trunc_normal" | "torch";
  /** Generator for the initial weights. */
  rng?: Rng;
}

/**
 * A fully connected layer.
 *
 * @example
 * ```ts ignore
 * import { Linear } from "./linear.ts";
 * const fc = new Linear(192, 768);
 * const y = fc.forward(x); // [..., 192] → [..., 768]
 * ```
 */
export class Linear extends Module {
  /** [out, in]. */
  readonly weight: Tensor<"f32">;
  /** [out], or undefined without bias. */
  readonly bias?: Tensor<"f32">;

  /** A layer from `inFeatures` to `outFeatures`. */
  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    const torchInit = options.init === "torch";
    this.weight = this.registerParameter(
      "weight",
      torchInit
        ? rand([outFeatures, inFeatures], { low: -bound, high: bound, rng: options.rng })
        : truncNormal([outFeatures, inFeatures], { std: 0.02, rng: options.rng }),
    );
    if (options.bias ?? true) {
      this.bias = this.registerParameter(
        "bias",
        torchInit
          ? rand([outFeatures], { low: -bound, high: bound, rng: options.rng })
          : zeros([outFeatures]),
      );
    }
  }

  /** x·Wᵀ + b over the last dim of x. */
  forward(x: Tensor): Tensor<"f32"> {
    return linear(x, this.weight, this.bias);
  }
}
