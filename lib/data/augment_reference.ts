/**
 * CPU references of the augmentation ops of `augment.ts`, in float64, one image `[C, H, W]` at a
 * time: the formulas of tests/fixtures/README.md §13 written out plainly, for tests.
 *
 * @module
 */
import {
  gaussianKernel1d,
  type ImageAugmentParams,
  type Interpolation,
  JITTER_OPS,
} from "./augment.ts";

/**
 * One image on the CPU: `data[(c·height + y)·width + x]`.
 *
 * @example
 * ```ts
 * import type { HostImage } from "./augment_reference.ts";
 * const img: HostImage = { channels: 1, height: 1, width: 2, data: new Float64Array([0, 1]) };
 * ```
 */
export interface HostImage {
  /** 1 or 3. */
  channels: number;
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
  /** Row-major channel planes. */
  data: Float64Array;
}

function blank(channels: number, height: number, width: number): HostImage {
  return { channels, height, width, data: new Float64Array(channels * height * width) };
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** Per-pixel gray (the image itself on one channel). */
function grayPlane(img: HostImage): Float64Array {
  const n = img.height * img.width;
  if (img.channels === 1) return img.data.slice(0, n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = 0.299 * img.data[i] + 0.587 * img.data[n + i] + 0.114 * img.data[2 * n + i];
  }
  return out;
}

function mapPixels(img: HostImage, f: (v: number, i: number) => number): HostImage {
  const n = img.height * img.width;
  return { ...img, data: img.data.map((v, j) => f(v, j % n)) };
}

/**
 * Horizontal flip.
 *
 * @example
 * ```ts
 * import { hflipRef } from "./augment_reference.ts";
 * const y = hflipRef({ channels: 1, height: 1, width: 2, data: new Float64Array([0, 1]) });
 * console.log([...y.data]); // [1, 0]
 * ```
 */
export function hflipRef(img: HostImage): HostImage {
  const out = blank(img.channels, img.height, img.width);
  for (let r = 0; r < img.channels * img.height; r++) {
    for (let x = 0; x < img.width; x++) {
      out.data[r * img.width + x] = img.data[r * img.width + img.width - 1 - x];
    }
  }
  return out;
}

/** Taps and weights of one output index along one axis. */
function axisTaps(o: number, len: number, out: number, mode: Interpolation): [number[], number[]] {
  if (mode === "bilinear") {
    const s = Math.max((o + 0.5) * (len / out) - 0.5, 0);
    const i0 = Math.min(Math.floor(s), len - 1);
    const i1 = Math.min(i0 + 1, len - 1);
    const l = s - i0;
    return [[i0, i1], [1 - l, l]];
  }
  const a = -0.75;
  const c1 = (x: number) => ((a + 2) * x - (a + 3)) * x * x + 1;
  const c2 = (x: number) => ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  const s = (o + 0.5) * (len / out) - 0.5;
  const f = Math.floor(s);
  const t = s - f;
  const idx = [-1, 0, 1, 2].map((k) => Math.min(Math.max(f + k, 0), len - 1));
  return [idx, [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)]];
}

/**
 * Crops `box` = [top, left, h, w] and resizes to `outH × outW`, rows then columns.
 *
 * @example
 * ```ts
 * import { resizedCropRef } from "./augment_reference.ts";
 * const img = { channels: 1, height: 2, width: 2, data: new Float64Array([0, 1, 2, 3]) };
 * console.log(resizedCropRef(img, [0, 0, 2, 2], 1, 1, "bilinear").data[0]); // 1.5
 * ```
 */
export function resizedCropRef(
  img: HostImage,
  box: readonly number[],
  outH: number,
  outW: number,
  mode: Interpolation,
): HostImage {
  const [top, left, h, w] = box;
  const out = blank(img.channels, outH, outW);
  const rows = Array.from({ length: outH }, (_, y) => axisTaps(y, h, outH, mode));
  const cols = Array.from({ length: outW }, (_, x) => axisTaps(x, w, outW, mode));
  for (let c = 0; c < img.channels; c++) {
    const plane = c * img.height * img.width;
    for (let y = 0; y < outH; y++) {
      // Rows first: one resized row of the crop, then the columns.
      const [ri, rw] = rows[y];
      const row = new Float64Array(w);
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < ri.length; k++) {
          row[x] += rw[k] * img.data[plane + (top + ri[k]) * img.width + left + x];
        }
      }
      for (let x = 0; x < outW; x++) {
        const [ci, cw] = cols[x];
        let v = 0;
        for (let k = 0; k < ci.length; k++) v += cw[k] * row[ci[k]];
        out.data[(c * outH + y) * outW + x] = v;
      }
    }
  }
  return out;
}

/**
 * `clamp(f·x, 0, 1)`.
 *
 * @example
 * ```ts
 * import { brightnessRef } from "./augment_reference.ts";
 * const img = { channels: 1, height: 1, width: 2, data: new Float64Array([0.25, 0.75]) };
 * console.log([...brightnessRef(img, 2).data]); // [0.5, 1]
 * ```
 */
export function brightnessRef(img: HostImage, f: number): HostImage {
  return mapPixels(img, (v) => clamp01(f * v));
}

/**
 * `clamp(f·x + (1−f)·mean(gray), 0, 1)`.
 *
 * @example
 * ```ts
 * import { contrastRef } from "./augment_reference.ts";
 * const img = { channels: 1, height: 1, width: 2, data: new Float64Array([0.25, 0.75]) };
 * console.log([...contrastRef(img, 0).data]); // [0.5, 0.5]
 * ```
 */
export function contrastRef(img: HostImage, f: number): HostImage {
  const gray = grayPlane(img);
  const mean = gray.reduce((a, b) => a + b, 0) / gray.length;
  return mapPixels(img, (v) => clamp01(f * v + (1 - f) * mean));
}

/**
 * `clamp(f·x + (1−f)·gray, 0, 1)`; identity on one channel.
 *
 * @example
 * ```ts
 * import { saturationRef } from "./augment_reference.ts";
 * const img = { channels: 1, height: 1, width: 2, data: new Float64Array([0.25, 0.75]) };
 * console.log([...saturationRef(img, 0).data]); // [0.25, 0.75]
 * ```
 */
export function saturationRef(img: HostImage, f: number): HostImage {
  if (img.channels === 1) return img;
  const gray = grayPlane(img);
  return mapPixels(img, (v, i) => clamp01(f * v + (1 - f) * gray[i]));
}

/**
 * Hue shift through torchvision's tensor HSV; identity on one channel.
 *
 * @example
 * ```ts
 * import { hueRef } from "./augment_reference.ts";
 * const img = { channels: 1, height: 1, width: 2, data: new Float64Array([0.25, 0.75]) };
 * console.log([...hueRef(img, 0.3).data]); // [0.25, 0.75]
 * ```
 */
export function hueRef(img: HostImage, h: number): HostImage {
  if (img.channels === 1) return img;
  const n = img.height * img.width;
  const out = blank(3, img.height, img.width);
  for (let i = 0; i < n; i++) {
    const r = img.data[i], g = img.data[n + i], b = img.data[2 * n + i];
    const maxc = Math.max(r, g, b);
    const cr = maxc - Math.min(r, g, b);
    let hh = 0, s = 0;
    if (cr !== 0) {
      s = cr / maxc;
      const rc = (maxc - r) / cr, gc = (maxc - g) / cr, bc = (maxc - b) / cr;
      const raw = maxc === r ? bc - gc : maxc === g ? 2 + rc - bc : 4 + gc - rc;
      hh = (raw / 6 + 1) % 1;
    }
    hh = hh + h - Math.floor(hh + h);
    const fi = Math.floor(hh * 6);
    const f = hh * 6 - fi;
    const v = maxc;
    const p = clamp01(v * (1 - s)),
      q = clamp01(v * (1 - s * f)),
      t = clamp01(v * (1 - s * (1 - f)));
    const rgb = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][fi % 6];
    out.data[i] = rgb[0];
    out.data[n + i] = rgb[1];
    out.data[2 * n + i] = rgb[2];
  }
  return out;
}

/**
 * Gray replicated to the channels.
 *
 * @example
 * ```ts
 * import { grayscaleRef } from "./augment_reference.ts";
 * const img = { channels: 1, height: 1, width: 2, data: new Float64Array([0.25, 0.75]) };
 * console.log([...grayscaleRef(img).data]); // [0.25, 0.75]
 * ```
 */
export function grayscaleRef(img: HostImage): HostImage {
  if (img.channels === 1) return img;
  const gray = grayPlane(img);
  return mapPixels(img, (_, i) => gray[i]);
}

/** Mirror index without repeating the edge, folded again for pads ≥ n. */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let m = Math.abs(i) % period;
  if (m >= n) m = period - m;
  return m;
}

/**
 * Separable Gaussian blur (horizontal, vertical) with reflect padding.
 *
 * @example
 * ```ts
 * import { gaussianBlurRef } from "./augment_reference.ts";
 * const img = { channels: 1, height: 1, width: 2, data: new Float64Array([0.25, 0.75]) };
 * console.log([...gaussianBlurRef(img, 1, 1).data]); // [0.25, 0.75]
 * ```
 */
export function gaussianBlurRef(img: HostImage, kernelSize: number, sigma: number): HostImage {
  const w = gaussianKernel1d(kernelSize, sigma);
  const r = (kernelSize - 1) / 2;
  const { height: H, width: W } = img;
  const tmp = blank(img.channels, H, W);
  const out = blank(img.channels, H, W);
  for (let c = 0; c < img.channels; c++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let acc = 0;
        for (let j = 0; j < kernelSize; j++) {
          acc += w[j] * img.data[(c * H + y) * W + reflect(x + j - r, W)];
        }
        tmp.data[(c * H + y) * W + x] = acc;
      }
    }
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let acc = 0;
        for (let j = 0; j < kernelSize; j++) {
          acc += w[j] * tmp.data[(c * H + reflect(y + j - r, H)) * W + x];
        }
        out.data[(c * H + y) * W + x] = acc;
      }
    }
  }
  return out;
}

/**
 * `x ≥ threshold ? 1 − x : x`.
 *
 * @example
 * ```ts
 * import { solarizeRef } from "./augment_reference.ts";
 * const img = { channels: 1, height: 1, width: 2, data: new Float64Array([0.25, 0.75]) };
 * console.log([...solarizeRef(img).data]); // [0.25, 0.25]
 * ```
 */
export function solarizeRef(img: HostImage, threshold = 0.5): HostImage {
  return mapPixels(img, (v) => (v >= threshold ? 1 - v : v));
}

/**
 * `(x − mean_c) / std_c`.
 *
 * @example
 * ```ts
 * import { normalizeRef } from "./augment_reference.ts";
 * const img = { channels: 1, height: 1, width: 2, data: new Float64Array([0.25, 0.75]) };
 * console.log([...normalizeRef(img, [0.5], [0.25]).data]); // [-1, 1]
 * ```
 */
export function normalizeRef(
  img: HostImage,
  mean: readonly number[],
  std: readonly number[],
): HostImage {
  const n = img.height * img.width;
  return {
    ...img,
    data: img.data.map((v, j) => (v - mean[Math.floor(j / n)]) / std[Math.floor(j / n)]),
  };
}

/**
 * The whole chain of one image under `p`, as `augmentBatch` runs it: crop → flip → jitter ops
 * in `p.order` → grayscale → blur → solarize → normalize.
 *
 * @example
 * ```ts ignore
 * import { augmentImageRef } from "./augment_reference.ts";
 * const view = augmentImageRef(img, params, [16, 16], { mean: [0.5], std: [0.5] });
 * ```
 */
export function augmentImageRef(
  img: HostImage,
  p: ImageAugmentParams,
  size: [number, number],
  options: {
    interpolation?: Interpolation;
    mean: readonly number[];
    std: readonly number[];
    threshold?: number;
  },
): HostImage {
  let x = resizedCropRef(img, p.box, size[0], size[1], options.interpolation ?? "bilinear");
  if (p.flip) x = hflipRef(x);
  if (p.jitter) {
    for (const op of p.order) {
      const name = JITTER_OPS[op];
      const f = p[name];
      if (f === (op === 3 ? 0 : 1)) continue; // neutral factors are skipped, as in augment.ts
      x = [brightnessRef, contrastRef, saturationRef, hueRef][op](x, f);
    }
  }
  if (p.grayscale) x = grayscaleRef(x);
  if (p.blur && p.kernelSize > 1) x = gaussianBlurRef(x, p.kernelSize, p.sigma);
  if (p.solarize) x = solarizeRef(x, options.threshold ?? 0.5);
  return normalizeRef(x, options.mean, options.std);
}
