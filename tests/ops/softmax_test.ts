import assert from "@std/assert";
import { Rng } from "../../lib/data/rng.ts";
import { ShapeError } from "../../lib/errors.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import type { RowVariant } from "../../lib/ops/rowwise.ts";
import {
  encodeSoftmax,
  encodeSoftmaxBackward,
  logSoftmax,
  softmax,
} from "../../lib/ops/softmax.ts";
import { fromArray } from "../../lib/tensor/create.ts";
import { scope } from "../../lib/tensor/scope.ts";
import { assertClose, numericGrad, randomData } from "../helpers.ts";

const gpu = await getGpu();
const live = () => gpu.pool.stats().liveBytes;

// Row counts × row lengths: a single element, odd primes, one row past 1024 and one just past
// a power of two (the kernels stride by at most 256 invocations).
const ODD_SHAPES = [[1, 1], [7, 13], [3, 1025], [5, 257]];
const OPS = [softmax, logSoftmax];
// The ops pick one variant per adapter; the tests run both.
const VARIANTS: RowVariant[] = ["rowwise", "workgroup"];

Deno.test("softmax.reference and logSoftmax.reference backward match finite differences", () => {
  const rng = new Rng(1);
  const shape = [3, 6];
  const x = Float64Array.from(randomData(rng, 18, 2));
  const dy = Float64Array.from(randomData(rng, 18));
  for (const op of OPS) {
    const loss = (v: Float64Array) =>
      op.reference.forward({ shape, data: v }).reduce((s, y, i) => s + y * dy[i], 0);
    // Central differences with h = 1e-6: O(h²) truncation plus ~1e-10 round-off.
    assertClose(
      op.reference.backward({ shape, data: x }, dy),
      numericGrad(loss, x),
      1e-7,
      op.opName,
    );
  }
});

Deno.test("softmax.reference rows sum to 1 and logSoftmax.reference is its log", () => {
  const rng = new Rng(2);
  const host = { shape: [4, 9], data: randomData(rng, 36, 5) };
  const p = softmax.reference.forward(host);
  const logp = logSoftmax.reference.forward(host);
  for (let r = 0; r < 4; r++) {
    const row = p.subarray(r * 9, r * 9 + 9);
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-14);
  }
  assertClose(logp.map(Math.exp), p, 1e-14, "exp(logSoftmax)");
});

async function checkOp(
  op: typeof softmax,
  shape: number[],
  xData: Float32Array,
  seed: number,
): Promise<void> {
  const dyData = randomData(new Rng(seed), xData.length);
  const before = live();
  await scope(async () => {
    const x = fromArray(xData, shape).requireGrad();
    const y = op(x);
    y.backward(fromArray(dyData, shape));
    const host = { shape, data: xData };
    const label = `${op.opName}([${shape}])`;
    const ref = op.reference.forward(host);
    const refDx = op.reference.backward(host, dyData);
    // f32 kernels against a float64 reference: the fixture rule (the f32 error is ≤ ~1e-5 here).
    assertClose(await y.toArray(), ref, 1e-4, `${label} y`);
    assertClose(await x.grad!.toArray(), refDx, 1e-4, `${label} dx`);
    const log = op === logSoftmax;
    const dy = fromArray(dyData, shape);
    for (const variant of VARIANTS) {
      const out = encodeSoftmax(x, log, variant);
      const dx = encodeSoftmaxBackward(out, dy, log, variant);
      assertClose(await out.toArray(), ref, 1e-4, `${label} ${variant} y`);
      assertClose(await dx.toArray(), refDx, 1e-4, `${label} ${variant} dx`);
    }
    // Leaf gradients outlive scopes (they belong to the parameters).
    x.grad!.dispose();
  });
  assert.equal(live(), before, "every tensor was freed");
}

Deno.test("softmax() and logSoftmax() match the reference on odd shapes", async () => {
  for (const op of OPS) {
    for (const [i, shape] of ODD_SHAPES.entries()) {
      const n = shape.reduce((a, b) => a * b, 1);
      await checkOp(op, shape, randomData(new Rng(10 + i), n, 2), 20 + i);
    }
    await checkOp(op, [2, 3, 5, 7], randomData(new Rng(30), 210), 31);
  }
});

Deno.test("softmax() and logSoftmax() stay finite with +90 spikes and far offsets", async () => {
  const rng = new Rng(40);
  // exp(90) overflows f32 (max ≈ 3.4e38 = e^88.7): only the max subtraction keeps these finite.
  const spiky = randomData(rng, 4 * 300);
  for (let r = 0; r < 4; r++) spiky[r * 300 + rng.int(300)] += 90;
  for (const op of OPS) {
    await checkOp(op, [4, 300], spiky, 41);
    await checkOp(op, [3, 65], randomData(rng, 195, 2, -50), 42);
    await checkOp(op, [3, 65], randomData(rng, 195, 2, 30), 43);
    await checkOp(op, [2, 256], randomData(rng, 512, 10), 44);
  }
});

Deno.test("softmax() handles more rows than one grid dimension holds", async () => {
  // 65538 rows: the workgroup variant folds its one-workgroup-per-row grid into two dims.
  const rows = gpu.limits.maxComputeWorkgroupsPerDimension + 3;
  await checkOp(softmax, [rows, 2], randomData(new Rng(50), rows * 2, 3), 51);
});

Deno.test("softmax() and logSoftmax() reject rank-0 tensors, naming the op and shape", () => {
  scope(() => {
    const scalar = fromArray([1], []);
    for (const op of OPS) {
      assert.throws(
        () => op(scalar),
        (e: Error) =>
          e instanceof ShapeError &&
          e.message.startsWith(`Cannot ${op.opName} a tensor of shape []`),
      );
    }
  });
});
