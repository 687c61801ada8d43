import assert from "@std/assert";
import { getGpu } from "../../lib/gpu/device.ts";
import { grid, Params } from "../../lib/gpu/dispatch.ts";
import { sizeClass } from "../../lib/gpu/buffer_pool.ts";
import { fromArray, zeros } from "../../lib/tensor/create.ts";
import { scale } from "../../lib/ops/elementwise.ts";
import { scope } from "../../lib/tensor/scope.ts";

const gpu = await getGpu();

Deno.test("grid() folds workgroup counts above the per-dimension limit into two dimensions", () => {
  assert.deepEqual(grid(1, 256), [1, 1]);
  assert.deepEqual(grid(256 * 65535, 256), [65535, 1]);
  const [x, y] = grid(256 * 65536, 256, 65535);
  assert.ok(x <= 65535 && x * y >= 65536);
});

Deno.test("Params packs u32, f32 and vec4 arrays with WGSL alignment", () => {
  const bytes = new Params().u32(7).f32(0.5).u32Array([1, 2, 3], 2).bytes();
  assert.equal(bytes.byteLength, 48);
  const view = new DataView(bytes);
  assert.equal(view.getUint32(0, true), 7);
  assert.equal(view.getFloat32(4, true), 0.5);
  assert.equal(view.getUint32(16, true), 1);
  assert.equal(view.getUint32(24, true), 3);
  assert.equal(view.getUint32(28, true), 0);
});

Deno.test("sizeClass() rounds up to four classes per octave", () => {
  assert.equal(sizeClass(1), 256);
  assert.equal(sizeClass(1024), 1024);
  assert.equal(sizeClass(1025), 1280);
  assert.equal(sizeClass(1793), 2048);
});

Deno.test("thousands of dispatches in one submit each keep their own uniform parameters", async () => {
  const before = gpu.stream.stats();
  const result = scope(() => {
    let x = fromArray([1]);
    for (let i = 0; i < 3000; i++) x = scale(x, 1, 1); // x + 1, three thousand times
    return x;
  });
  const after = gpu.stream.stats();
  assert.equal(await result.item(), 3001);
  assert.ok(after.dispatches - before.dispatches >= 3000);
  assert.ok(after.submits - before.submits <= 6, `${after.submits - before.submits} submits`);
  result.dispose();
});

Deno.test("the buffer pool reuses freed buffers: a repeated step creates none", () => {
  const step = () => scope(() => void scale(zeros([1000]), 2));
  step();
  const created = gpu.pool.stats().buffersCreated;
  for (let i = 0; i < 5; i++) step();
  assert.equal(gpu.pool.stats().buffersCreated, created);
});
