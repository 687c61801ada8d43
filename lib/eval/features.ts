/**
 * Frozen features of a dataset for the evaluations: images are normalised and batched on the CPU,
 * embedded on the GPU without autograd (one `scope` per batch, so every activation is freed), and
 * the [B, D] features come back with one readback per batch. The next batch is assembled while the
 * GPU runs the current one.
 *
 * The source is anything with `length` and `get(i)` returning `{ image, channels, height, width,
 * label }` — every `Dataset` of `lib/data` qualifies, and so does a plain object over arrays.
 *
 * @module
 */
import { noGrad } from "../autograd/grad_mode.ts";
import { ShapeError } from "../errors.ts";
import type { VisionTransformer } from "../nn/vit.ts";
import { fromArray } from "../tensor/create.ts";
import { scope } from "../tensor/scope.ts";
import type { Tensor } from "../tensor/tensor.ts";

/**
 * ImageNet channel means, the normalisation of dino's evaluation transforms.
 *
 * @example
 * ```ts
 * import { IMAGENET_MEAN } from "./features.ts";
 * console.log(IMAGENET_MEAN);
 * ```
 */
export const IMAGENET_MEAN: readonly number[] = Object.freeze([0.485, 0.456, 0.406]);
/**
 * ImageNet channel standard deviations.
 *
 * @example
 * ```ts
 * import { IMAGENET_STD } from "./features.ts";
 * console.log(IMAGENET_STD);
 * ```
 */
export const IMAGENET_STD: readonly number[] = Object.freeze([0.229, 0.224, 0.225]);

/** One image as the evaluations read it (the fields of a `lib/data` `Sample`). */
export interface ImageSample {
  /** Pixels in C×H×W order, each in [0, 1]. */
  image: Float32Array;
  /** Channels C. */
  channels: number;
  /** Height H in pixels. */
  height: number;
  /** Width W in pixels. */
  width: number;
  /** Class index. */
  label: number;
  /** Foreground mask H×W (1 on the object), where the source has one. */
  mask?: Uint8Array;
}

/** Random-access images with labels; every `Dataset` of `lib/data` is one. */
export interface ImageSource {
  /** Number of images. */
  readonly length: number;
  /** Image `i`, 0 ≤ i < length. */
  get(i: number): ImageSample;
}

/** Maps a batch of normalised images [B, C, H, W] to features [B, D]. */
export type Embedder = (images: Tensor) => Tensor;

/** Options of {@link extractFeatures}. */
export interface FeatureOptions {
  /** Images per forward pass (default 64). */
  batchSize?: number;
  /** Channel means subtracted before the model (default ImageNet's for 3 channels). */
  mean?: readonly number[];
  /** Channel standard deviations divided by (default ImageNet's for 3 channels). */
  std?: readonly number[];
  /** Which images, in order (default all). */
  indices?: ArrayLike<number>;
  /** Called after each batch with the number of images done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** Features of a set of images, row-major on the CPU. */
export interface Features {
  /** [count, dim] features. */
  features: Float32Array;
  /** [count] labels. */
  labels: Int32Array;
  /** Number of images. */
  count: number;
  /** Feature width D. */
  dim: number;
}

/**
 * The CLS embedder of a ViT: `vit.forward`, the CLS token after the final norm (dino's
 * `eval_knn.py` features). Put the model in eval mode first (`vit.eval()`).
 *
 * @example
 * ```ts ignore
 * import { clsEmbedder, extractFeatures } from "./features.ts";
 * const train = await extractFeatures(dataset, clsEmbedder(vit.eval()));
 * ```
 */
export function clsEmbedder(vit: VisionTransformer): Embedder {
  return (images) => vit.forward(images);
}

/** The per-channel (mean, 1/std) of `options` for `channels` channels. */
function normalisation(options: FeatureOptions, channels: number): [number[], number[]] {
  const mean = options.mean ?? (channels === 3 ? IMAGENET_MEAN : undefined);
  const std = options.std ?? (channels === 3 ? IMAGENET_STD : undefined);
  if (!mean || !std) {
    throw new RangeError(
      `Cannot normalise ${channels}-channel images without statistics: pass mean and std ` +
        `(e.g. FASHION_MNIST_MEAN and FASHION_MNIST_STD for Fashion-MNIST)`,
    );
  }
  const pick = (v: readonly number[], c: number) => v.length === 1 ? v[0] : v[c];
  if (
    (mean.length !== 1 && mean.length !== channels) || (std.length !== 1 && std.length !== channels)
  ) {
    throw new RangeError(
      `Cannot normalise ${channels}-channel images with ${mean.length} means and ` +
        `${std.length} stds: give one value or one per channel`,
    );
  }
  return [
    Array.from({ length: channels }, (_, c) => pick(mean, c)),
    Array.from({ length: channels }, (_, c) => 1 / pick(std, c)),
  ];
}

/**
 * Normalises images `ids` of `source` into one [B, C, H, W] array; all must share C, H and W.
 * Returns the batch, its labels and its shape.
 *
 * @throws {RangeError} when the images differ in size or the statistics do not fit.
 * @example
 * ```ts ignore
 * import { loadBatch } from "./features.ts";
 * const { data, labels, shape } = loadBatch(dataset, [0, 1, 2, 3]);
 * ```
 */
export function loadBatch(
  source: ImageSource,
  ids: ArrayLike<number>,
  options: Pick<FeatureOptions, "mean" | "std"> = {},
): { data: Float32Array; labels: Int32Array; shape: [number, number, number, number] } {
  const first = source.get(ids[0]);
  const { channels: c, height: h, width: w } = first;
  const [mean, invStd] = normalisation(options, c);
  const hw = h * w;
  const data = new Float32Array(ids.length * c * hw);
  const labels = new Int32Array(ids.length);
  for (let b = 0; b < ids.length; b++) {
    const s = b === 0 ? first : source.get(ids[b]);
    if (s.channels !== c || s.height !== h || s.width !== w) {
      throw new RangeError(
        `Cannot batch image ${ids[b]} of ${s.channels}×${s.height}×${s.width} with images of ` +
          `${c}×${h}×${w}: evaluation batches need one size (resize the dataset)`,
      );
    }
    labels[b] = s.label;
    for (let ch = 0; ch < c; ch++) {
      const m = mean[ch], k = invStd[ch], off = b * c * hw + ch * hw;
      for (let p = 0; p < hw; p++) data[off + p] = (s.image[ch * hw + p] - m) * k;
    }
  }
  return { data, labels, shape: [ids.length, c, h, w] };
}

/**
 * Embeds every image of `source` (or `options.indices`) with `embed`, in batches, without
 * autograd, and returns the features on the CPU. Each batch runs in its own `scope` and is read
 * back once; the next batch is normalised on the CPU while the GPU runs the current one.
 *
 * @throws {ShapeError} when `embed` does not return [B, D].
 * @example
 * ```ts ignore
 * import { clsEmbedder, extractFeatures } from "./features.ts";
 * import { SyntheticShapes } from "../data/synthetic.ts";
 * const { features, labels, dim } = await extractFeatures(
 *   new SyntheticShapes({ length: 1000 }),
 *   clsEmbedder(vit.eval()),
 *   { batchSize: 128 },
 * );
 * ```
 */
export async function extractFeatures(
  source: ImageSource,
  embed: Embedder,
  options: FeatureOptions = {},
): Promise<Features> {
  const indices = options.indices ?? Array.from({ length: source.length }, (_, i) => i);
  const count = indices.length;
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`Cannot extract features in batches of ${batchSize}: use an integer ≥ 1`);
  }
  const labels = new Int32Array(count);
  let features = new Float32Array(0);
  let dim = -1;
  let pending: { start: number; read: Promise<Float32Array>; size: number } | null = null;
  const drain = async () => {
    if (!pending) return;
    const { start, read, size } = pending;
    pending = null;
    features.set((await read).subarray(0, size * dim), start * dim);
    options.onProgress?.(start + size, count);
  };
  for (let start = 0; start < count; start += batchSize) {
    const ids = Array.from(
      { length: Math.min(batchSize, count - start) },
      (_, j) => indices[start + j],
    );
    const batch = loadBatch(source, ids, options);
    labels.set(batch.labels, start);
    const encoded = noGrad(() =>
      scope(() => {
        const out = embed(fromArray(batch.data, batch.shape));
        if (out.rank !== 2 || out.shape[0] !== ids.length) {
          throw new ShapeError(
            "extractFeatures",
            [ids.length, -1],
            out.shape,
            "the embedder must return [B, D] features for B images",
          );
        }
        // The copy is encoded and submitted now; the tensor may go with the scope.
        return { dim: out.shape[1], read: out.toArray() as Promise<Float32Array> };
      })
    );
    // Awaited in drain(); until then a failure must not count as unhandled.
    encoded.read.catch(() => {});
    if (dim < 0) {
      dim = encoded.dim;
      features = new Float32Array(count * dim);
    } else if (encoded.dim !== dim) {
      throw new ShapeError(
        "extractFeatures",
        [ids.length, dim],
        [ids.length, encoded.dim],
        "the embedder returned features of another width than for the first batch",
      );
    }
    await drain();
    pending = { start, read: encoded.read, size: ids.length };
  }
  await drain();
  return { features, labels, count, dim: Math.max(dim, 0) };
}
