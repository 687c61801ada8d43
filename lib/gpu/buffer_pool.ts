/**
 * Size-class buffer pool. Tensor buffers are rounded up to one of four sizes per power of two
 * (≤ 25 % waste) and go back to a free list when the tensor is disposed, so a training step that
 * repeats the same shapes creates no buffer after its first iteration.
 *
 * @module
 */
import { GpuOutOfMemoryError } from "../errors.ts";
import type { Gpu } from "./device.ts";

const MIN_BYTES = 256;
const TENSOR_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/**
 * The size class for `bytes`: the smallest of 1, 1.25, 1.5, 1.75 × 2^k at or above it.
 *
 * @example
 * ```ts
 * import { sizeClass } from "./buffer_pool.ts";
 * console.log(sizeClass(1000)); // 1024
 * console.log(sizeClass(1100)); // 1280
 * ```
 */
export function sizeClass(bytes: number): number {
  if (bytes <= MIN_BYTES) return MIN_BYTES;
  const octave = 2 ** Math.floor(Math.log2(bytes));
  const step = octave / 4;
  return Math.ceil(bytes / step) * step;
}

/** Counters of a {@link BufferPool}, for leak tests and benchmark reports. */
export interface PoolStats {
  /** Bytes of buffers held by live tensors. */
  liveBytes: number;
  /** Bytes of free buffers kept for reuse. */
  pooledBytes: number;
  /** Highest `liveBytes` seen since the last {@link BufferPool.resetPeak}. */
  peakBytes: number;
  /** Buffers created since the device was made. */
  buffersCreated: number;
}

/**
 * Free lists of GPU buffers by size class.
 *
 * @example
 * ```ts ignore
 * import { getGpu } from "./device.ts";
 * const gpu = await getGpu();
 * const buffer = gpu.pool.acquire(4096);
 * gpu.pool.release(buffer);
 * console.log(gpu.pool.stats().pooledBytes); // 4096
 * ```
 */
export class BufferPool {
  #gpu: Gpu;
  #free = new Map<number, GPUBuffer[]>();
  #liveBytes = 0;
  #pooledBytes = 0;
  #peakBytes = 0;
  #created = 0;

  /** A pool for the device of `gpu`. */
  constructor(gpu: Gpu) {
    this.#gpu = gpu;
  }

  /** A buffer of at least `bytes` bytes (storage, copy source and destination). */
  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    let buffer = this.#free.get(size)?.pop();
    if (buffer) {
      this.#pooledBytes -= size;
    } else {
      const max = this.#gpu.limits.maxBufferSize;
      if (size > max) {
        throw new GpuOutOfMemoryError(size, `a buffer larger than maxBufferSize (${max} bytes)`);
      }
      const device = this.#gpu.device;
      device.pushErrorScope("out-of-memory");
      buffer = device.createBuffer({ size, usage: TENSOR_USAGE });
      device.popErrorScope().then((error) => {
        if (error) {
          this.#gpu.reportError(new GpuOutOfMemoryError(size, `a ${size}-byte tensor buffer`));
        }
      });
      this.#created++;
    }
    this.#liveBytes += size;
    this.#peakBytes = Math.max(this.#peakBytes, this.#liveBytes);
    return buffer;
  }

  /** Returns `buffer` to its free list. Commands already encoded may still use it: that is safe,
   * because every later write to it is ordered after them on the one queue. */
  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    this.#liveBytes -= size;
    this.#pooledBytes += size;
    let list = this.#free.get(size);
    if (!list) this.#free.set(size, list = []);
    list.push(buffer);
  }

  /** Current counters. */
  stats(): PoolStats {
    return {
      liveBytes: this.#liveBytes,
      pooledBytes: this.#pooledBytes,
      peakBytes: this.#peakBytes,
      buffersCreated: this.#created,
    };
  }

  /** Starts a new peak measurement at the current live bytes. */
  resetPeak(): void {
    this.#peakBytes = this.#liveBytes;
  }

  /** Destroys every free buffer (live ones are untouched). */
  clear(): void {
    for (const list of this.#free.values()) for (const buffer of list) buffer.destroy();
    this.#free.clear();
    this.#pooledBytes = 0;
  }
}
