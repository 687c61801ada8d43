/**
 * Self-attention maps of the CLS token, as dino's `visualize_attention.py`: the last block's
 * attention from CLS to every patch, per head, on the patch grid; masks that keep a share of the
 * attention mass (0.6 by default: sort, cumulative sum, threshold); PNG heat maps and an overlay;
 * and the IoU of those masks against ground-truth foreground masks (the synthetic dataset has
 * them), for the mean over heads and for each head.
 *
 * Start with {@link clsAttention} (the maps of a batch), then {@link attentionIoU} (the score over
 * a dataset) or {@link saveAttentionPngs} (the pictures of one image).
 *
 * @module
 */
import { noGrad } from "../autograd/grad_mode.ts";
import { slice } from "../ops/movement.ts";
import type { VisionTransformer } from "../nn/vit.ts";
import { fromArray } from "../tensor/create.ts";
import { scope } from "../tensor/scope.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { type FeatureOptions, type ImageSample, type ImageSource, loadBatch } from "./features.ts";
import { encodePng, heatmap, imageToRgba, resizeNearest, type RgbaImage } from "./png.ts";

/** CLS→patch attention of a batch, on the CPU. */
export interface AttentionMaps {
  /** Images B. */
  batch: number;
  /** Heads H. */
  heads: number;
  /** Patch-grid rows. */
  gridHeight: number;
  /** Patch-grid columns. */
  gridWidth: number;
  /** [B, H, gridHeight·gridWidth]: `attn[:, :, 0, 1:]` of the last block, row-major grid. */
  values: Float32Array;
}

/**
 * The last block's CLS→patch attention of `images` [B, C, H, W] (already normalised), per head,
 * read back once: `vit.lastSelfAttention(x)[:, :, 0, 1:]` on the (H/p)×(W/p) grid. Put the
 * model in eval mode first (`vit.eval()`: no drop-path).
 *
 * @example
 * ```ts ignore
 * import { clsAttention } from "./attention_maps.ts";
 * const maps = await clsAttention(vit.eval(), images);
 * console.log(maps.heads, maps.gridHeight, maps.gridWidth); // 3 8 8
 * ```
 */
export async function clsAttention(vit: VisionTransformer, images: Tensor): Promise<AttentionMaps> {
  const p = vit.config.patchSize;
  const [batch, , height, width] = images.shape;
  const gridHeight = height / p, gridWidth = width / p;
  const read = noGrad(() =>
    scope(() => {
      const probs = vit.lastSelfAttention(images); // [B, H, 1 + N, 1 + N]
      const row = slice(probs, 2, 0, 1); // the CLS query, [B, H, 1, 1 + N]
      return { heads: probs.shape[1], all: row.toArray() as Promise<Float32Array> };
    })
  );
  const rows = await read.all;
  const n = gridHeight * gridWidth;
  const values = new Float32Array(batch * read.heads * n);
  for (let r = 0; r < batch * read.heads; r++) {
    values.set(rows.subarray(r * (n + 1) + 1, (r + 1) * (n + 1)), r * n);
  }
  return { batch, heads: read.heads, gridHeight, gridWidth, values };
}

/**
 * The map of head `head` of image `b` ([gridHeight·gridWidth], a view), or the mean over heads
 * when `head` is `"mean"` (a new array).
 *
 * @example
 * ```ts ignore
 * import { headMap } from "./attention_maps.ts";
 * const mean = headMap(maps, 0, "mean");
 * ```
 */
export function headMap(maps: AttentionMaps, b: number, head: number | "mean"): Float32Array {
  const n = maps.gridHeight * maps.gridWidth;
  if (head !== "mean") {
    return maps.values.subarray((b * maps.heads + head) * n, (b * maps.heads + head + 1) * n);
  }
  const out = new Float32Array(n);
  for (let h = 0; h < maps.heads; h++) {
    const m = headMap(maps, b, h);
    for (let i = 0; i < n; i++) out[i] += m[i] / maps.heads;
  }
  return out;
}

/**
 * The mask of the patches that hold `keep` of the attention mass, as dino: sort ascending,
 * normalise, cumulative sum, keep where it exceeds `1 − keep`. That is the fewest largest
 * patches whose mass reaches `keep` (ties broken by index).
 *
 * @throws {RangeError} when keep is outside [0, 1].
 * @example
 * ```ts
 * import { attentionMassMask } from "./attention_maps.ts";
 * console.log(attentionMassMask([0.1, 0.5, 0.15, 0.25], 0.6)); // Uint8Array [0, 1, 0, 1]
 * ```
 */
export function attentionMassMask(attention: ArrayLike<number>, keep = 0.6): Uint8Array {
  if (!(keep >= 0 && keep <= 1)) {
    throw new RangeError(`Cannot keep a share ${keep} of the attention mass: use [0, 1]`);
  }
  const n = attention.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) =>
    attention[a] - attention[b] || b - a
  );
  let total = 0;
  for (let i = 0; i < n; i++) total += attention[i];
  const mask = new Uint8Array(n);
  let cum = 0;
  for (const i of order) {
    cum += attention[i] / total;
    if (cum > 1 - keep) mask[i] = 1;
  }
  return mask;
}

/**
 * A gridHeight×gridWidth mask resized to height×width by nearest neighbour.
 *
 * @example
 * ```ts
 * import { upsampleMask } from "./attention_maps.ts";
 * console.log(upsampleMask(new Uint8Array([1, 0]), 1, 2, 2, 4)); // [1, 1, 0, 0, 1, 1, 0, 0]
 * ```
 */
export function upsampleMask(
  mask: ArrayLike<number>,
  gridHeight: number,
  gridWidth: number,
  height: number,
  width: number,
): Uint8Array {
  const out = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    const row = Math.floor((y * gridHeight) / height) * gridWidth;
    for (let x = 0; x < width; x++) {
      out[y * width + x] = mask[row + Math.floor((x * gridWidth) / width)] ? 1 : 0;
    }
  }
  return out;
}

/**
 * Intersection over union of two equally long 0/1 masks (non-zero counts as 1); two empty masks
 * score 1.
 *
 * @throws {RangeError} when the lengths differ.
 * @example
 * ```ts
 * import { maskIoU } from "./attention_maps.ts";
 * console.log(maskIoU([1, 1, 0, 0], [0, 1, 1, 0])); // 0.3333333333333333
 * ```
 */
export function maskIoU(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new RangeError(`Cannot compare masks of ${a.length} and ${b.length} pixels`);
  }
  let inter = 0, union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] !== 0, y = b[i] !== 0;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 1 : inter / union;
}

/** Options of {@link attentionIoU}. */
export interface AttentionIoUOptions
  extends Pick<FeatureOptions, "batchSize" | "mean" | "std" | "indices" | "onProgress"> {
  /** Share of the attention mass the masks keep (default 0.6, as dino). */
  keep?: number;
}

/** Mean IoUs of attention masks against ground-truth foreground masks. */
export interface AttentionIoU {
  /** Images scored. */
  count: number;
  /** Mean IoU of the mask of the mean-over-heads attention. */
  meanHeads: number;
  /** Mean IoU of each head's mask. */
  perHead: number[];
  /** The head with the highest mean IoU. */
  bestHead: number;
  /** Its mean IoU. */
  bestHeadIoU: number;
}

/**
 * Scores CLS attention against the foreground masks of `source` (every sample needs a `mask`):
 * per image, the mass mask of the mean-over-heads attention and of each head, upsampled to the
 * image by nearest neighbour, against the ground truth; IoUs averaged over images. The best head
 * is chosen over the whole set (not per image). Images are normalised as in
 * `extractFeatures` (ImageNet statistics by default); put the model in eval mode first.
 *
 * @throws {RangeError} when a sample has no mask.
 * @example
 * ```ts ignore
 * import { attentionIoU } from "./attention_maps.ts";
 * import { SyntheticShapes } from "../data/synthetic.ts";
 * const iou = await attentionIoU(vit.eval(), new SyntheticShapes({ length: 256, seed: 1 }));
 * console.log(iou.meanHeads, iou.bestHead, iou.bestHeadIoU);
 * ```
 */
export async function attentionIoU(
  vit: VisionTransformer,
  source: ImageSource,
  options: AttentionIoUOptions = {},
): Promise<AttentionIoU> {
  const indices = options.indices ?? Array.from({ length: source.length }, (_, i) => i);
  const batchSize = options.batchSize ?? 64;
  const keepShare = options.keep ?? 0.6;
  let meanHeads = 0;
  let perHead: number[] = [];
  for (let start = 0; start < indices.length; start += batchSize) {
    const ids = Array.from(
      { length: Math.min(batchSize, indices.length - start) },
      (_, j) => indices[start + j],
    );
    const batch = loadBatch(source, ids, options);
    const images = fromArray(batch.data, batch.shape);
    let maps: AttentionMaps;
    try {
      maps = await clsAttention(vit, images);
    } finally {
      images.dispose();
    }
    if (perHead.length === 0) perHead = new Array(maps.heads).fill(0);
    const [, , height, width] = batch.shape;
    ids.forEach((id, b) => {
      const truth = source.get(id).mask;
      if (!truth) {
        throw new RangeError(
          `Cannot score attention on image ${id}: the dataset has no foreground mask for it`,
        );
      }
      const score = (map: Float32Array) =>
        maskIoU(
          upsampleMask(
            attentionMassMask(map, keepShare),
            maps.gridHeight,
            maps.gridWidth,
            height,
            width,
          ),
          truth,
        );
      meanHeads += score(headMap(maps, b, "mean"));
      for (let h = 0; h < maps.heads; h++) perHead[h] += score(headMap(maps, b, h));
    });
    options.onProgress?.(start + ids.length, indices.length);
  }
  const count = indices.length;
  perHead = perHead.map((s) => s / Math.max(count, 1));
  const bestHead = perHead.indexOf(Math.max(...perHead));
  return {
    count,
    meanHeads: meanHeads / Math.max(count, 1),
    perHead,
    bestHead,
    bestHeadIoU: perHead[bestHead] ?? 0,
  };
}

/**
 * The pictures of one image: the input, one viridis heat map per head and of the mean over heads
 * (patch grid upsampled by nearest neighbour), and an overlay of the mean-over-heads mass mask
 * on the image (tinted inside, outlined). All at the image size times `scale`.
 *
 * @example
 * ```ts ignore
 * import { attentionPictures, clsAttention } from "./attention_maps.ts";
 * const pictures = attentionPictures(dataset.get(0), maps, 0, { scale: 4 });
 * ```
 */
export function attentionPictures(
  sample: Pick<ImageSample, "image" | "channels" | "height" | "width">,
  maps: AttentionMaps,
  b: number,
  options: { keep?: number; scale?: number } = {},
): Map<string, RgbaImage> {
  const scale = options.scale ?? 1;
  const height = sample.height * scale, width = sample.width * scale;
  const { gridHeight, gridWidth } = maps;
  const out = new Map<string, RgbaImage>();
  const image = resizeNearest(
    imageToRgba(sample.image, sample.channels, sample.height, sample.width),
    height,
    width,
  );
  out.set("img", image);
  for (let h = 0; h < maps.heads; h++) {
    out.set(
      `attn-head${h}`,
      resizeNearest(heatmap(headMap(maps, b, h), gridHeight, gridWidth), height, width),
    );
  }
  const mean = headMap(maps, b, "mean");
  out.set("attn-mean", resizeNearest(heatmap(mean, gridHeight, gridWidth), height, width));
  const mask = upsampleMask(
    attentionMassMask(mean, options.keep ?? 0.6),
    gridHeight,
    gridWidth,
    height,
    width,
  );
  const overlay = new Uint8ClampedArray(image.rgba);
  const tint = [255, 64, 32];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      if (!mask[p]) continue;
      const edge = x === 0 || y === 0 || x === width - 1 || y === height - 1 ||
        !mask[p - 1] || !mask[p + 1] || !mask[p - width] || !mask[p + width];
      for (let c = 0; c < 3; c++) {
        overlay[4 * p + c] = edge ? tint[c] : 0.5 * overlay[4 * p + c] + 0.5 * tint[c];
      }
    }
  }
  out.set("overlay", { width, height, rgba: overlay });
  return out;
}

/**
 * Writes {@link attentionPictures} of image `b` as PNGs into `dir` (created if missing):
 * `img.png`, `attn-head<h>.png` (dino's names), `attn-mean.png` and `overlay.png`. Returns
 * the paths written.
 *
 * @example
 * ```ts ignore
 * import { clsAttention, saveAttentionPngs } from "./attention_maps.ts";
 * const maps = await clsAttention(vit.eval(), images);
 * const paths = await saveAttentionPngs("out/attention/0", dataset.get(0), maps, 0, { scale: 4 });
 * ```
 */
export async function saveAttentionPngs(
  dir: string,
  sample: Pick<ImageSample, "image" | "channels" | "height" | "width">,
  maps: AttentionMaps,
  b: number,
  options: { keep?: number; scale?: number } = {},
): Promise<string[]> {
  if (b < 0 || b >= maps.batch) {
    throw new RangeError(`Cannot save the maps of image ${b}: the batch has ${maps.batch}`);
  }
  await Deno.mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const [name, picture] of attentionPictures(sample, maps, b, options)) {
    const path = `${dir.replace(/\/+$/, "")}/${name}.png`;
    await Deno.writeFile(path, await encodePng(picture));
    paths.push(path);
  }
  return paths;
}
