/**
 * `Attention`: multi-head self-attention as timm's ViT (qkv in one Linear, channel j of qkv =
 * which·D + head·hd + d). The head split and merge are one dispatch each way
 * (`splitHeads`/`mergeHeads` of lib/ops/heads.ts).
 *
 * @module
 */
import type { Rng } from "../data/rng.ts";
import { attention, attentionWithProbs } from "../ops/attention.ts";
import { mergeHeads, splitHeads } from "../ops/heads.ts";
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
    return splitHeads(this.qkv.forward(x), this.numHeads);
  }

  /** [B, H, N, hd] → [B, N, H·hd] → proj. */
  #merge(o: Tensor): Tensor<"f32"> {
    return this.proj.forward(mergeHeads(o));
  }

  /** Self-attention of tokens x [B, N, D]. */
  forward(x: Tensor): Tensor<"f32"> {
    const [q, k, v] = this.#heads(x);
    return this.#merge(attention(q, k, v));
  }

  /** The output and the attention probabilities [B, H, N, N] (no gradient through probs). */
  forwardWithProbs(x: Tensor): { out: Tensor<"f32">; probs: Tensor<"f32"> } {
    const [q, k, v] = this.#heads(x);
    const { out, probs } = attentionWithProbs(q, k, v);
    return { out: this.#merge(out), probs };
  }
}
