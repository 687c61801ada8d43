/**
 * `DinoModel`: backbone + projection head over a list of crops, as dino's `MultiCropWrapper`:
 * consecutive crops of equal resolution go through the backbone in one call, then all features
 * through the head in one call. Parameter names are the backbone's plus `head.*`, as in the
 * fixtures and timm.
 *
 * @module
 */
import { concat } from "../ops/movement.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { DinoHead } from "../nn/dino_head.ts";
import { Module } from "../nn/module.ts";
import type { VisionTransformer } from "../nn/vit.ts";

/** Output of {@link DinoModel.forward}. */
export interface MultiCropOutput {
  /** Backbone CLS features of every crop, crop-major: [ncrops·B, D]. */
  features: Tensor<"f32">;
  /** Head logits, crop-major: [ncrops·B, K]. */
  logits: Tensor<"f32">;
}

/**
 * A backbone with a DINO head, run over multi-crop batches.
 *
 * @example
 * ```ts ignore
 * import { DinoModel } from "./multi_crop.ts";
 * const student = new DinoModel(vit, head);
 * const { logits } = student.forward([global1, global2, local1, local2]);
 * ```
 */
export class DinoModel extends Module {
  /** The ViT. */
  readonly backbone: VisionTransformer;
  /** The projection head. */
  readonly head: DinoHead;

  /** Wraps `backbone` and `head`. */
  constructor(backbone: VisionTransformer, head: DinoHead) {
    super();
    this.backbone = this.registerModule("", backbone);
    this.head = this.registerModule("head", head);
  }

  /** Features and logits of `crops` (each [B, C, S, S]); crops of one size share a backbone call. */
  forward(crops: readonly Tensor[]): MultiCropOutput {
    const groups: Tensor[][] = [];
    for (const crop of crops) {
      const last = groups[groups.length - 1];
      if (last && last[0].shape[2] === crop.shape[2] && last[0].shape[3] === crop.shape[3]) {
        last.push(crop);
      } else groups.push([crop]);
    }
    const perGroup = groups.map((group) =>
      this.backbone.forward(group.length === 1 ? group[0] : concat(group, 0))
    );
    const features = perGroup.length === 1 ? perGroup[0] : concat(perGroup, 0);
    return { features, logits: this.head.forward(features) };
  }
}
