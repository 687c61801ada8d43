/**
 * IDX files (MNIST, Fashion-MNIST): a reader for raw or gzip-compressed files, and
 * {@link IdxDataset}, the image/label pair as a {@link Dataset}.
 *
 * Format: a 4-byte magic `00 00 TT NN` (TT = element type, 0x08 for unsigned bytes, NN = number
 * of dimensions), NN big-endian u32 dimensions, then the elements in row-major order. Images are
 * `0x00000803` (count × rows × cols), labels `0x00000801` (count).
 *
 * Every size is checked before memory is allocated: a raw file must be exactly header + product
 * of its dimensions long; a gzip file is decompressed as a stream into a buffer of the declared
 * size, and the declared size must be one the compressed length could hold (deflate expands at
 * most 1032:1), so a corrupt header cannot make us allocate gigabytes.
 *
 * @module
 */
import { join } from "@std/path";
import { checkIndex, type Dataset, type Sample, toFloatImage } from "./dataset.ts";

/**
 * Magic number of an IDX file of unsigned-byte images (count × rows × cols).
 *
 * @example
 * ```ts
 * import { IDX_IMAGES_MAGIC } from "./idx.ts";
 * console.log(IDX_IMAGES_MAGIC);
 * ```
 */
export const IDX_IMAGES_MAGIC = 0x00000803;
/**
 * Magic number of an IDX file of unsigned-byte labels (count).
 *
 * @example
 * ```ts
 * import { IDX_LABELS_MAGIC } from "./idx.ts";
 * console.log(IDX_LABELS_MAGIC);
 * ```
 */
export const IDX_LABELS_MAGIC = 0x00000801;

/**
 * Where the Debian package `dataset-fashion-mnist` installs the Fashion-MNIST files.
 *
 * @example
 * ```ts
 * import { FASHION_MNIST_DIR } from "./idx.ts";
 * console.log(FASHION_MNIST_DIR);
 * ```
 */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist/";
/**
 * Fashion-MNIST class names, indexed by label.
 *
 * @example
 * ```ts
 * import { FASHION_MNIST_CLASSES } from "./idx.ts";
 * console.log(FASHION_MNIST_CLASSES);
 * ```
 */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
]);
/**
 * Mean pixel value of the Fashion-MNIST training images, scaled to [0, 1].
 *
 * @example
 * ```ts
 * import { FASHION_MNIST_MEAN } from "./idx.ts";
 * console.log(FASHION_MNIST_MEAN);
 * ```
 */
export const FASHION_MNIST_MEAN = 0.2860;
/**
 * Standard deviation of the Fashion-MNIST training pixels, scaled to [0, 1].
 *
 * @example
 * ```ts
 * import { FASHION_MNIST_STD } from "./idx.ts";
 * console.log(FASHION_MNIST_STD);
 * ```
 */
export const FASHION_MNIST_STD = 0.3530;

/** Deflate's largest expansion ratio (RFC 1951: a 258-byte match per 2 bits) with a margin. */
const MAX_GZIP_RATIO = 1032;
/** The largest array we will decompress one gzip IDX file into (2 GiB). */
const MAX_IDX_BYTES = 2 ** 31;

/** An IDX array of unsigned bytes. */
export interface IdxArray {
  /** The magic number, e.g. {@link IDX_IMAGES_MAGIC}. */
  magic: number;
  /** The dimensions declared by the header. */
  dims: number[];
  /** The elements, row-major, `product(dims)` of them. */
  data: Uint8Array;
}

/**
 * Parses an uncompressed IDX file. `name` (usually the path) is used in error messages.
 *
 * @throws {RangeError} on a bad magic number, a non-byte element type, or a length that is not
 * header + product of the dimensions.
 * @example
 * ```ts
 * import { parseIdx } from "./idx.ts";
 * const bytes = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]);
 * const { dims, data } = parseIdx(bytes, "labels");
 * console.log(dims, data); // [3] Uint8Array [7, 8, 9]
 * ```
 */
export function parseIdx(bytes: Uint8Array, name: string, expectedMagic?: number): IdxArray {
  const header = parseHeader(bytes, name, expectedMagic);
  const declared = header.size;
  const remaining = bytes.length - header.headerBytes;
  if (remaining < declared) {
    throw idxError(
      name,
      `truncated: ${describeDims(header.dims, declared)} but ${remaining} remain`,
    );
  }
  if (remaining > declared) {
    throw idxError(
      name,
      `${remaining - declared} trailing bytes after the data: ${
        describeDims(header.dims, declared)
      } but ${remaining} remain`,
    );
  }
  return {
    magic: header.magic,
    dims: header.dims,
    data: bytes.subarray(header.headerBytes),
  };
}

/**
 * Reads an IDX file, raw or gzip-compressed (detected by the `1f 8b` magic, not the name).
 * Checks `expectedMagic` when given.
 *
 * @throws {Error} naming the file and the fault: missing file, corrupt gzip, bad magic, truncated
 * or overlong data.
 * @example
 * ```ts ignore
 * import { readIdx } from "./idx.ts";
 * const labels = await readIdx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
 * console.log(labels.dims); // [10000]
 * ```
 */
export async function readIdx(path: string, expectedMagic?: number): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    // Either way the file's own length justifies this buffer.
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw idxError(
      path,
      error instanceof Deno.errors.NotFound ? "file not found" : errorText(error),
    );
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(new DecompressionStream("gzip"));
    return await readGzipIdx(stream, path, bytes.length, expectedMagic);
  }
  return parseIdx(bytes, path, expectedMagic);
}

async function readGzipIdx(
  stream: ReadableStream<Uint8Array>,
  path: string,
  compressedBytes: number,
  expectedMagic: number | undefined,
): Promise<IdxArray> {
  const reader = stream.getReader();
  const cap = Math.min(compressedBytes * MAX_GZIP_RATIO, MAX_IDX_BYTES);
  let head: Uint8Array = new Uint8Array(0);
  let header: Header | null = null;
  let out: Uint8Array | null = null;
  let filled = 0;
  try {
    while (true) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw idxError(path, `corrupt gzip data (${errorText(error)})`);
      }
      if (chunk.done) break;
      let bytes = chunk.value;
      if (header === null) {
        head = concat(head, bytes);
        bytes = new Uint8Array(0);
        header = tryParseHeader(head, path, expectedMagic);
        if (header === null) continue;
        if (header.size > cap) {
          throw idxError(
            path,
            cap === MAX_IDX_BYTES
              ? `${describeDims(header.dims, header.size)}, more than the ${cap}-byte limit`
              : `${describeDims(header.dims, header.size)} but a ${compressedBytes}-byte gzip ` +
                `file holds at most ${cap}`,
          );
        }
        out = new Uint8Array(header.size);
        bytes = head.subarray(header.headerBytes);
      }
      if (filled + bytes.length > out!.length) {
        throw idxError(
          path,
          `trailing bytes after the data: ${describeDims(header.dims, header.size)} but more ` +
            `than ${out!.length} follow`,
        );
      }
      out!.set(bytes, filled);
      filled += bytes.length;
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  }
  if (header === null) {
    throw idxError(
      path,
      `truncated: ${head.length} bytes after decompression, too short for a header`,
    );
  }
  if (filled < header.size) {
    throw idxError(
      path,
      `truncated: ${describeDims(header.dims, header.size)} but ${filled} remain`,
    );
  }
  return { magic: header.magic, dims: header.dims, data: out! };
}

interface Header {
  magic: number;
  dims: number[];
  headerBytes: number;
  size: number;
}

function tryParseHeader(
  head: Uint8Array,
  name: string,
  expectedMagic: number | undefined,
): Header | null {
  if (head.length < 4) return null;
  const ndims = head[3];
  if (head.length < 4 + 4 * ndims) return null;
  return parseHeader(head, name, expectedMagic);
}

function parseHeader(
  bytes: Uint8Array,
  name: string,
  expectedMagic: number | undefined,
): Header {
  if (bytes.length < 4) {
    throw idxError(name, `truncated: ${bytes.length} bytes, too short for the 4-byte magic number`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (expectedMagic !== undefined && magic !== expectedMagic) {
    throw idxError(name, `wrong magic number ${hex(magic)}, expected ${hex(expectedMagic)}`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw idxError(
      name,
      `wrong magic number ${hex(magic)}: an IDX file starts with two zero bytes`,
    );
  }
  if (bytes[2] !== 0x08) {
    throw idxError(
      name,
      `unsupported element type 0x${bytes[2].toString(16).padStart(2, "0")} in magic number ` +
        `${hex(magic)}: only unsigned bytes (0x08) are read`,
    );
  }
  const ndims = bytes[3];
  if (ndims === 0) throw idxError(name, `magic number ${hex(magic)} declares 0 dimensions`);
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw idxError(
      name,
      `truncated: the header declares ${ndims} dimensions (${headerBytes} bytes) but the file ` +
        `has ${bytes.length} bytes`,
    );
  }
  const dims: number[] = [];
  let size = 1;
  for (let d = 0; d < ndims; d++) {
    dims.push(view.getUint32(4 + 4 * d));
    size *= dims[d];
  }
  return { magic, dims, headerBytes, size };
}

function describeDims(dims: readonly number[], size: number): string {
  return `header declares ${dims.join("×")} = ${size} bytes`;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

function idxError(name: string, fault: string): Error {
  return new Error(`Cannot read ${name}: ${fault}`);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Options of {@link IdxDataset.open}. */
export interface IdxDatasetOptions {
  /** Path of the images file (`0x00000803`, raw or gzip). */
  images: string;
  /** Path of the labels file (`0x00000801`, raw or gzip). */
  labels: string;
  /** Number of classes; every label must be below it. Default: `classNames.length`, else 10. */
  numClasses?: number;
  /** Class names; default: `"0"`, `"1"`, …. */
  classNames?: readonly string[];
  /** 1 (default) keeps the grayscale channel; 3 replicates it to RGB for 3-channel models. */
  channels?: 1 | 3;
}

/**
 * An IDX image file and its label file as a {@link Dataset}: 8-bit grayscale images stored as
 * bytes (one byte per pixel), converted to floats in [0, 1] by `get`.
 *
 * @example
 * ```ts ignore
 * import { IdxDataset } from "./idx.ts";
 * const ds = await IdxDataset.open({
 *   images: "/data/mnist/train-images-idx3-ubyte.gz",
 *   labels: "/data/mnist/train-labels-idx1-ubyte.gz",
 * });
 * console.log(ds.length, ds.height, ds.width); // 60000 28 28
 * ```
 */
export class IdxDataset implements Dataset {
  /** The raw pixels, `length × height × width` bytes. */
  readonly pixels: Uint8Array;
  /** The labels, one byte each. */
  readonly labels: Uint8Array;
  /** Number of examples. */
  readonly length: number;
  /** Image height. */
  readonly height: number;
  /** Image width. */
  readonly width: number;
  /** Output channels: 1, or 3 when the gray channel is replicated. */
  readonly channels: number;
  /** Number of classes. */
  readonly numClasses: number;
  /** Class names, indexed by label. */
  readonly classNames: readonly string[];

  /** Builds a dataset from parsed arrays; prefer {@link IdxDataset.open}. Validates everything. */
  constructor(
    images: IdxArray,
    labels: IdxArray,
    options: Omit<IdxDatasetOptions, "images" | "labels"> & {
      imagesName?: string;
      labelsName?: string;
    } = {},
  ) {
    const imagesName = options.imagesName ?? "the images";
    const labelsName = options.labelsName ?? "the labels";
    if (images.magic !== IDX_IMAGES_MAGIC || images.dims.length !== 3) {
      throw idxError(
        imagesName,
        `wrong magic number ${hex(images.magic)}, expected ${hex(IDX_IMAGES_MAGIC)}`,
      );
    }
    if (labels.magic !== IDX_LABELS_MAGIC || labels.dims.length !== 1) {
      throw idxError(
        labelsName,
        `wrong magic number ${hex(labels.magic)}, expected ${hex(IDX_LABELS_MAGIC)}`,
      );
    }
    const [count, height, width] = images.dims;
    if (labels.dims[0] !== count) {
      throw idxError(labelsName, `${labels.dims[0]} labels for ${count} images in ${imagesName}`);
    }
    const channels = options.channels ?? 1;
    if (channels !== 1 && channels !== 3) {
      throw new RangeError(`Cannot open an IDX dataset with channels ${channels}: use 1 or 3`);
    }
    const names = options.classNames ??
      Array.from({ length: options.numClasses ?? 10 }, (_, i) => String(i));
    const numClasses = options.numClasses ?? names.length;
    if (names.length !== numClasses) {
      throw new RangeError(
        `Cannot open an IDX dataset with ${names.length} class names for numClasses ${numClasses}`,
      );
    }
    for (let i = 0; i < count; i++) {
      if (labels.data[i] >= numClasses) {
        throw idxError(
          labelsName,
          `label ${labels.data[i]} at index ${i} is not below the number of classes ${numClasses}`,
        );
      }
    }
    this.pixels = images.data;
    this.labels = labels.data;
    this.length = count;
    this.height = height;
    this.width = width;
    this.channels = channels;
    this.numClasses = numClasses;
    this.classNames = Object.freeze([...names]);
  }

  /**
   * Reads and validates an images file and a labels file (raw or gzip each).
   *
   * @throws {Error} naming the file and the fault (see {@link readIdx}), when the label count
   * differs from the image count, or when a label is not below `numClasses`.
   */
  static async open(options: IdxDatasetOptions): Promise<IdxDataset> {
    // Both read in parallel; when both fail, the images' error is reported (deterministically).
    const [images, labels] = await Promise.allSettled([
      readIdx(options.images, IDX_IMAGES_MAGIC),
      readIdx(options.labels, IDX_LABELS_MAGIC),
    ]);
    if (images.status === "rejected") throw images.reason;
    if (labels.status === "rejected") throw labels.reason;
    return new IdxDataset(images.value, labels.value, {
      ...options,
      imagesName: options.images,
      labelsName: options.labels,
    });
  }

  /** Example `i`: C×H×W floats in [0, 1] (the gray channel repeated when `channels` is 3). */
  get(i: number): Sample {
    checkIndex(i, this.length, "an IDX dataset");
    const hw = this.height * this.width;
    const pixels = this.pixels.subarray(i * hw, (i + 1) * hw);
    return {
      image: toFloatImage(pixels, 1, this.height, this.width, { repeat: this.channels }),
      channels: this.channels,
      height: this.height,
      width: this.width,
      label: this.labels[i],
    };
  }
}

/** Options of {@link loadFashionMnist}. */
export interface FashionMnistOptions {
  /** `"train"` (60,000 images, default) or `"test"` (10,000, the `t10k` files). */
  split?: "train" | "test";
  /** Directory with the four files, raw or `.gz`. Default {@link FASHION_MNIST_DIR}. */
  dir?: string;
  /** 1 (default, as the fmnist-tiny config) or 3 to replicate the gray channel. */
  channels?: 1 | 3;
}

/**
 * Loads Fashion-MNIST (or MNIST: same file names; pass `dir`) from IDX files named
 * `train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-…`. Prefers the `.gz`
 * file when both exist.
 *
 * @throws {Error} when the files are missing (naming the directory and the package to install)
 * or invalid (see {@link IdxDataset.open}).
 * @example
 * ```ts ignore
 * import { loadFashionMnist } from "./idx.ts";
 * const train = await loadFashionMnist({ split: "train" });
 * const { image, label } = train.get(0); // image: 1×28×28 floats in [0, 1]
 * ```
 */
export async function loadFashionMnist(options: FashionMnistOptions = {}): Promise<IdxDataset> {
  const split = options.split ?? "train";
  if (split !== "train" && split !== "test") {
    throw new RangeError(`Cannot load Fashion-MNIST split "${split}": use "train" or "test"`);
  }
  const dir = options.dir ?? FASHION_MNIST_DIR;
  const prefix = split === "train" ? "train" : "t10k";
  const images = await findFile(dir, `${prefix}-images-idx3-ubyte`);
  const labels = await findFile(dir, `${prefix}-labels-idx1-ubyte`);
  return await IdxDataset.open({
    images,
    labels,
    classNames: FASHION_MNIST_CLASSES,
    channels: options.channels,
  });
}

async function findFile(dir: string, base: string): Promise<string> {
  for (const name of [`${base}.gz`, base]) {
    const path = join(dir, name);
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  throw new Error(
    `Cannot find ${base}.gz or ${base} in ${dir}: install the Debian package ` +
      `dataset-fashion-mnist or pass dir`,
  );
}
