/**
 * Pictures for the evaluations: RGBA buffers from images and heat maps (viridis, matplotlib's
 * default colormap, which dino's `visualize_attention.py` saves with), nearest-neighbour
 * upscaling, and PNG encoding/decoding through imagescript (pure JS/WASM, no native deps).
 *
 * @module
 */
import { Image } from "imagescript";

/** An RGBA picture, 4 bytes per pixel, row-major. */
export interface RgbaImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** width·height·4 bytes. */
  rgba: Uint8ClampedArray;
}

/** Viridis at 0, 1/8, …, 1 (matplotlib's `viridis` key colours); linear in between. */
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 73, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [110, 206, 88],
  [253, 231, 37],
];

/**
 * The viridis colour of `t` in [0, 1] (clamped), as [r, g, b] bytes.
 *
 * @example
 * ```ts
 * import { viridis } from "./png.ts";
 * console.log(viridis(0), viridis(1)); // [68, 1, 84] [253, 231, 37]
 * ```
 */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i], b = VIRIDIS[i + 1];
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}

/**
 * A heat map of `values` [height·width], min–max scaled to [0, 1] then coloured with viridis
 * (a constant map is drawn at 0).
 *
 * @example
 * ```ts
 * import { heatmap } from "./png.ts";
 * const { rgba } = heatmap(new Float32Array([0, 1, 2, 3]), 2, 2);
 * console.log(rgba.length); // 16
 * ```
 */
export function heatmap(values: ArrayLike<number>, height: number, width: number): RgbaImage {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < height * width; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  const span = hi > lo ? hi - lo : 1;
  const rgba = new Uint8ClampedArray(height * width * 4);
  for (let i = 0; i < height * width; i++) {
    const [r, g, b] = viridis((values[i] - lo) / span);
    rgba.set([r, g, b, 255], 4 * i);
  }
  return { width, height, rgba };
}

/**
 * An image in C×H×W floats in [0, 1] (1 or 3 channels) as RGBA bytes.
 *
 * @throws {RangeError} for another channel count or a wrong length.
 * @example
 * ```ts
 * import { imageToRgba } from "./png.ts";
 * const { rgba } = imageToRgba(new Float32Array([0, 1]), 1, 1, 2);
 * console.log(Array.from(rgba)); // [0, 0, 0, 255, 255, 255, 255, 255]
 * ```
 */
export function imageToRgba(
  image: Float32Array,
  channels: number,
  height: number,
  width: number,
): RgbaImage {
  const hw = height * width;
  if ((channels !== 1 && channels !== 3) || image.length !== channels * hw) {
    throw new RangeError(
      `Cannot draw a ${channels}×${height}×${width} image from ${image.length} values: ` +
        `use 1 or 3 channels in C×H×W order`,
    );
  }
  const rgba = new Uint8ClampedArray(hw * 4);
  for (let p = 0; p < hw; p++) {
    for (let c = 0; c < 3; c++) {
      rgba[4 * p + c] = Math.round(255 * image[(channels === 3 ? c : 0) * hw + p]);
    }
    rgba[4 * p + 3] = 255;
  }
  return { width, height, rgba };
}

/**
 * `picture` resized to `height`×`width` by nearest neighbour (source pixel
 * `floor(y · h / height)`), e.g. a patch-grid map to the image size.
 *
 * @example
 * ```ts
 * import { resizeNearest } from "./png.ts";
 * const big = resizeNearest({ width: 1, height: 1, rgba: new Uint8ClampedArray([1, 2, 3, 255]) }, 4, 4);
 * console.log(big.rgba.length); // 64
 * ```
 */
export function resizeNearest(picture: RgbaImage, height: number, width: number): RgbaImage {
  const rgba = new Uint8ClampedArray(height * width * 4);
  const src = new Uint32Array(
    picture.rgba.buffer,
    picture.rgba.byteOffset,
    picture.rgba.length / 4,
  );
  const dst = new Uint32Array(rgba.buffer);
  for (let y = 0; y < height; y++) {
    const sy = Math.floor((y * picture.height) / height);
    for (let x = 0; x < width; x++) {
      dst[y * width + x] = src[sy * picture.width + Math.floor((x * picture.width) / width)];
    }
  }
  return { width, height, rgba };
}

/**
 * PNG bytes of an RGBA picture.
 *
 * @example
 * ```ts
 * import { encodePng, heatmap } from "./png.ts";
 * const png = await encodePng(heatmap(new Float32Array([0, 1]), 1, 2));
 * console.log(png[1], png[2], png[3]); // 80 78 71 ("PNG")
 * ```
 */
export async function encodePng(picture: RgbaImage): Promise<Uint8Array> {
  const image = new Image(picture.width, picture.height);
  image.bitmap.set(picture.rgba);
  return await image.encode();
}

/**
 * Decodes PNG bytes into an RGBA picture.
 *
 * @example
 * ```ts
 * import { decodePng, encodePng, heatmap } from "./png.ts";
 * const back = await decodePng(await encodePng(heatmap(new Float32Array([0, 1]), 1, 2)));
 * console.log(back.width, back.height); // 2 1
 * ```
 */
export async function decodePng(bytes: Uint8Array): Promise<RgbaImage> {
  const image = await Image.decode(bytes);
  return { width: image.width, height: image.height, rgba: new Uint8ClampedArray(image.bitmap) };
}
