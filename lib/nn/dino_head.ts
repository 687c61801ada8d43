/**
 * `DinoHead`: dino's projection head — an MLP (GELU, no batch norm) to a bottleneck, L2
 * normalisation, then a weight-normalised linear layer without bias (`last_layer`).
 *
 * @module
 */
import type { Rng } from "../data/rng.ts";
import { gelu } from "../ops/activation.ts";
import { linear } from "../ops/matmul.ts";
import { l2normalize } from "../ops/normalization.ts";
import { weightNorm } from "../ops/weight_norm.ts";
import { ones, rand } from "../tensor/create.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { Linear } from "./linear.ts";
import { Module } from "./module.ts";

/** Architecture of a {@link DinoHead}. */
export interface DinoHeadConfig {
  /** Input width (the backbone's D). */
  inDim: number;
  /** Number of prototypes K (65536 in dino; smaller for small data). */
  outDim: number;
  /** MLP layers before the bottleneck (3 in dino). */
  nlayers?: number;
  /** MLP hidden width (2048 in dino). */
  hiddenDim?: number;
  /** Bottleneck width (256 in dino). */
  bottleneckDim?: number;
  /** Freeze `weight_g` at 1 (true in dino; false can help ViT-B stability). */
  normLastLayer?: boolean;
}

/**
 * The weight-normalised last layer: W = g·v/‖v‖ row-wise, no bias.
 *
 * @example
 * ```ts ignore
 * import { WeightNormLinear } from "./dino_head.ts";
 * const last = new WeightNormLinear(256, 65536, true);
 * ```
 */
export class WeightNormLinear extends Module {
  /** Gain [out, 1], 1 at init; frozen when `normLastLayer`. */
  readonly weightG: Tensor<"f32">;
  /** Direction [out, in], torch's default Linear init. */
  readonly weightV: Tensor<"f32">;

  /** A layer from `inDim` to `outDim`; `frozenGain` fixes g at 1. */
  constructor(inDim: number, outDim: number, frozenGain: boolean, rng?: Rng) {
    super();
    const bound = 1 / Math.sqrt(inDim);
    this.weightG = this.registerParameter("weight_g", ones([outDim, 1]));
    this.weightV = this.registerParameter(
      "weight_v",
      rand([outDim, inDim], { low: -bound, high: bound, rng }),
    );
    if (frozenGain) this.weightG.requiresGrad = false;
  }

  /** x·Wᵀ with W = g·v/‖v‖. */
  forward(x: Tensor): Tensor<"f32"> {
    return linear(x, weightNorm(this.weightV, this.weightG));
  }
}

/**
 * The DINO projection head.
 *
 * @example
 * ```ts ignore
 * import { DinoHead } from "./dino_head.ts";
 * const head = new DinoHead({ inDim: 384, outDim: 65536 });
 * const logits = head.forward(features); // [B, 384] → [B, 65536]
 * ```
 */
export class DinoHead extends Module {
  /** The MLP layers (timm names `mlp.0`, `mlp.2`, `mlp.4`: GELUs sit at the odd indices). */
  readonly layers: Linear[];
  /** The weight-normalised prototypes. */
  readonly lastLayer: WeightNormLinear;

  /** A head of `config`; weights from `rng`. */
  constructor(config: DinoHeadConfig, rng?: Rng) {
    super();
    const nlayers = Math.max(config.nlayers ?? 3, 1);
    const hidden = config.hiddenDim ?? 2048;
    const bottleneck = config.bottleneckDim ?? 256;
    const dims = nlayers === 1
      ? [config.inDim, bottleneck]
      : [config.inDim, ...new Array(nlayers - 1).fill(hidden), bottleneck];
    this.layers = dims.slice(1).map((out, i) =>
      this.registerModule(`mlp.${2 * i}`, new Linear(dims[i], out, { rng }))
    );
    this.lastLayer = this.registerModule(
      "last_layer",
      new WeightNormLinear(bottleneck, config.outDim, config.normLastLayer ?? true, rng),
    );
  }

  /** The bottleneck embedding, L2-normalised: [B, bottleneck]. */
  embed(x: Tensor): Tensor<"f32"> {
    let z: Tensor<"f32"> = this.layers[0].forward(x);
    for (const layer of this.layers.slice(1)) z = layer.forward(gelu(z));
    return l2normalize(z);
  }

  /** Prototype logits [B, outDim]. */
  forward(x: Tensor): Tensor<"f32"> {
    return this.lastLayer.forward(this.embed(x));
  }
}
