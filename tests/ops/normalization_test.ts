import assert from "@std/assert";
import { Rng } from "../../lib/data/rng.ts";
import { ShapeError } from "../../lib/errors.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import {
  encodeL2Normalize,
  encodeL2NormalizeBackward,
  encodeLayerNorm,
  encodeLayerNormBackward,
  l2normalize,
  layerNorm,
} from "../../lib/ops/normalization.ts";
import type { RowVariant } from "../../lib/ops/rowwise.ts";
import { fromArray } from "../../lib/tensor/create.ts";
import type { HostTensor } from "../../lib/tensor/host.ts";
import { scope } from "../../lib/tensor/scope.ts";
import { assertClose, dot, numericGrad, randomData } from "../helpers.ts";

const gpu = await getGpu();
const live = () => gpu.pool.stats().liveBytes;

// Row counts × row lengths: a single element, odd primes, one row past a 1024-wide workgroup
// stride and one just past a power of two.
const ODD_SHAPES = [[1, 1], [7, 13], [3, 1025], [5, 257]];
// The ops pick one variant per adapter; the tests run both.
const VARIANTS: RowVariant[] = ["rowwise", "workgroup"];

Deno.test("layerNorm.reference backward matches finite differences", () => {
  const rng = new Rng(1);
  const shape = [3, 5];
  const x = Float64Array.from(randomData(rng, 15, 2, 0.5));
  const w = Float64Array.from(randomData(rng, 5, 0.5, 1));
  const b = Float64Array.from(randomData(rng, 5));
  const dy = Float64Array.from(randomData(rng, 15));
  const ref = layerNorm.reference;
  const loss = (xv: Float64Array, wv: Float64Array, bv: Float64Array) =>
    dot(dy, ref.forward({ shape, data: xv }, wv, bv).y);
  const { dx, dweight, dbias } = ref.backward({ shape, data: x }, w, dy);
  // Central differences with h = 1e-6 are exact to O(h²) ≈ 1e-12 plus ~1e-10 round-off.
  assertClose(dx, numericGrad((v) => loss(v, w, b), x), 1e-7, "dx");
  assertClose(dweight, numericGrad((v) => loss(x, v, b), w), 1e-7, "dweight");
  assertClose(dbias, numericGrad((v) => loss(x, w, v), b), 1e-7, "dbias");
});

Deno.test("l2normalize.reference backward matches finite differences", () => {
  const rng = new Rng(2);
  const shape = [4, 6];
  const x = Float64Array.from(randomData(rng, 24));
  const dy = Float64Array.from(randomData(rng, 24));
  const ref = l2normalize.reference;
  const dx = ref.backward({ shape, data: x }, dy);
  const numeric = numericGrad((v) => dot(dy, ref.forward({ shape, data: v }).y), x);
  // Same finite-difference budget as above.
  assertClose(dx, numeric, 1e-7, "dx");
});

async function checkLayerNorm(shape: number[], seed: number, scale = 1, offset = 0) {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const d = shape[shape.length - 1];
  const xData = randomData(rng, n, scale, offset);
  const wData = randomData(rng, d, 0.1, 1);
  const bData = randomData(rng, d, 0.05);
  const dyData = randomData(rng, n);
  const before = live();
  await scope(async () => {
    const x = fromArray(xData, shape).requireGrad();
    const w = fromArray(wData, [d]).requireGrad();
    const b = fromArray(bData, [d]).requireGrad();
    const y = layerNorm(x, w, b);
    y.backward(fromArray(dyData, shape));
    const host: HostTensor = { shape, data: xData };
    const fwd = layerNorm.reference.forward(host, wData, bData);
    const bwd = layerNorm.reference.backward(host, wData, dyData);
    const label = `[${shape}]`;
    // f32 kernels against a float64 reference: the fixture rule (f32 error here is ≤ ~3e-5).
    assertClose(await y.toArray(), fwd.y, 1e-4, `${label} y`);
    assertClose(await x.grad!.toArray(), bwd.dx, 1e-4, `${label} dx`);
    assertClose(await w.grad!.toArray(), bwd.dweight, 1e-4, `${label} dweight`);
    assertClose(await b.grad!.toArray(), bwd.dbias, 1e-4, `${label} dbias`);
    const dy = fromArray(dyData, shape);
    for (const variant of VARIANTS) {
      const out = encodeLayerNorm(x, w, b, 1e-6, variant);
      const grads = encodeLayerNormBackward(x, w, out.mean, out.rstd, dy, { variant });
      const at = `${label} ${variant}`;
      assertClose(await out.y.toArray(), fwd.y, 1e-4, `${at} y`);
      assertClose(await out.mean.toArray(), fwd.mean, 1e-4, `${at} mean`);
      assertClose(await out.rstd.toArray(), fwd.rstd, 1e-4, `${at} rstd`);
      assertClose(await grads.dx!.toArray(), bwd.dx, 1e-4, `${at} dx`);
      assertClose(await grads.dweight!.toArray(), bwd.dweight, 1e-4, `${at} dweight`);
    }
    // Leaf gradients outlive scopes (they belong to the parameters).
    for (const t of [x, w, b]) t.grad!.dispose();
  });
  assert.equal(live(), before, "every tensor was freed");
}

Deno.test("layerNorm() forward and backward match the reference on odd shapes", async () => {
  for (const [i, shape] of ODD_SHAPES.entries()) await checkLayerNorm(shape, 10 + i);
  await checkLayerNorm([2, 3, 17], 20);
  // D % 4 = 0: the rowwise variant runs its vec4 entry points.
  await checkLayerNorm([6, 96], 21);
  await checkLayerNorm([5, 4], 22);
});

Deno.test("layerNorm() keeps its precision on rows far from 0", async () => {
  // E[x²] − E[x]² in f32 loses every digit of var ≈ 1 at mean 300 (x² ≈ 9e4, ulp ≈ 8e-3). At
  // offset 1000 a plain f32 Σx gives 1.1e-4 (fails); the kernel's Σ(x − x[0]) gives 2.6e-5.
  await checkLayerNorm([9, 64], 30, 1, 300);
  await checkLayerNorm([4, 1025], 31, 1, -1000);
});

Deno.test("layerNorm() backward skips gradients of inputs that do not require them", async () => {
  await scope(async () => {
    const rng = new Rng(5);
    const xData = randomData(rng, 21);
    const x = fromArray(xData, [3, 7]).requireGrad();
    const w = fromArray(randomData(rng, 7, 0.1, 1), [7]);
    const b = fromArray(randomData(rng, 7), [7]);
    const dy = randomData(rng, 21);
    layerNorm(x, w, b).backward(fromArray(dy, [3, 7]));
    assert.equal(w.grad, null);
    assert.equal(b.grad, null);
    const ref = layerNorm.reference.backward({ shape: [3, 7], data: xData }, await w.toArray(), dy);
    assertClose(await x.grad!.toArray(), ref.dx, 1e-4, "dx");
    x.grad!.dispose();
  });
});

async function checkL2Normalize(shape: number[], xData: Float32Array, seed: number) {
  const rng = new Rng(seed);
  const dyData = randomData(rng, xData.length);
  const before = live();
  await scope(async () => {
    const x = fromArray(xData, shape).requireGrad();
    const y = l2normalize(x);
    y.backward(fromArray(dyData, shape));
    const host: HostTensor = { shape, data: xData };
    const ref = l2normalize.reference.forward(host);
    const refDx = l2normalize.reference.backward(host, dyData);
    // f32 kernels against a float64 reference: the fixture rule.
    assertClose(await y.toArray(), ref.y, 1e-4, `[${shape}] y`);
    assertClose(await x.grad!.toArray(), refDx, 1e-4, `[${shape}] dx`);
    const dy = fromArray(dyData, shape);
    for (const variant of VARIANTS) {
      const out = encodeL2Normalize(x, 1e-12, variant);
      const dx = encodeL2NormalizeBackward(out.y, out.norm, dy, 1e-12, variant);
      const at = `[${shape}] ${variant}`;
      assertClose(await out.y.toArray(), ref.y, 1e-4, `${at} y`);
      assertClose(await out.norm.toArray(), ref.norm, 1e-4, `${at} norm`);
      assertClose(await dx.toArray(), refDx, 1e-4, `${at} dx`);
    }
    x.grad!.dispose();
  });
  assert.equal(live(), before, "every tensor was freed");
}

Deno.test("l2normalize() forward and backward match the reference on odd shapes", async () => {
  for (const [i, shape] of ODD_SHAPES.entries()) {
    const rng = new Rng(40 + i);
    await checkL2Normalize(shape, randomData(rng, shape[0] * shape[1], 3), 50 + i);
  }
});

Deno.test("l2normalize() handles tiny norms and clamps zero rows at eps", async () => {
  const rng = new Rng(60);
  // ‖x‖ ≈ 1e-3 · √7: gradients ~1e3; the zero row takes the clamp (y = 0, dx = dy / 1e-12).
  const tiny = randomData(rng, 21, 1e-3);
  await checkL2Normalize([3, 7], tiny, 61);
  const withZeroRow = randomData(rng, 10);
  withZeroRow.fill(0, 5);
  await checkL2Normalize([2, 5], withZeroRow, 62);
});

Deno.test("layerNorm() and l2normalize() reject shapes they cannot normalise", () => {
  scope(() => {
    const x = fromArray(new Float32Array(6), [2, 3]);
    const three = fromArray(new Float32Array(3), [3]);
    const four = fromArray(new Float32Array(4), [4]);
    assert.throws(
      () => layerNorm(x, four, three),
      (e: Error) =>
        e instanceof ShapeError && e.message.includes("layerNorm") &&
        e.message.includes("[2, 3]") && e.message.includes("[4]"),
    );
    assert.throws(
      () => layerNorm(x, three, four),
      (e: Error) => e instanceof ShapeError && /bias must have shape \[3\]/.test(e.message),
    );
    const scalar = fromArray([2], []);
    assert.throws(
      () => layerNorm(scalar, three, three),
      (e: Error) => e instanceof ShapeError && e.message.includes("layerNorm"),
    );
    assert.throws(
      () => l2normalize(scalar),
      (e: Error) =>
        e instanceof ShapeError &&
        e.message.startsWith("Cannot l2normalize a tensor of shape []"),
    );
  });
});
