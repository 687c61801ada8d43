/**
 * `Attention`: multi-head self-attention as timm's ViT (qkv in one Linear, channel j of qkv =
 * which·D + head·hd + d).
 *
 * @module
 */
import type { Rng } from "../data/rng.ts";
import { attention, attentionWithProbs } from "../ops/attention.ts";
import { permute, reshape, slice } from "../ops/movement.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { Linear } from "./linear.ts";
import { Module } from "./module.ts";

/**
 * Multi-head self-attention over tokens [B, N, D].
 *
 * @example
 * ```ts ignore
 * import { Attention } from "./attention.ts";
 * const attn = new Attention(192, 3);
 * const y = attn.forward(tokens); // [B, N, 192]
 * ```
 */
export class Attention extends Module {
  /** Number of heads. */
  readonly numHeads: number;
  /** Linear D → 3D producing q, k, v. */
  readonly qkv: Linear;
  /** Output projection D → D. */
  readonly proj: Linear;

  /** `dim` channels split into `numHeads` heads. */
  constructor(dim: number, numHeads: number, options: { qkvBias?: boolean; rng?: Rng } = {}) {
    super();
    if (dim % numHeads !== 0) {
      throw new RangeError(`Cannot split ${dim} channels into ${numHeads} heads evenly`);
    }
    this.numHeads = numHeads;
    this.qkv = this.registerModule(
      "qkv",
      new Linear(dim, 3 * dim, { bias: options.qkvBias ?? true, rng: options.rng }),
    );
    this.proj = this.registerModule("proj", new Linear(dim, dim, { rng: options.rng }));
  }

  /** q, k, v as [B, H, N, hd] each. */
  #heads(x: Tensor): [Tensor, Tensor, Tensor] {
    const [b, n, d] = x.shape;
    const h = this.numHeads;
    const qkv = reshape(this.qkv.forward(x), [b, n, 3, h, d / h]);
    const split = permute(qkv, [2, 0, 3, 1, 4]); // [3, B, H, N, hd]
    const part = (i: number) => reshape(slice(split, 0, i, i + 1), [b, h, n, d / h]);
    return [part(0), part(1), part(2)];
  }

  #merge(o: Tensor, x: Tensor): Tensor<"f32"> {
    const merged = reshape(permute(o, [0, 2, 1, 3]), x.shape); // [B, N, H·hd]
    return this.proj.forward(merged);
  }

  /** Self-attention of tokens x [B, N, D]. */
  forward(x: Tensor): Tensor<"f32"> {
    const [q, k, v] = this.#heads(x);
    return this.#merge(attention(q, k, v), x);
  }

  /** The output and the attention probabilities [B, H, N, N] (no gradient through probs). */
  forwardWithProbs(x: Tensor): { out: Tensor<"f32">; probs: Tensor<"f32"> } {
    const [q, k, v] = this.#heads(x);
    const { out, probs } = attentionWithProbs(q, k, v);
    return { out: this.#merge(out, x), probs };
  }
}
