import assert from "@std/assert";
import { Rng } from "../../lib/data/rng.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import type { Dispatch } from "../../lib/gpu/dispatch.ts";
// create.ts first: it loads tensor.ts → tape.ts → elementwise.ts → strided.ts in an order that
// initialises strided.ts before elementwise.ts reads its op codes (a module cycle).
import { fromArray, full, zeros } from "../../lib/tensor/create.ts";
import { BINARY, runBinary, runBinaryInPlace, runUnary, UNARY } from "../../lib/ops/strided.ts";
import { scope } from "../../lib/tensor/scope.ts";
import { assertClose } from "../helpers.ts";

const gpu = await getGpu();
const live = () => gpu.pool.stats().liveBytes;

// Sizes hit both contiguous paths: n % 4 == 0 takes the `_vec4` entry points, others the scalar.
const SIZES = [1, 3, 4, 7, 8, 1024, 1025, 70000, 70001];

function randomData(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** Runs `fn` and returns the labels of the kernels it dispatched. */
function dispatchedKernels(fn: () => void): string[] {
  const labels: string[] = [];
  const stream = gpu.stream;
  const original = stream.dispatch;
  stream.dispatch = (d: Dispatch) => {
    labels.push(d.kernel.label);
    original.call(stream, d);
  };
  try {
    fn();
  } finally {
    stream.dispatch = original;
  }
  return labels;
}

const f32 = Math.fround;

// Unary and binary ops with their float64 references; alpha = 1.5, beta = -0.25 where used.
const UNARY_CASES: [string, number, (x: number) => number][] = [
  ["affine", UNARY.affine, (x) => 1.5 * x - 0.25],
  ["exp", UNARY.exp, Math.exp],
  ["relu", UNARY.relu, (x) => Math.max(x, 0)],
  ["square", UNARY.square, (x) => x * x],
  ["abs", UNARY.abs, Math.abs],
  ["sign", UNARY.sign, Math.sign],
];
const BINARY_CASES: [string, number, (a: number, b: number) => number][] = [
  ["add", BINARY.add, (a, b) => a + b],
  ["sub", BINARY.sub, (a, b) => a - b],
  ["mul", BINARY.mul, (a, b) => a * b],
  ["div", BINARY.div, (a, b) => a / b],
  ["reluBackward", BINARY.reluBackward, (a, b) => (a > 0 ? b : 0)],
  ["axpy", BINARY.axpy, (a, b) => a + 1.5 * b],
  ["maximum", BINARY.maximum, Math.max],
  ["mulAffine", BINARY.mulAffine, (a, b) => a * b * 1.5 - 0.25],
  ["axpby", BINARY.axpby, (a, b) => 1.5 * a - 0.25 * b],
];

// f32 kernels against float64 references of f32 inputs: a few ulps (exp ~2 ulp, div 1 ulp,
// fused multiply-adds 1 ulp), far below 1e-5 relative; 1e-5 catches any wrong element.
const TOL = 1e-5;

Deno.test("runUnary() matches the reference on both paths, n = 1 … 70001", async () => {
  const rng = new Rng(1);
  const before = live();
  for (const n of SIZES) {
    const xData = randomData(rng, n);
    for (const [name, op, f] of UNARY_CASES) {
      await scope(async () => {
        const x = fromArray(xData, [n]);
        let y = x;
        const kernels = dispatchedKernels(() => y = runUnary(x, op, 1.5, -0.25));
        const entry = n % 4 === 0 ? "unary_vec4" : "unary";
        assert.deepEqual(kernels, [`ops/elementwise.${entry}`], `${name} n=${n} path`);
        const ref = Array.from(xData, (v) => f(f32(v)));
        assertClose(await y.toArray(), ref, TOL, `${name} n=${n}`);
      });
    }
  }
  assert.equal(live(), before, "every tensor was freed");
});

Deno.test("runBinary() on equal shapes matches the reference on both paths", async () => {
  const rng = new Rng(2);
  const before = live();
  for (const n of SIZES) {
    const aData = randomData(rng, n);
    // b away from 0 keeps div well conditioned.
    const bData = randomData(rng, n).map((v) => (v >= 0 ? 0.5 + v : v - 0.5));
    for (const [name, op, f] of BINARY_CASES) {
      await scope(async () => {
        const a = fromArray(aData, [n]);
        const b = fromArray(bData, [n]);
        let y = a;
        const kernels = dispatchedKernels(() => y = runBinary(a, b, op, [n], 1.5, -0.25));
        const entry = n % 4 === 0 ? "binary_same_vec4" : "binary_same";
        assert.deepEqual(kernels, [`ops/elementwise.${entry}`], `${name} n=${n} path`);
        const ref = Array.from(aData, (v, i) => f(v, bData[i]));
        assertClose(await y.toArray(), ref, TOL, `${name} n=${n}`);
      });
    }
  }
  assert.equal(live(), before, "every tensor was freed");
});

Deno.test("runBinaryInPlace() matches the reference on the vec4 and scalar paths", async () => {
  const rng = new Rng(3);
  const before = live();
  for (const n of SIZES) {
    const aData = randomData(rng, n);
    const bData = randomData(rng, n);
    for (const [name, op, f] of BINARY_CASES.filter(([name]) => name !== "div")) {
      await scope(async () => {
        const target = fromArray(aData, [n]);
        const b = fromArray(bData, [n]);
        const kernels = dispatchedKernels(() => runBinaryInPlace(target, b, op, 1.5, -0.25));
        const entry = n % 4 === 0 ? "binary_inplace_vec4" : "binary_inplace";
        assert.deepEqual(kernels, [`ops/elementwise.${entry}`], `${name} n=${n} path`);
        const ref = Array.from(aData, (v, i) => f(v, bData[i]));
        assertClose(await target.toArray(), ref, TOL, `${name} n=${n}`);
      });
    }
  }
  assert.equal(live(), before, "every tensor was freed");
});

Deno.test("full() and zeros() fill every element on the vec4 and scalar paths", async () => {
  const before = live();
  for (const n of SIZES) {
    await scope(async () => {
      // Fill a recycled buffer with garbage first so that a missed element shows.
      fromArray(new Float32Array(n).fill(NaN), [n]).dispose();
      const kernels = dispatchedKernels(() => full([n], -2.5));
      const entry = n % 4 === 0 ? "forward_vec4" : "forward";
      assert.deepEqual(kernels, [`tensor/fill.${entry}`], `full n=${n} path`);
      const t = full([n], -2.5);
      assert.ok((await t.toArray()).every((v) => v === -2.5), `full n=${n}`);
      const z = zeros([n]);
      assert.ok((await z.toArray()).every((v) => v === 0), `zeros n=${n}`);
      // Other dtypes fill the same 32-bit words.
      const i = full([n], -7, { dtype: "i32" });
      assert.ok((await i.toArray()).every((v) => v === -7), `full i32 n=${n}`);
    });
  }
  assert.equal(live(), before, "every tensor was freed");
});
