import assert from "@std/assert";
import { Rng } from "../../lib/data/rng.ts";
import { SyntheticShapes } from "../../lib/data/synthetic.ts";
import {
  attentionIoU,
  attentionMassMask,
  clsAttention,
  headMap,
  maskIoU,
  saveAttentionPngs,
  upsampleMask,
} from "../../lib/eval/attention_maps.ts";
import { loadBatch } from "../../lib/eval/features.ts";
import { decodePng } from "../../lib/eval/png.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import { VisionTransformer, vitTiny } from "../../lib/nn/vit.ts";
import { fromArray } from "../../lib/tensor/create.ts";
import { scope } from "../../lib/tensor/scope.ts";

const gpu = await getGpu();
const live = () => gpu.pool.stats().liveBytes;

Deno.test("attentionMassMask() keeps the fewest largest patches holding the requested mass", () => {
  const rng = new Rng(1);
  for (const keep of [0.1, 0.6, 0.9, 1]) {
    const attention = Float64Array.from({ length: 49 }, () => rng.uniform() ** 3);
    const total = attention.reduce((a, b) => a + b, 0);
    const mask = attentionMassMask(attention, keep);
    const kept = attention.filter((_, i) => mask[i]);
    const mass = kept.reduce((a, b) => a + b, 0) / total;
    // Float sums of 49 terms: 1e-12 covers their rounding.
    assert.ok(mass >= keep - 1e-12, `keep ${keep}: kept mass ${mass}`);
    assert.ok(mass - Math.min(...kept) / total < keep + 1e-12, `keep ${keep}: not minimal`);
    const smallestKept = Math.min(...kept);
    assert.ok(attention.every((v, i) => mask[i] || v <= smallestKept), "the largest are kept");
  }
  assert.deepEqual(attentionMassMask([0.1, 0.5, 0.15, 0.25], 0.6), new Uint8Array([0, 1, 0, 1]));
  assert.throws(() => attentionMassMask([1], 1.5), RangeError);
});

Deno.test("maskIoU() is 1 for identical masks, 0 for disjoint ones, |∩|/|∪| otherwise", () => {
  const a = new Uint8Array([1, 1, 0, 0, 1, 0]);
  assert.equal(maskIoU(a, a), 1);
  assert.equal(maskIoU(a, a.map((v) => 1 - v)), 0);
  assert.equal(maskIoU(a, new Uint8Array([1, 0, 0, 0, 1, 1])), 2 / 4);
  assert.equal(maskIoU(new Uint8Array(3), new Uint8Array(3)), 1, "two empty masks agree");
  assert.throws(() => maskIoU([1], [1, 0]), RangeError);
});

Deno.test("upsampleMask() repeats each patch over its pixels", () => {
  const grid = new Uint8Array([1, 0, 0, 1]); // 2×2
  const up = upsampleMask(grid, 2, 2, 4, 6);
  assert.deepEqual(
    Array.from(up),
    [1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1],
  );
  // A patch-grid copy of a ground-truth mask scores 1 against the upsampled mask.
  assert.equal(maskIoU(up, up.slice()), 1);
});

Deno.test("clsAttention(), attentionIoU() and saveAttentionPngs() on a tiny ViT", async () => {
  const vit = new VisionTransformer(
    vitTiny(4, { imgSize: 16, depth: 2, embedDim: 24, numHeads: 3 }),
    { seed: 0 },
  ).eval();
  const data = new SyntheticShapes({ length: 3, size: 16, seed: 5 });
  const before = live();
  const { data: pixels, shape } = loadBatch(data, [0, 1, 2]);
  const maps = await scope(() => clsAttention(vit, fromArray(pixels, shape)));
  assert.equal(live(), before, "every tensor was freed");
  assert.deepEqual([maps.batch, maps.heads, maps.gridHeight, maps.gridWidth], [3, 3, 4, 4]);
  for (let b = 0; b < 3; b++) {
    for (let h = 0; h < 3; h++) {
      const row = headMap(maps, b, h);
      const sum = row.reduce((a, v) => a + v, 0);
      // CLS→patch probabilities: the rest of the softmax row is CLS→CLS, so the sum is < 1.
      assert.ok(row.every((v) => v > 0) && sum < 1 + 1e-6, `image ${b} head ${h} sums to ${sum}`);
    }
  }
  const iou = await attentionIoU(vit, data, { batchSize: 2 });
  assert.equal(iou.count, 3);
  assert.equal(iou.perHead.length, 3);
  for (const v of [iou.meanHeads, ...iou.perHead]) assert.ok(v >= 0 && v <= 1);
  assert.equal(iou.bestHeadIoU, Math.max(...iou.perHead));
  assert.equal(live(), before, "every tensor was freed");

  const dir = await Deno.makeTempDir({ prefix: "attention_maps_test" });
  try {
    const paths = await saveAttentionPngs(dir, data.get(1), maps, 1, { scale: 2 });
    const names = paths.map((p) => p.slice(dir.length + 1)).sort();
    assert.deepEqual(names, [
      "attn-head0.png",
      "attn-head1.png",
      "attn-head2.png",
      "attn-mean.png",
      "img.png",
      "overlay.png",
    ]);
    for (const path of paths) {
      const png = await decodePng(await Deno.readFile(path));
      assert.deepEqual([png.width, png.height], [32, 32], path);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  vit.dispose();
});
