import assert from "@std/assert";
import { Rng } from "../../lib/data/rng.ts";
import { ShapeError } from "../../lib/errors.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import { mul } from "../../lib/ops/elementwise.ts";
import {
  chunk,
  concat,
  expand,
  permute,
  reshape,
  slice,
  transpose,
} from "../../lib/ops/movement.ts";
import { sum } from "../../lib/ops/reduce.ts";
import { fromArray } from "../../lib/tensor/create.ts";
import { maxAbsDiff } from "../../lib/tensor/host.ts";
import { scope } from "../../lib/tensor/scope.ts";

const gpu = await getGpu();
const live = () => gpu.pool.stats().liveBytes;
const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function randomData(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** Movement ops copy values: results must be bit-exact. */
function assertExact(got: ArrayLike<number>, ref: ArrayLike<number>, what: string) {
  assert.equal(got.length, ref.length, `${what}: length`);
  const err = maxAbsDiff(got, ref);
  assert.equal(err, 0, `${what}: max abs err ${err}`);
}

function coordOf(i: number, shape: readonly number[]): number[] {
  const coord = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    coord[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return coord;
}

function indexOf(coord: readonly number[], shape: readonly number[]): number {
  return coord.reduce((index, c, d) => index * shape[d] + c, 0);
}

/** out[coord] = x[coord permuted back]: out.shape[i] = shape[dims[i]]. */
function permuteLoops(x: ArrayLike<number>, shape: number[], dims: number[]): Float32Array {
  const outShape = dims.map((d) => shape[d]);
  const out = new Float32Array(x.length);
  for (let i = 0; i < out.length; i++) {
    const oc = coordOf(i, outShape);
    const ic = new Array<number>(shape.length);
    dims.forEach((d, j) => (ic[d] = oc[j]));
    out[i] = x[indexOf(ic, shape)];
  }
  return out;
}

Deno.test("reshape() infers -1, shares memory and passes gradients back in the old shape", async () => {
  await scope(async () => {
    const data = Float32Array.from({ length: 24 }, (_, i) => i);
    const x = fromArray(data, [2, 3, 4]).requireGrad();
    const y = reshape(x, [4, -1]);
    assert.deepEqual(y.shape, [4, 6]);
    assertExact(await y.toArray(), data, "values");
    y.backward(fromArray(data, [4, 6]));
    assert.deepEqual(x.grad!.shape, [2, 3, 4]);
    assertExact(await x.grad!.toArray(), data, "dx");
    x.grad!.dispose();
    assert.throws(() => reshape(x, [5, -1]), ShapeError);
    assert.throws(() => reshape(x, [-1, -1]), ShapeError);
  });
});

Deno.test("expand() broadcasts [4,1,3] and [3] up, times alpha; backward sums back", async () => {
  // Sums of ≤ 6 f32 values in the backward: error ≤ 1e-6.
  const rng = new Rng(1);
  const cases: [number[], number[], number][] = [
    [[4, 1, 3], [4, 2, 3], 1],
    [[3], [2, 5, 3], -2],
    [[1, 1], [7, 13], 0.5],
    [[1], [70001], 1],
  ];
  for (const [from, to, alpha] of cases) {
    const xData = randomData(rng, numel(from));
    const gData = randomData(rng, numel(to));
    const ref = new Float32Array(numel(to));
    const dx = new Float64Array(xData.length);
    const offset = to.length - from.length;
    for (let i = 0; i < ref.length; i++) {
      const c = coordOf(i, to).slice(offset).map((v, d) => (from[d] === 1 ? 0 : v));
      ref[i] = Math.fround(alpha * xData[indexOf(c, from)]);
      dx[indexOf(c, from)] += alpha * gData[i];
    }
    await scope(async () => {
      const x = fromArray(xData, from).requireGrad();
      const y = expand(x, to, alpha);
      assert.deepEqual(y.shape, to);
      y.backward(fromArray(gData, to));
      const label = `expand([${from}] → [${to}], ${alpha})`;
      assertExact(await y.toArray(), ref, `${label} y`);
      const got = await x.grad!.toArray();
      assert.ok(maxAbsDiff(got, dx) <= 1e-6 * Math.max(1, Math.sqrt(numel(to))), `${label} dx`);
      x.grad!.dispose();
    });
  }
  scope(() => {
    assert.throws(() => expand(fromArray([1, 2]), [3, 4]), ShapeError);
    assert.throws(() => expand(fromArray([1, 2, 3, 4], [2, 2]), [2]), ShapeError);
  });
});

Deno.test("permute() and transpose() forward and backward on odd shapes, ≥ 70000 elements too", async () => {
  const rng = new Rng(2);
  const cases: [number[], number[]][] = [
    [[7], [0]],
    [[3, 5], [1, 0]],
    [[2, 3, 5], [2, 0, 1]],
    [[2, 3, 5, 7], [0, 2, 1, 3]],
    [[2, 3, 5, 7], [3, 2, 1, 0]],
    [[7, 10001], [1, 0]],
    // Last two dims swapped, multiples of 4: the 4×4-block kernel (transpose.wgsl).
    [[8, 12], [1, 0]],
    [[3, 4, 8], [0, 2, 1]],
    [[2, 3, 16, 4], [0, 1, 3, 2]],
    [[3, 8, 3004], [0, 2, 1]],
  ];
  const before = live();
  for (const [shape, dims] of cases) {
    const xData = randomData(rng, numel(shape));
    const outShape = dims.map((d) => shape[d]);
    const gData = randomData(rng, numel(outShape));
    const inverse = dims.map((_, i) => dims.indexOf(i));
    await scope(async () => {
      const x = fromArray(xData, shape).requireGrad();
      const y = permute(x, dims);
      assert.deepEqual(y.shape, outShape);
      y.backward(fromArray(gData, outShape));
      const label = `permute([${shape}], [${dims}])`;
      assertExact(await y.toArray(), permuteLoops(xData, shape, dims), `${label} y`);
      assertExact(await x.grad!.toArray(), permuteLoops(gData, outShape, inverse), `${label} dx`);
      x.grad!.dispose();
    });
  }
  await scope(async () => {
    const xData = randomData(rng, 2 * 3 * 4);
    const t = transpose(fromArray(xData, [2, 3, 4]), -1, 0);
    assert.deepEqual(t.shape, [4, 3, 2]);
    assertExact(await t.toArray(), permuteLoops(xData, [2, 3, 4], [2, 1, 0]), "transpose(-1, 0)");
    assert.throws(() => permute(t, [0, 0, 1]), ShapeError);
    assert.throws(() => permute(t, [0, 1]), ShapeError);
  });
  assert.equal(live(), before, "every tensor was freed");
});

Deno.test("slice(), concat() and chunk() forward and backward", async () => {
  const rng = new Rng(3);
  const before = live();
  await scope(async () => {
    // slice: [2, 7, 3] → dim 1 [2, 5); its gradient is zero outside the slice.
    const shape = [2, 7, 3];
    const xData = randomData(rng, numel(shape));
    const x = fromArray(xData, shape).requireGrad();
    const y = slice(x, 1, 2, 5);
    assert.deepEqual(y.shape, [2, 3, 3]);
    const gData = randomData(rng, 18);
    y.backward(fromArray(gData, [2, 3, 3]));
    const ref = new Float32Array(18);
    const dx = new Float32Array(xData.length);
    for (let i = 0; i < 18; i++) {
      const [a, b, c] = coordOf(i, [2, 3, 3]);
      ref[i] = xData[indexOf([a, b + 2, c], shape)];
      dx[indexOf([a, b + 2, c], shape)] = gData[i];
    }
    assertExact(await y.toArray(), ref, "slice y");
    assertExact(await x.grad!.toArray(), dx, "slice dx");
    x.grad!.dispose();

    // concat along the middle dim of three odd pieces; each gets its slice of the gradient.
    const sizes = [1, 4, 2];
    const parts = sizes.map((s) => randomData(rng, 3 * s * 5));
    const xs = parts.map((p, i) => fromArray(p, [3, sizes[i], 5]).requireGrad());
    const cat = concat(xs, 1);
    assert.deepEqual(cat.shape, [3, 7, 5]);
    const gc = randomData(rng, 3 * 7 * 5);
    cat.backward(fromArray(gc, [3, 7, 5]));
    const catRef = new Float32Array(105);
    const grads = sizes.map((s) => new Float32Array(3 * s * 5));
    let start = 0;
    sizes.forEach((s, p) => {
      for (let i = 0; i < 3 * s * 5; i++) {
        const [a, b, c] = coordOf(i, [3, s, 5]);
        catRef[indexOf([a, b + start, c], [3, 7, 5])] = parts[p][i];
        grads[p][i] = gc[indexOf([a, b + start, c], [3, 7, 5])];
      }
      start += s;
    });
    assertExact(await cat.toArray(), catRef, "concat y");
    for (const [p, t] of xs.entries()) {
      assertExact(await t.grad!.toArray(), grads[p], `concat d${p}`);
      t.grad!.dispose();
    }

    // chunk into 3 along the last dim, like qkv.
    const qkvData = randomData(rng, 2 * 9);
    const qkv = fromArray(qkvData, [2, 9]).requireGrad();
    const [q, k, v] = chunk(qkv, 3, -1);
    assertExact(await k.toArray(), [
      qkvData[3],
      qkvData[4],
      qkvData[5],
      qkvData[12],
      qkvData[13],
      qkvData[14],
    ], "chunk k");
    sum(mul(q, v)).backward();
    const dqkv = new Float32Array(18);
    for (let r = 0; r < 2; r++) {
      for (let j = 0; j < 3; j++) {
        dqkv[r * 9 + j] = qkvData[r * 9 + 6 + j];
        dqkv[r * 9 + 6 + j] = qkvData[r * 9 + j];
      }
    }
    assertExact(await qkv.grad!.toArray(), dqkv, "chunk dqkv");
    qkv.grad!.dispose();

    assert.throws(() => slice(x, 1, 5, 8), /Cannot slice \[5, 8\) of dim 1/);
    assert.throws(
      () => concat([x, fromArray(new Float32Array(8), [2, 1, 4])], 1),
      ShapeError,
    );
    assert.throws(() => concat([], 0), /empty list/);
    assert.throws(() => chunk(qkv, 2, -1), /into 2 equal parts/);
  });
  assert.equal(live(), before, "every tensor was freed");
});

Deno.test("autograd accumulates gradients of a tensor used twice through movement ops", async () => {
  // L = Σ concat([x, x], 0) ⊙ W + Σ transpose(x)²: x reaches the loss three times, so
  // dL/dx = W[:3] + W[3:] + 2x. Sums of ≤ 3 f32 terms: error ≤ 1e-6.
  const rng = new Rng(4);
  const xData = randomData(rng, 3 * 5);
  const wData = randomData(rng, 6 * 5);
  await scope(async () => {
    const x = fromArray(xData, [3, 5]).requireGrad();
    const w = fromArray(wData, [6, 5]);
    const xt = transpose(x, 0, 1);
    const loss = sum(mul(concat([x, x], 0), w));
    const loss2 = sum(mul(xt, xt));
    loss.backward();
    loss2.backward();
    const dx = Array.from(xData, (v, i) => wData[i] + wData[15 + i] + 2 * v);
    const got = await x.grad!.toArray();
    assert.ok(maxAbsDiff(got, dx) < 1e-6, `dx ${got} vs ${dx}`);
    x.grad!.dispose();
  });
});
