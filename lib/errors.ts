/**
 * Error classes shared by every part of dinogpu. Each carries the data a caller needs to react
 * (the op and shapes at fault, the missing limit, the lost device) besides its message.
 *
 * @module
 */

/**
 * A tensor of the wrong shape was passed to an op. Thrown before any GPU work is encoded.
 *
 * @example
 * ```ts
 * import { ShapeError } from "./errors.ts";
 * const err = new ShapeError("matmul", [2, 3], [4, 5], "inner dimensions 3 and 4 differ");
 * console.log(err.message); // Cannot matmul tensors of shape [2, 3] and [4, 5]: inner ...
 * ```
 */
export class ShapeError extends RangeError {
  /** The op that rejected its input. */
  readonly op: string;
  /** The shape the op expected (or the first operand's shape). */
  readonly expected: readonly number[];
  /** The shape it got (or the second operand's shape). */
  readonly actual: readonly number[];

  /**
   * Builds the message `Cannot <op> tensors of shape <expected> and <actual>: <reason>`, or
   * `Cannot <op> a tensor of shape <expected>: <reason>` when `actual` is null (one operand).
   */
  constructor(
    op: string,
    expected: readonly number[],
    actual: readonly number[] | null,
    reason: string,
  ) {
    const first = `[${expected.join(", ")}]`;
    super(
      actual === null
        ? `Cannot ${op} a tensor of shape ${first}: ${reason}`
        : `Cannot ${op} tensors of shape ${first} and [${actual.join(", ")}]: ${reason}`,
    );
    this.name = "ShapeError";
    this.op = op;
    this.expected = expected;
    this.actual = actual ?? expected;
  }
}

/**
 * No usable WebGPU device: `navigator.gpu` is missing, no adapter was found, or the adapter lacks
 * a limit or feature that was asked for. The message says how to fix it.
 *
 * @example
 * ```ts
 * import { GpuUnavailableError } from "./errors.ts";
 * try {
 *   throw new GpuUnavailableError("Cannot find a WebGPU adapter");
 * } catch (e) {
 *   if (e instanceof GpuUnavailableError) console.log(e.message);
 * }
 * ```
 */
export class GpuUnavailableError extends Error {
  /** Wraps `message` in an error named `GpuUnavailableError`. */
  constructor(message: string) {
    super(message);
    this.name = "GpuUnavailableError";
  }
}

/**
 * The GPU device was lost (driver reset, `destroy()`, out of memory on some drivers). Every later
 * GPU call on that device throws this error; create a new `Gpu` to go on.
 *
 * @example
 * ```ts
 * import { DeviceLostError } from "./errors.ts";
 * const err = new DeviceLostError("destroyed", "device was lost");
 * console.log(err.reason); // "destroyed"
 * ```
 */
export class DeviceLostError extends Error {
  /** `"destroyed"` when the program destroyed the device, `"unknown"` otherwise. */
  readonly reason: string;

  /** Records the reason and the driver's message. */
  constructor(reason: string, detail: string) {
    super(`The GPU device was lost (${reason}): ${detail}`);
    this.name = "DeviceLostError";
    this.reason = reason;
  }
}

/**
 * WebGPU rejected a pipeline or a command. `kernel` names the shader entry point at fault when it
 * is known.
 *
 * @example
 * ```ts
 * import { GpuValidationError } from "./errors.ts";
 * const err = new GpuValidationError("gelu.forward", "binding 2 is missing");
 * console.log(err.message); // "Kernel gelu.forward failed GPU validation: binding 2 is missing"
 * ```
 */
export class GpuValidationError extends Error {
  /** The kernel (`<shader>.<entry point>`) at fault, or `"unknown"`. */
  readonly kernel: string;

  /** Records which kernel failed and WebGPU's message. */
  constructor(kernel: string, detail: string) {
    super(`Kernel ${kernel} failed GPU validation: ${detail}`);
    this.name = "GpuValidationError";
    this.kernel = kernel;
  }
}

/**
 * The GPU ran out of memory while allocating a buffer. The message suggests a smaller batch.
 *
 * @example
 * ```ts
 * import { GpuOutOfMemoryError } from "./errors.ts";
 * const err = new GpuOutOfMemoryError(1 << 30, "a 1 GiB buffer");
 * console.log(err.bytes); // 1073741824
 * ```
 */
export class GpuOutOfMemoryError extends RangeError {
  /** Size of the allocation that failed, in bytes. */
  readonly bytes: number;

  /** Records the failed size; `what` describes the allocation. */
  constructor(bytes: number, what: string) {
    super(
      `Cannot allocate ${what} (${bytes} bytes) on the GPU: out of memory; ` +
        `try a smaller --batch_size or fewer/smaller crops`,
    );
    this.name = "GpuOutOfMemoryError";
    this.bytes = bytes;
  }
}
