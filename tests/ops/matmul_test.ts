import assert from "@std/assert";
import { Rng } from "../../lib/data/rng.ts";
import { ShapeError } from "../../lib/errors.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import {
  defaultMatmulVariant,
  encodeMatmul,
  forceMatmulVariant,
  isCpuAdapter,
  linear,
  matmul,
  MATMUL_VARIANTS,
  matmulBucket,
  type MatmulProblem,
  matmulVariantFor,
} from "../../lib/ops/matmul.ts";
import { tuneMatmul } from "../../lib/ops/matmul_tune.ts";
import { fromArray } from "../../lib/tensor/create.ts";
import { type HostTensor, maxAbs, maxAbsDiff } from "../../lib/tensor/host.ts";
import { scope } from "../../lib/tensor/scope.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertClose, numel, randomData } from "../helpers.ts";

const gpu = await getGpu();
const live = () => gpu.pool.stats().liveBytes;
const MODES = ["nn", "tn", "nt", "tt"] as const;
/** ViT-Tiny's qkv projection at batch 32: x [6304, 192] · Wᵀ, W [576, 192]. */
const VIT_TINY_QKV: MatmulProblem = {
  m: 6304,
  n: 576,
  k: 192,
  batch: 1,
  transposeA: false,
  transposeB: true,
};

/** Stored shapes of A and B for `mode`, with a batch dim on the operands that `batched` names. */
function storedShapes(
  m: number,
  k: number,
  n: number,
  mode: string,
  batch: number,
  batched: "none" | "both" | "a" | "b",
): [number[], number[]] {
  const a = mode[0] === "t" ? [k, m] : [m, k];
  const b = mode[1] === "t" ? [n, k] : [k, n];
  return [
    batched === "both" || batched === "a" ? [batch, ...a] : a,
    batched === "both" || batched === "b" ? [batch, ...b] : b,
  ];
}

Deno.test("matmul.reference backward matches finite differences of the forward (float64)", () => {
  // L(A, B) = Σ C ⊙ R with C = op(A)·op(B): dL/dA and dL/dB from the analytic reference against
  // central differences of the reference forward. Float64 throughout, h = 1e-6: the truncation
  // error is 0 (L is bilinear), round-off ~1e-16·|L|/h ≈ 1e-9.
  const rng = new Rng(1);
  const cases: [number, number, number, number, "none" | "both" | "a" | "b"][] = [
    [3, 4, 2, 1, "none"],
    [2, 3, 4, 2, "both"],
    [3, 2, 3, 2, "a"],
    [2, 3, 2, 3, "b"],
  ];
  for (const mode of MODES) {
    for (const [m, k, n, batch, batched] of cases) {
      const [aShape, bShape] = storedShapes(m, k, n, mode, batch, batched);
      const transA = mode[0] === "t";
      const transB = mode[1] === "t";
      const a: HostTensor = {
        shape: aShape,
        data: Float64Array.from(randomData(rng, numel(aShape))),
      };
      const b: HostTensor = {
        shape: bShape,
        data: Float64Array.from(randomData(rng, numel(bShape))),
      };
      const outBatch = batched === "none" ? 1 : batch;
      const r: HostTensor = {
        shape: [outBatch, m, n],
        data: Float64Array.from(randomData(rng, outBatch * m * n)),
      };
      const loss = () =>
        matmul.reference.forward(a, b, transA, transB).reduce((s, c, i) => s + c * r.data[i], 0);
      const { da, db } = matmul.reference.backward(a, b, r, transA, transB);
      const h = 1e-6;
      for (const [x, grad, name] of [[a, da, "dA"], [b, db, "dB"]] as const) {
        for (let i = 0; i < x.data.length; i++) {
          const keep = x.data[i];
          x.data[i] = keep + h;
          const up = loss();
          x.data[i] = keep - h;
          const down = loss();
          x.data[i] = keep;
          const numeric = (up - down) / (2 * h);
          assert.ok(
            Math.abs(grad[i] - numeric) < 1e-7,
            `${mode} ${batched} ${name}[${i}]: ${grad[i]} vs ${numeric}`,
          );
        }
      }
    }
  }
});

Deno.test("encodeMatmul() every variant matches the reference on odd shapes, batched and broadcast", async () => {
  // f32 sums of ≤ 1031 products of N(0,1) values: error ~√K·6e-8·|c| ≪ 1e-4 · max|ref|.
  const rng = new Rng(2);
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [7, 13, 5],
    [31, 37, 41],
    [9, 1, 6], // K = 1
    [8, 12, 20], // every dim a multiple of 4: the vec4 paths
    [100, 64, 132], // several workgroups per dim with a ragged last tile, vec4 paths
    [5, 8, 256], // the register block's widest (128-column) workgroup
    [1030, 3, 5], // M ≥ 1025
    [3, 1031, 4], // K ≥ 1025
  ];
  const before = live();
  for (const [m, k, n] of shapes) {
    // Large shapes run 2-D only and skip tt: each new layout compiles pipelines (~0.2 s each).
    const large = m * k * n > 4000;
    for (const mode of large ? MODES.slice(0, 3) : MODES) {
      const transposeA = mode[0] === "t";
      const transposeB = mode[1] === "t";
      const batchings = large ? ["none"] as const : ["none", "both", "a", "b"] as const;
      for (const batched of batchings) {
        const batch = batched === "none" ? 1 : 3;
        const [aShape, bShape] = storedShapes(m, k, n, mode, batch, batched);
        const aData = randomData(rng, numel(aShape));
        const bData = randomData(rng, numel(bShape));
        const ref = matmul.reference.forward(
          { shape: aShape, data: aData },
          { shape: bShape, data: bData },
          transposeA,
          transposeB,
        );
        await scope(async () => {
          const a = fromArray(aData, aShape);
          const b = fromArray(bData, bShape);
          const outs = MATMUL_VARIANTS.map((variant) => {
            const out = Tensor.empty(gpu, batched === "none" ? [m, n] : [batch, m, n], "f32");
            encodeMatmul(a, b, out, { transposeA, transposeB, variant });
            return out;
          });
          for (const [i, out] of outs.entries()) {
            const label = `${MATMUL_VARIANTS[i]} ${mode} ${batched} ${m}×${k}×${n}`;
            assertClose(await out.toArray(), ref, 1e-4, label);
          }
        });
      }
    }
  }
  assert.equal(live(), before, "every tensor was freed");
});

Deno.test("encodeMatmul() applies alpha and the fused bias in every variant", async () => {
  // Same f32 rounding argument as above.
  const rng = new Rng(3);
  for (const [m, k, n] of [[5, 7, 3], [17, 8, 12]]) {
    const aData = randomData(rng, m * k);
    const wData = randomData(rng, n * k);
    const biasData = randomData(rng, n);
    const ref = matmul.reference.forward(
      { shape: [m, k], data: aData },
      { shape: [n, k], data: wData },
      false,
      true,
    ).map((v, i) => -0.5 * v + biasData[i % n]);
    await scope(async () => {
      const a = fromArray(aData, [m, k]);
      const w = fromArray(wData, [n, k]);
      const bias = fromArray(biasData, [n]);
      for (const variant of MATMUL_VARIANTS) {
        const out = Tensor.empty(gpu, [m, n], "f32");
        encodeMatmul(a, w, out, { transposeB: true, alpha: -0.5, bias, variant });
        assertClose(await out.toArray(), ref, 1e-4, `${variant} ${m}×${k}×${n} alpha + bias`);
      }
    });
  }
});

Deno.test("matmul() keeps its relative precision over an extreme range of magnitudes", async () => {
  // A ~ 1e4, B ~ 1e-4 and A ~ 1e-20, B ~ 1e15: f32 products keep ~1e-7 relative error; the
  // tolerance is relative to max|ref| (not the fixture's max(1, ·), which would be vacuous).
  const rng = new Rng(4);
  for (const [sa, sb] of [[1e4, 1e-4], [1e-20, 1e15], [1e18, 1e18]]) {
    const aData = randomData(rng, 13 * 17, sa);
    const bData = randomData(rng, 17 * 11, sb);
    const ref = matmul.reference.forward(
      { shape: [13, 17], data: aData },
      { shape: [17, 11], data: bData },
      false,
      false,
    );
    await scope(async () => {
      for (const variant of MATMUL_VARIANTS) {
        forceMatmulVariant(gpu, variant);
        const got = await matmul(fromArray(aData, [13, 17]), fromArray(bData, [17, 11])).toArray();
        const err = maxAbsDiff(got, ref);
        assert.ok(err <= 1e-5 * maxAbs(ref), `${variant} scale ${sa}·${sb}: err ${err}`);
      }
      forceMatmulVariant(gpu, undefined);
    });
  }
});

Deno.test("matmul() backward matches the reference for nn, tn, nt, batched and broadcast", async () => {
  // Gradients are matmuls of the same size class: same f32 argument, tolerance 1e-4.
  const rng = new Rng(5);
  const before = live();
  for (const variant of ["block", "tiled64"] as const) {
    forceMatmulVariant(gpu, variant);
    for (const mode of MODES) {
      for (const batched of ["none", "both", "a", "b"] as const) {
        const [m, k, n, batch] = [7, 5, 6, 3];
        const [aShape, bShape] = storedShapes(m, k, n, mode, batch, batched);
        const transposeA = mode[0] === "t";
        const transposeB = mode[1] === "t";
        const aData = randomData(rng, numel(aShape));
        const bData = randomData(rng, numel(bShape));
        const outShape = batched === "none" ? [m, n] : [batch, m, n];
        const gData = randomData(rng, numel(outShape));
        const ref = matmul.reference.backward(
          { shape: aShape, data: aData },
          { shape: bShape, data: bData },
          { shape: outShape, data: gData },
          transposeA,
          transposeB,
        );
        await scope(async () => {
          const a = fromArray(aData, aShape).requireGrad();
          const b = fromArray(bData, bShape).requireGrad();
          const c = matmul(a, b, { transposeA, transposeB, alpha: 2 });
          assert.deepEqual(c.shape, outShape);
          c.backward(fromArray(gData, outShape));
          const label = `${variant} ${mode} ${batched}`;
          assert.deepEqual(a.grad!.shape, aShape, `${label} dA shape`);
          assert.deepEqual(b.grad!.shape, bShape, `${label} dB shape`);
          assertClose(await a.grad!.toArray(), ref.da.map((v) => 2 * v), 1e-4, `${label} dA`);
          assertClose(await b.grad!.toArray(), ref.db.map((v) => 2 * v), 1e-4, `${label} dB`);
          a.grad!.dispose();
          b.grad!.dispose();
        });
      }
    }
  }
  forceMatmulVariant(gpu, undefined);
  assert.equal(live(), before, "every tensor was freed");
});

/** y = x·Wᵀ + b over the last dim, in float64. */
function linearLoops(x: Float32Array, w: Float32Array, b: Float32Array | null, inF: number) {
  const outF = w.length / inF;
  const rows = x.length / inF;
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let acc = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) acc += x[r * inF + i] * w[o * inF + i];
      y[r * outF + o] = acc;
    }
  }
  return y;
}

Deno.test("linear() forward and backward match plain loops, with and without bias, 2-D and 3-D", async () => {
  // dx = g·W, dW = gᵀ·x, db = Σ_rows g; f32 sums of ≤ 2·17·13 terms, tolerance 1e-4.
  const rng = new Rng(6);
  const before = live();
  for (const xShape of [[17, 13], [2, 5, 13], [1, 13]]) {
    for (const withBias of [true, false]) {
      const [inF, outF] = [13, 7];
      const rows = numel(xShape) / inF;
      const xData = randomData(rng, numel(xShape));
      const wData = randomData(rng, outF * inF);
      const bData = randomData(rng, outF);
      const gData = randomData(rng, rows * outF);
      const yRef = linearLoops(xData, wData, withBias ? bData : null, inF);
      const dx = new Float64Array(rows * inF);
      const dw = new Float64Array(outF * inF);
      const db = new Float64Array(outF);
      for (let r = 0; r < rows; r++) {
        for (let o = 0; o < outF; o++) {
          const g = gData[r * outF + o];
          db[o] += g;
          for (let i = 0; i < inF; i++) {
            dx[r * inF + i] += g * wData[o * inF + i];
            dw[o * inF + i] += g * xData[r * inF + i];
          }
        }
      }
      await scope(async () => {
        const x = fromArray(xData, xShape).requireGrad();
        const w = fromArray(wData, [outF, inF]).requireGrad();
        const b = withBias ? fromArray(bData, [outF]).requireGrad() : undefined;
        const y = linear(x, w, b);
        const yShape = [...xShape.slice(0, -1), outF];
        assert.deepEqual(y.shape, yShape);
        y.backward(fromArray(gData, yShape));
        const label = `linear [${xShape}] bias=${withBias}`;
        assertClose(await y.toArray(), yRef, 1e-4, `${label} y`);
        assert.deepEqual(x.grad!.shape, xShape);
        assertClose(await x.grad!.toArray(), dx, 1e-4, `${label} dx`);
        assertClose(await w.grad!.toArray(), dw, 1e-4, `${label} dW`);
        if (b) assertClose(await b.grad!.toArray(), db, 1e-4, `${label} db`);
        for (const t of [x, w, b]) t?.grad?.dispose();
      });
    }
  }
  assert.equal(live(), before, "every tensor was freed");
});

Deno.test("matmul() and linear() reject mismatched shapes with a ShapeError naming both", () => {
  scope(() => {
    const a = fromArray(new Float32Array(6), [2, 3]);
    const b = fromArray(new Float32Array(20), [4, 5]);
    assert.throws(() => matmul(a, b), (e: unknown) => {
      assert.ok(e instanceof ShapeError);
      assert.equal(
        (e as ShapeError).message,
        "Cannot matmul tensors of shape [2, 3] and [4, 5]: inner dimensions 3 and 4 differ",
      );
      return true;
    });
    const a3 = fromArray(new Float32Array(12), [2, 2, 3]);
    const b3 = fromArray(new Float32Array(18), [3, 3, 2]);
    assert.throws(() => matmul(a3, b3), /batch sizes 2 and 3 differ/);
    assert.throws(() => matmul(fromArray([1, 2, 3]), b), /rank 2 or 3/);
    assert.throws(() => linear(a, fromArray(new Float32Array(8), [2, 4])), ShapeError);
    assert.throws(
      () => linear(a, fromArray(new Float32Array(6), [2, 3]), fromArray([1, 2, 3])),
      /bias must have shape \[2\]/,
    );
  });
});

Deno.test("tuneMatmul() times the variants, and its winner is used for the bucket", async () => {
  const problem: MatmulProblem = {
    m: 19,
    n: 23,
    k: 29,
    batch: 2,
    transposeA: true,
    transposeB: false,
  };
  const [result] = await tuneMatmul(gpu, { problems: [problem], budgetMs: 20, onlyProblems: true });
  assert.equal(result.bucket, matmulBucket(problem));
  for (const v of ["small", "block", "texture", "tiled64", "tiled128"] as const) {
    assert.ok(result.msPerRun[v]! > 0, `${v} was timed`);
  }
  assert.equal(matmulVariantFor(gpu, { ...problem, m: 17 }), result.winner);
  forceMatmulVariant(gpu, "naive");
  assert.equal(matmulVariantFor(gpu, problem), "naive");
  forceMatmulVariant(gpu, undefined);
  assert.equal(matmulVariantFor(gpu, problem), result.winner);
  assert.throws(
    () => forceMatmulVariant(gpu, "fastest" as "naive"),
    /Cannot use matmul variant "fastest".*naive, small, block, texture, tiled64, tiled128/,
  );
});

Deno.test("defaultMatmulVariant() runs tiny batched products (attention scores) on `small`", () => {
  const scores: MatmulProblem = {
    m: 17,
    n: 17,
    k: 32,
    batch: 768,
    transposeA: false,
    transposeB: true,
  };
  assert.equal(defaultMatmulVariant(gpu, scores), "small");
  assert.equal(defaultMatmulVariant(gpu, { ...scores, m: 5, n: 32, k: 5 }), "small");
  const linearLayer = { ...scores, m: 2176, n: 384, k: 96, batch: 1 };
  assert.notEqual(defaultMatmulVariant(gpu, linearLayer), "small");
});

Deno.test("defaultMatmulVariant() reads flat textures on CPU adapters while the operands fit", () => {
  const linearLayer = VIT_TINY_QKV;
  const expected = isCpuAdapter(gpu) ? "texture" : "tiled64";
  assert.equal(defaultMatmulVariant(gpu, linearLayer), expected);
  // One row of A more than the tallest flat texture holds (4096 floats per texture row).
  const rows = Math.ceil(gpu.limits.maxTextureDimension2D * 4096 / 192) + 1;
  const tooTall = { ...linearLayer, m: rows, n: 192 };
  assert.equal(defaultMatmulVariant(gpu, tooTall) === "texture", false);
});

Deno.test("encodeMatmul() texture variant: back-to-back products each read their own operands", async () => {
  // The flat textures are shared by every product on the device: each copy must land after the
  // previous product read the slot. Three products of one size class in one submit, then one read.
  const rng = new Rng(9);
  const [m, k, n] = [70, 64, 36]; // A spans 2 texture rows, the second partial
  await scope(async () => {
    const cases = [0, 1, 2].map(() => {
      const aData = randomData(rng, m * k);
      const bData = randomData(rng, n * k);
      const a = fromArray(aData, [m, k]);
      const b = fromArray(bData, [n, k]);
      const out = Tensor.empty(gpu, [m, n], "f32");
      encodeMatmul(a, b, out, { transposeB: true, variant: "texture" });
      const ref = matmul.reference.forward(
        { shape: [m, k], data: aData },
        { shape: [n, k], data: bData },
        false,
        true,
      );
      return { out, ref };
    });
    for (const [i, { out, ref }] of cases.entries()) {
      assertClose(await out.toArray(), ref, 1e-4, `product ${i}`);
    }
  });
});

Deno.test("matmulBucket() groups problems by layout, log2 sizes and alignment", () => {
  const p = VIT_TINY_QKV;
  assert.equal(matmulBucket(p), "nt m13 n10 k8 b0 vec4");
  assert.equal(matmulBucket({ ...p, m: 5000 }), matmulBucket(p));
  assert.equal(matmulBucket({ ...p, n: 197, k: 64, batch: 96 }), "nt m13 n8 k6 b7 scalar");
  assert.notEqual(matmulBucket({ ...p, transposeB: false }), matmulBucket(p));
});
