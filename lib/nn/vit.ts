/**
 * `VisionTransformer` as dino's `vision_transformer.py` (timm names): patch embedding, CLS token,
 * learned position embedding (interpolated for other crop sizes), pre-norm blocks, final norm.
 * Configs are data: {@link VitConfig} and the presets {@link vitTiny}, {@link vitSmall},
 * {@link vitBase} for any patch size.
 *
 * @module
 */
import { Rng } from "../data/rng.ts";
import { add } from "../ops/elementwise.ts";
import { concat, expand, reshape, slice } from "../ops/movement.ts";
import { patchEmbed } from "../ops/patchify.ts";
import { interpolatePosEmbed, type PosEmbedMode } from "../ops/pos_embed.ts";
import { rand, truncNormal } from "../tensor/create.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { ShapeError } from "../errors.ts";
import { Block } from "./block.ts";
import { LayerNorm } from "./layer_norm.ts";
import { Module } from "./module.ts";

/** Architecture of a {@link VisionTransformer}. */
export interface VitConfig {
  /** Training image size in pixels (square); other sizes interpolate the position embedding. */
  imgSize: number;
  /** Patch size in pixels (16 for ViT-S/16). */
  patchSize: number;
  /** Input channels (3 for RGB, 1 for Fashion-MNIST). */
  inChans: number;
  /** Token width D. */
  embedDim: number;
  /** Number of blocks. */
  depth: number;
  /** Attention heads (D must divide evenly). */
  numHeads: number;
  /** MLP hidden width as a multiple of D (4 in every dino model). */
  mlpRatio: number;
  /** Bias in the qkv projection (true in dino). */
  qkvBias: boolean;
  /** Stochastic depth, rising linearly from 0 to this over the blocks (0.1 for the student). */
  dropPathRate: number;
  /** LayerNorm eps (1e-6 in dino). */
  eps: number;
  /** Position-embedding interpolation: "size" (timm/DINOv2, default) or "dino" (released checkpoints). */
  posEmbedMode: PosEmbedMode;
}

const BASE: Omit<VitConfig, "embedDim" | "depth" | "numHeads" | "patchSize"> = {
  imgSize: 224,
  inChans: 3,
  mlpRatio: 4,
  qkvBias: true,
  dropPathRate: 0,
  eps: 1e-6,
  posEmbedMode: "size",
};

/**
 * ViT-Tiny (D 192, depth 12, 3 heads) for any patch size.
 *
 * @example
 * ```ts
 * import { vitTiny } from "./vit.ts";
 * const config = vitTiny(4, { imgSize: 32, depth: 6 });
 * console.log(config.embedDim); // 192
 * ```
 */
export function vitTiny(patchSize = 16, overrides: Partial<VitConfig> = {}): VitConfig {
  return { ...BASE, patchSize, embedDim: 192, depth: 12, numHeads: 3, ...overrides };
}

/**
 * ViT-Small (D 384, depth 12, 6 heads) for any patch size.
 *
 * @example
 * ```ts
 * import { vitSmall } from "./vit.ts";
 * console.log(vitSmall(16).numHeads); // 6
 * ```
 */
export function vitSmall(patchSize = 16, overrides: Partial<VitConfig> = {}): VitConfig {
  return { ...BASE, patchSize, embedDim: 384, depth: 12, numHeads: 6, ...overrides };
}

/**
 * ViT-Base (D 768, depth 12, 12 heads) for any patch size.
 *
 * @example
 * ```ts
 * import { vitBase } from "./vit.ts";
 * console.log(vitBase(8).embedDim); // 768
 * ```
 */
export function vitBase(patchSize = 16, overrides: Partial<VitConfig> = {}): VitConfig {
  return { ...BASE, patchSize, embedDim: 768, depth: 12, numHeads: 12, ...overrides };
}

/**
 * `PatchEmbed`: Conv2d(C, D, p, stride p) as im2col + matmul; keeps torch's default conv init.
 *
 * @example
 * ```ts ignore
 * import { PatchEmbed } from "./vit.ts";
 * const embed = new PatchEmbed(3, 192, 16);
 * const tokens = embed.forward(images); // [B, 3, 224, 224] → [B, 196, 192]
 * ```
 */
export class PatchEmbed extends Module {
  /** Patch size in pixels. */
  readonly patchSize: number;
  /** The convolution, `proj.weight` [D, C, p, p] and `proj.bias` [D]. */
  readonly proj: ConvProjection;

  /** Embeds `inChans`-channel patches of `patchSize` pixels into `embedDim` channels. */
  constructor(inChans: number, embedDim: number, patchSize: number, rng?: Rng) {
    super();
    this.patchSize = patchSize;
    this.proj = this.registerModule("proj", new ConvProjection(inChans, embedDim, patchSize, rng));
  }

  /** Tokens [B, N, D] of images [B, C, H, W]. */
  forward(x: Tensor): Tensor<"f32"> {
    return patchEmbed(x, this.proj.weight, this.proj.bias, this.patchSize);
  }
}

/**
 * The parameters of the patch convolution (torch default init: U(±1/√(C·p²))).
 *
 * @example
 * ```ts ignore
 * import { ConvProjection } from "./vit.ts";
 * const proj = new ConvProjection(3, 192, 16);
 * console.log(proj.weight.shape); // [192, 3, 16, 16]
 * ```
 */
export class ConvProjection extends Module {
  /** [D, C, p, p]. */
  readonly weight: Tensor<"f32">;
  /** [D]. */
  readonly bias: Tensor<"f32">;

  /** The weights of a `kernel`×`kernel` convolution from `inChans` to `outChans`. */
  constructor(inChans: number, outChans: number, kernel: number, rng?: Rng) {
    super();
    const bound = 1 / Math.sqrt(inChans * kernel * kernel);
    this.weight = this.registerParameter(
      "weight",
      rand([outChans, inChans, kernel, kernel], { low: -bound, high: bound, rng }),
    );
    this.bias = this.registerParameter("bias", rand([outChans], { low: -bound, high: bound, rng }));
  }
}

/**
 * A Vision Transformer backbone; `forward` returns the CLS feature after the final norm.
 *
 * @example
 * ```ts ignore
 * import { VisionTransformer, vitTiny } from "./vit.ts";
 * const vit = new VisionTransformer(vitTiny(4, { imgSize: 32, depth: 4 }), { seed: 0 });
 * const features = vit.forward(images); // [B, 192]
 * ```
 */
export class VisionTransformer extends Module {
  /** The architecture. */
  readonly config: VitConfig;
  /** Patch embedding. */
  readonly patchEmbed: PatchEmbed;
  /** [1, 1, D]. */
  readonly clsToken: Tensor<"f32">;
  /** [1, 1 + g², D] for the g×g training grid. */
  readonly posEmbed: Tensor<"f32">;
  /** The blocks. */
  readonly blocks: Block[];
  /** Final norm. */
  readonly norm: LayerNorm;
  /** The generator of the initial weights, then of drop-path masks (its state is checkpointed). */
  readonly rng: Rng;

  /** A ViT of `config`, initialised as dino does from `seed` (or `rng`). */
  constructor(config: VitConfig, options: { seed?: number; rng?: Rng } = {}) {
    super();
    const c = config;
    if (c.imgSize % c.patchSize !== 0) {
      throw new RangeError(
        `Cannot build a ViT: imgSize ${c.imgSize} is not a multiple of patchSize ${c.patchSize}`,
      );
    }
    this.config = c;
    const rng = this.rng = options.rng ?? new Rng(options.seed ?? 0);
    const grid = c.imgSize / c.patchSize;
    this.patchEmbed = this.registerModule(
      "patch_embed",
      new PatchEmbed(c.inChans, c.embedDim, c.patchSize, rng),
    );
    this.clsToken = this.registerParameter(
      "cls_token",
      truncNormal([1, 1, c.embedDim], { std: 0.02, rng }),
    );
    this.posEmbed = this.registerParameter(
      "pos_embed",
      truncNormal([1, 1 + grid * grid, c.embedDim], { std: 0.02, rng }),
    );
    this.blocks = Array.from({ length: c.depth }, (_, i) =>
      this.registerModule(
        `blocks.${i}`,
        new Block(c.embedDim, c.numHeads, {
          mlpRatio: c.mlpRatio,
          qkvBias: c.qkvBias,
          dropPath: c.depth > 1 ? (c.dropPathRate * i) / (c.depth - 1) : c.dropPathRate,
          eps: c.eps,
          rng,
        }),
      ));
    this.norm = this.registerModule("norm", new LayerNorm(c.embedDim, c.eps));
  }

  /** Side of the training patch grid. */
  get gridSize(): number {
    return this.config.imgSize / this.config.patchSize;
  }

  /** The position embedding for an h×w patch grid (interpolated unless it is the training grid). */
  posEmbedFor(h: number, w: number): Tensor {
    return interpolatePosEmbed(this.posEmbed, this.gridSize, h, w, this.config.posEmbedMode);
  }

  /** Tokens entering block 0: [B, 1 + N, D] (CLS first, position embedding added). */
  prepareTokens(x: Tensor): Tensor<"f32"> {
    const p = this.config.patchSize;
    if (x.rank !== 4 || x.shape[1] !== this.config.inChans || x.shape[2] % p || x.shape[3] % p) {
      throw new ShapeError(
        "VisionTransformer.forward",
        [-1, this.config.inChans, p, p],
        x.shape,
        `images must be [B, ${this.config.inChans}, H, W] with H and W multiples of ${p}`,
      );
    }
    const tokens = this.patchEmbed.forward(x);
    const cls = expand(this.clsToken, [x.shape[0], 1, this.config.embedDim]);
    return add(concat([cls, tokens], 1), this.posEmbedFor(x.shape[2] / p, x.shape[3] / p));
  }

  /** Every token after the final norm: [B, 1 + N, D]. */
  forwardTokens(x: Tensor): Tensor<"f32"> {
    let t: Tensor<"f32"> = this.prepareTokens(x);
    for (const block of this.blocks) t = block.forward(t);
    return this.norm.forward(t);
  }

  /** The CLS feature after the final norm: [B, D]. */
  forward(x: Tensor): Tensor<"f32"> {
    return clsOf(this.forwardTokens(x));
  }

  /** The last block's attention probabilities [B, H, 1 + N, 1 + N] (row 0: the CLS query). */
  lastSelfAttention(x: Tensor): Tensor<"f32"> {
    let t: Tensor<"f32"> = this.prepareTokens(x);
    for (const block of this.blocks.slice(0, -1)) t = block.forward(t);
    return this.blocks[this.blocks.length - 1].forwardWithProbs(t).probs;
  }

  /** The normed outputs [B, 1 + N, D] of the last `n` blocks, as dino's `get_intermediate_layers`. */
  intermediateLayers(x: Tensor, n = 1): Tensor<"f32">[] {
    let t: Tensor<"f32"> = this.prepareTokens(x);
    const out: Tensor<"f32">[] = [];
    this.blocks.forEach((block, i) => {
      t = block.forward(t);
      if (i >= this.blocks.length - n) out.push(this.norm.forward(t));
    });
    return out;
  }
}

/**
 * The CLS token [B, D] of tokens [B, 1 + N, D].
 *
 * @example
 * ```ts ignore
 * import { clsOf } from "./vit.ts";
 * const cls = clsOf(tokens);
 * ```
 */
export function clsOf(tokens: Tensor): Tensor<"f32"> {
  return reshape(slice(tokens, 1, 0, 1), [tokens.shape[0], tokens.shape[2]]) as Tensor<"f32">;
}
