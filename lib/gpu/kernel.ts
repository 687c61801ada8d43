/**
 * Pipeline cache. A kernel is one entry point of one WGSL file, specialised by `override`
 * constants; each distinct (shader, entry point, constants) is compiled once per device.
 *
 * @module
 */
import { GpuValidationError } from "../errors.ts";
import type { Gpu } from "./device.ts";

/** A WGSL source file as generated into `shaders.gen.ts`. */
export interface ShaderSource {
  /** Path below `shaders/` without the extension, e.g. `ops/matmul`. */
  readonly name: string;
  /** The WGSL text. */
  readonly code: string;
}

/** Values for a shader's `override` declarations. */
export type OverrideConstants = Readonly<Record<string, number>>;

/** A compiled compute pipeline and the name used in errors and labels. */
export interface Kernel {
  /** `<shader name>.<entry point>`, e.g. `ops/gelu.forward`. */
  readonly label: string;
  /** The compiled pipeline. */
  readonly pipeline: GPUComputePipeline;
}

/**
 * Compiles and caches kernels for one device.
 *
 * @example
 * ```ts ignore
 * import { getGpu } from "./device.ts";
 * import { SHADERS } from "./shaders.gen.ts";
 * const gpu = await getGpu();
 * const kernel = gpu.kernels.get(SHADERS.ops.elementwise, "unary", { OP: 0 });
 * console.log(kernel.label);
 * ```
 */
export class KernelCache {
  #gpu: Gpu;
  #modules = new Map<string, GPUShaderModule>();
  #pipelines = new Map<string, Kernel>();

  /** A cache for the device of `gpu`. */
  constructor(gpu: Gpu) {
    this.#gpu = gpu;
  }

  /** The kernel for `entryPoint` of `shader` with `constants`, compiled on first use. */
  get(shader: ShaderSource, entryPoint: string, constants: OverrideConstants = {}): Kernel {
    const key = `${shader.name}|${entryPoint}|${JSON.stringify(constants)}`;
    let kernel = this.#pipelines.get(key);
    if (kernel) return kernel;
    const device = this.#gpu.device;
    let module = this.#modules.get(shader.name);
    if (!module) {
      module = device.createShaderModule({ label: shader.name, code: shader.code });
      this.#modules.set(shader.name, module);
    }
    const label = `${shader.name}.${entryPoint}`;
    device.pushErrorScope("validation");
    const pipeline = device.createComputePipeline({
      label,
      layout: "auto",
      compute: { module, entryPoint, constants: constants as Record<string, number> },
    });
    device.popErrorScope().then((error) => {
      if (error) this.#gpu.reportError(new GpuValidationError(label, error.message));
    });
    kernel = { label, pipeline };
    this.#pipelines.set(key, kernel);
    return kernel;
  }

  /** Number of compiled pipelines. */
  get size(): number {
    return this.#pipelines.size;
  }
}
