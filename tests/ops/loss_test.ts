import assert from "@std/assert";
import { Rng } from "../../lib/data/rng.ts";
import { ShapeError } from "../../lib/errors.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import { crossEntropy, encodeCrossEntropy } from "../../lib/ops/loss.ts";
import { fromArray } from "../../lib/tensor/create.ts";
import { scope } from "../../lib/tensor/scope.ts";
import { assertClose } from "../helpers.ts";

const gpu = await getGpu();
const live = () => gpu.pool.stats().liveBytes;

function randomLogits(rng: Rng, n: number, scale = 1, offset = 0): Float32Array {
  return Float32Array.from({ length: n }, () => offset + scale * rng.normal());
}

function randomLabels(rng: Rng, rows: number, classes: number): Int32Array {
  return Int32Array.from({ length: rows }, () => rng.int(classes));
}

Deno.test("crossEntropy.reference backward matches finite differences", () => {
  const rng = new Rng(1);
  const shape = [5, 7];
  const x = Float64Array.from(randomLogits(rng, 35, 2));
  const labels = randomLabels(rng, 5, 7);
  const dy = 0.7;
  const numeric = new Float64Array(x.length);
  const h = 1e-6;
  for (let i = 0; i < x.length; i++) {
    const v = Float64Array.from(x);
    v[i] = x[i] + h;
    const up = crossEntropy.reference.forward({ shape, data: v }, labels);
    v[i] = x[i] - h;
    numeric[i] = (dy * (up - crossEntropy.reference.forward({ shape, data: v }, labels))) / (2 * h);
  }
  // Central differences with h = 1e-6: O(h²) truncation plus ~1e-10 round-off.
  assertClose(crossEntropy.reference.backward({ shape, data: x }, labels, dy), numeric, 1e-7, "dx");
});

Deno.test("crossEntropy.reference is log C for equal logits and NaN for a bad label", () => {
  const shape = [2, 4];
  const data = new Float64Array(8);
  assert.ok(
    Math.abs(crossEntropy.reference.forward({ shape, data }, [0, 3]) - Math.log(4)) < 1e-15,
  );
  assert.ok(Number.isNaN(crossEntropy.reference.forward({ shape, data }, [0, 4])));
});

async function checkOp(shape: number[], xData: Float32Array, labelData: Int32Array, dy: number) {
  const before = live();
  await scope(async () => {
    const x = fromArray(xData, shape).requireGrad();
    const labels = fromArray(labelData, shape.slice(0, -1), { dtype: "i32" });
    const loss = crossEntropy(x, labels);
    assert.deepEqual(loss.shape, []);
    loss.backward(fromArray([dy], []));
    const host = { shape, data: xData };
    const label = `crossEntropy([${shape}])`;
    // f32 kernels against a float64 reference: the fixture rule (the f32 error is ≤ ~1e-5 here).
    assertClose(
      [await loss.item()],
      [crossEntropy.reference.forward(host, labelData)],
      1e-4,
      label,
    );
    assertClose(
      await x.grad!.toArray(),
      crossEntropy.reference.backward(host, labelData, dy),
      1e-4,
      `${label} dx`,
    );
    x.grad!.dispose();
  });
  assert.equal(live(), before, "every tensor was freed");
}

Deno.test("crossEntropy() matches the reference on odd shapes", async () => {
  const rng = new Rng(2);
  // One class, primes, many classes (the workgroup variant on GPUs), a 3-D batch.
  for (const shape of [[1, 1], [7, 13], [3, 1025], [257, 5], [2, 3, 10]]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const rows = n / shape[shape.length - 1];
    await checkOp(shape, randomLogits(rng, n, 2), randomLabels(rng, rows, shape.at(-1)!), 1.3);
  }
});

Deno.test("encodeCrossEntropy() rowwise and workgroup variants match the reference per row", async () => {
  const rng = new Rng(4);
  for (const [rows, classes] of [[1, 1], [5, 33], [3, 1025]]) {
    const data = randomLogits(rng, rows * classes, 3);
    const labels = randomLabels(rng, rows, classes);
    const ref = Array.from({ length: rows }, (_, r) =>
      crossEntropy.reference.forward(
        { shape: [1, classes], data: data.subarray(r * classes, (r + 1) * classes) },
        [labels[r]],
      ));
    for (const variant of ["rowwise", "workgroup"] as const) {
      await scope(async () => {
        const { loss } = encodeCrossEntropy(
          fromArray(data, [rows, classes]),
          fromArray(labels, [rows], { dtype: "i32" }),
          variant,
        );
        // f32 against float64: the fixture rule.
        assertClose(await loss.toArray(), ref, 1e-4, `${variant} [${rows}, ${classes}]`);
      });
    }
  }
});

Deno.test("crossEntropy() stays finite for huge logits and far offsets", async () => {
  const rng = new Rng(3);
  // exp(90) overflows f32: only the max subtraction keeps these finite.
  const spiky = randomLogits(rng, 4 * 50);
  for (let r = 0; r < 4; r++) spiky[r * 50 + rng.int(50)] += 90;
  await checkOp([4, 50], spiky, randomLabels(rng, 4, 50), 1);
  await checkOp([3, 65], randomLogits(rng, 195, 2, -50), randomLabels(rng, 3, 65), 1);
});

Deno.test("crossEntropy() gives NaN for a label out of range and rejects mismatched labels", async () => {
  await scope(async () => {
    const x = fromArray([0, 1, 2, 3, 4, 5], [2, 3]);
    assert.ok(Number.isNaN(await crossEntropy(x, fromArray([0, 3], [2], { dtype: "i32" })).item()));
    assert.throws(
      () => crossEntropy(x, fromArray([0, 1, 2], [3], { dtype: "i32" })),
      (e: Error) => e instanceof ShapeError && e.message.startsWith("Cannot crossEntropy"),
    );
    assert.throws(() => crossEntropy(x, fromArray([0, 1], [2])), ShapeError);
  });
});
