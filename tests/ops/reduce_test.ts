import assert from "@std/assert";
import { Rng } from "../../lib/data/rng.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import { mean, sum, sumOfSquares, sumTo } from "../../lib/ops/reduce.ts";
import { fromArray } from "../../lib/tensor/create.ts";
import type { HostTensor } from "../../lib/tensor/host.ts";
import { scope } from "../../lib/tensor/scope.ts";
import { assertClose, numel, randomData } from "../helpers.ts";

const gpu = await getGpu();
const live = () => gpu.pool.stats().liveBytes;

/** Index into the kept shape (size 1 at every reduced dim) of flat index `i` of `shape`. */
function keptIndex(i: number, shape: number[], kept: number[], dims: number[]): number {
  let rest = i;
  let o = 0;
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const c = rest % shape[d];
    rest = Math.floor(rest / shape[d]);
    if (!dims.includes(d)) o += c * stride;
    stride *= kept[d];
  }
  return o;
}

/** Sum over `dims` with plain loops; the kept shape has size 1 at every reduced dim. */
function sumLoops(data: ArrayLike<number>, shape: number[], dims: number[]): Float64Array {
  const kept = shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const out = new Float64Array(numel(kept));
  for (let i = 0; i < data.length; i++) out[keptIndex(i, shape, kept, dims)] += data[i];
  return out;
}

/** Expands `g` (the kept shape) back over `shape`: the gradient of a sum. */
function expandLoops(g: ArrayLike<number>, shape: number[], dims: number[]): Float64Array {
  const kept = shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const out = new Float64Array(numel(shape));
  for (let i = 0; i < out.length; i++) out[i] = g[keptIndex(i, shape, kept, dims)];
  return out;
}

const allDims = (rank: number) => Array.from({ length: rank }, (_, i) => i);

Deno.test("sum.reference gradient by finite differences is the broadcast of the output gradient", () => {
  // L = Σ R ⊙ sum(x, dims): dL/dx[i] = R[kept(i)]. Float64, h = 1e-3 (L is linear in x, so the
  // central difference is exact up to round-off ~1e-13).
  const rng = new Rng(1);
  const shape = [3, 4, 5];
  for (const dims of [[0], [1], [2], [0, 2], [0, 1, 2]]) {
    const x: HostTensor = { shape, data: Float64Array.from(randomData(rng, numel(shape))) };
    const out = sum.reference.forward(x, dims);
    assertClose(out, sumLoops(x.data, shape, dims), 1e-12, `reference [${dims}]`);
    const r = randomData(rng, out.length);
    const loss = () => sum.reference.forward(x, dims).reduce((s, v, i) => s + v * r[i], 0);
    const expected = expandLoops(r, shape, dims);
    for (let i = 0; i < x.data.length; i++) {
      const keep = x.data[i];
      x.data[i] = keep + 1e-3;
      const up = loss();
      x.data[i] = keep - 1e-3;
      const down = loss();
      x.data[i] = keep;
      assert.ok(Math.abs((up - down) / 2e-3 - expected[i]) < 1e-9, `dims [${dims}] x[${i}]`);
    }
  }
});

Deno.test("sum() and mean() over dims, with and without keepdim, forward and backward", async () => {
  // f32 sums of ≤ 17527 N(0,1) terms: error ~√n·6e-8·|sum| ≪ 1e-4 · max(1, max|ref|). Rows of
  // ≥ 8192 values in fewer than 64 rows take the two-pass path (sum_partials, or its vec4 entry
  // point when the row is whole vec4s, then the parts);
  // adjacent reduced dims are merged into one. Columns (inner % 4 = 0) are summed four per thread,
  // in parts of the rows first when there are fewer than 2048 such threads.
  const rng = new Rng(2);
  const cases: [number[], number | number[] | undefined][] = [
    [[7], undefined],
    [[7], 0],
    [[3, 5], 1],
    [[3, 5], -2],
    [[2, 3, 5], [0, 2]],
    [[2, 3, 5], [-1, 0, 1]],
    [[4, 1, 3], 1],
    [[1031, 3], 0],
    [[3, 1031], -1],
    [[2, 70, 3], 1],
    [[3, 9001], -1],
    [[17, 1031], undefined],
    [[4, 4100], undefined],
    [[2, 5, 1031], [1, 2]],
    [[5, 3, 7], [0, 1]],
    [[1031, 8], 0],
    [[2, 70, 12], 1],
    [[3, 5, 2800], 1],
    [[], undefined],
  ];
  const before = live();
  for (const [shape, dim] of cases) {
    const rank = shape.length;
    const dims = dim === undefined
      ? allDims(rank)
      : (typeof dim === "number" ? [dim] : dim).map((d) => (d < 0 ? d + rank : d));
    const xData = randomData(rng, numel(shape));
    const ref = sumLoops(xData, shape, dims);
    const count = numel(dims.map((d) => shape[d]));
    for (const keepdim of [false, true]) {
      const outShape = keepdim
        ? shape.map((d, i) => (dims.includes(i) ? 1 : d))
        : shape.filter((_, i) => !dims.includes(i));
      const gData = randomData(rng, numel(outShape));
      await scope(async () => {
        for (const op of [sum, mean] as const) {
          const x = fromArray(xData, shape).requireGrad();
          const y = op(x, dim, keepdim);
          const label = `${op.opName}([${shape}], ${JSON.stringify(dim)}, keepdim=${keepdim})`;
          assert.deepEqual(y.shape, outShape, `${label} shape`);
          y.backward(fromArray(gData, outShape));
          const factor = op === mean ? 1 / count : 1;
          assertClose(await y.toArray(), ref.map((v) => v * factor), 1e-4, `${label} y`);
          const dx = expandLoops(gData, shape, dims).map((v) => v * factor);
          assertClose(await x.grad!.toArray(), dx, 1e-6, `${label} dx`);
          x.grad!.dispose();
        }
      });
    }
  }
  assert.equal(live(), before, "every tensor was freed");
});

Deno.test("sum() over rows folds grids past 65535 workgroups (70001 rows)", async () => {
  // On GPUs sum_rows runs one workgroup per row: 70001 rows need grid()'s 2-D fold; CPU
  // adapters sum each row in one thread (sum_partials_vec4). Rows of 64 N(0,1) values sum in f32
  // with error ~1e-6.
  const rng = new Rng(3);
  const [rows, cols] = [70001, 64];
  const xData = randomData(rng, rows * cols);
  const ref = sumLoops(xData, [rows, cols], [1]);
  await scope(async () => {
    const x = fromArray(xData, [rows, cols]).requireGrad();
    const y = mean(x, -1);
    assertClose(await y.toArray(), ref.map((v) => v / cols), 1e-5, "mean over 64 of 70001 rows");
    y.backward(fromArray(Float32Array.from({ length: rows }, (_, i) => i % 7), [rows]));
    const dx = await x.grad!.toArray();
    for (const r of [0, 1, 65535, 65536, 70000]) {
      assert.ok(Math.abs(dx[r * cols + 5] - (r % 7) / cols) < 1e-7, `dx row ${r}`);
    }
    x.grad!.dispose();
  });
});

Deno.test("sumTo() undoes broadcasting, forward and backward", async () => {
  // Sums of ≤ 70001 f32 terms: error ~√n·6e-8·|sum|, inside 1e-4 · max(1, max|ref|).
  const rng = new Rng(4);
  const cases: [number[], number[]][] = [
    [[4, 2, 3], [2, 3]],
    [[4, 2, 3], [4, 1, 3]],
    [[4, 2, 3], [1, 1, 1]],
    [[4, 2, 3], [3]],
    [[4, 2, 3], []],
    [[5, 7], [5, 7]],
    [[70001, 1], [1]],
    [[70001, 4], [4]],
  ];
  for (const [from, to] of cases) {
    const offset = from.length - to.length;
    const dims = from.map((_, i) => i).filter((i) =>
      i < offset || (to[i - offset] === 1 && from[i] !== 1)
    );
    const xData = randomData(rng, numel(from));
    const gData = randomData(rng, numel(to));
    const ref = sumLoops(xData, from, dims);
    await scope(async () => {
      const x = fromArray(xData, from).requireGrad();
      const y = sumTo(x, to);
      assert.deepEqual(y.shape, to);
      y.backward(fromArray(gData, to));
      const label = `sumTo([${from}] → [${to}])`;
      assertClose(await y.toArray(), ref, 1e-4, `${label} y`);
      assertClose(await x.grad!.toArray(), expandLoops(gData, from, dims), 1e-6, `${label} dx`);
      x.grad!.dispose();
    });
  }
  scope(() => {
    assert.throws(
      () => sumTo(fromArray(new Float32Array(6), [2, 3]), [2]),
      /Cannot sum a tensor of shape \[2, 3\] to \[2\]/,
    );
  });
});

Deno.test("sumOfSquares() is Σx² over every element, including 70001 of them", async () => {
  // One f32 sum of 70001 squares: error ~√n·6e-8 relative.
  const rng = new Rng(5);
  await scope(async () => {
    for (const shape of [[1], [7, 13], [70001], [3, 3000]]) {
      const xData = randomData(rng, numel(shape), 3);
      const ref = xData.reduce((s, v) => s + v * v, 0);
      const y = sumOfSquares(fromArray(xData, shape));
      assert.deepEqual(y.shape, []);
      const got = await y.item();
      assert.ok(Math.abs(got - ref) <= 1e-5 * ref, `sumOfSquares([${shape}]): ${got} vs ${ref}`);
    }
  });
});

Deno.test("sum() rejects dims outside the tensor", () => {
  scope(() => {
    const x = fromArray(new Float32Array(6), [2, 3]);
    assert.throws(() => sum(x, 2), /Cannot sum over dim 2: the tensor has 2 dimensions/);
    assert.throws(() => mean(x, -3), /Cannot mean over dim -3/);
  });
});
