/**
 * {@link DataLoader}: seeded shuffling, batching into one `[B, C, H, W]` array, upload as a GPU
 * tensor, and one batch of lookahead so the CPU prepares batch i+1 while the GPU runs batch i.
 *
 * Order: epoch `e` is the permutation drawn by `new Rng(deriveSeed(seed, e))`, so it depends only
 * on `(seed, e)`: a run resumed at epoch 5 sees the same batches as one that never stopped.
 *
 * Lookahead: JavaScript has one thread, so "in parallel" means "while the caller waits". After
 * handing out batch i, the loader schedules the assembly of batch i+1 as a macrotask; it runs as
 * soon as the caller awaits (typically `await gpu.sync()` or a readback), while the GPU executes
 * the work just submitted.
 *
 * @module
 */
import { clearImmediate, setImmediate } from "node:timers";
import type { Gpu } from "../gpu/device.ts";
import { fromArray } from "../tensor/create.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { type Dataset, deriveSeed, type Sample } from "./dataset.ts";
import { Rng } from "./rng.ts";

/** Options of {@link DataLoader}. */
export interface LoaderOptions {
  /** Examples per batch. */
  batchSize: number;
  /** Shuffle each epoch (default true); false keeps index order. */
  shuffle?: boolean;
  /** Seed of the shuffles (default 0). */
  seed?: number;
  /** Drop the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /**
   * Resize every image to this size (a square side or `[height, width]`) with bilinear
   * interpolation on the CPU (half-pixel centres, no antialiasing: `F.interpolate(mode="bilinear",
   * align_corners=False)`); masks use nearest neighbour. Needed for datasets of mixed sizes.
   */
  resize?: number | readonly [number, number];
  /** Device for uploads; default: the current device. */
  gpu?: Gpu;
  /** Also upload the labels as an `i32` tensor `[B]` (default false). */
  uploadLabels?: boolean;
}

/** A batch on the CPU. */
export interface HostBatch {
  /** Pixels `[B, C, H, W]`, row-major. */
  images: Float32Array;
  /** `[B, C, H, W]`. */
  shape: [number, number, number, number];
  /** Labels, B of them. */
  labels: Int32Array;
  /** Dataset indices of the examples, B of them. */
  indices: Int32Array;
  /** Foreground masks `[B, H, W]` (0/1) when every example has one. */
  masks?: Uint8Array;
}

/** A batch whose images live on the GPU. Dispose it (or use `using`) when done. */
export interface Batch extends HostBatch {
  /** The images as a GPU tensor of shape `[B, C, H, W]`. */
  tensor: Tensor<"f32">;
  /** The labels as a GPU tensor `[B]`, with `uploadLabels`. */
  labelTensor?: Tensor<"i32">;
  /** Frees the GPU tensors. */
  dispose(): void;
  /** Same as `dispose()`, for `using`. */
  [Symbol.dispose](): void;
}

/**
 * Iterates a {@link Dataset} in seeded, shuffled batches.
 *
 * @example
 * ```ts ignore
 * import { getGpu } from "../gpu/device.ts";
 * import { DataLoader } from "./loader.ts";
 * import { SyntheticShapes } from "./synthetic.ts";
 * const gpu = await getGpu();
 * const loader = new DataLoader(new SyntheticShapes({ length: 1000 }), { batchSize: 64, dropLast: true });
 * for (let epoch = 0; epoch < 3; epoch++) {
 *   for await (using batch of loader.epoch(epoch)) {
 *     // batch.tensor: [64, 3, 32, 32] on the GPU; batch.labels: Int32Array
 *     await gpu.sync();
 *   }
 * }
 * ```
 */
export class DataLoader {
  /** The dataset. */
  readonly dataset: Dataset;
  /** Examples per batch. */
  readonly batchSize: number;
  /** Whether epochs are shuffled. */
  readonly shuffle: boolean;
  /** Seed of the shuffles. */
  readonly seed: number;
  /** Whether a final short batch is dropped. */
  readonly dropLast: boolean;
  /** Output size `[H, W]` when resizing. */
  readonly resize?: readonly [number, number];
  readonly #gpu?: Gpu;
  readonly #uploadLabels: boolean;

  /** A loader over `dataset`; checks the options. */
  constructor(dataset: Dataset, options: LoaderOptions) {
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(
        `Cannot create a DataLoader with batchSize ${batchSize}: use an integer ≥ 1`,
      );
    }
    if (options.resize !== undefined) {
      const r = typeof options.resize === "number"
        ? [options.resize, options.resize] as const
        : options.resize;
      if (r.length !== 2 || !r.every((s) => Number.isInteger(s) && s >= 1)) {
        throw new RangeError(
          `Cannot create a DataLoader with resize ${
            JSON.stringify(options.resize)
          }: use a side or [height, width] of integers ≥ 1`,
        );
      }
      this.resize = [r[0], r[1]];
    }
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
    this.dropLast = options.dropLast ?? false;
    this.#gpu = options.gpu;
    this.#uploadLabels = options.uploadLabels ?? false;
  }

  /** Batches per epoch: ⌊n / B⌋ with `dropLast`, ⌈n / B⌉ without. */
  get batchesPerEpoch(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The order of the examples in `epoch`: a seeded permutation, or 0..n-1 without `shuffle`. */
  order(epoch: number): Int32Array {
    const n = this.dataset.length;
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    if (!this.shuffle) return out;
    const rng = new Rng(deriveSeed(this.seed, epoch));
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }

  /** The dataset indices of each batch of `epoch`. */
  batchIndices(epoch: number): Int32Array[] {
    const order = this.order(epoch);
    const out: Int32Array[] = [];
    for (let k = 0; k < this.batchesPerEpoch; k++) {
      out.push(
        order.subarray(k * this.batchSize, Math.min((k + 1) * this.batchSize, order.length)),
      );
    }
    return out;
  }

  /**
   * Gathers the examples at `indices` into one batch (resizing when asked).
   *
   * @throws {RangeError} when images differ in size or channels and `resize` is not set.
   */
  assemble(indices: ArrayLike<number>): HostBatch {
    const b = indices.length;
    const samples: Sample[] = [];
    for (let k = 0; k < b; k++) samples.push(this.dataset.get(indices[k]));
    const c = this.dataset.channels;
    const [h, w] = this.resize ?? [samples[0]?.height ?? 0, samples[0]?.width ?? 0];
    const chw = c * h * w;
    const images = new Float32Array(b * chw);
    const labels = new Int32Array(b);
    const withMasks = b > 0 && samples.every((s) => s.mask !== undefined);
    const masks = withMasks ? new Uint8Array(b * h * w) : undefined;
    for (let k = 0; k < b; k++) {
      const s = samples[k];
      if (s.channels !== c) {
        throw new RangeError(
          `Cannot batch example ${
            indices[k]
          } with ${s.channels} channels: the dataset declares ${c}`,
        );
      }
      labels[k] = s.label;
      if (s.height === h && s.width === w) {
        images.set(s.image, k * chw);
        if (masks) masks.set(s.mask!, k * h * w);
      } else if (this.resize) {
        resizeBilinear(
          s.image,
          c,
          s.height,
          s.width,
          h,
          w,
          images.subarray(k * chw, (k + 1) * chw),
        );
        if (masks) resizeNearest(s.mask!, s.height, s.width, h, w, masks.subarray(k * h * w));
      } else {
        throw new RangeError(
          `Cannot batch example ${indices[k]} of size ${s.height}×${s.width} with example ` +
            `${indices[0]} of size ${h}×${w}: pass resize to the DataLoader`,
        );
      }
    }
    return { images, shape: [b, c, h, w], labels, indices: Int32Array.from(indices), masks };
  }

  /** The batches of `epoch` on the CPU, with one batch of lookahead. */
  async *hostBatches(epoch: number): AsyncGenerator<HostBatch> {
    const batches = this.batchIndices(epoch);
    yield* prefetch(batches.length, (k) => this.assemble(batches[k]));
  }

  /**
   * The batches of `epoch`, images uploaded as GPU tensors `[B, C, H, W]`. The caller owns each
   * batch's tensors: dispose them (`using`, `batch.dispose()`) or let an enclosing `scope` do it.
   */
  async *epoch(epoch: number): AsyncGenerator<Batch> {
    for await (const host of this.hostBatches(epoch)) {
      const gpu = this.#gpu;
      const tensor = fromArray(host.images, host.shape, { gpu });
      const labelTensor = this.#uploadLabels
        ? fromArray(host.labels, [host.labels.length], { dtype: "i32", gpu })
        : undefined;
      const dispose = () => {
        if (!tensor.isDisposed) tensor.dispose();
        if (labelTensor && !labelTensor.isDisposed) labelTensor.dispose();
      };
      yield { ...host, tensor, labelTensor, dispose, [Symbol.dispose]: dispose };
    }
  }
}

/**
 * Yields `make(0) … make(count-1)`, computing `make(k+1)` in a macrotask scheduled when `make(k)`
 * is handed out, so it runs while the consumer awaits something else.
 */
async function* prefetch<T>(count: number, make: (k: number) => T): AsyncGenerator<T> {
  if (count === 0) return;
  let pending = defer(() => make(0));
  try {
    for (let k = 0; k < count; k++) {
      const current = await pending.promise;
      if (k + 1 < count) pending = defer(() => make(k + 1));
      yield current;
    }
  } finally {
    pending.cancel();
  }
}

function defer<T>(fn: () => T): { promise: Promise<T>; cancel(): void } {
  // setImmediate, not setTimeout(0): timers chained from timer callbacks are clamped to ≥ 4 ms
  // (2.4 ms per batch measured on Deno 2.9), setImmediate costs ~50 µs.
  let timer: ReturnType<typeof setImmediate> | undefined;
  const promise = new Promise<T>((resolve, reject) => {
    timer = setImmediate(() => {
      timer = undefined;
      try {
        resolve(fn());
      } catch (error) {
        reject(error);
      }
    });
  });
  // A consumer that stops early never awaits the last one: keep its failure from going unhandled.
  promise.catch(() => {});
  return {
    promise,
    cancel() {
      if (timer !== undefined) clearImmediate(timer);
    },
  };
}

/**
 * Bilinear resize of a C×H×W image to C×outH×outW with half-pixel centres and edge clamping,
 * the same as `torch.nn.functional.interpolate(x, size, mode="bilinear", align_corners=False)`.
 *
 * @example
 * ```ts
 * import { resizeBilinear } from "./loader.ts";
 * const out = resizeBilinear(new Float32Array([0, 1, 2, 3]), 1, 2, 2, 4, 4);
 * console.log(out.length); // 16
 * ```
 */
export function resizeBilinear(
  src: Float32Array,
  channels: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
  out: Float32Array = new Float32Array(channels * outH * outW),
): Float32Array {
  const x0 = new Int32Array(outW), x1 = new Int32Array(outW), fx = new Float32Array(outW);
  for (let x = 0; x < outW; x++) {
    const s = Math.max(0, ((x + 0.5) * inW) / outW - 0.5);
    x0[x] = Math.min(Math.floor(s), inW - 1);
    x1[x] = Math.min(x0[x] + 1, inW - 1);
    fx[x] = s - x0[x];
  }
  for (let y = 0; y < outH; y++) {
    const s = Math.max(0, ((y + 0.5) * inH) / outH - 0.5);
    const y0 = Math.min(Math.floor(s), inH - 1), y1 = Math.min(y0 + 1, inH - 1);
    const fy = s - y0;
    for (let c = 0; c < channels; c++) {
      const r0 = c * inH * inW + y0 * inW, r1 = c * inH * inW + y1 * inW;
      const o = c * outH * outW + y * outW;
      for (let x = 0; x < outW; x++) {
        const top = src[r0 + x0[x]] + (src[r0 + x1[x]] - src[r0 + x0[x]]) * fx[x];
        const bot = src[r1 + x0[x]] + (src[r1 + x1[x]] - src[r1 + x0[x]]) * fx[x];
        out[o + x] = top + (bot - top) * fy;
      }
    }
  }
  return out;
}

function resizeNearest(
  src: Uint8Array,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
  out: Uint8Array,
): void {
  for (let y = 0; y < outH; y++) {
    const sy = Math.min(Math.floor(((y + 0.5) * inH) / outH), inH - 1);
    for (let x = 0; x < outW; x++) {
      out[y * outW + x] = src[sy * inW + Math.min(Math.floor(((x + 0.5) * inW) / outW), inW - 1)];
    }
  }
}
