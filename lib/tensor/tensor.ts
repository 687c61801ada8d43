/**
 * The `Tensor` class: a shaped, typed view of GPU memory that takes part in autograd.
 *
 * @module
 */
import { backward as runBackward } from "../autograd/tape.ts";
import type { Gpu } from "../gpu/device.ts";
import { type ArrayFor, BYTES_PER_ELEMENT, type DType, typedArray } from "./dtype.ts";
import { track } from "./scope.ts";
import { formatShape, numel, type Shape } from "./shape.ts";
import { Storage } from "./storage.ts";

/** How a non-leaf tensor was made: the op, its tensor inputs and its backward. */
export interface GradNode {
  /** The op name, e.g. `matmul`. */
  readonly op: string;
  /** The tensor inputs, in the order `backward` returns their gradients. */
  readonly inputs: readonly Tensor[];
  /** Gradients of the inputs given the gradient of the output (`null`: no gradient). */
  backward(grad: Tensor): (Tensor | null)[];
}

/**
 * A tensor on the GPU. Its dtype is part of its type; its shape is checked at run time by every
 * op. Memory is freed by `dispose()`, `using`, or the enclosing {@link scope}.
 *
 * @example
 * ```ts ignore
 * import { fromArray } from "./create.ts";
 * using x = fromArray([1, 2, 3, 4], [2, 2]);
 * console.log(x.shape, await x.toArray()); // [2, 2] Float32Array(4) [1, 2, 3, 4]
 * ```
 */
export class Tensor<D extends DType = DType> {
  /** Sizes of each dimension. */
  readonly shape: Shape;
  /** Element type. */
  readonly dtype: D;
  /** Number of elements. */
  readonly size: number;
  /** The GPU memory, shared with views. */
  readonly storage: Storage;
  /** True for parameters and for every result of an op on one. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf tensor after `backward()`. */
  grad: Tensor<D> | null = null;
  /** How this tensor was made, for autograd; `null` for leaves. */
  gradFn: GradNode | null = null;
  #disposed = false;

  /** Wraps `storage` (taking a reference) with `shape` and `dtype`. Use the creation functions. */
  constructor(storage: Storage, shape: Shape, dtype: D) {
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = numel(shape);
    track(this);
  }

  /**
   * A new uninitialised tensor on `gpu`.
   *
   * @example
   * ```ts ignore
   * import { getGpu } from "../gpu/device.ts";
   * import { Tensor } from "./tensor.ts";
   * const t = Tensor.empty(await getGpu(), [2, 3], "f32");
   * ```
   */
  static empty<D extends DType>(gpu: Gpu, shape: Shape, dtype: D): Tensor<D> {
    const bytes = numel(shape) * BYTES_PER_ELEMENT[dtype];
    return new Tensor(new Storage(gpu, bytes), shape, dtype);
  }

  /** The device holding this tensor. */
  get gpu(): Gpu {
    return this.storage.gpu;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** Bytes of the elements (without size-class padding). */
  get byteLength(): number {
    return this.size * BYTES_PER_ELEMENT[this.dtype];
  }

  /** The buffer binding of exactly this tensor's bytes, for dispatches. */
  get binding(): GPUBufferBinding {
    this.#checkAlive();
    return {
      buffer: this.storage.buffer,
      offset: 0,
      size: Math.max(4, Math.ceil(this.byteLength / 4) * 4),
    };
  }

  /** True after `dispose()`. */
  get isDisposed(): boolean {
    return this.#disposed;
  }

  /** Copies the elements to the CPU (one flush and one wait). */
  async toArray(): Promise<ArrayFor<D>> {
    this.#checkAlive();
    const bytes = await this.gpu.stream.read(this.storage.buffer, 0, this.byteLength);
    return typedArray(this.dtype, bytes);
  }

  /** The single element of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) {
      throw new RangeError(
        `Cannot take item() of a tensor of shape ${
          formatShape(this.shape)
        }: it has ${this.size} elements`,
      );
    }
    return (await this.toArray())[0];
  }

  /** A view with another shape of the same element count, sharing memory (no copy, no grad). */
  view(shape: Shape): Tensor<D> {
    this.#checkAlive();
    if (numel(shape) !== this.size) {
      throw new RangeError(
        `Cannot view a tensor of shape ${formatShape(this.shape)} as ${formatShape(shape)}: ` +
          `${this.size} elements vs ${numel(shape)}`,
      );
    }
    this.storage.retain();
    return new Tensor(this.storage, shape, this.dtype);
  }

  /** Marks this leaf as a parameter whose gradient `backward()` accumulates; returns it. */
  requireGrad(): this {
    this.requiresGrad = true;
    return this;
  }

  /**
   * Backpropagates from this scalar; leaves that require grad receive `grad`.
   * `gradient` seeds a non-scalar output.
   */
  backward(gradient?: Tensor<D>): void {
    runBackward(this, gradient);
  }

  #checkAlive(): void {
    if (this.#disposed) {
      throw new ReferenceError(`Cannot use a tensor after dispose(): ${this.toString()}`);
    }
  }

  /** Frees the GPU memory (shared memory stays while a view holds it). Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.storage.release();
  }

  /** Same as `dispose()`, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Shape and dtype, for logs. */
  toString(): string {
    return `Tensor(${formatShape(this.shape)}, ${this.dtype})`;
  }
}
