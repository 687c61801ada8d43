import assert from "@std/assert";
import { Rng } from "../../lib/data/rng.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import { erf, erfc, gelu } from "../../lib/ops/activation.ts";
import { fromArray } from "../../lib/tensor/create.ts";
import { scope } from "../../lib/tensor/scope.ts";
import { assertClose, randomData } from "../helpers.ts";

const gpu = await getGpu();
const live = () => gpu.pool.stats().liveBytes;

Deno.test("erf() and erfc() match tabulated values to ~1e-15", () => {
  // Values from Abramowitz & Stegun table 7.1 / mpmath.
  const table: [number, number, number][] = [
    [0, 0, 1],
    [0.5, 0.5204998778130465, 0.4795001221869535],
    [1, 0.8427007929497149, 0.15729920705028513],
    [2, 0.9953222650189527, 0.004677734981047266],
    [3, 0.9999779095030014, 2.209049699858544e-5],
    [5, 0.9999999999984626, 1.5374597944280349e-12],
    [10, 1, 2.088487583762545e-45],
  ];
  for (const [x, erfX, erfcX] of table) {
    assert.ok(Math.abs(erf(x) - erfX) <= 2e-16 * Math.max(1, x), `erf(${x}) = ${erf(x)}`);
    assert.ok(Math.abs(erf(-x) + erfX) <= 2e-16 * Math.max(1, x), `erf(${-x})`);
    assert.ok(Math.abs(erfc(x) - erfcX) <= 1e-14 * erfcX, `erfc(${x}) = ${erfc(x)}`);
  }
  // The series (below 1) and the continued fraction (from 1) meet without a step:
  // erfc(1 − δ) = erfc(1) + δ·2e⁻¹/√π + O(δ²).
  const delta = 1e-9;
  const slope = (2 * Math.exp(-1)) / Math.sqrt(Math.PI);
  assert.ok(Math.abs(erfc(1 - delta) - erfc(1) - slope * delta) < 1e-15);
});

Deno.test("gelu.reference backward matches finite differences, including the tails", () => {
  const { forward, backward } = gelu.reference;
  for (const x of [-20, -12, -5.5, -3, -1, -0.3, -1e-7, 0, 1e-7, 0.3, 1, 3, 5.5, 12, 20]) {
    const h = 1e-6;
    const numeric = (forward(x + h) - forward(x - h)) / (2 * h);
    // Central differences: O(h²·f''') truncation plus ~2e-10·|x| round-off.
    assert.ok(Math.abs(backward(x) - numeric) < 1e-8, `gelu'(${x}): ${backward(x)} vs ${numeric}`);
  }
  // x·Φ(x) in the left tail keeps its relative precision (no 1 − erf cancellation).
  // Φ(−12) = 1.7764821120776e-33 (the standard normal tail, e.g. scipy.stats.norm.cdf(-12)).
  assert.ok(Math.abs(forward(-12) / (-12 * 1.7764821120776e-33) - 1) < 1e-12);
});

async function checkGelu(shape: number[], xData: Float32Array, seed: number, tol: number) {
  const dyData = randomData(new Rng(seed), xData.length);
  const before = live();
  await scope(async () => {
    const x = fromArray(xData, shape).requireGrad();
    const y = gelu(x);
    y.backward(fromArray(dyData, shape));
    const ref = gelu.reference;
    const label = `gelu([${shape}])`;
    assertClose(await y.toArray(), Array.from(xData, ref.forward), tol, `${label} y`);
    const dx = Array.from(xData, (v, i) => dyData[i] * ref.backward(v));
    assertClose(await x.grad!.toArray(), dx, tol, `${label} dx`);
    // Leaf gradients outlive scopes (they belong to the parameters).
    x.grad!.dispose();
  });
  assert.equal(live(), before, "every tensor was freed");
}

Deno.test("gelu() forward and backward match the reference on odd shapes", async () => {
  // The f32 erf is within ~6e-8; measured GPU error ≤ 4e-7 abs (~1 ulp of y) over [−20, 20].
  // [6, 64] has whole vec4s: the _vec4 entry points; the rest the scalar ones.
  for (const [i, shape] of [[1], [7, 13], [3, 1025], [5, 257], [2, 3, 5], [6, 64]].entries()) {
    const n = shape.reduce((a, b) => a * b, 1);
    await checkGelu(shape, randomData(new Rng(10 + i), n, 2), 20 + i, 1e-6);
  }
});

Deno.test("gelu() is exact in the tails and around 0", async () => {
  const extreme = [
    -20,
    -12,
    -5.5,
    -4,
    -1e-3,
    -1e-7,
    -1e-30,
    -0,
    0,
    1e-30,
    1e-7,
    1e-3,
    4,
    5.5,
    12,
    20,
  ];
  const sweep = Array.from({ length: 401 }, (_, i) => -20 + i * 0.1);
  const xData = Float32Array.from([...extreme, ...sweep]);
  // Same 1e-6 rule; the tails (|x| ≥ 5.5) are exact to the f32 rounding of x or of 0. 417
  // values run the scalar entry points, the first 416 the vec4 ones.
  await checkGelu([xData.length], xData, 30, 1e-6);
  await checkGelu([xData.length - 1], xData.slice(0, -1), 31, 1e-6);
});

Deno.test("gelu() accepts every shape, rank 0 and empty included (no shape error exists)", async () => {
  await scope(async () => {
    const y0 = await gelu(fromArray([1], [])).toArray();
    assert.ok(Math.abs(y0[0] - gelu.reference.forward(1)) < 1e-6);
    assert.deepEqual(gelu(fromArray(new Float32Array(0), [0, 3])).shape, [0, 3]);
  });
});
