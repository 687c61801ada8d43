/**
 * The backbone to evaluate: a ViT read from a DINO checkpoint (the teacher, as dino evaluates),
 * its architecture taken from the checkpoint's `config` metadata unless one is given.
 *
 * @module
 */
import type { DinoConfig } from "../dino/config.ts";
import { vitConfigOf } from "../dino/train.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { VisionTransformer, type VitConfig } from "../nn/vit.ts";

/** Options of {@link loadBackbone}. */
export interface BackboneOptions {
  /** Prefix of the ViT's tensors in the file (default `"teacher."`; `"student."` also works). */
  prefix?: string;
  /** The architecture; by default read from the checkpoint's `config` metadata (a DinoConfig). */
  config?: VitConfig;
}

/**
 * Builds the ViT of a checkpoint and loads its weights, in eval mode.
 *
 * @throws {RangeError} when the file has no `config` metadata and no `config` is given, or when a
 *   tensor is missing or mis-shaped.
 * @example
 * ```ts ignore
 * import { loadBackbone } from "./backbone.ts";
 * const vit = await loadBackbone("runs/synthetic/checkpoint.safetensors");
 * ```
 */
export async function loadBackbone(
  path: string,
  options: BackboneOptions = {},
): Promise<VisionTransformer> {
  const file = await readSafetensors(path);
  let config = options.config;
  if (!config) {
    const text = file.metadata.config;
    if (!text) {
      throw new RangeError(
        `Cannot build the backbone of ${path}: it has no "config" metadata; pass the ` +
          `architecture (arch, patch size, image size) explicitly`,
      );
    }
    config = vitConfigOf(JSON.parse(text) as DinoConfig);
  }
  const vit = new VisionTransformer(config);
  try {
    vit.loadStateDict(file, { prefix: options.prefix ?? "teacher." });
  } catch (error) {
    vit.dispose();
    throw error;
  }
  return vit.eval();
}
