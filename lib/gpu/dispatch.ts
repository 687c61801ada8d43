/**
 * The command stream: the one place that encodes compute passes. Dispatches accumulate in one
 * command encoder and are submitted only on {@link CommandStream.flush}, on a readback or when an
 * upload must be ordered after them. On lavapipe a dispatch costs ~40 µs but a CPU↔GPU wait
 * ~12 ms, so a training step submits a few times and waits once.
 *
 * Uniform parameters of every dispatch live in one arena buffer, at aligned offsets, written with a
 * single `writeBuffer` before each submit: no buffer is created per dispatch.
 *
 * @module
 */
import { GpuValidationError } from "../errors.ts";
import type { Gpu } from "./device.ts";
import type { Kernel } from "./kernel.ts";

const ARENA_BYTES = 1 << 20;
const MAX_DISPATCHES_PER_SUBMIT = 2048;

/** A buffer to bind, whole or as a byte range, or a texture view. */
export type Binding =
  | GPUBuffer
  | { buffer: GPUBuffer; offset?: number; size?: number }
  | GPUTextureView;

/** One compute dispatch. */
export interface Dispatch {
  /** The compiled kernel. */
  kernel: Kernel;
  /** Resources by binding number; `undefined` for numbers the entry point does not use. */
  bindings: readonly (Binding | undefined)[];
  /** Bytes of the uniform `params` struct, bound at binding number `bindings.length`. */
  params?: ArrayBuffer;
  /** Workgroup counts; see {@link grid} for counts above the per-dimension limit. */
  workgroups: readonly [number, number?, number?];
}

/**
 * Builds the bytes of a WGSL uniform struct of scalar `u32`, `i32` and `f32` fields, in order.
 *
 * @example
 * ```ts
 * import { Params } from "./dispatch.ts";
 * const bytes = new Params().u32(4, 5).f32(0.5).bytes();
 * console.log(bytes.byteLength); // 16
 * ```
 */
export class Params {
  #view = new DataView(new ArrayBuffer(1024));
  #at = 0;

  /** Appends `u32` fields. */
  u32(...values: number[]): this {
    for (const v of values) this.#view.setUint32((this.#at += 4) - 4, v, true);
    return this;
  }

  /** Appends `i32` fields. */
  i32(...values: number[]): this {
    for (const v of values) this.#view.setInt32((this.#at += 4) - 4, v, true);
    return this;
  }

  /** Appends `f32` fields. */
  f32(...values: number[]): this {
    for (const v of values) this.#view.setFloat32((this.#at += 4) - 4, v, true);
    return this;
  }

  /** Appends a `array<vec4<u32>, n>` holding `values` padded with zeros to `4n` entries. */
  u32Array(values: readonly number[], n: number): this {
    this.#at = Math.ceil(this.#at / 16) * 16;
    for (let i = 0; i < 4 * n; i++) this.u32(values[i] ?? 0);
    return this;
  }

  /** Appends a `array<vec4<f32>, n>` holding `values` padded with zeros to `4n` entries. */
  f32Array(values: readonly number[], n: number): this {
    this.#at = Math.ceil(this.#at / 16) * 16;
    for (let i = 0; i < 4 * n; i++) this.f32(values[i] ?? 0);
    return this;
  }

  /** The struct bytes, padded to 16 bytes as WGSL requires of uniform structs. */
  bytes(): ArrayBuffer {
    return this.#view.buffer.slice(0, Math.max(16, Math.ceil(this.#at / 16) * 16));
  }
}

/**
 * Workgroup counts for `invocations` threads in groups of `perGroup`, folded into two dimensions
 * when one would pass `maxComputeWorkgroupsPerDimension`. Shaders rebuild the flat index as
 * `gid.x + gid.y * num_workgroups.x * WORKGROUP_SIZE`.
 *
 * @example
 * ```ts
 * import { grid } from "./dispatch.ts";
 * console.log(grid(1000, 256)); // [4, 1]
 * console.log(grid(256 * 70000, 256, 65535)); // [35000, 2]
 * ```
 */
export function grid(invocations: number, perGroup: number, maxPerDim = 65535): [number, number] {
  const groups = Math.max(1, Math.ceil(invocations / perGroup));
  if (groups <= maxPerDim) return [groups, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}

/**
 * Encodes dispatches and copies for one device; see the module doc.
 *
 * @example
 * ```ts ignore
 * import { getGpu } from "./device.ts";
 * const gpu = await getGpu();
 * const buffer = gpu.pool.acquire(16);
 * gpu.stream.upload(buffer, new Float32Array([1, 2, 3, 4]));
 * console.log(new Float32Array(await gpu.stream.read(buffer, 0, 16)));
 * ```
 */
export class CommandStream {
  #gpu: Gpu;
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #commands = 0;
  #arena: GPUBuffer;
  #arenaBytes = new Uint8Array(ARENA_BYTES);
  #arenaUsed = 0;
  #layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();
  #staging = new Map<number, GPUBuffer[]>();
  #dispatches = 0;
  #submits = 0;

  /** A stream on the device of `gpu`. */
  constructor(gpu: Gpu) {
    this.#gpu = gpu;
    this.#arena = gpu.device.createBuffer({
      label: "uniform arena",
      size: ARENA_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  /** Encodes one dispatch. Nothing runs until the next flush. */
  dispatch(d: Dispatch): void {
    this.#gpu.throwIfFailed();
    const entries: GPUBindGroupEntry[] = [];
    d.bindings.forEach((binding, i) => {
      if (binding === undefined) return;
      entries.push({
        binding: i,
        resource: binding instanceof GPUBuffer ? { buffer: binding } : binding,
      });
    });
    if (d.params) {
      entries.push({ binding: d.bindings.length, resource: this.#uniform(d.params) });
    }
    const pipeline = d.kernel.pipeline;
    let layout = this.#layouts.get(pipeline);
    if (!layout) this.#layouts.set(pipeline, layout = pipeline.getBindGroupLayout(0));
    const device = this.#gpu.device;
    // The scope names the kernel in the error; wgpu's own message does not mention it.
    device.pushErrorScope("validation");
    const bindGroup = device.createBindGroup({ label: d.kernel.label, layout, entries });
    device.popErrorScope().then((error) => {
      if (error) this.#gpu.reportError(new GpuValidationError(d.kernel.label, error.message));
    });
    const pass = this.#openPass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = d.workgroups;
    pass.dispatchWorkgroups(x, y, z);
    this.#dispatches++;
    if (++this.#commands >= MAX_DISPATCHES_PER_SUBMIT) this.flush();
  }

  /** Encodes a buffer-to-buffer copy (sizes and offsets multiples of 4). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.#gpu.throwIfFailed();
    this.#closePass();
    this.#encoder ??= this.#gpu.device.createCommandEncoder();
    this.#encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.#commands++;
  }

  /**
   * Encodes a copy of the first `texels` 16-byte texels of `src` into `dst`'s rows, left to right
   * (the layout of `flat_texture.ts`; `dst` is 1024 texels wide, so rows are 256-byte aligned).
   */
  copyToTexture(src: GPUBuffer, dst: GPUTexture, texels: number): void {
    this.#gpu.throwIfFailed();
    this.#closePass();
    const encoder = this.#encoder ??= this.#gpu.device.createCommandEncoder();
    const width = dst.width;
    const bytesPerRow = width * 16;
    const rows = Math.floor(texels / width);
    const rest = texels - rows * width;
    if (rows > 0) {
      encoder.copyBufferToTexture({ buffer: src, bytesPerRow }, { texture: dst }, [width, rows]);
    }
    if (rest > 0) {
      encoder.copyBufferToTexture(
        { buffer: src, offset: rows * bytesPerRow, bytesPerRow },
        { texture: dst, origin: [0, rows] },
        [rest, 1],
      );
    }
    this.#commands++;
  }

  /** Writes `data` into `buffer` after every command encoded so far. */
  upload(buffer: GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
    this.#gpu.throwIfFailed();
    // writeBuffer runs before the pending encoder is submitted: submit first so that earlier
    // readers of a recycled buffer see its old contents.
    if (this.#commands > 0) this.flush();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const padded = bytes.byteLength % 4 === 0 ? bytes : padTo4(bytes);
    this.#gpu.device.queue.writeBuffer(buffer, byteOffset, padded as Uint8Array<ArrayBuffer>);
  }

  /** Submits everything encoded so far, without waiting. */
  flush(): void {
    this.#closePass();
    if (this.#arenaUsed > 0) {
      this.#gpu.device.queue.writeBuffer(this.#arena, 0, this.#arenaBytes, 0, this.#arenaUsed);
      this.#arenaUsed = 0;
    }
    if (this.#encoder) {
      this.#gpu.device.queue.submit([this.#encoder.finish()]);
      this.#encoder = null;
      this.#submits++;
    }
    this.#commands = 0;
  }

  /** Copies `bytes` bytes from `buffer` at `byteOffset` to the CPU: flushes and waits once. */
  async read(buffer: GPUBuffer, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
    const padded = Math.ceil(bytes / 4) * 4;
    const staging = this.#acquireStaging(padded);
    this.copy(buffer, byteOffset, staging, 0, padded);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, padded);
    } catch (error) {
      this.#gpu.throwIfFailed();
      throw error;
    }
    const out = staging.getMappedRange(0, padded).slice(0, bytes);
    staging.unmap();
    this.#staging.get(staging.size)!.push(staging);
    this.#gpu.throwIfFailed();
    return out;
  }

  /** Dispatch and submit counters, for benchmarks. */
  stats(): { dispatches: number; submits: number } {
    return { dispatches: this.#dispatches, submits: this.#submits };
  }

  #uniform(params: ArrayBuffer): GPUBufferBinding {
    const align = this.#gpu.limits.minUniformBufferOffsetAlignment;
    const size = params.byteLength;
    if (this.#arenaUsed + size > ARENA_BYTES) this.flush();
    const offset = this.#arenaUsed;
    this.#arenaBytes.set(new Uint8Array(params), offset);
    this.#arenaUsed = Math.ceil((offset + size) / align) * align;
    return { buffer: this.#arena, offset, size };
  }

  #openPass(): GPUComputePassEncoder {
    if (this.#pass) return this.#pass;
    this.#encoder ??= this.#gpu.device.createCommandEncoder();
    this.#pass = this.#encoder.beginComputePass();
    return this.#pass;
  }

  #closePass(): void {
    this.#pass?.end();
    this.#pass = null;
  }

  #acquireStaging(bytes: number): GPUBuffer {
    const size = 2 ** Math.ceil(Math.log2(Math.max(bytes, 256)));
    let list = this.#staging.get(size);
    if (!list) this.#staging.set(size, list = []);
    return list.pop() ?? this.#gpu.device.createBuffer({
      label: "readback staging",
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
  }
}

function padTo4(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
  out.set(bytes);
  return out;
}
