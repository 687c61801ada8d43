/**
 * {@link ImageFolder}: the torchvision layout `root/<class>/<image>.png|jpg|jpeg` as a
 * {@link Dataset}. Classes are the sub-folders, sorted by name (code-unit order, as Python's
 * `sorted`); images in a class are sorted by name too, so the index order is stable.
 *
 * Images are decoded with imagescript when the folder is opened and kept as 8-bit pixels
 * (3 bytes per pixel for RGB, 1 for gray), each at its own size: resizing is the job of the
 * loader (`resize` option) or the augmentation. Memory is the sum of the decoded sizes, so this
 * suits folders of up to a few GiB of pixels.
 *
 * Colour handling: imagescript decodes every PNG/JPEG to RGBA (grayscale and palette images are
 * expanded to RGB). Alpha is composited on black by default (`alpha: "black"`, i.e. the colour is
 * premultiplied by alpha, so transparent pixels become 0) or ignored (`alpha: "drop"`). With
 * `channels: 1` the result is converted to gray with the ITU-R 601 weights 0.299, 0.587, 0.114
 * (PIL's `convert("L")`).
 *
 * @module
 */
import { decode, Image } from "imagescript";
import { join } from "@std/path";
import { checkIndex, type Dataset, type Sample, toFloatImage } from "./dataset.ts";

/**
 * File extensions read by {@link ImageFolder} (case-insensitive).
 *
 * @example
 * ```ts
 * import { IMAGE_EXTENSIONS } from "./image_folder.ts";
 * console.log(IMAGE_EXTENSIONS);
 * ```
 */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze([".png", ".jpg", ".jpeg"]);

/** Options of {@link ImageFolder.open}. */
export interface ImageFolderOptions {
  /** Skip images that fail to decode (counted in `skipped`) instead of throwing. Default false. */
  skipCorrupt?: boolean;
  /** `"black"` (default): composite alpha on black; `"drop"`: ignore alpha. */
  alpha?: "black" | "drop";
  /** 3 (default) for RGB, 1 for gray (ITU-R 601 luma). */
  channels?: 1 | 3;
}

interface Entry {
  path: string;
  label: number;
  height: number;
  width: number;
  pixels: Uint8Array; // H×W×C interleaved
}

/**
 * A folder of class sub-folders of images.
 *
 * @example
 * ```ts ignore
 * import { ImageFolder } from "./image_folder.ts";
 * const ds = await ImageFolder.open("data/flowers", { skipCorrupt: true });
 * console.log(ds.classNames, ds.length, ds.skipped);
 * const { image, height, width, label } = ds.get(0); // 3×H×W floats in [0, 1]
 * ```
 */
export class ImageFolder implements Dataset {
  /** The root folder. */
  readonly root: string;
  /** Class names (sub-folder names), sorted; the label is the index. */
  readonly classNames: readonly string[];
  /** Number of classes. */
  readonly numClasses: number;
  /** 3 (RGB) or 1 (gray). */
  readonly channels: number;
  /** Number of images read. */
  readonly length: number;
  /** Common height when every image has the same size, else `undefined`. */
  readonly height?: number;
  /** Common width when every image has the same size, else `undefined`. */
  readonly width?: number;
  /** Paths of the images that failed to decode and were skipped (`skipCorrupt`). */
  readonly skippedFiles: readonly string[];
  readonly #entries: Entry[];

  private constructor(
    root: string,
    classNames: string[],
    channels: number,
    entries: Entry[],
    skipped: string[],
  ) {
    this.root = root;
    this.classNames = Object.freeze(classNames);
    this.numClasses = classNames.length;
    this.channels = channels;
    this.#entries = entries;
    this.length = entries.length;
    this.skippedFiles = Object.freeze(skipped);
    const first = entries[0];
    if (first && entries.every((e) => e.height === first.height && e.width === first.width)) {
      this.height = first.height;
      this.width = first.width;
    }
  }

  /** Number of images skipped because they failed to decode. */
  get skipped(): number {
    return this.skippedFiles.length;
  }

  /** Path of image `i`. */
  path(i: number): string {
    checkIndex(i, this.length, `image folder ${this.root}`);
    return this.#entries[i].path;
  }

  /**
   * Lists and decodes every image under `root`.
   *
   * @throws {Error} when `root` has no class folders, a class folder has no images, or an image
   * fails to decode (unless `skipCorrupt`); the message names the folder or file.
   */
  static async open(root: string, options: ImageFolderOptions = {}): Promise<ImageFolder> {
    const channels = options.channels ?? 3;
    if (channels !== 1 && channels !== 3) {
      throw new RangeError(
        `Cannot open image folder ${root} with channels ${channels}: use 1 or 3`,
      );
    }
    const alpha = options.alpha ?? "black";
    if (alpha !== "black" && alpha !== "drop") {
      throw new RangeError(
        `Cannot open image folder ${root} with alpha "${alpha}": use "black" or "drop"`,
      );
    }
    const classNames = (await listDir(root, `Cannot open image folder ${root}`))
      .filter((e) => e.isDirectory && !e.name.startsWith("."))
      .map((e) => e.name)
      .sort(byCodeUnits);
    if (classNames.length === 0) {
      throw new Error(
        `Cannot open image folder ${root}: it has no class folders (root/<class>/<image>.png)`,
      );
    }
    const entries: Entry[] = [];
    const skipped: string[] = [];
    for (let label = 0; label < classNames.length; label++) {
      const dir = join(root, classNames[label]);
      const files = (await listDir(dir, `Cannot open image folder ${root}`))
        .filter((e) => e.isFile && !e.name.startsWith(".") && hasImageExtension(e.name))
        .map((e) => e.name)
        .sort(byCodeUnits);
      if (files.length === 0) {
        throw new Error(
          `Cannot open image folder ${root}: class folder ${dir} is empty (no ` +
            `${IMAGE_EXTENSIONS.join(", ")} images)`,
        );
      }
      let kept = 0;
      for (const name of files) {
        const path = join(dir, name);
        let image: Bitmap;
        try {
          image = await decodeImage(await Deno.readFile(path));
        } catch (error) {
          if (options.skipCorrupt) {
            skipped.push(path);
            continue;
          }
          const why = error instanceof Error ? error.message : String(error);
          throw new Error(
            `Cannot decode ${path}: corrupt or unsupported image (${why}); pass skipCorrupt: true ` +
              `to skip such files`,
          );
        }
        entries.push({
          path,
          label,
          height: image.height,
          width: image.width,
          pixels: toPixels(image.bitmap, channels, alpha),
        });
        kept++;
      }
      if (kept === 0) {
        throw new Error(
          `Cannot open image folder ${root}: every image in class folder ${dir} failed to decode ` +
            `(${files.length} skipped)`,
        );
      }
    }
    return new ImageFolder(root, classNames, channels, entries, skipped);
  }

  /** Image `i` at its own size: C×H×W floats in [0, 1]. */
  get(i: number): Sample {
    checkIndex(i, this.length, `image folder ${this.root}`);
    const e = this.#entries[i];
    return {
      image: toFloatImage(e.pixels, this.channels, e.height, e.width),
      channels: this.channels,
      height: e.height,
      width: e.width,
      label: e.label,
    };
  }
}

async function listDir(dir: string, context: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "folder not found"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new Error(`${context}: cannot list ${dir}: ${why}`);
  }
  return out;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function hasImageExtension(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** The part of an imagescript `Image` (or GIF `Frame`) we read: RGBA bytes. */
interface Bitmap {
  width: number;
  height: number;
  bitmap: Uint8ClampedArray;
}

async function decodeImage(bytes: Uint8Array): Promise<Bitmap> {
  // decode() returns a GIF (an array of frames) for GIF data: take its first frame.
  const decoded = await decode(bytes, true);
  const image: Bitmap | undefined = decoded instanceof Image ? decoded : decoded[0];
  if (!image || image.width === 0 || image.height === 0) throw new Error("no image data");
  return image;
}

/** RGBA bytes → interleaved RGB (or gray) bytes, alpha composited on black or dropped. */
function toPixels(rgba: Uint8ClampedArray, channels: number, alpha: "black" | "drop"): Uint8Array {
  const n = rgba.length >> 2;
  const out = new Uint8Array(n * channels);
  const black = alpha === "black";
  for (let p = 0; p < n; p++) {
    let r = rgba[4 * p], g = rgba[4 * p + 1], b = rgba[4 * p + 2];
    if (black) {
      const a = rgba[4 * p + 3];
      if (a !== 255) {
        r = Math.round((r * a) / 255);
        g = Math.round((g * a) / 255);
        b = Math.round((b * a) / 255);
      }
    }
    if (channels === 3) {
      out[3 * p] = r;
      out[3 * p + 1] = g;
      out[3 * p + 2] = b;
    } else {
      out[p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    }
  }
  return out;
}
