import assert from "@std/assert";
import { ShapeError } from "../../lib/errors.ts";
import {
  clsEmbedder,
  extractFeatures,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type ImageSource,
} from "../../lib/eval/features.ts";
import { probeEmbedder } from "../../lib/eval/linear_probe.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import { VisionTransformer, vitTiny } from "../../lib/nn/vit.ts";
import { reshape } from "../../lib/ops/movement.ts";
import { maxAbsDiff } from "../../lib/tensor/host.ts";

const gpu = await getGpu();
const live = () => gpu.pool.stats().liveBytes;

/** `length` 3×2×2 images whose pixel p of channel c of image i is (i + c + p) / 20. */
function tinySource(length: number): ImageSource {
  return {
    length,
    get: (i) => ({
      image: Float32Array.from({ length: 12 }, (_, j) => (i + Math.floor(j / 4) + (j % 4)) / 20),
      channels: 3,
      height: 2,
      width: 2,
      label: i % 3,
    }),
  };
}

Deno.test("extractFeatures() normalises, batches and keeps the order of the indices", async () => {
  const source = tinySource(11);
  const indices = [10, 3, 4, 0, 7, 1, 2];
  const before = live();
  const progress: number[] = [];
  const out = await extractFeatures(source, (x) => reshape(x, [x.shape[0], 12]), {
    batchSize: 3, // batches of 3, 3 and 1
    indices,
    onProgress: (done) => progress.push(done),
  });
  assert.equal(live(), before, "every tensor was freed");
  assert.deepEqual(progress, [3, 6, 7]);
  assert.deepEqual([out.count, out.dim], [7, 12]);
  assert.deepEqual(Array.from(out.labels), indices.map((i) => i % 3));
  const expected = indices.flatMap((i) =>
    Array.from(source.get(i).image, (v, j) => {
      const c = Math.floor(j / 4);
      return (v - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
    })
  );
  // The normalisation is the same f32 arithmetic; the reshape copies exactly.
  assert.ok(maxAbsDiff(out.features, expected) < 1e-6);
});

Deno.test("extractFeatures() rejects an embedder that does not return [B, D]", async () => {
  await assert.rejects(
    () => extractFeatures(tinySource(2), (x) => x),
    (e: Error) => e instanceof ShapeError && /\[B, D\]/.test(e.message),
  );
  await assert.rejects(
    () =>
      extractFeatures({
        ...tinySource(2),
        get: (i) => ({ ...tinySource(2).get(i), channels: 1, image: new Float32Array(4) }),
      }, (x) => x),
    (e: Error) => e instanceof RangeError && /mean and std/.test(e.message),
  );
});

Deno.test("probeEmbedder() concatenates the last CLS tokens and the pooled patches", async () => {
  const vit = new VisionTransformer(
    vitTiny(2, { imgSize: 4, depth: 3, embedDim: 12, numHeads: 2 }),
    { seed: 1 },
  ).eval();
  const source = {
    ...tinySource(5),
    get: (i: number) => ({
      ...tinySource(5).get(i),
      height: 4,
      width: 4,
      image: new Float32Array(48).fill(i / 5),
    }),
  };
  const before = live();
  const cls = await extractFeatures(source, clsEmbedder(vit));
  const probe = await extractFeatures(
    source,
    probeEmbedder(vit, { nLastBlocks: 2, avgPool: true }),
  );
  assert.equal(live(), before, "every tensor was freed");
  assert.deepEqual([cls.dim, probe.dim], [12, 36]);
  // The second CLS of the probe is the last block's, after the final norm: vit.forward's.
  for (let i = 0; i < 5; i++) {
    // Same kernels on the same input: equal up to f32 reassociation.
    assert.ok(
      maxAbsDiff(
        probe.features.subarray(i * 36 + 12, i * 36 + 24),
        cls.features.subarray(i * 12, i * 12 + 12),
      ) < 1e-5,
    );
  }
  assert.throws(() => probeEmbedder(vit, { nLastBlocks: 4 }), RangeError);
  vit.dispose();
});
