/**
 * Flat texture copies of storage buffers, for kernels that read faster from a texture: the
 * buffer's floats as an `rgba32float` texture {@link FLAT_TEXTURE_WIDTH} texels wide, texel j
 * (floats 4j … 4j + 3) at column j mod width, row ⌊j / width⌋. Mesa 22.3's lavapipe loads a
 * read-only storage texel for its 8 SIMD lanes at once where a storage-buffer load loops over the
 * lanes: matmul's `texture` variant runs 2.5–3× faster than the same kernel on the buffers there.
 *
 * Textures are kept per device, one per slot and power-of-two row count, and reused: the command
 * stream orders each copy after the dispatches that read the slot's previous contents.
 *
 * @module
 */
import type { Gpu } from "./device.ts";

/** Texels per row of a flat texture (`TEXTURE_WIDTH` in the WGSL that reads them). */
export const FLAT_TEXTURE_WIDTH = 1024;

type Slots = Map<string, { texture: GPUTexture; view: GPUTextureView }>;

const slotsByGpu = new WeakMap<Gpu, Slots>();

function rowsFor(floats: number): number {
  return Math.max(1, Math.ceil(floats / (4 * FLAT_TEXTURE_WIDTH)));
}

/**
 * True when `floats` floats fit one flat texture on `gpu` (rows ≤ `maxTextureDimension2D`: 64 Mi
 * floats at lavapipe's 16384).
 *
 * @example
 * ```ts ignore
 * import { fitsFlatTexture } from "./flat_texture.ts";
 * console.log(fitsFlatTexture(gpu, 6304 * 192)); // true
 * ```
 */
export function fitsFlatTexture(gpu: Gpu, floats: number): boolean {
  return rowsFor(floats) <= gpu.limits.maxTextureDimension2D;
}

/**
 * Encodes a copy of the first `floats` floats of `buffer` into the flat texture of `slot` and
 * returns the view to bind. `buffer` must hold ⌈floats / 4⌉ whole texels (tensor pool buffers do).
 *
 * @throws {RangeError} when the floats do not fit (check {@link fitsFlatTexture} first).
 * @example
 * ```ts ignore
 * import { flatTexture } from "./flat_texture.ts";
 * const view = flatTexture(gpu, 0, a.storage.buffer, a.size); // bind as texture_storage_2d<rgba32float, read>
 * ```
 */
export function flatTexture(
  gpu: Gpu,
  slot: number,
  buffer: GPUBuffer,
  floats: number,
): GPUTextureView {
  if (!fitsFlatTexture(gpu, floats)) {
    throw new RangeError(
      `Cannot copy ${floats} floats into a flat texture: it needs ${rowsFor(floats)} rows and ` +
        `the device allows ${gpu.limits.maxTextureDimension2D}`,
    );
  }
  const rows = Math.min(
    2 ** Math.ceil(Math.log2(rowsFor(floats))),
    gpu.limits.maxTextureDimension2D,
  );
  let slots = slotsByGpu.get(gpu);
  if (!slots) slotsByGpu.set(gpu, slots = new Map());
  const key = `${slot}:${rows}`;
  let entry = slots.get(key);
  if (!entry) {
    const texture = gpu.device.createTexture({
      label: `flat texture ${key}`,
      size: [FLAT_TEXTURE_WIDTH, rows],
      format: "rgba32float",
      usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
    });
    slots.set(key, entry = { texture, view: texture.createView() });
  }
  gpu.stream.copyToTexture(buffer, entry.texture, Math.ceil(floats / 4));
  return entry.view;
}
