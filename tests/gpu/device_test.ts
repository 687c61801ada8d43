import assert from "@std/assert";
import { Gpu } from "../../lib/gpu/device.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import {
  DeviceLostError,
  GpuOutOfMemoryError,
  GpuUnavailableError,
  GpuValidationError,
} from "../../lib/errors.ts";
import { fromArray, zeros } from "../../lib/tensor/create.ts";
import { add } from "../../lib/ops/elementwise.ts";

await getGpu();

Deno.test("Gpu.create() without navigator.gpu explains that WebGPU is missing", async () => {
  await assert.rejects(
    () => Gpu.create({ gpu: undefined }),
    (e: Error) => e instanceof GpuUnavailableError && /navigator\.gpu is missing/.test(e.message),
  );
});

Deno.test("Gpu.create() without an adapter names the packages to install", async () => {
  const noAdapter = { requestAdapter: () => Promise.resolve(null) } as unknown as GPU;
  await assert.rejects(
    () => Gpu.create({ gpu: noAdapter }),
    (e: Error) =>
      e instanceof GpuUnavailableError &&
      e.message ===
        "Cannot find a WebGPU adapter: install mesa-vulkan-drivers (or libegl-mesa0) or run on a machine with a GPU",
  );
});

Deno.test("Gpu.create() names a limit the adapter cannot meet, with both values", async () => {
  const offered = (await getGpu()).adapter.limits.maxStorageBuffersPerShaderStage;
  await assert.rejects(
    () => Gpu.create({ requiredLimits: { maxStorageBuffersPerShaderStage: offered + 1000 } }),
    (e: Error) =>
      e instanceof GpuUnavailableError &&
      e.message.includes(`maxStorageBuffersPerShaderStage = ${offered + 1000}`) &&
      e.message.includes(`offers ${offered}`),
  );
});

Deno.test("Gpu.create() requests the adapter's real limits, not the defaults", async () => {
  const gpu = await getGpu();
  assert.equal(
    gpu.limits.maxStorageBuffersPerShaderStage,
    gpu.adapter.limits.maxStorageBuffersPerShaderStage,
  );
  assert.equal(
    gpu.limits.maxStorageBufferBindingSize,
    gpu.adapter.limits.maxStorageBufferBindingSize,
  );
  const info = gpu.describe();
  assert.ok(info.description.length > 0);
  assert.equal(
    info.limits.maxStorageBuffersPerShaderStage,
    gpu.limits.maxStorageBuffersPerShaderStage,
  );
});

Deno.test("an invalid shader surfaces as GpuValidationError naming the kernel", async () => {
  const gpu = await getGpu();
  const broken = {
    name: "test/broken",
    code: "@compute @workgroup_size(1) fn forward() { let x: u32 = 1.5; }",
  };
  gpu.kernels.get(broken, "forward");
  await assert.rejects(
    () => gpu.sync(),
    (e: Error) => e instanceof GpuValidationError && e.kernel === "test/broken.forward",
  );
  // The error is reported once; the device keeps working.
  const sum = add(fromArray([1, 2]), fromArray([3, 4]));
  assert.deepEqual([...await sum.toArray()], [4, 6]);
});

Deno.test("a destroyed device turns every later GPU call into DeviceLostError", async () => {
  const gpu = await Gpu.create();
  const t = fromArray([1, 2, 3], [3], { gpu });
  gpu.destroy();
  await new Promise((resolve) => setTimeout(resolve, 0));
  await gpu.device.lost;
  assert.ok(gpu.isLost);
  await assert.rejects(() => t.toArray(), DeviceLostError);
  assert.throws(() => add(t, t), DeviceLostError);
});

Deno.test("a tensor larger than the device allows is a GpuOutOfMemoryError suggesting a smaller batch", async () => {
  const gpu = await getGpu();
  const elements = Math.floor(gpu.limits.maxBufferSize / 4) + 1024;
  assert.throws(
    () => zeros([elements]),
    (e: Error) =>
      e instanceof GpuOutOfMemoryError && e.bytes > gpu.limits.maxBufferSize &&
      /out of memory; try a smaller --batch_size/.test(e.message),
  );
  // The failed allocation leaves the device usable.
  assert.deepEqual([...await add(fromArray([1]), fromArray([2])).toArray()], [3]);
});
