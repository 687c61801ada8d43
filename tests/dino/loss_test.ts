// dinoLoss(), teacherProbs() and updateCenter(): the float64 reference against finite
// differences, then the GPU kernels against the reference on odd shapes (K = 1, 7, 1025;
// ncrops 2 and 10; B = 1), an extreme logit range, and shape errors.
import assert from "@std/assert";
import { Rng } from "../../lib/data/rng.ts";
import { dinoLoss, type DinoLossOptions, teacherProbs, updateCenter } from "../../lib/dino/loss.ts";
import { ShapeError } from "../../lib/errors.ts";
import { sizeClass } from "../../lib/gpu/buffer_pool.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import { fromArray, zeros } from "../../lib/tensor/create.ts";
import { scope } from "../../lib/tensor/scope.ts";
import { assertClose, randomHost } from "../helpers.ts";

await getGpu();

const ref = dinoLoss.reference;

Deno.test("dinoLoss.reference backward matches finite differences", () => {
  // Central differences in float64 with h = 1e-6 on logits scaled by 1/τs = 10: error
  // ~ h²·|f'''|·100 + 1e-16/h ≈ 1e-9, far below the 1e-7 allowed.
  const rng = new Rng(3);
  for (const [ncrops, b, k, tt] of [[2, 2, 5, 0.07], [4, 1, 3, 0.04], [3, 2, 4, 0.05]]) {
    const student = randomHost([ncrops * b, k], rng);
    const teacher = randomHost([2 * b, k], rng);
    const center = randomHost([1, k], rng, 0.1);
    const options: DinoLossOptions = { teacherTemp: tt, ncrops };
    const grad = ref.backward(student, teacher, center, options);
    const h = 1e-6;
    for (let i = 0; i < student.data.length; i++) {
      const plus = Float64Array.from(student.data);
      const minus = Float64Array.from(student.data);
      plus[i] += h;
      minus[i] -= h;
      const fd = (ref.forward({ shape: student.shape, data: plus }, teacher, center, options) -
        ref.forward({ shape: student.shape, data: minus }, teacher, center, options)) / (2 * h);
      assert.ok(Math.abs(fd - grad[i]) < 1e-7, `dstudent[${i}]: ${grad[i]} vs ${fd}`);
    }
  }
});

Deno.test("dinoLoss.reference gives zero loss gradient rows that sum to zero", () => {
  // Σ_k dstudent = Σ (p − q) = 0 per row: softmax and q both sum to 1.
  const rng = new Rng(4);
  const student = randomHost([6, 9], rng);
  const grad = ref.backward(student, randomHost([4, 9], rng), randomHost([1, 9], rng), {
    teacherTemp: 0.04,
  });
  for (let r = 0; r < 6; r++) {
    const sum = grad.slice(r * 9, r * 9 + 9).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum) < 1e-12, `row ${r} sums to ${sum}`);
  }
});

const CASES: [ncrops: number, b: number, k: number, tt: number, std: number][] = [
  [2, 1, 1, 0.04, 1], // K = 1: loss 0, gradient 0, q = 1
  [2, 3, 7, 0.07, 1],
  [10, 1, 7, 0.04, 3], // ncrops 10, B = 1
  [10, 2, 1025, 0.04, 1],
  [3, 1, 1025, 0.05, 1],
  [2, 1, 65537, 0.04, 1], // dino's out_dim 65536 and one more: 257 strides per thread
  [4, 2, 33, 0.04, 30], // extreme: s/τs spans ±900, (t − c)/τt ±2250: needs max-subtraction
];

for (const [ncrops, b, k, tt, std] of CASES) {
  Deno.test(
    `dinoLoss() forward and backward match the reference (ncrops ${ncrops}, B ${b}, K ${k}, std ${std})`,
    async () => {
      await scope(async () => {
        const rng = new Rng(ncrops * 1000 + k);
        const student = randomHost([ncrops * b, k], rng, std);
        const teacher = randomHost([2 * b, k], rng, std);
        const center = randomHost([1, k], rng, 0.1 * std);
        const options: DinoLossOptions = { teacherTemp: tt, studentTemp: 0.1 };
        const s = fromArray(student.data, student.shape).requireGrad();
        const t = fromArray(teacher.data, teacher.shape);
        const c = fromArray(center.data, center.shape);
        const loss = dinoLoss(s, t, c, options);
        assert.deepEqual(loss.shape, []);
        loss.backward();
        const q = teacherProbs(t, c, tt);
        updateCenter(c, t, 0.9);
        // f32 kernels, float64 reference: the fixture tolerance 1e-4 relative to max(1, max|ref|).
        assertClose(
          [await loss.item()],
          [ref.forward(student, teacher, center, options)],
          1e-4,
          "loss",
        );
        assertClose(
          await s.grad!.toArray(),
          ref.backward(student, teacher, center, options),
          1e-4,
          "dstudent",
        );
        assertClose(await q.toArray(), ref.teacherProbs(teacher, center, tt), 1e-4, "q");
        assertClose(await c.toArray(), ref.updateCenter(center, teacher, 0.9), 1e-4, "center");
      });
    },
  );
}

Deno.test("dinoLoss() without grad returns the same scalar and frees its intermediates", async () => {
  await scope(async () => {
    const rng = new Rng(9);
    const student = randomHost([6, 5], rng);
    const teacher = randomHost([4, 5], rng);
    const center = randomHost([1, 5], rng);
    const options = { teacherTemp: 0.04, ncrops: 3 };
    const s = fromArray(student.data, student.shape);
    const t = fromArray(teacher.data, teacher.shape);
    const c = fromArray(center.data, center.shape);
    const gpu = await getGpu();
    const before = gpu.pool.stats().liveBytes;
    const loss = dinoLoss(s, t, c, options);
    // Only the scalar survives: q, the row stats and the row losses went back to the pool.
    assert.equal(gpu.pool.stats().liveBytes - before, sizeClass(4));
    assertClose(
      [await loss.item()],
      [ref.forward(student, teacher, center, options)],
      1e-4,
      "loss",
    );
  });
});

Deno.test("dinoLoss() scales its gradient by the upstream gradient", async () => {
  await scope(async () => {
    const rng = new Rng(10);
    const student = randomHost([4, 6], rng);
    const s = fromArray(student.data, student.shape).requireGrad();
    const teacher = randomHost([4, 6], rng);
    const center = randomHost([1, 6], rng);
    const loss = dinoLoss(s, fromArray(teacher.data, [4, 6]), fromArray(center.data, [1, 6]), {
      teacherTemp: 0.04,
    });
    loss.backward(fromArray([2.5], []));
    const want = ref.backward(student, teacher, center, { teacherTemp: 0.04 }).map((g) => 2.5 * g);
    assertClose(await s.grad!.toArray(), want, 1e-4, "dstudent");
  });
});

Deno.test("dinoLoss() rejects mismatched shapes with errors naming the op", () => {
  scope(() => {
    const t = zeros([4, 8]);
    const c = zeros([1, 8]);
    const cases: [() => unknown, RegExp][] = [
      [() => dinoLoss(zeros([7, 8]), t, c, { teacherTemp: 0.04 }), /dinoLoss.*7 rows/],
      [() => dinoLoss(zeros([6, 9]), t, c, { teacherTemp: 0.04 }), /dinoLoss.*K = 8/],
      [() => dinoLoss(zeros([2, 8]), t, c, { teacherTemp: 0.04 }), /dinoLoss.*ncrops ≥ 2/],
      [() => dinoLoss(zeros([6, 8]), t, c, { teacherTemp: 0.04, ncrops: 2 }), /ncrops = 2/],
      [() => dinoLoss(zeros([6, 8]), zeros([3, 8]), c, { teacherTemp: 0.04 }), /dinoLoss.*2B/],
      [() => dinoLoss(zeros([6, 8]), t, zeros([1, 7]), { teacherTemp: 0.04 }), /center must be/],
      [() => teacherProbs(t, zeros([2, 8]), 0.04), /teacherProbs/],
      [() => updateCenter(zeros([1, 5]), t), /updateCenter/],
    ];
    for (const [fn, message] of cases) {
      assert.throws(fn, (e: Error) => e instanceof ShapeError && message.test(e.message));
    }
    assert.throws(
      () => dinoLoss(zeros([6, 8]), t, c, { teacherTemp: 0 }),
      /dinoLoss: teacherTemp must be a positive number, got 0/,
    );
  });
});
