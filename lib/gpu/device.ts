/**
 * Device acquisition: one `Gpu` per WebGPU device, holding the buffer pool, the pipeline cache and
 * the command stream. Most code uses the process-wide default from {@link getGpu}.
 *
 * @module
 */
import { DeviceLostError, GpuUnavailableError, GpuValidationError } from "../errors.ts";
import { BufferPool } from "./buffer_pool.ts";
import { CommandStream } from "./dispatch.ts";
import { KernelCache } from "./kernel.ts";

/** Options of {@link Gpu.create}. */
export interface GpuOptions {
  /** The WebGPU entry point; defaults to `navigator.gpu`. Tests pass stand-ins. */
  gpu?: GPU | undefined;
  /** Limits the device must have beyond the adapter's maxima (which are always requested). */
  requiredLimits?: Record<string, number>;
  /** Features the device must have; `shader-f16` is added whenever the adapter offers it. */
  requiredFeatures?: GPUFeatureName[];
  /** Power preference passed to `requestAdapter`. */
  powerPreference?: GPUPowerPreference;
}

/** The adapter limits dinogpu asks for at their maximum (a default device gets far less). */
const MAXIMISED_LIMITS = [
  "maxStorageBuffersPerShaderStage",
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxUniformBufferBindingSize",
  "maxBindGroups",
  "maxTextureDimension2D",
] as const;

/** Plain description of the adapter, from {@link Gpu.describe}. */
export interface AdapterDescription {
  /** Adapter name as the driver reports it, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`. */
  description: string;
  /** Vendor id or name. */
  vendor: string;
  /** Architecture string, often empty. */
  architecture: string;
  /** True for software adapters such as llvmpipe. */
  isFallbackAdapter: boolean;
  /** Features the device was created with. */
  features: string[];
  /** The device limits dinogpu relies on. */
  limits: Record<string, number>;
}

/**
 * One WebGPU device with everything dinogpu keeps per device.
 *
 * @example
 * ```ts ignore
 * import { Gpu } from "./device.ts";
 * const gpu = await Gpu.create();
 * console.log(gpu.describe().description);
 * gpu.destroy();
 * ```
 */
export class Gpu {
  /** The WebGPU device. */
  readonly device: GPUDevice;
  /** The adapter the device came from. */
  readonly adapter: GPUAdapter;
  /** Size-class pool that every tensor buffer comes from. */
  readonly pool: BufferPool;
  /** Compiled pipelines keyed by shader, entry point and override constants. */
  readonly kernels: KernelCache;
  /** The one command stream: dispatches, uploads, flushes and readbacks. */
  readonly stream: CommandStream;
  /** True when the device has `shader-f16`. */
  readonly hasF16: boolean;
  /** A 16-byte buffer to bind where a kernel declares an optional input that is absent. */
  readonly placeholder: GPUBuffer;
  #lost: DeviceLostError | null = null;
  #errors: Error[] = [];

  private constructor(adapter: GPUAdapter, device: GPUDevice) {
    this.adapter = adapter;
    this.device = device;
    this.hasF16 = device.features.has("shader-f16");
    this.placeholder = device.createBuffer({
      label: "placeholder",
      size: 16,
      usage: GPUBufferUsage.STORAGE,
    });
    this.pool = new BufferPool(this);
    this.kernels = new KernelCache(this);
    this.stream = new CommandStream(this);
    device.lost.then((info) => {
      this.#lost = new DeviceLostError(info.reason ?? "unknown", info.message);
    });
    device.addEventListener("uncapturederror", (event) => {
      event.preventDefault();
      const error = (event as GPUUncapturedErrorEvent).error;
      const label = /'([\w.\-]+)' label/.exec(error.message)?.[1] ?? "unknown";
      this.#errors.push(new GpuValidationError(label, error.message));
    });
  }

  /**
   * Requests an adapter and a device with the adapter's real limits (storage buffers per stage,
   * binding sizes, workgroup sizes) and `shader-f16` where offered.
   *
   * @throws {GpuUnavailableError} without `navigator.gpu`, without an adapter, or when a required
   *   limit or feature is missing; the message names it and the fix.
   */
  static async create(options: GpuOptions = {}): Promise<Gpu> {
    const entry = "gpu" in options ? options.gpu : globalThis.navigator?.gpu;
    if (!entry) {
      throw new GpuUnavailableError(
        "Cannot use WebGPU: navigator.gpu is missing; run with Deno 2 or later " +
          "(WebGPU is built in) or in a browser that supports WebGPU",
      );
    }
    const adapter = await entry.requestAdapter({ powerPreference: options.powerPreference });
    if (!adapter) {
      throw new GpuUnavailableError(
        "Cannot find a WebGPU adapter: install mesa-vulkan-drivers (or libegl-mesa0) " +
          "or run on a machine with a GPU",
      );
    }
    const requiredLimits: Record<string, number> = {};
    for (const name of MAXIMISED_LIMITS) {
      requiredLimits[name] = (adapter.limits as unknown as Record<string, number>)[name];
    }
    for (const [name, value] of Object.entries(options.requiredLimits ?? {})) {
      const offered = (adapter.limits as unknown as Record<string, number>)[name];
      if (offered === undefined) {
        throw new GpuUnavailableError(`Cannot request limit ${name}: the adapter does not know it`);
      }
      const isMinimum = name.startsWith("min");
      if (isMinimum ? offered > value : offered < value) {
        throw new GpuUnavailableError(
          `Cannot create a GPU device with ${name} = ${value}: the adapter ` +
            `(${adapter.info.description || "unnamed"}) offers ${offered}`,
        );
      }
      requiredLimits[name] = isMinimum ? offered : Math.max(value, requiredLimits[name] ?? 0);
    }
    const features = new Set<GPUFeatureName>(options.requiredFeatures ?? []);
    for (const feature of features) {
      if (!adapter.features.has(feature)) {
        throw new GpuUnavailableError(
          `Cannot create a GPU device with feature ${feature}: the adapter ` +
            `(${adapter.info.description || "unnamed"}) does not offer it`,
        );
      }
    }
    if (adapter.features.has("shader-f16")) features.add("shader-f16");
    const device = await adapter.requestDevice({
      requiredLimits,
      requiredFeatures: [...features],
    });
    return new Gpu(adapter, device);
  }

  /** The device limits, with the values the device really has. */
  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** Adapter name, features and the limits that matter, for logs and benchmark reports. */
  describe(): AdapterDescription {
    const limits: Record<string, number> = {};
    for (const name of MAXIMISED_LIMITS) {
      limits[name] = (this.device.limits as unknown as Record<string, number>)[name];
    }
    const info = this.adapter.info;
    return {
      description: info.description,
      vendor: info.vendor,
      architecture: info.architecture,
      isFallbackAdapter: info.isFallbackAdapter ?? false,
      features: [...this.device.features].sort(),
      limits,
    };
  }

  /** Throws the first pending device loss or validation error; called at every sync point. */
  throwIfFailed(): void {
    if (this.#lost) throw this.#lost;
    const error = this.#errors.shift();
    if (error) {
      this.#errors.length = 0;
      throw error;
    }
  }

  /** Records an error found by an error scope (pipeline or buffer creation) for the next sync point. */
  reportError(error: Error): void {
    this.#errors.push(error);
  }

  /** True once the device is lost. */
  get isLost(): boolean {
    return this.#lost !== null;
  }

  /** Waits until every submitted command has run, then throws any GPU error it caused. */
  async sync(): Promise<void> {
    this.throwIfFailed();
    this.stream.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.throwIfFailed();
  }

  /** Destroys the device; later calls on it throw {@link DeviceLostError}. */
  destroy(): void {
    this.pool.clear();
    this.device.destroy();
  }
}

let defaultGpu: Promise<Gpu> | null = null;
let defaultGpuResolved: Gpu | null = null;

/**
 * The process-wide default device, created on first call.
 *
 * @example
 * ```ts ignore
 * import { getGpu } from "./device.ts";
 * const gpu = await getGpu();
 * console.log(gpu.describe().description);
 * ```
 */
export function getGpu(): Promise<Gpu> {
  if (defaultGpuResolved?.isLost) {
    defaultGpu = null;
    defaultGpuResolved = null;
  }
  if (!defaultGpu) {
    defaultGpu = Gpu.create().then((gpu) => (defaultGpuResolved = gpu));
    // A failed creation is retried by the next call.
    defaultGpu.catch(() => (defaultGpu = null));
  }
  return defaultGpu;
}

/**
 * The default device when it already exists (synchronous ops need it); throws otherwise.
 *
 * @example
 * ```ts ignore
 * import { getGpu, currentGpu } from "./device.ts";
 * await getGpu();
 * console.log(currentGpu().describe().description);
 * ```
 */
export function currentGpu(): Gpu {
  if (!defaultGpuResolved) {
    throw new GpuUnavailableError(
      "Cannot create a tensor before the GPU is ready: call `await getGpu()` (or `await init()`) first",
    );
  }
  return defaultGpuResolved;
}
