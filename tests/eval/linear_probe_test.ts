import assert from "@std/assert";
import { Rng } from "../../lib/data/rng.ts";
import { ShapeError } from "../../lib/errors.ts";
import { featureStats, trainLinearProbe } from "../../lib/eval/linear_probe.ts";
import { getGpu } from "../../lib/gpu/device.ts";

const gpu = await getGpu();
const live = () => gpu.pool.stats().liveBytes;

/**
 * Points labelled by the argmax of a fixed random linear map, keeping only those whose two best
 * scores differ by ≥ 1: linearly separable with a margin. Off-centre and scaled, so that the
 * standardisation matters.
 */
function separable(rng: Rng, rows: number, dim: number, classes: number, w: Float64Array) {
  const data = new Float32Array(rows * dim);
  const labels = new Int32Array(rows);
  const x = new Float64Array(dim);
  for (let r = 0; r < rows;) {
    for (let j = 0; j < dim; j++) x[j] = rng.normal();
    const scores = Array.from(
      { length: classes },
      (_, c) => x.reduce((s, v, j) => s + w[c * dim + j] * v, 0),
    );
    const sorted = [...scores].sort((a, b) => b - a);
    if (sorted[0] - sorted[1] < 1) continue;
    labels[r] = scores.indexOf(sorted[0]);
    for (let j = 0; j < dim; j++) data[r * dim + j] = 3 + 2 * x[j];
    r++;
  }
  return { data, labels };
}

Deno.test("featureStats() gives the population mean and std, and 1 for constant dims", () => {
  const { mean, std } = featureStats(new Float32Array([1, 5, 2, 5, 3, 5, 6, 5]), 2);
  assert.deepEqual(Array.from(mean), [3, 5]);
  assert.ok(Math.abs(std[0] - Math.sqrt(3.5)) < 1e-6);
  assert.equal(std[1], 1);
});

Deno.test("trainLinearProbe() learns linearly separable data to ≥ 95 %", async () => {
  const rng = new Rng(1);
  const [dim, classes] = [12, 4];
  const w = Float64Array.from({ length: classes * dim }, () => rng.normal());
  const train = separable(rng, 600, dim, classes, w);
  const test = separable(rng, 200, dim, classes, w);
  const before = live();
  const epochs: number[] = [];
  const result = await trainLinearProbe({
    trainFeatures: train.data,
    trainLabels: train.labels,
    testFeatures: test.data,
    testLabels: test.labels,
    numClasses: classes,
    epochs: 15,
    batchSize: 64,
    onEpoch: (e) => epochs.push(e.epoch),
  });
  assert.deepEqual(epochs, Array.from({ length: 15 }, (_, i) => i));
  assert.ok(result.bestTop1 >= 95, `best top-1 ${result.bestTop1} %`);
  assert.equal(result.bestTop1, Math.max(...result.history.map((h) => h.top1)));
  assert.ok(result.history[14].loss < result.history[0].loss, "the loss falls");
  assert.equal(result.weight.length, classes * dim);
  assert.equal(live() - before, 0, `leaked ${live() - before} bytes`);
});

Deno.test("trainLinearProbe() rejects mismatched widths and bad labels", async () => {
  const base = {
    trainFeatures: new Float32Array(6),
    trainLabels: [0, 1, 0],
    testFeatures: new Float32Array(4),
    testLabels: [1, 0],
    numClasses: 2,
    epochs: 1,
  };
  await assert.rejects(
    () => trainLinearProbe({ ...base, testFeatures: new Float32Array(6) }),
    (e: Error) => e instanceof ShapeError && /same width D/.test(e.message),
  );
  await assert.rejects(() => trainLinearProbe({ ...base, testLabels: [1, 2] }), RangeError);
});
