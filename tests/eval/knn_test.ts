import assert from "@std/assert";
import { Rng } from "../../lib/data/rng.ts";
import { ShapeError } from "../../lib/errors.ts";
import { knnClassify } from "../../lib/eval/knn.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import { fromArray } from "../../lib/tensor/create.ts";
import { scope } from "../../lib/tensor/scope.ts";

const gpu = await getGpu();
const live = () => gpu.pool.stats().liveBytes;

/** dino's knn_classifier in float64 on the CPU: the test's independent reference. */
function knnReference(
  train: Float32Array,
  trainLabels: ArrayLike<number>,
  test: Float32Array,
  testLabels: ArrayLike<number>,
  numClasses: number,
  k: number,
  t: number,
): { top1: number; top5: number } {
  const d = train.length / trainLabels.length;
  const unit = (a: Float32Array, i: number) => {
    const v = Array.from(a.subarray(i * d, i * d + d));
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  };
  const bank = Array.from({ length: trainLabels.length }, (_, i) => unit(train, i));
  let top1 = 0, top5 = 0;
  for (let qi = 0; qi < testLabels.length; qi++) {
    const query = unit(test, qi);
    const sims = bank.map((b, i) => ({ i, s: b.reduce((acc, x, j) => acc + x * query[j], 0) }));
    sims.sort((a, b) => b.s - a.s || a.i - b.i);
    const scores = new Float64Array(numClasses);
    for (const { i, s } of sims.slice(0, k)) scores[trainLabels[i]] += Math.exp(s / t);
    const order = Array.from({ length: numClasses }, (_, c) => c).sort((a, b) =>
      scores[b] - scores[a] || a - b
    );
    top1 += Number(order[0] === testLabels[qi]);
    top5 += Number(order.slice(0, Math.min(5, k)).includes(testLabels[qi]));
  }
  return { top1: (100 * top1) / testLabels.length, top5: (100 * top5) / testLabels.length };
}

function clusters(rng: Rng, perClass: number, centres: number[][], spread: number) {
  const d = centres[0].length;
  const data = new Float32Array(perClass * centres.length * d);
  const labels = new Int32Array(perClass * centres.length);
  for (let i = 0; i < labels.length; i++) {
    labels[i] = i % centres.length;
    for (let j = 0; j < d; j++) data[i * d + j] = centres[labels[i]][j] + spread * rng.normal();
  }
  return { data, labels };
}

Deno.test("knnClassify() is 100 % right on two well-separated clusters", async () => {
  const rng = new Rng(1);
  const centres = [[5, 0, 0, 0, 1], [0, 0, 5, 0, 1]];
  const train = clusters(rng, 20, centres, 0.3);
  const test = clusters(rng, 7, centres, 0.3);
  const before = live();
  const results = await knnClassify({
    trainFeatures: train.data,
    trainLabels: train.labels,
    testFeatures: test.data,
    testLabels: test.labels,
    numClasses: 2,
    ks: [1, 10, 20, 200],
  });
  assert.deepEqual(results.map((r) => r.k), [1, 10, 20, 40], "k is capped at the bank size");
  for (const r of results) {
    assert.equal(r.top1, 100);
    assert.equal(r.top5, 100);
  }
  assert.equal(live(), before, "every tensor was freed");
});

Deno.test("knnClassify() weighs votes by exp(sim / T): a hand-computed case", async () => {
  // Bank on the unit circle; the query is (1, 0). Similarities: a 1.0 (class 0), b 0.8 and
  // c 0.6 (class 1). With k = 3: class 0 gets e^(1/T), class 1 gets e^(0.8/T) + e^(0.6/T).
  // T = 0.07: e^14.29 = 1.6e6 vs e^11.43 + e^8.57 = 9.2e4 + 5.3e3 → class 0 wins.
  // T = 1:    e^1 = 2.72 vs e^0.8 + e^0.6 = 2.23 + 1.82 = 4.05 → class 1 wins.
  const train = new Float32Array([1, 0, 0.8, 0.6, 0.6, 0.8, -1, 0]);
  const trainLabels = [0, 1, 1, 2];
  const query = { testFeatures: new Float32Array([2, 0]), testLabels: [0] };
  const common = { trainFeatures: train, trainLabels, numClasses: 3, ks: [1, 3] };
  const sharp = await knnClassify({ ...common, ...query, temperature: 0.07 });
  assert.deepEqual(sharp, [{ k: 1, top1: 100, top5: 100 }, { k: 3, top1: 100, top5: 100 }]);
  const flat = await knnClassify({ ...common, ...query, temperature: 1 });
  // k = 3 at T = 1: class 1 first, class 0 second: top-1 wrong, within top-min(5, 3).
  assert.deepEqual(flat, [{ k: 1, top1: 100, top5: 100 }, { k: 3, top1: 0, top5: 100 }]);
  // k = 2 at T = 1: a (e^1 = 2.72) against b (e^0.8 = 2.23): class 0; top5 window min(5, 2) = 2.
  const two = await knnClassify({ ...common, ...query, ks: [2], temperature: 1 });
  assert.deepEqual(two, [{ k: 2, top1: 100, top5: 100 }]);
});

Deno.test("knnClassify() matches dino's knn_classifier on random data, tensors and chunks", async () => {
  const rng = new Rng(3);
  const [n, q, d, classes] = [97, 41, 6, 7];
  const train = Float32Array.from({ length: n * d }, () => rng.normal());
  const test = Float32Array.from({ length: q * d }, () => rng.normal());
  const trainLabels = Int32Array.from({ length: n }, () => rng.int(classes));
  const testLabels = Int32Array.from({ length: q }, () => rng.int(classes));
  const ks = [1, 3, 10, 20, 97];
  const before = live();
  await scope(async () => {
    const results = await knnClassify({
      trainFeatures: fromArray(train, [n, d]),
      trainLabels,
      testFeatures: fromArray(test, [q, d]),
      testLabels,
      numClasses: classes,
      ks,
      chunkSize: 16, // three chunks, the last one partial
    });
    for (const [i, k] of ks.entries()) {
      const ref = knnReference(train, trainLabels, test, testLabels, classes, k, 0.07);
      // Counts of whole queries: f32 similarities flip a neighbour only on near-ties, which
      // random normal data of this size does not have.
      assert.deepEqual(results[i], { k, ...ref }, `k = ${k}`);
    }
  });
  assert.equal(live(), before, "every tensor was freed");
});

Deno.test("knnClassify() rejects mismatched features and bad labels", async () => {
  const base = {
    trainFeatures: new Float32Array(6),
    trainLabels: [0, 1, 0],
    testFeatures: new Float32Array(4),
    testLabels: [1, 0],
    numClasses: 2,
  };
  await assert.rejects(
    () => knnClassify({ ...base, testFeatures: new Float32Array(6) }),
    (e: Error) => e instanceof ShapeError && /same width D/.test(e.message),
  );
  await assert.rejects(() => knnClassify({ ...base, trainLabels: [0, 2, 0] }), RangeError);
  await assert.rejects(() => knnClassify({ ...base, ks: [0] }), RangeError);
});
