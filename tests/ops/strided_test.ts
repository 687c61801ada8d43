import assert from "@std/assert";
import { Rng } from "../../lib/data/rng.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import type { Dispatch } from "../../lib/gpu/dispatch.ts";
// create.ts first: it loads tensor.ts → tape.ts → elementwise.ts → strided.ts in an order that
// initialises strided.ts before elementwise.ts reads its op codes (a module cycle).
import { fromArray, full, zeros } from "../../lib/tensor/create.ts";
import {
  BINARY,
  runBinary,
  runBinaryInPlace,
  runStrided,
  runUnary,
  UNARY,
} from "../../lib/ops/strided.ts";
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

interface StridedCase {
  label: string;
  shape: number[];
  /** [strides, offset, size of the tensor] of out, a and (binary) b. */
  out: [number[], number, number];
  a: [number[], number, number];
  b?: [number[], number, number];
  vec4: boolean;
}

/** out[io] = f(a[ia]) or g(a[ia], b[ib]) over every coordinate of `shape`, in float64. */
function stridedReference(c: StridedCase, aData: Float32Array, bData: Float32Array): number[] {
  const result = new Array<number>(c.out[2]).fill(NaN);
  const n = c.shape.reduce((p, d) => p * d, 1);
  for (let i = 0; i < n; i++) {
    let rest = i;
    const at = [c.out[1], c.a[1], c.b?.[1] ?? 0];
    for (let d = c.shape.length - 1; d >= 0; d--) {
      const coord = rest % c.shape[d];
      rest = Math.floor(rest / c.shape[d]);
      at[0] += coord * c.out[0][d];
      at[1] += coord * c.a[0][d];
      at[2] += coord * (c.b?.[0][d] ?? 0);
    }
    result[at[0]] = c.b ? aData[at[1]] - bData[at[2]] : 1.5 * aData[at[1]] - 0.25;
  }
  return result;
}

Deno.test("runStrided() coalesces dims and moves vec4s where every operand allows", async () => {
  const rng = new Rng(6);
  const cases: StridedCase[] = [
    // Rows 1..3 of [2, 5, 8] (a slice along N): two runs of 24 contiguous floats, vec4s.
    {
      label: "slice",
      shape: [2, 3, 8],
      out: [[24, 8, 1], 0, 48],
      a: [[40, 8, 1], 8, 80],
      vec4: true,
    },
    // Into rows 0..2 of [2, 4, 8] with padding rows (attention's key padding): vec4s.
    {
      label: "pad",
      shape: [2, 3, 8],
      out: [[32, 8, 1], 0, 64],
      a: [[24, 8, 1], 0, 48],
      vec4: true,
    },
    {
      label: "inner 6",
      shape: [2, 3, 6],
      out: [[18, 6, 1], 0, 36],
      a: [[30, 6, 1], 6, 60],
      vec4: false,
    },
    { label: "offset 2", shape: [2, 8], out: [[8, 1], 0, 16], a: [[10, 1], 2, 20], vec4: false },
    { label: "transpose", shape: [4, 8], out: [[8, 1], 0, 32], a: [[1, 4], 0, 32], vec4: false },
    { label: "one element", shape: [1, 1], out: [[1, 1], 0, 1], a: [[1, 1], 3, 4], vec4: false },
    {
      label: "binary slice",
      shape: [3, 2, 4],
      out: [[16, 4, 1], 4, 48],
      a: [[8, 4, 1], 0, 24],
      b: [[12, 4, 1], 4, 36],
      vec4: true,
    },
  ];
  const before = live();
  for (const c of cases) {
    const aData = randomData(rng, c.a[2]);
    const bData = randomData(rng, c.b?.[2] ?? 1);
    await scope(async () => {
      const out = fromArray(new Float32Array(c.out[2]).fill(NaN), [c.out[2]]);
      const a = fromArray(aData, [c.a[2]]);
      const b = fromArray(bData, [bData.length]);
      const operand = ([strides, offset]: [number[], number, number], tensor: typeof a) => ({
        tensor,
        strides,
        offset,
      });
      const kernels = dispatchedKernels(() =>
        runStrided(
          c.b ? BINARY.sub : UNARY.affine,
          c.shape,
          operand(c.out, out),
          operand(c.a, a),
          c.b ? operand(c.b, b) : undefined,
          c.b ? 1 : 1.5,
          c.b ? 0 : -0.25,
        )
      );
      const entry = `${c.b ? "binary" : "unary"}_strided${c.vec4 ? "_vec4" : ""}`;
      assert.deepEqual(kernels, [`ops/elementwise.${entry}`], `${c.label} path`);
      const got = Array.from(await out.toArray());
      const want = stridedReference(c, aData, bData);
      for (let i = 0; i < want.length; i++) {
        // Elements outside the iteration keep their NaN: nothing else was written.
        if (Number.isNaN(want[i])) assert.ok(Number.isNaN(got[i]), `${c.label} [${i}] untouched`);
        else assert.ok(Math.abs(got[i] - want[i]) <= TOL * Math.max(1, Math.abs(want[i])), c.label);
      }
    });
  }
  assert.equal(live(), before, "every tensor was freed");
});
