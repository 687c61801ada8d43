// weightNorm(): the float64 reference against finite differences, then the GPU kernels against the
// reference on odd shapes and extreme scales, the linear-head composition and shape errors.
import assert from "@std/assert";
import { getGpu } from "../../lib/gpu/device.ts";
import { Rng } from "../../lib/data/rng.ts";
import { ShapeError } from "../../lib/errors.ts";
import { linear } from "../../lib/ops/matmul.ts";
import { weightNorm } from "../../lib/ops/weight_norm.ts";
import { fromArray, zeros } from "../../lib/tensor/create.ts";
import type { HostTensor } from "../../lib/tensor/host.ts";
import { scope } from "../../lib/tensor/scope.ts";
import { assertClose } from "../helpers.ts";

await getGpu();

const ref = weightNorm.reference;

function randomHost(
  shape: number[],
  rng: Rng,
  lo = -1,
  hi = 1,
): HostTensor & { data: Float32Array } {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = rng.range(lo, hi);
  return { shape, data };
}

Deno.test("weightNorm.reference backward matches finite differences", () => {
  // L = Σ W·dW; central differences in float64 with h = 1e-6 are accurate to ~1e-10.
  const rng = new Rng(1);
  const v = randomHost([3, 5], rng);
  const g = randomHost([3, 1], rng, 0.5, 1.5);
  const dW = randomHost([3, 5], rng);
  const loss = (vv: HostTensor, gg: HostTensor) =>
    ref.forward(vv, gg).reduce((acc, w, i) => acc + w * dW.data[i], 0);
  const { dv, dg } = ref.backward(v, g, dW);
  const eps = 1e-6;
  const nudge = (t: HostTensor, i: number, delta: number): HostTensor => {
    const data = Float64Array.from(t.data);
    data[i] += delta;
    return { shape: t.shape, data };
  };
  for (let i = 0; i < v.data.length; i++) {
    const fd = (loss(nudge(v, i, eps), g) - loss(nudge(v, i, -eps), g)) / (2 * eps);
    assert.ok(Math.abs(fd - dv[i]) < 1e-8, `dv[${i}]: ${dv[i]} vs finite difference ${fd}`);
  }
  for (let i = 0; i < g.data.length; i++) {
    const fd = (loss(v, nudge(g, i, eps)) - loss(v, nudge(g, i, -eps))) / (2 * eps);
    assert.ok(Math.abs(fd - dg[i]) < 1e-8, `dg[${i}]: ${dg[i]} vs finite difference ${fd}`);
  }
});

Deno.test("weightNorm.reference rows have norm |g|", () => {
  const rng = new Rng(2);
  const v = randomHost([4, 9], rng);
  const g: HostTensor = { shape: [4], data: new Float64Array([1, 2, 0.5, -3]) };
  const w = ref.forward(v, g);
  for (let o = 0; o < 4; o++) {
    const norm = Math.hypot(...w.slice(o * 9, o * 9 + 9));
    assert.ok(Math.abs(norm - Math.abs(g.data[o])) < 1e-12);
  }
});

/** Runs weightNorm forward and backward on the GPU and compares W, dv and dg. */
async function checkCase(
  rows: number,
  cols: number,
  seed: number,
  options: { scale?: number; gShape?: "column" | "vector"; tol?: number } = {},
): Promise<void> {
  const rng = new Rng(seed);
  const s = options.scale ?? 1;
  const hv = randomHost([rows, cols], rng, -s, s);
  const gShape = options.gShape === "vector" ? [rows] : [rows, 1];
  const hg = randomHost(gShape, rng, 0.5, 1.5);
  const hdW = randomHost([rows, cols], rng);
  const want = ref.forward(hv, hg);
  const wantGrad = ref.backward(hv, hg, hdW);
  const label = `${rows}×${cols} scale ${s}`;
  // f32 row sums of ≤ 257 squares: ~1e-6 relative; the 1e-4 rule of the fixtures.
  const tol = options.tol ?? 1e-4;
  await scope(async () => {
    const v = fromArray(hv.data, hv.shape).requireGrad();
    const g = fromArray(hg.data, hg.shape).requireGrad();
    const w = weightNorm(v, g);
    w.backward(fromArray(hdW.data, hdW.shape));
    assert.deepEqual(g.grad!.shape, gShape);
    assertClose(await w.toArray(), want, tol, `W ${label}`);
    assertClose(await v.grad!.toArray(), wantGrad.dv, tol, `dv ${label}`);
    assertClose(await g.grad!.toArray(), wantGrad.dg, tol, `dg ${label}`);
  });
}

Deno.test("weightNorm() forward and backward match the reference on odd shapes", async () => {
  // Columns % 4 = 0 ([9, 4], [65, 256]: the DINO head's I) take the vec4 entry points.
  const shapes = [[1, 1], [1, 7], [7, 1], [5, 7], [65, 33], [17, 257], [1025, 3], [9, 4], [
    65,
    256,
  ]];
  for (const [i, [rows, cols]] of shapes.entries()) await checkCase(rows, cols, 10 + i);
  await checkCase(7, 13, 20, { gShape: "vector" });
});

Deno.test("weightNorm() matches the reference on tiny and huge rows", async () => {
  // Rows ~1e-3 give dv ~1e3 (dv ∝ 1/‖v‖): the rule scales with max|ref|, so 1e-4 still applies.
  await checkCase(9, 31, 40, { scale: 1e-3 });
  await checkCase(9, 31, 41, { scale: 1e3 });
});

Deno.test("weightNorm() composes with linear() like DINO's last layer", async () => {
  const rng = new Rng(50);
  const [b, i, o] = [3, 17, 65];
  const hx = randomHost([b, i], rng);
  const hv = randomHost([o, i], rng, -1 / Math.sqrt(i), 1 / Math.sqrt(i));
  const w = ref.forward(hv, { shape: [o], data: new Float32Array(o).fill(1) });
  const want = new Float64Array(b * o);
  for (let r = 0; r < b; r++) {
    for (let c = 0; c < o; c++) {
      for (let k = 0; k < i; k++) want[r * o + c] += hx.data[r * i + k] * w[c * i + k];
    }
  }
  await scope(async () => {
    const x = fromArray(hx.data, hx.shape);
    const v = fromArray(hv.data, hv.shape).requireGrad();
    const g = fromArray(new Float32Array(o).fill(1), [o, 1]);
    const y = linear(x, weightNorm(v, g));
    assertClose(await y.toArray(), want, 1e-4, "y");
    y.backward(fromArray(new Float32Array(b * o).fill(1), [b, o]));
    assert.ok(v.grad !== null);
    assert.equal(g.grad, null);
  });
});

Deno.test("weightNorm() rejects bad shapes naming the op and both shapes", () => {
  scope(() => {
    assert.throws(
      () => weightNorm(zeros([4]), zeros([4])),
      (e: Error) =>
        e instanceof ShapeError &&
        e.message === "Cannot weightNorm tensors of shape [4] and [4]: " +
            "v must have rank 2 ([O, I]), got rank 1",
    );
    assert.throws(
      () => weightNorm(zeros([4, 3]), zeros([3, 1])),
      (e: Error) =>
        e instanceof ShapeError &&
        e.message === "Cannot weightNorm tensors of shape [4, 3] and [3, 1]: " +
            "g must have shape [4] or [4, 1], one gain per row of v",
    );
    assert.throws(() => weightNorm(zeros([4, 3]), zeros([4, 3])), ShapeError);
  });
});
