import assert from "@std/assert";
import { Rng } from "../../lib/data/rng.ts";
import { ShapeError } from "../../lib/errors.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import { add, div, exp, log, mul, relu, scale, sqrt, sub } from "../../lib/ops/elementwise.ts";
import { sum } from "../../lib/ops/reduce.ts";
import { fromArray } from "../../lib/tensor/create.ts";
import { scope } from "../../lib/tensor/scope.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { assertClose, numel, randomData } from "../helpers.ts";

const gpu = await getGpu();
const live = () => gpu.pool.stats().liveBytes;
/** numpy broadcasting of two shapes, in plain TS. */
function broadcast(a: number[], b: number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    return da === 1 ? db : da;
  });
}

/** Flat index into `shape` of the output coordinate `coord` (size-1 and missing dims broadcast). */
function sourceIndex(coord: number[], shape: number[]): number {
  let index = 0;
  const offset = coord.length - shape.length;
  for (let i = 0; i < shape.length; i++) {
    index = index * shape[i] + (shape[i] === 1 ? 0 : coord[offset + i]);
  }
  return index;
}

function coordOf(i: number, shape: number[]): number[] {
  const coord = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    coord[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return coord;
}

interface BinaryCase {
  name: string;
  op: (a: Tensor, b: Tensor) => Tensor;
  f: (a: number, b: number) => number;
  /** ∂f/∂a and ∂f/∂b. */
  da: (a: number, b: number) => number;
  db: (a: number, b: number) => number;
}

const BINARY: BinaryCase[] = [
  { name: "add", op: add, f: (a, b) => a + b, da: () => 1, db: () => 1 },
  { name: "sub", op: sub, f: (a, b) => a - b, da: () => 1, db: () => -1 },
  { name: "mul", op: mul, f: (a, b) => a * b, da: (_, b) => b, db: (a) => a },
  { name: "div", op: div, f: (a, b) => a / b, da: (_, b) => 1 / b, db: (a, b) => -a / (b * b) },
];

Deno.test("add/sub/mul/div references match finite differences (float64)", () => {
  // Central differences with h = 1e-6 at |b| ≥ 0.5: truncation O(h²/|b|³) ≈ 1e-11.
  const rng = new Rng(1);
  for (const c of [add, sub, mul, div]) {
    for (let t = 0; t < 20; t++) {
      const a = rng.normal();
      const b = (rng.bernoulli(0.5) ? 1 : -1) * (0.5 + rng.uniform());
      const spec = BINARY.find((s) => s.name === c.opName)!;
      assert.equal(c.reference.forward(a, b), spec.f(a, b));
      const h = 1e-6;
      const fa = (c.reference.forward(a + h, b) - c.reference.forward(a - h, b)) / (2 * h);
      const fb = (c.reference.forward(a, b + h) - c.reference.forward(a, b - h)) / (2 * h);
      assert.ok(Math.abs(fa - spec.da(a, b)) < 1e-7, `${c.opName} ∂a at ${a}, ${b}`);
      assert.ok(Math.abs(fb - spec.db(a, b)) < 1e-7, `${c.opName} ∂b at ${a}, ${b}`);
    }
  }
});

Deno.test("add/sub/mul/div forward and backward broadcast like numpy on odd shapes", async () => {
  // One f32 op per element forward; backward sums ≤ 70001 gradient terms per element (the
  // [70001] + [1] case) in f32: ~√n·6e-8 relative, inside 1e-4 · max(1, max|ref|).
  const rng = new Rng(2);
  const pairs: [number[], number[]][] = [
    [[4, 1, 3], [2, 3]],
    [[7], [1]],
    [[1], [3, 1]],
    [[2, 3, 5], [5]],
    [[5, 1], [1, 7]],
    [[13, 17], [13, 17]],
    [[70001], [70001]],
    [[70001], [1]],
    [[], [3]],
    // A repeated row of whole vec4s (the binary_rows_vec4 path), in b and in a.
    [[3, 5, 8], [8]],
    [[1, 4], [6, 4]],
    [[2, 3, 12], [1, 3, 12]],
    // One element per run of whole vec4s (binary_runs_vec4, a per-sample scale), in b and in a.
    [[3, 5, 8], [3, 1, 1]],
    [[2, 1], [2, 12]],
  ];
  const before = live();
  for (const [aShape, bShape] of pairs) {
    for (const c of BINARY) {
      const outShape = broadcast(aShape, bShape);
      const aData = randomData(rng, numel(aShape));
      // Divisors away from 0 keep div's gradient (−a/b²) well conditioned.
      const bData = c.name === "div"
        ? Float32Array.from(
          randomData(rng, numel(bShape)),
          (v) => Math.sign(v || 1) * (0.5 + Math.abs(v)),
        )
        : randomData(rng, numel(bShape));
      const gData = randomData(rng, numel(outShape));
      const y = new Float64Array(numel(outShape));
      const da = new Float64Array(aData.length);
      const db = new Float64Array(bData.length);
      for (let i = 0; i < y.length; i++) {
        const coord = coordOf(i, outShape);
        const ia = sourceIndex(coord, aShape);
        const ib = sourceIndex(coord, bShape);
        y[i] = c.f(aData[ia], bData[ib]);
        da[ia] += gData[i] * c.da(aData[ia], bData[ib]);
        db[ib] += gData[i] * c.db(aData[ia], bData[ib]);
      }
      await scope(async () => {
        const a = fromArray(aData, aShape).requireGrad();
        const b = fromArray(bData, bShape).requireGrad();
        const out = c.op(a, b);
        const label = `${c.name}([${aShape}], [${bShape}])`;
        assert.deepEqual(out.shape, outShape, `${label} shape`);
        out.backward(fromArray(gData, outShape));
        assertClose(await out.toArray(), y, 1e-5, `${label} y`);
        assert.deepEqual(a.grad!.shape, aShape);
        assert.deepEqual(b.grad!.shape, bShape);
        assertClose(await a.grad!.toArray(), da, 1e-4, `${label} da`);
        assertClose(await b.grad!.toArray(), db, 1e-4, `${label} db`);
        a.grad!.dispose();
        b.grad!.dispose();
      });
    }
  }
  assert.equal(live(), before, "every tensor was freed");
});

Deno.test("exp/log/sqrt/relu references match finite differences (float64)", () => {
  // h = 1e-6 at x ≥ 0.1 (log, sqrt) and away from relu's kink: errors ≤ ~1e-8.
  for (const op of [exp, log, sqrt, relu]) {
    for (const x of [0.1, 0.37, 1, 2.5, 7, ...(op === relu || op === exp ? [-3, -0.2] : [])]) {
      const h = 1e-6;
      const numeric = (op.reference.forward(x + h) - op.reference.forward(x - h)) / (2 * h);
      const analytic = op.reference.backward(x);
      assert.ok(
        Math.abs(numeric - analytic) <= 1e-7 * Math.max(1, Math.abs(analytic)),
        `${op.opName}'(${x}): ${analytic} vs ${numeric}`,
      );
    }
  }
});

Deno.test("exp/log/sqrt/relu forward and backward match the reference on odd sizes", async () => {
  // f32 exp/log/sqrt are within a few ulp (~4e-7 relative): tolerance 1e-5 relative to max|ref|.
  const rng = new Rng(3);
  const before = live();
  for (const op of [exp, log, sqrt, relu]) {
    for (const n of [1, 7, 1025, 70001]) {
      const positive = op === log || op === sqrt;
      const xData = positive
        ? Float32Array.from(randomData(rng, n), (v) => 0.05 + Math.abs(v) * 3)
        : randomData(rng, n, 3);
      const gData = randomData(rng, n);
      await scope(async () => {
        const x = fromArray(xData, [n]).requireGrad();
        const y = op(x);
        y.backward(fromArray(gData, [n]));
        const ref = op.reference;
        const label = `${op.opName}([${n}])`;
        assertClose(await y.toArray(), Array.from(xData, ref.forward), 1e-5, `${label} y`);
        const dx = Array.from(xData, (v, i) => gData[i] * ref.backward(v));
        assertClose(await x.grad!.toArray(), dx, 1e-5, `${label} dx`);
        x.grad!.dispose();
      });
    }
  }
  assert.equal(live(), before, "every tensor was freed");
});

Deno.test("exp/log/sqrt hold over an extreme range", async () => {
  // exp near the f32 overflow (88.7), log and sqrt from denormal-free tiny to huge values; the
  // tolerance is relative per element (f32 ulp ~6e-8, plus a few ulp in the transcendental).
  const cases: [typeof exp, number[]][] = [
    [exp, [-87, -20, -1e-7, 0, 1e-7, 20, 88]],
    [log, [1e-30, 1e-10, 1, 1e10, 3e38]],
    [sqrt, [1e-30, 1e-10, 1, 1e10, 3e38]],
  ];
  await scope(async () => {
    for (const [op, xs] of cases) {
      const got = await op(fromArray(xs)).toArray();
      xs.forEach((x, i) => {
        const ref = op.reference.forward(Math.fround(x));
        assert.ok(
          Math.abs(got[i] - ref) <= 2e-6 * Math.max(Math.abs(ref), 1e-30),
          `${op.opName}(${x}) = ${got[i]}, expected ${ref}`,
        );
      });
    }
  });
});

Deno.test("scale() forward and backward", async () => {
  // y = alpha·x + beta is one f32 FMA per element: tolerance 1e-6.
  await scope(async () => {
    const xData = [1, -2, 3.5, 0, 1e3];
    const x = fromArray(xData).requireGrad();
    const y = scale(x, -0.5, 2);
    y.backward(fromArray([1, 2, 3, 4, 5]));
    assertClose(
      await y.toArray(),
      xData.map((v) => scale.reference.forward(v, -0.5, 2)),
      1e-6,
      "y",
    );
    assertClose(await x.grad!.toArray(), [-0.5, -1, -1.5, -2, -2.5], 1e-6, "dx");
    x.grad!.dispose();
  });
});

Deno.test("autograd sums the gradients of a tensor used twice", async () => {
  // L = Σ (x·x + x) + Σ (x + x)[broadcast over 3 rows] → dL/dx = 2x + 1 + 2·3.
  await scope(async () => {
    const xData = [0.5, -1.5, 2, 3];
    const x = fromArray(xData, [4]).requireGrad();
    const first = sum(add(mul(x, x), x));
    const twice = add(x, x);
    const rows = add(twice, fromArray(new Float32Array(12), [3, 4]));
    const loss = add(first, sum(rows));
    loss.backward();
    assertClose(await x.grad!.toArray(), xData.map((v) => 2 * v + 1 + 6), 1e-6, "dx");
    // A second backward accumulates into the same leaf gradient.
    sum(mul(x, x)).backward();
    assertClose(await x.grad!.toArray(), xData.map((v) => 4 * v + 7), 1e-6, "dx accumulated");
    x.grad!.dispose();
  });
});

Deno.test("binary ops reject shapes that do not broadcast with a ShapeError naming both", () => {
  scope(() => {
    const a = fromArray(new Float32Array(6), [2, 3]);
    const b = fromArray(new Float32Array(4), [4]);
    for (const op of [add, sub, mul, div]) {
      assert.throws(() => op(a, b), (e: unknown) => {
        assert.ok(e instanceof ShapeError);
        assert.match(
          (e as ShapeError).message,
          new RegExp(`^Cannot ${op.opName} tensors of shape \\[2, 3\\] and \\[4\\]`),
        );
        return true;
      });
    }
  });
});
