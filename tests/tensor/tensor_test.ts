import assert from "@std/assert";
import { getGpu } from "../../lib/gpu/device.ts";
import {
  fromArray,
  full,
  manualSeed,
  ones,
  rand,
  randn,
  truncNormal,
  zeros,
} from "../../lib/tensor/create.ts";
import { keep, scope } from "../../lib/tensor/scope.ts";
import { add } from "../../lib/ops/elementwise.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";

const gpu = await getGpu();
const live = () => gpu.pool.stats().liveBytes;

Deno.test("zeros(), ones() and full() fill every element, for each dtype", async () => {
  assert.deepEqual([...await zeros([2, 3]).toArray()], [0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...await ones([3], { dtype: "i32" }).toArray()], [1, 1, 1]);
  assert.deepEqual([...await full([2], 4294967295, { dtype: "u32" }).toArray()], [
    4294967295,
    4294967295,
  ]);
  assert.deepEqual([...await full([5], -2.5).toArray()], [-2.5, -2.5, -2.5, -2.5, -2.5]);
  const big = await full([70000], 3).toArray();
  assert.ok(big.every((v) => v === 3));
});

Deno.test("f16 tensors round-trip where the adapter has shader-f16", {
  ignore: !gpu.hasF16,
}, async () => {
  const t = fromArray([1.5, -2, 65504], [3], { dtype: "f16" });
  const back = await t.toArray();
  assert.ok(back instanceof Float16Array);
  assert.deepEqual([...back], [1.5, -2, 65504]);
  assert.deepEqual([...await full([3], 0.25, { dtype: "f16" }).toArray()], [0.25, 0.25, 0.25]);
});

Deno.test("fromArray() keeps the dtype in the type and checks the element count", async () => {
  const t = fromArray([1, 2, 3, 4, 5, 6], [2, 3], { dtype: "i32" });
  const data: Int32Array = await t.toArray();
  assert.deepEqual([...data], [1, 2, 3, 4, 5, 6]);
  assert.throws(
    () => fromArray([1, 2, 3], [2, 2]),
    /Cannot create a tensor of shape \[2, 2\] from 3 values: expected 4/,
  );
  assert.throws(() => zeros([2, -1]), /sizes must be non-negative integers/);
});

Deno.test("rand(), randn() and truncNormal() repeat with the same seed and differ with another", async () => {
  const a = await randn([64], { seed: 7 }).toArray();
  const b = await randn([64], { seed: 7 }).toArray();
  const c = await randn([64], { seed: 8 }).toArray();
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  manualSeed(3);
  const g1 = await rand([16]).toArray();
  manualSeed(3);
  assert.deepEqual(await rand([16]).toArray(), g1);
});

Deno.test("randn() has the requested mean and std; truncNormal() stays inside its bounds", async () => {
  const n = 20000;
  const x = await randn([n], { seed: 1, mean: 2, std: 3 }).toArray();
  const mean = x.reduce((s, v) => s + v, 0) / n;
  const std = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
  // 4 standard errors: mean ± 4·3/√n, std ± 4·3/√(2n)
  assert.ok(Math.abs(mean - 2) < 4 * 3 / Math.sqrt(n), `mean ${mean}`);
  assert.ok(Math.abs(std - 3) < 4 * 3 / Math.sqrt(2 * n), `std ${std}`);
  const t = await truncNormal([n], { seed: 2, std: 1, a: -0.5, b: 0.5 }).toArray();
  assert.ok(t.every((v) => v >= -0.5 && v <= 0.5));
  const u = await rand([n], { seed: 3, low: -1, high: 1 }).toArray();
  assert.ok(u.every((v) => v >= -1 && v < 1));
});

Deno.test("view() shares memory without a copy; dispose() frees only with the last view", async () => {
  const before = live();
  const t = fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
  const v = t.view([3, 2]);
  assert.deepEqual(v.shape, [3, 2]);
  assert.equal(v.storage, t.storage);
  t.dispose();
  assert.deepEqual([...await v.toArray()], [1, 2, 3, 4, 5, 6]);
  v.dispose();
  assert.equal(live(), before);
  assert.throws(() => t.view([6]), /Cannot use a tensor after dispose/);
  assert.throws(() => fromArray([1, 2]).view([3]), /Cannot view a tensor of shape \[2\] as \[3\]/);
});

Deno.test("using frees a tensor at the end of its block", () => {
  const before = live();
  {
    using _t = zeros([1024]);
    assert.ok(live() > before);
  }
  assert.equal(live(), before);
});

Deno.test("scope() frees every intermediate, keeps the result and kept tensors", async () => {
  const before = live();
  let kept: Tensor | null = null;
  const result = scope(() => {
    const a = ones([100]);
    const b = add(a, a);
    kept = keep(add(b, a));
    return add(b, b);
  });
  assert.deepEqual([...(await result.toArray()).slice(0, 2)], [4, 4]);
  assert.equal((await kept!.toArray())[0], 3);
  result.dispose();
  kept!.dispose();
  assert.equal(live(), before);
});

Deno.test("scope() frees intermediates when its function throws, and awaits async functions", async () => {
  const before = live();
  assert.throws(() =>
    scope(() => {
      ones([10]);
      throw new Error("boom");
    }), /boom/);
  assert.equal(live(), before);
  const out = await scope(async () => {
    const a = ones([4]);
    await a.toArray();
    return add(a, a);
  });
  assert.deepEqual([...await out.toArray()], [2, 2, 2, 2]);
  out.dispose();
  assert.equal(live(), before);
});
