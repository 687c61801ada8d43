/**
 * Reference-counted GPU memory shared by a tensor and its views (`reshape` makes no copy).
 *
 * @module
 */
import type { Gpu } from "../gpu/device.ts";

/**
 * A pooled GPU buffer with a reference count; the buffer returns to the pool at zero.
 *
 * @example
 * ```ts ignore
 * import { getGpu } from "../gpu/device.ts";
 * import { Storage } from "./storage.ts";
 * const storage = new Storage(await getGpu(), 64);
 * storage.release(); // back to the pool
 * ```
 */
export class Storage {
  /** The device that owns the buffer. */
  readonly gpu: Gpu;
  /** Bytes in use (the buffer may be larger: it is a size class). */
  readonly byteLength: number;
  #buffer: GPUBuffer | null;
  #refs = 1;

  /** Takes a buffer of at least `byteLength` bytes from the pool of `gpu`. */
  constructor(gpu: Gpu, byteLength: number) {
    this.gpu = gpu;
    this.byteLength = byteLength;
    this.#buffer = gpu.pool.acquire(Math.max(4, byteLength));
  }

  /** The GPU buffer; throws once released. */
  get buffer(): GPUBuffer {
    if (!this.#buffer) throw new ReferenceError("Cannot use a tensor after dispose()");
    return this.#buffer;
  }

  /** True until the last reference is released. */
  get alive(): boolean {
    return this.#buffer !== null;
  }

  /** Adds a reference (a new view). */
  retain(): void {
    this.#refs++;
  }

  /** Drops a reference; the last one returns the buffer to the pool. */
  release(): void {
    if (!this.#buffer) return;
    if (--this.#refs === 0) {
      this.gpu.pool.release(this.#buffer);
      this.#buffer = null;
    }
  }
}
