/**
 * DINO multi-crop augmentation on the GPU, batched over the whole batch: dino's
 * `DataAugmentationDINO` with every parameter in a {@link MultiCropConfig}.
 *
 * Random parameters (crop boxes, flips, jitter order and factors, grayscale, blur sigmas,
 * solarize) are drawn on the CPU from a seeded {@link Rng}, per image and per view, and uploaded
 * as one small `u32` buffer per call; the pixel work runs in `shaders/data/augment.wgsl`: at most
 * four dispatches per view (crop+resize+flip, colour, blur rows, blur columns+solarize+normalize).
 * The deterministic ops (`hflip`, `resizedCrop`, `brightness`, …) run the same kernels with one
 * parameter record shared by every image; their CPU twins are in `augment_reference.ts`.
 *
 * Chain per view (as dino, on tensors): RandomResizedCrop → flip → ColorJitter (random order) →
 * grayscale → Gaussian blur → solarize (global 2 only) → normalize.
 *
 * @module
 */
import { grid, Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import { fromArray } from "../tensor/create.ts";
import { formatShape } from "../tensor/shape.ts";
import { Tensor } from "../tensor/tensor.ts";
import { Rng } from "./rng.ts";

/** Resampling of the resized crop (no antialias, align_corners=False, as `F.interpolate`). */
export type Interpolation = "bilinear" | "bicubic";

/** Colour jitter, as `transforms.RandomApply([ColorJitter(...)], p)`. */
export interface ColorJitterConfig {
  /** Probability that the jitter is applied to an image (dino: 0.8). */
  p: number;
  /** Brightness factor drawn from U[max(0, 1 − x), 1 + x]; 0 disables the op. */
  brightness: number;
  /** Contrast factor drawn from U[max(0, 1 − x), 1 + x]; 0 disables the op. */
  contrast: number;
  /** Saturation factor drawn from U[max(0, 1 − x), 1 + x]; 0 disables the op. */
  saturation: number;
  /** Hue shift drawn from U[−x, x], x ≤ 0.5; 0 disables the op. */
  hue: number;
}

/** Gaussian blur, as dino's `GaussianBlur(p)` with a tensor kernel. */
export interface BlurConfig {
  /** Probability per view kind (dino: 1.0 on global 1, 0.1 on global 2, 0.5 on locals). */
  p: { global1: number; global2: number; local: number };
  /** Sigma drawn from U[lo, hi] (dino: [0.1, 2.0]). */
  sigma: [number, number];
  /**
   * Odd kernel size, or `"auto"` for `2·ceil(3σ) + 1` per image (close to PIL's radius-σ blur
   * that dino uses). Kernels larger than the crop fold the reflection again.
   */
  kernelSize: number | "auto";
}

/** Every parameter of the DINO multi-crop augmentation. */
export interface MultiCropConfig {
  /** Area fraction range of the 2 global crops (dino: [0.4, 1]). */
  globalCropsScale: [number, number];
  /** Area fraction range of the local crops (dino: [0.05, 0.4]). */
  localCropsScale: [number, number];
  /** Aspect ratio range w/h of every crop, sampled log-uniformly (torchvision: [3/4, 4/3]). */
  ratio: [number, number];
  /** Number of local crops (dino: 8; 0 disables them). */
  localCropsNumber: number;
  /** Side of the global crops in pixels (dino: 224). */
  globalSize: number;
  /** Side of the local crops in pixels (dino: 96). */
  localSize: number;
  /** Horizontal flip probability (dino: 0.5). */
  flipP: number;
  /** Colour jitter. */
  jitter: ColorJitterConfig;
  /** Grayscale probability (dino: 0.2); the identity on 1-channel images. */
  grayscaleP: number;
  /** Gaussian blur. */
  blur: BlurConfig;
  /** Solarize probability on global crop 2 only (dino: 0.2). */
  solarizeP: number;
  /** Solarize threshold: x ≥ threshold → 1 − x (dino/PIL: 128/255 ≈ 0.5). */
  solarizeThreshold: number;
  /** Per-channel mean of the final normalisation; its length is the channel count (1 or 3). */
  mean: number[];
  /** Per-channel standard deviation of the final normalisation. */
  std: number[];
  /** Resampling of the crops (dino: bicubic). */
  interpolation: Interpolation;
}

/**
 * dino's ImageNet recipe: 2 × 224 px global crops, 8 × 96 px local crops, ImageNet statistics.
 *
 * @example
 * ```ts
 * import { dinoDefault } from "./augment.ts";
 * console.log(dinoDefault.localCropsNumber); // 8
 * ```
 */
export const dinoDefault: Readonly<MultiCropConfig> = Object.freeze({
  globalCropsScale: [0.4, 1],
  localCropsScale: [0.05, 0.4],
  ratio: [3 / 4, 4 / 3],
  localCropsNumber: 8,
  globalSize: 224,
  localSize: 96,
  flipP: 0.5,
  jitter: { p: 0.8, brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 },
  grayscaleP: 0.2,
  blur: { p: { global1: 1.0, global2: 0.1, local: 0.5 }, sigma: [0.1, 2.0], kernelSize: "auto" },
  solarizeP: 0.2,
  solarizeThreshold: 0.5,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  interpolation: "bicubic",
} as MultiCropConfig);

/**
 * The Fashion-MNIST recipe of the reference runs (`fmnist-tiny`): 28/14 px crops, 4 locals,
 * blur kernel 5 with sigma in [0.1, 1.0], one channel, bilinear.
 *
 * @example
 * ```ts
 * import { fmnistTiny } from "./augment.ts";
 * console.log(fmnistTiny.globalSize, fmnistTiny.localSize); // 28 14
 * ```
 */
export const fmnistTiny: Readonly<MultiCropConfig> = Object.freeze({
  globalCropsScale: [0.4, 1],
  localCropsScale: [0.1, 0.4],
  ratio: [3 / 4, 4 / 3],
  localCropsNumber: 4,
  globalSize: 28,
  localSize: 14,
  flipP: 0.5,
  jitter: { p: 0.8, brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 },
  grayscaleP: 0.2,
  blur: { p: { global1: 1.0, global2: 0.1, local: 0.5 }, sigma: [0.1, 1.0], kernelSize: 5 },
  solarizeP: 0.2,
  solarizeThreshold: 0.5,
  mean: [0.2860],
  std: [0.3530],
  interpolation: "bilinear",
} as MultiCropConfig);

/**
 * Ids of the jitter ops in {@link ImageAugmentParams.order} (torchvision's `fn_idx`).
 *
 * @example
 * ```ts
 * import { JITTER_OPS } from "./augment.ts";
 * console.log(JITTER_OPS[1]); // "contrast"
 * ```
 */
export const JITTER_OPS: readonly ["brightness", "contrast", "saturation", "hue"] = [
  "brightness",
  "contrast",
  "saturation",
  "hue",
];

/** The random parameters of one image in one view. */
export interface ImageAugmentParams {
  /** Crop box in input pixels: top, left, height, width. */
  box: [number, number, number, number];
  /** Flip horizontally (after the resize). */
  flip: boolean;
  /** Apply the colour jitter. */
  jitter: boolean;
  /** Order of the jitter ops as ids into {@link JITTER_OPS} (a permutation of 0..3). */
  order: number[];
  /** Brightness factor. */
  brightness: number;
  /** Contrast factor. */
  contrast: number;
  /** Saturation factor. */
  saturation: number;
  /** Hue shift in [−0.5, 0.5]. */
  hue: number;
  /** Convert to grayscale (3 channels kept). */
  grayscale: boolean;
  /** Apply the Gaussian blur. */
  blur: boolean;
  /** Blur sigma. */
  sigma: number;
  /** Odd blur kernel size. */
  kernelSize: number;
  /** Solarize. */
  solarize: boolean;
}

/** Kind of a view: its blur probability and whether it may be solarized depend on it. */
export type ViewKind = "global1" | "global2" | "local";

/** The parameters of one view of a batch. */
export interface ViewParams {
  /** Which view: global 1, global 2 or a local crop. */
  kind: ViewKind;
  /** Output side in pixels. */
  size: number;
  /** One entry per image of the batch. */
  images: ImageAugmentParams[];
}

/** Options of {@link augmentBatch}: what is shared by every image of a view. */
export interface AugmentBatchOptions {
  /** Output [height, width]; the input size when absent. */
  size?: [number, number];
  /** Resampling; bilinear by default. */
  interpolation?: Interpolation;
  /** Normalisation mean per channel; 0 by default. */
  mean?: readonly number[];
  /** Normalisation std per channel; 1 by default. */
  std?: readonly number[];
  /** Solarize threshold; 0.5 by default. */
  threshold?: number;
}

/**
 * `RandomResizedCrop.get_params` of torchvision: 10 attempts drawing the area fraction from
 * U(scale) and the aspect ratio log-uniformly from `ratio` (w, h rounded half to even as Python
 * does), a position uniformly; then the centre crop with the ratio clamped to the range.
 * Returns [top, left, height, width].
 *
 * @example
 * ```ts
 * import { randomResizedCropBox } from "./augment.ts";
 * import { Rng } from "./rng.ts";
 * const [top, left, h, w] = randomResizedCropBox(new Rng(0), 224, 224, [0.4, 1], [3 / 4, 4 / 3]);
 * console.log(h * w >= 0.39 * 224 * 224); // true
 * ```
 */
export function randomResizedCropBox(
  rng: Rng,
  height: number,
  width: number,
  scale: readonly [number, number],
  ratio: readonly [number, number],
): [number, number, number, number] {
  const area = height * width;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.range(scale[0], scale[1]);
    const aspect = Math.exp(rng.range(logLo, logHi));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return [top, left, h, w];
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < Math.min(...ratio)) {
    h = roundHalfEven(w / Math.min(...ratio));
  } else if (inRatio > Math.max(...ratio)) {
    w = roundHalfEven(h * Math.max(...ratio));
  }
  return [Math.floor((height - h) / 2), Math.floor((width - w) / 2), h, w];
}

/** Python's `round`: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The blur kernel size for `sigma` under `kernelSize` (a number or "auto"). */
function blurKernelSize(kernelSize: number | "auto", sigma: number): number {
  return kernelSize === "auto" ? 2 * Math.ceil(3 * sigma) + 1 : kernelSize;
}

/**
 * The normalised 1-D Gaussian of torchvision's `_get_gaussian_kernel1d`:
 * `x_j = −(k−1)/2 + j`, `w_j = exp(−x_j²/(2σ²)) / Σ`, computed in float64.
 *
 * @example
 * ```ts
 * import { gaussianKernel1d } from "./augment.ts";
 * console.log(gaussianKernel1d(3, 1).length); // 3
 * ```
 */
export function gaussianKernel1d(kernelSize: number, sigma: number): number[] {
  const half = (kernelSize - 1) / 2;
  const pdf = Array.from({ length: kernelSize }, (_, j) => {
    const x = (j - half) / sigma;
    return Math.exp(-0.5 * x * x);
  });
  const sum = pdf.reduce((a, b) => a + b, 0);
  return pdf.map((v) => v / sum);
}

function checkConfig(config: MultiCropConfig): void {
  const bad = (what: string, value: unknown, why: string) => {
    throw new RangeError(
      `Cannot build a MultiCropAugment with ${what} = ${JSON.stringify(value)}: ${why}`,
    );
  };
  for (
    const [name, s] of [["globalCropsScale", config.globalCropsScale], [
      "localCropsScale",
      config.localCropsScale,
    ]] as const
  ) {
    if (!(s[0] > 0 && s[0] <= s[1] && s[1] <= 1)) bad(name, s, "expected 0 < lo ≤ hi ≤ 1");
  }
  if (!(config.ratio[0] > 0 && config.ratio[0] <= config.ratio[1])) {
    bad("ratio", config.ratio, "expected 0 < lo ≤ hi");
  }
  if (!Number.isInteger(config.localCropsNumber) || config.localCropsNumber < 0) {
    bad("localCropsNumber", config.localCropsNumber, "expected an integer ≥ 0");
  }
  for (const name of ["globalSize", "localSize"] as const) {
    if (!Number.isInteger(config[name]) || config[name] < 1) {
      bad(name, config[name], "expected a positive integer");
    }
  }
  const { kernelSize } = config.blur;
  if (kernelSize !== "auto" && !(Number.isInteger(kernelSize) && kernelSize % 2 === 1)) {
    bad("blur.kernelSize", kernelSize, 'expected an odd positive integer or "auto"');
  }
  if (!(config.blur.sigma[0] > 0 && config.blur.sigma[0] <= config.blur.sigma[1])) {
    bad("blur.sigma", config.blur.sigma, "expected 0 < lo ≤ hi");
  }
  if (config.jitter.hue < 0 || config.jitter.hue > 0.5) {
    bad("jitter.hue", config.jitter.hue, "expected 0 ≤ hue ≤ 0.5");
  }
  if (config.mean.length !== config.std.length || config.mean.length < 1) {
    bad("mean/std", [config.mean, config.std], "expected one value per channel in each");
  }
}

/**
 * dino's `DataAugmentationDINO` on GPU batches: `apply(images)` returns the 2 global views and
 * the local views, each `[B, C, S, S]`, normalised. Parameters are drawn from a seeded generator
 * per image and per view, so the same seed gives the same views; the generator state can be saved
 * with checkpoints (`rngState`).
 *
 * @example
 * ```ts ignore
 * import { fmnistTiny, MultiCropAugment } from "./augment.ts";
 * const augment = new MultiCropAugment(fmnistTiny, 0);
 * const [global1, global2, ...locals] = augment.apply(images); // images [B, 1, 28, 28] in [0, 1]
 * ```
 */
export class MultiCropAugment {
  /** The configuration (a copy). */
  readonly config: Readonly<MultiCropConfig>;
  #rng: Rng;

  /** An augmentation with `config`, its random parameters seeded by `seed`. */
  constructor(config: MultiCropConfig, seed = 0) {
    checkConfig(config);
    this.config = structuredClone(config);
    this.#rng = new Rng(seed);
  }

  /** Number of views per image: 2 global + the local crops. */
  get numViews(): number {
    return 2 + this.config.localCropsNumber;
  }

  /** The generator state, for checkpoints. */
  get rngState(): number[] {
    return this.#rng.state;
  }

  /** Restores a state from {@link MultiCropAugment.rngState}. */
  set rngState(state: number[]) {
    this.#rng.state = state;
  }

  /**
   * Draws the parameters of every view for a batch of `batchSize` images of `height × width`
   * (advancing the generator). Order: view by view (global 1, global 2, locals), image by image;
   * each image draws crop, flip, jitter (p, order, 4 factors), grayscale, blur (p, sigma) and
   * solarize, every variable even when its op is off, so changing one probability does not
   * shift the other draws.
   *
   * @example
   * ```ts
   * import { fmnistTiny, MultiCropAugment } from "./augment.ts";
   * const views = new MultiCropAugment(fmnistTiny, 0).drawParams(4, 28, 28);
   * console.log(views.length, views[2].kind, views[0].images[0].box.length); // 6 "local" 4
   * ```
   */
  drawParams(batchSize: number, height: number, width: number): ViewParams[] {
    const c = this.config;
    const kinds: ViewKind[] = ["global1", "global2"];
    for (let i = 0; i < c.localCropsNumber; i++) kinds.push("local");
    const rng = this.#rng;
    const range = (x: number): [number, number] => [Math.max(0, 1 - x), 1 + x];
    return kinds.map((kind) => {
      const local = kind === "local";
      const scale = local ? c.localCropsScale : c.globalCropsScale;
      const blurP = c.blur.p[kind];
      const solarizeP = kind === "global2" ? c.solarizeP : 0;
      const images: ImageAugmentParams[] = [];
      for (let b = 0; b < batchSize; b++) {
        const box = randomResizedCropBox(rng, height, width, scale, c.ratio);
        const flip = rng.bernoulli(c.flipP);
        const jitter = rng.bernoulli(c.jitter.p);
        const order = rng.permutation(4);
        const brightness = rng.range(...range(c.jitter.brightness));
        const contrast = rng.range(...range(c.jitter.contrast));
        const saturation = rng.range(...range(c.jitter.saturation));
        const hue = rng.range(-c.jitter.hue, c.jitter.hue);
        const grayscale = rng.bernoulli(c.grayscaleP);
        const blur = rng.bernoulli(blurP);
        const sigma = rng.range(c.blur.sigma[0], c.blur.sigma[1]);
        const solarize = rng.bernoulli(solarizeP);
        images.push({
          box,
          flip,
          jitter,
          order,
          brightness,
          contrast,
          saturation,
          hue,
          grayscale,
          blur,
          sigma,
          kernelSize: blurKernelSize(c.blur.kernelSize, sigma),
          solarize,
        });
      }
      return { kind, size: local ? c.localSize : c.globalSize, images };
    });
  }

  /**
   * The views of a batch `images` `[B, C, H, W]` (f32 in [0, 1], C = mean.length): global 1,
   * global 2, then the locals, each `[B, C, S, S]`. Draws fresh parameters.
   *
   * @throws {RangeError} when `images` is not 4-D or its channels differ from the config's.
   */
  apply(images: Tensor): Tensor<"f32">[] {
    checkImages(images, "apply MultiCropAugment to");
    const [batch, , height, width] = images.shape;
    return this.applyParams(images, this.drawParams(batch, height, width));
  }

  /** The views of `images` under explicit `views` (from {@link MultiCropAugment.drawParams}). */
  applyParams(images: Tensor, views: ViewParams[]): Tensor<"f32">[] {
    const c = this.config;
    if (images.shape[1] !== c.mean.length) {
      throw new RangeError(
        `Cannot apply MultiCropAugment to images of shape ${formatShape(images.shape)}: ` +
          `the config normalises ${c.mean.length} channel(s); set mean/std per channel`,
      );
    }
    return encodeViews(
      images,
      views.map((v) => ({ images: v.images, outH: v.size, outW: v.size })),
      {
        interpolation: c.interpolation,
        mean: c.mean,
        std: c.std,
        threshold: c.solarizeThreshold,
      },
    );
  }
}

function checkImages(images: Tensor, what: string): void {
  const [, channels] = images.shape;
  if (images.rank !== 4 || (channels !== 1 && channels !== 3) || images.dtype !== "f32") {
    throw new RangeError(
      `Cannot ${what} images of shape ${formatShape(images.shape)} (${images.dtype}): ` +
        `expected f32 [B, C, H, W] with C = 1 or 3`,
    );
  }
}

/**
 * Applies explicit per-image parameters to a batch `[B, C, H, W]` (one entry of `params` per
 * image): the fused chain of one view. `MultiCropAugment.apply` calls this once per view.
 *
 * @example
 * ```ts ignore
 * import { augmentBatch } from "./augment.ts";
 * const view = augmentBatch(images, params, { size: [96, 96], mean: [0.5], std: [0.5] });
 * ```
 */
export function augmentBatch(
  images: Tensor,
  params: ImageAugmentParams[],
  options: AugmentBatchOptions = {},
): Tensor<"f32"> {
  checkImages(images, "augment");
  const [, channels, height, width] = images.shape;
  const [outH, outW] = options.size ?? [height, width];
  return encodeViews(images, [{ images: params, outH, outW }], {
    interpolation: options.interpolation ?? "bilinear",
    mean: options.mean ?? new Array(channels).fill(0),
    std: options.std ?? new Array(channels).fill(1),
    threshold: options.threshold ?? 0.5,
  })[0];
}

interface ViewPlan {
  images: ImageAugmentParams[];
  outH: number;
  outW: number;
}

interface SharedOptions {
  interpolation: Interpolation;
  mean: readonly number[];
  std: readonly number[];
  threshold: number;
}

const RECORD_WORDS = 16;
const TILE = 16;

/** Packs the records of every view (and their blur weights) into one u32 array. */
function packRecords(
  views: ViewPlan[],
  channels: number,
): { words: Uint32Array; bases: number[] } {
  const bases: number[] = [];
  let total = 0;
  for (const v of views) {
    bases.push(total);
    total += v.images.length * RECORD_WORDS;
  }
  const weightStart = total;
  total += 1; // a shared [1.0] kernel for images without blur
  for (const v of views) {
    for (const p of v.images) if (p.blur && p.kernelSize > 1) total += p.kernelSize;
  }
  const words = new Uint32Array(total);
  const floats = new Float32Array(words.buffer);
  floats[weightStart] = 1;
  let nextWeight = weightStart + 1;
  views.forEach((v, vi) => {
    v.images.forEach((p, b) => {
      const r = bases[vi] + b * RECORD_WORDS;
      words.set(p.box, r);
      words[r + 4] = p.flip ? 1 : 0;
      const ops = p.jitter ? p.order.filter((op) => p[JITTER_OPS[op]] !== neutral(op)) : [];
      words[r + 5] = ops.length;
      words[r + 6] = ops.reduce((acc, op, k) => acc | (op << (4 * k)), 0);
      words[r + 7] = p.grayscale && channels === 3 ? 1 : 0;
      floats.set([p.brightness, p.contrast, p.saturation, p.hue], r + 8);
      if (p.blur && p.kernelSize > 1) {
        words[r + 12] = p.kernelSize;
        words[r + 13] = nextWeight;
        floats.set(gaussianKernel1d(p.kernelSize, p.sigma), nextWeight);
        nextWeight += p.kernelSize;
      } else {
        words[r + 12] = 1;
        words[r + 13] = weightStart;
      }
      words[r + 14] = p.solarize ? 1 : 0;
    });
  });
  return { words, bases };
}

/** The factor of a jitter op that leaves the image as it is (such ops are skipped). */
function neutral(op: number): number {
  return op === 3 ? 0 : 1;
}

function encodeViews(images: Tensor, views: ViewPlan[], shared: SharedOptions): Tensor<"f32">[] {
  const [batch, channels, height, width] = images.shape;
  if (shared.mean.length !== channels || shared.std.length !== channels) {
    throw new RangeError(
      `Cannot normalize images of shape ${formatShape(images.shape)} with mean ` +
        `${JSON.stringify(shared.mean)} and std ${JSON.stringify(shared.std)}: ` +
        `expected ${channels} value(s) each`,
    );
  }
  for (const v of views) {
    if (v.images.length !== batch) {
      throw new RangeError(
        `Cannot augment images of shape ${formatShape(images.shape)} with ` +
          `${v.images.length} parameter records: expected one per image (${batch})`,
      );
    }
    if (!(Number.isInteger(v.outH) && Number.isInteger(v.outW) && v.outH > 0 && v.outW > 0)) {
      throw new RangeError(`Cannot resize crops to ${v.outH}×${v.outW}: expected positive sizes`);
    }
    for (const p of v.images) {
      const [top, left, h, w] = p.box;
      if (!(h > 0 && w > 0 && top >= 0 && left >= 0 && top + h <= height && left + w <= width)) {
        throw new RangeError(
          `Cannot crop box [${p.box}] (top, left, h, w) from images of shape ` +
            `${formatShape(images.shape)}: it must lie inside the image`,
        );
      }
      if (p.blur && !(p.kernelSize % 2 === 1 && p.kernelSize > 0 && p.sigma > 0)) {
        throw new RangeError(
          `Cannot blur with kernel size ${p.kernelSize} and sigma ${p.sigma}: ` +
            `expected an odd size and sigma > 0`,
        );
      }
    }
  }
  const gpu = images.gpu;
  if (batch > gpu.limits.maxComputeWorkgroupsPerDimension) {
    throw new RangeError(
      `Cannot augment images of shape ${formatShape(images.shape)}: the batch passes the ` +
        `${gpu.limits.maxComputeWorkgroupsPerDimension} workgroups per dimension of this GPU; ` +
        `split it`,
    );
  }
  const { words, bases } = packRecords(views, channels);
  const rec = fromArray(words, [words.length], { dtype: "u32", gpu });
  const constants = {
    CHANNELS: channels,
    INTERP: shared.interpolation === "bicubic" ? 1 : 0,
  };
  const outputs = views.map((v, vi) => {
    const out = Tensor.empty(gpu, [batch, channels, v.outH, v.outW], "f32");
    const temps: Tensor[] = [];
    const temp = () => {
      const t = Tensor.empty(gpu, out.shape, "f32");
      temps.push(t);
      return t;
    };
    const params = (inH: number, inW: number) =>
      new Params()
        .u32(batch, inH, inW, v.outH, v.outW, bases[vi])
        .f32(shared.threshold)
        .u32(0)
        .f32(...padTo4(shared.mean, 0))
        .f32(...padTo4(shared.std, 1))
        .bytes();
    const run = (
      entry: string,
      src: Tensor,
      dst: Tensor,
      workgroups: readonly [number, number, number?],
    ) =>
      gpu.stream.dispatch({
        kernel: gpu.kernels.get(SHADERS.data.augment, entry, constants),
        bindings: [src.binding, rec.binding, dst.binding],
        params: entry === "resized_crop" ? params(height, width) : params(v.outH, v.outW),
        workgroups,
      });
    // Per-pixel kernels: 16×16 tiles over (x, y), one grid layer per image.
    const pixels: [number, number, number] = [
      Math.ceil(v.outW / TILE),
      Math.ceil(v.outH / TILE),
      batch,
    ];
    let current: Tensor = images;
    const identityCrop = v.outH === height && v.outW === width &&
      v.images.every((p) =>
        !p.flip && p.box[0] === 0 && p.box[1] === 0 && p.box[2] === height && p.box[3] === width
      );
    if (!identityCrop) {
      const next = temp();
      run("resized_crop", current, next, pixels);
      current = next;
    }
    const needsColor = v.images.some((p) =>
      (p.jitter && p.order.some((op) => p[JITTER_OPS[op]] !== neutral(op))) ||
      (p.grayscale && channels === 3)
    );
    if (needsColor) {
      const next = temp();
      run("color", current, next, grid(batch, 1, gpu.limits.maxComputeWorkgroupsPerDimension));
      current = next;
    }
    if (v.images.some((p) => p.blur && p.kernelSize > 1)) {
      const next = temp();
      run("blur_rows", current, next, pixels);
      current = next;
    }
    run("blur_cols", current, out, pixels);
    for (const t of temps) t.dispose();
    return out;
  });
  rec.dispose();
  return outputs;
}

function padTo4(values: readonly number[], fill: number): number[] {
  return [0, 1, 2, 3].map((i) => values[i] ?? fill);
}

// ---- the deterministic ops (same parameters for every image) -----------------------------------

/** Parameters that change nothing: the base of every single op below. */
function identityParams(height: number, width: number): ImageAugmentParams {
  return {
    box: [0, 0, height, width],
    flip: false,
    jitter: false,
    order: [0, 1, 2, 3],
    brightness: 1,
    contrast: 1,
    saturation: 1,
    hue: 0,
    grayscale: false,
    blur: false,
    sigma: 1,
    kernelSize: 1,
    solarize: false,
  };
}

/** Runs one op on `[C, H, W]` or `[B, C, H, W]` with the same parameters for every image. */
function singleOp(
  name: string,
  x: Tensor,
  change: Partial<ImageAugmentParams>,
  options: AugmentBatchOptions = {},
): Tensor<"f32"> {
  const batched = x.rank === 4;
  if (!(x.rank === 3 || batched)) {
    throw new RangeError(
      `Cannot ${name} a tensor of shape ${formatShape(x.shape)}: expected [C, H, W] or ` +
        `[B, C, H, W]`,
    );
  }
  const images = batched ? x : x.view([1, ...x.shape]);
  try {
    checkImages(images, name);
    const [batch, , height, width] = images.shape;
    const p = { ...identityParams(height, width), ...change };
    const out = augmentBatch(images, Array.from({ length: batch }, () => p), options);
    if (batched) return out;
    const view = out.view(out.shape.slice(1));
    out.dispose();
    return view;
  } finally {
    if (!batched) images.dispose();
  }
}

/**
 * Horizontal flip: `out[c, y, x] = img[c, y, W−1−x]`, like `TF.hflip`.
 *
 * @example
 * ```ts ignore
 * import { hflip } from "./augment.ts";
 * const y = hflip(img); // [C, H, W] or [B, C, H, W]
 * ```
 */
export function hflip(img: Tensor): Tensor<"f32"> {
  return singleOp("hflip", img, { flip: true });
}

/**
 * Crops `box` = [top, left, height, width] and resizes it to `size` = [outH, outW] (bilinear or
 * bicubic, align_corners=False, no antialias), like `TF.resized_crop(..., antialias=False)`.
 *
 * @example
 * ```ts ignore
 * import { resizedCrop } from "./augment.ts";
 * const y = resizedCrop(img, [2, 3, 12, 16], [32, 32]);
 * ```
 */
export function resizedCrop(
  img: Tensor,
  box: [number, number, number, number],
  size: [number, number],
  interpolation: Interpolation = "bilinear",
): Tensor<"f32"> {
  return singleOp("resizedCrop", img, { box: [...box] }, { size, interpolation });
}

function jitterOp(name: (typeof JITTER_OPS)[number], img: Tensor, factor: number): Tensor<"f32"> {
  const change: Partial<ImageAugmentParams> = { jitter: true, order: [JITTER_OPS.indexOf(name)] };
  change[name] = factor;
  return singleOp(name, img, change);
}

/**
 * `clamp(f·img, 0, 1)`, like `TF.adjust_brightness`.
 *
 * @example
 * ```ts ignore
 * import { brightness } from "./augment.ts";
 * const y = brightness(img, 1.4);
 * ```
 */
export function brightness(img: Tensor, factor: number): Tensor<"f32"> {
  return jitterOp("brightness", img, factor);
}

/**
 * `clamp(f·img + (1−f)·mean(gray(img)), 0, 1)` with one mean per image, like
 * `TF.adjust_contrast` (gray = 0.299 R + 0.587 G + 0.114 B; the image itself on 1 channel).
 *
 * @example
 * ```ts ignore
 * import { contrast } from "./augment.ts";
 * const y = contrast(img, 0.6);
 * ```
 */
export function contrast(img: Tensor, factor: number): Tensor<"f32"> {
  return jitterOp("contrast", img, factor);
}

/**
 * `clamp(f·img + (1−f)·gray(img), 0, 1)` per pixel, like `TF.adjust_saturation` (identity on one
 * channel).
 *
 * @example
 * ```ts ignore
 * import { saturation } from "./augment.ts";
 * const y = saturation(img, 1.2);
 * ```
 */
export function saturation(img: Tensor, factor: number): Tensor<"f32"> {
  return jitterOp("saturation", img, factor);
}

/**
 * Hue shift by `factor` ∈ [−0.5, 0.5] through torchvision's tensor HSV conversion, like
 * `TF.adjust_hue` (identity on one channel).
 *
 * @example
 * ```ts ignore
 * import { hue } from "./augment.ts";
 * const y = hue(img, 0.1);
 * ```
 */
export function hue(img: Tensor, factor: number): Tensor<"f32"> {
  return jitterOp("hue", img, factor);
}

/**
 * `gray(img)` replicated over the 3 channels, like `TF.rgb_to_grayscale(img, 3)` with weights
 * 0.299/0.587/0.114 (identity on one channel).
 *
 * @example
 * ```ts ignore
 * import { grayscale } from "./augment.ts";
 * const y = grayscale(img);
 * ```
 */
export function grayscale(img: Tensor): Tensor<"f32"> {
  return singleOp("grayscale", img, { grayscale: true });
}

/**
 * Separable Gaussian blur with reflect padding (no edge repeat) and no clamp, like
 * `TF.gaussian_blur(img, [k, k], [sigma, sigma])`.
 *
 * @example
 * ```ts ignore
 * import { gaussianBlur } from "./augment.ts";
 * const y = gaussianBlur(img, 5, 0.8);
 * ```
 */
export function gaussianBlur(img: Tensor, kernelSize: number, sigma: number): Tensor<"f32"> {
  return singleOp("gaussianBlur", img, { blur: true, kernelSize, sigma });
}

/**
 * `x ≥ threshold ? 1 − x : x` (default threshold 0.5), like `TF.solarize` on [0, 1] floats.
 *
 * @example
 * ```ts ignore
 * import { solarize } from "./augment.ts";
 * const y = solarize(img);
 * ```
 */
export function solarize(img: Tensor, threshold = 0.5): Tensor<"f32"> {
  return singleOp("solarize", img, { solarize: true }, { threshold });
}

/**
 * `(x − mean_c) / std_c` per channel, like `TF.normalize`.
 *
 * @example
 * ```ts ignore
 * import { normalize } from "./augment.ts";
 * const y = normalize(img, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
 * ```
 */
export function normalize(
  img: Tensor,
  mean: readonly number[],
  std: readonly number[],
): Tensor<"f32"> {
  return singleOp("normalize", img, {}, { mean, std });
}
