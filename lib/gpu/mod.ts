/**
 * WebGPU runtime: device acquisition ({@link getGpu}), the pipeline cache, the buffer pool and
 * the command stream. Open `device.ts` first.
 *
 * @module
 */
export { type AdapterDescription, currentGpu, getGpu, Gpu, type GpuOptions } from "./device.ts";
export { BufferPool, type PoolStats, sizeClass } from "./buffer_pool.ts";
export { type Binding, CommandStream, type Dispatch, grid, Params } from "./dispatch.ts";
export { type Kernel, KernelCache, type OverrideConstants, type ShaderSource } from "./kernel.ts";
export { SHADERS } from "./shaders.gen.ts";
