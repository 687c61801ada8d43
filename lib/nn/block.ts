/**
 * `Block`: a pre-norm transformer block, x + attn(norm1(x)) then x + mlp(norm2(x)), with
 * stochastic depth (drop_path) on both branches in training mode.
 *
 * @module
 */
import { Rng } from "../data/rng.ts";
import { add, mul } from "../ops/elementwise.ts";
import { fromArray } from "../tensor/create.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { Attention } from "./attention.ts";
import { LayerNorm } from "./layer_norm.ts";
import { Mlp } from "./mlp.ts";
import { Module } from "./module.ts";

/** Options of {@link Block}. */
export interface BlockOptions {
  /** Hidden width of the MLP as a multiple of dim (default 4). */
  mlpRatio?: number;
  /** Bias in the qkv projection (default true). */
  qkvBias?: boolean;
  /** Probability of dropping a residual branch per sample in training (default 0). */
  dropPath?: number;
  /** LayerNorm eps (default 1e-6). */
  eps?: number;
  /** Generator for initial weights and drop-path masks. */
  rng?: Rng;
}

/**
 * Drops the residual `branch` of whole samples with probability `p`, scaling survivors by
 * 1/(1−p), as timm's `drop_path`. `branch` is [B, ...]; the mask is drawn on the CPU from `rng`.
 *
 * @example
 * ```ts ignore
 * import { dropPath } from "./block.ts";
 * const y = dropPath(branch, 0.1, rng);
 * ```
 */
export function dropPath(branch: Tensor, p: number, rng: Rng): Tensor {
  if (p <= 0) return branch;
  const batch = branch.shape[0];
  const mask = new Float32Array(batch);
  for (let i = 0; i < batch; i++) mask[i] = rng.bernoulli(1 - p) ? 1 / (1 - p) : 0;
  const shape = [batch, ...branch.shape.slice(1).map(() => 1)];
  return mul(branch, fromArray(mask, shape, { gpu: branch.gpu }));
}

/**
 * One ViT block.
 *
 * @example
 * ```ts ignore
 * import { Block } from "./block.ts";
 * const block = new Block(192, 3);
 * const y = block.forward(tokens);
 * ```
 */
export class Block extends Module {
  /** Norm before attention. */
  readonly norm1: LayerNorm;
  /** Self-attention. */
  readonly attn: Attention;
  /** Norm before the MLP. */
  readonly norm2: LayerNorm;
  /** The MLP. */
  readonly mlp: Mlp;
  /** Drop-path probability. */
  readonly dropPathRate: number;
  #rng: Rng;

  /** A block of width `dim` with `numHeads` heads. */
  constructor(dim: number, numHeads: number, options: BlockOptions = {}) {
    super();
    const eps = options.eps ?? 1e-6;
    this.#rng = options.rng ?? new Rng(0);
    this.dropPathRate = options.dropPath ?? 0;
    this.norm1 = this.registerModule("norm1", new LayerNorm(dim, eps));
    this.attn = this.registerModule("attn", new Attention(dim, numHeads, options));
    this.norm2 = this.registerModule("norm2", new LayerNorm(dim, eps));
    this.mlp = this.registerModule(
      "mlp",
      new Mlp(dim, Math.round(dim * (options.mlpRatio ?? 4)), options),
    );
  }

  #residual(x: Tensor, branch: Tensor): Tensor<"f32"> {
    const p = this.training ? this.dropPathRate : 0;
    return add(x, dropPath(branch, p, this.#rng));
  }

  /** The block applied to tokens [B, N, D]. */
  forward(x: Tensor): Tensor<"f32"> {
    const h = this.#residual(x, this.attn.forward(this.norm1.forward(x)));
    return this.#residual(h, this.mlp.forward(this.norm2.forward(h)));
  }

  /** The block's output and its attention probabilities [B, H, N, N]. */
  forwardWithProbs(x: Tensor): { out: Tensor<"f32">; probs: Tensor<"f32"> } {
    const { out: a, probs } = this.attn.forwardWithProbs(this.norm1.forward(x));
    const h = this.#residual(x, a);
    return { out: this.#residual(h, this.mlp.forward(this.norm2.forward(h))), probs };
  }
}
