import assert from "@std/assert";
import { Rng } from "../../lib/data/rng.ts";
import { ShapeError } from "../../lib/errors.ts";
import { topk, topkReference } from "../../lib/eval/topk.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import { fromArray } from "../../lib/tensor/create.ts";
import { scope } from "../../lib/tensor/scope.ts";

const gpu = await getGpu();
const live = () => gpu.pool.stats().liveBytes;

async function check(rows: number, n: number, k: number, data: Float32Array, what: string) {
  const before = live();
  await scope(async () => {
    const { values, indices } = topk(fromArray(data, [rows, n]), k);
    assert.deepEqual(values.shape, [rows, k]);
    const [v, i] = await Promise.all([values.toArray(), indices.toArray()]);
    const ref = topkReference(data, n, k);
    // Selection copies values: exact equality, including the index order of ties.
    assert.deepEqual(i, ref.indices, `${what}: indices`);
    assert.deepEqual(v, ref.values, `${what}: values`);
  });
  assert.equal(live(), before, "every tensor was freed");
}

Deno.test("topk() matches the reference on odd shapes", async () => {
  const rng = new Rng(1);
  const cases: [number, number, number][] = [[1, 1, 1], [3, 7, 5], [5, 13, 13], [2, 1025, 200], [
    4,
    300,
    1,
  ], [1, 2000, 1024]];
  for (const [rows, n, k] of cases) {
    const data = Float32Array.from({ length: rows * n }, () => rng.normal() * 3);
    await check(rows, n, k, data, `[${rows}, ${n}] k=${k}`);
  }
});

Deno.test("topk() keeps the lowest indices among ties, and orders signs and zeros", async () => {
  const rng = new Rng(2);
  // Few distinct values: every row has long runs of ties straddling the k-th place.
  const data = Float32Array.from({ length: 3 * 257 }, () => rng.int(5) - 2);
  await check(3, 257, 100, data, "ties");
  const signs = new Float32Array([-1e30, 1e-30, -1e-30, 0, 5, -5, Infinity, -Infinity, 1, -1]);
  await check(1, 10, 10, signs, "signs");
});

Deno.test("topk() returns empty results for k = 0 and rejects k beyond the row", () => {
  scope(() => {
    const x = fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
    assert.deepEqual(topk(x, 0).values.shape, [2, 0]);
    assert.throws(
      () => topk(x, 4),
      (e: Error) =>
        e instanceof ShapeError && e.message.startsWith("Cannot topk a tensor of shape [2, 3]"),
    );
  });
});
