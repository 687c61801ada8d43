/**
 * `Mlp`: fc1 → GELU (exact erf) → fc2, as timm's ViT MLP.
 *
 * @module
 */
import type { Rng } from "../data/rng.ts";
import { gelu } from "../ops/activation.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { Linear } from "./linear.ts";
import { Module } from "./module.ts";

/**
 * Two-layer perceptron with a GELU between.
 *
 * @example
 * ```ts ignore
 * import { Mlp } from "./mlp.ts";
 * const mlp = new Mlp(192, 768);
 * const y = mlp.forward(x); // [..., 192] → [..., 192]
 * ```
 */
export class Mlp extends Module {
  /** in → hidden. */
  readonly fc1: Linear;
  /** hidden → in. */
  readonly fc2: Linear;

  /** An MLP `dim` → `hidden` → `dim`. */
  constructor(dim: number, hidden: number, options: { rng?: Rng } = {}) {
    super();
    this.fc1 = this.registerModule("fc1", new Linear(dim, hidden, options));
    this.fc2 = this.registerModule("fc2", new Linear(hidden, dim, options));
  }

  /** fc2(gelu(fc1(x))). */
  forward(x: Tensor): Tensor<"f32"> {
    return this.fc2.forward(gelu(this.fc1.forward(x)));
  }
}
