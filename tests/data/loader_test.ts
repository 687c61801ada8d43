import assert from "@std/assert";
import { getGpu } from "../../lib/gpu/device.ts";
import type { Dataset, Sample } from "../../lib/data/dataset.ts";
import { DataLoader, type HostBatch, resizeBilinear } from "../../lib/data/loader.ts";
import { SyntheticShapes } from "../../lib/data/synthetic.ts";

const gpu = await getGpu();

/** A 1×2×3 dataset whose image i is filled with i/100 and whose label is i mod 4; logs get(). */
function counting(length: number): Dataset & { calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    length,
    numClasses: 4,
    classNames: ["a", "b", "c", "d"],
    channels: 1,
    height: 2,
    width: 3,
    get(i: number): Sample {
      calls.push(i);
      return {
        image: new Float32Array(6).fill(i / 100),
        channels: 1,
        height: 2,
        width: 3,
        label: i % 4,
      };
    },
  };
}

async function collect(it: AsyncIterable<HostBatch>): Promise<HostBatch[]> {
  const out: HostBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

Deno.test("DataLoader.order() is a seeded permutation per epoch, covering every index once", () => {
  const ds = counting(1000);
  const a = new DataLoader(ds, { batchSize: 10, seed: 5 });
  const b = new DataLoader(ds, { batchSize: 10, seed: 5 });
  const c = new DataLoader(ds, { batchSize: 10, seed: 6 });
  for (const epoch of [0, 1, 7]) {
    const order = a.order(epoch);
    assert.deepEqual(order, b.order(epoch), "same seed, same order");
    assert.deepEqual([...order].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  }
  assert.notDeepEqual(a.order(0), a.order(1), "epochs differ");
  assert.notDeepEqual(a.order(0), c.order(0), "seeds differ");
  assert.notDeepEqual(a.order(1), c.order(0), "(seed, epoch + 1) is not (seed + 1, epoch)");
  const fixed = new DataLoader(ds, { batchSize: 10, shuffle: false });
  assert.deepEqual([...fixed.order(3)], Array.from({ length: 1000 }, (_, i) => i));
});

Deno.test("DataLoader batches every example once per epoch; dropLast drops the short batch", async () => {
  const ds = counting(10);
  const keep = new DataLoader(ds, { batchSize: 4, seed: 1 });
  const drop = new DataLoader(ds, { batchSize: 4, seed: 1, dropLast: true });
  assert.equal(keep.batchesPerEpoch, 3);
  assert.equal(drop.batchesPerEpoch, 2);
  const kept = await collect(keep.hostBatches(2));
  const dropped = await collect(drop.hostBatches(2));
  assert.deepEqual(kept.map((b) => b.shape), [[4, 1, 2, 3], [4, 1, 2, 3], [2, 1, 2, 3]]);
  assert.deepEqual(dropped.map((b) => b.shape), [[4, 1, 2, 3], [4, 1, 2, 3]]);
  const seen = kept.flatMap((b) => [...b.indices]).sort((x, y) => x - y);
  assert.deepEqual(seen, Array.from({ length: 10 }, (_, i) => i));
  assert.deepEqual(dropped.flatMap((b) => [...b.indices]), [...keep.order(2).subarray(0, 8)]);
  for (const b of kept) {
    for (let k = 0; k < b.indices.length; k++) {
      assert.equal(b.labels[k], b.indices[k] % 4);
      assert.deepEqual(
        [...b.images.subarray(6 * k, 6 * k + 6)],
        new Array(6).fill(Math.fround(b.indices[k] / 100)),
      );
    }
    assert.equal(b.masks, undefined);
  }
  assert.deepEqual(
    await collect(new DataLoader(counting(3), { batchSize: 4, dropLast: true }).hostBatches(0)),
    [],
  );
});

Deno.test("DataLoader carries synthetic masks and matches dataset.get() exactly", async () => {
  const ds = new SyntheticShapes({ length: 12, size: 16, seed: 2 });
  const loader = new DataLoader(ds, { batchSize: 5, seed: 9 });
  const batches = await collect(loader.hostBatches(0));
  assert.deepEqual(batches.map((b) => b.shape[0]), [5, 5, 2]);
  const b = batches[1];
  for (let k = 0; k < 5; k++) {
    const s = ds.get(b.indices[k]);
    assert.deepEqual(b.images.subarray(k * 768, (k + 1) * 768), s.image);
    assert.deepEqual(b.masks!.subarray(k * 256, (k + 1) * 256), s.mask);
    assert.equal(b.labels[k], s.label);
  }
  const again = await collect(new DataLoader(ds, { batchSize: 5, seed: 9 }).hostBatches(0));
  assert.deepEqual(again[2].images, batches[2].images, "same seed, same batches");
});

Deno.test("DataLoader prepares batch i+1 while the consumer awaits after batch i", async () => {
  const ds = counting(12);
  const loader = new DataLoader(ds, { batchSize: 4, shuffle: false });
  const log: string[] = [];
  for await (const b of loader.hostBatches(0)) {
    log.push(`got ${b.indices[0]} (${ds.calls.length} fetched)`);
    // Stands for `await gpu.sync()`: the next batch is assembled meanwhile (30 ms leaves room
    // for a loaded machine; the prefetch is a setImmediate, due long before).
    await new Promise((r) => setTimeout(r, 30));
    log.push(`awaited (${ds.calls.length} fetched)`);
  }
  assert.deepEqual(log, [
    "got 0 (4 fetched)",
    "awaited (8 fetched)",
    "got 4 (8 fetched)",
    "awaited (12 fetched)",
    "got 8 (12 fetched)",
    "awaited (12 fetched)",
  ]);
});

Deno.test("DataLoader stops cleanly when the consumer breaks early, and reports assembly errors", async () => {
  const ds = counting(100);
  const loader = new DataLoader(ds, { batchSize: 10 });
  for await (const _ of loader.hostBatches(0)) break;
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(ds.calls.length, 10, "the prefetch of batch 1 was cancelled");
  const bad: Dataset = {
    ...counting(4),
    get: (i) => ({ ...counting(4).get(i), channels: i === 2 ? 3 : 1 }),
  };
  await assert.rejects(
    () => collect(new DataLoader(bad, { batchSize: 4, shuffle: false }).hostBatches(0)),
    /Cannot batch example 2 with 3 channels: the dataset declares 1/,
  );
  assert.throws(() => new DataLoader(bad, { batchSize: 0 }), /batchSize 0/);
  assert.throws(() => new DataLoader(bad, { batchSize: 1, resize: [4, 0] }), /resize \[4,0\]/);
});

Deno.test("resizeBilinear() matches F.interpolate(bilinear, align_corners=False)", () => {
  // torch.nn.functional.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=4, mode="bilinear")
  const up = resizeBilinear(new Float32Array([0, 1, 2, 3]), 1, 2, 2, 4, 4);
  assert.deepEqual([...up], [
    0,
    0.25,
    0.75,
    1,
    0.5,
    0.75,
    1.25,
    1.5,
    1.5,
    1.75,
    2.25,
    2.5,
    2,
    2.25,
    2.75,
    3,
  ]);
  // Downsampling by 2 averages each 2×2 block (samples at the block centres); channels independent.
  const src = Float32Array.from({ length: 2 * 16 }, (_, i) => i);
  const down = resizeBilinear(src, 2, 4, 4, 2, 2);
  assert.deepEqual([...down], [2.5, 4.5, 10.5, 12.5, 18.5, 20.5, 26.5, 28.5]);
  assert.deepEqual([...resizeBilinear(src, 2, 4, 4, 4, 4)], [...src], "same size is the identity");
});

Deno.test("DataLoader.epoch() uploads [B, C, H, W] images (and i32 labels) to the GPU", async () => {
  const ds = new SyntheticShapes({ length: 7, size: 12, seed: 4 });
  const loader = new DataLoader(ds, { batchSize: 3, gpu, uploadLabels: true, resize: 8 });
  const live = gpu.pool.stats().liveBytes;
  let n = 0;
  for await (const batch of loader.epoch(1)) {
    assert.deepEqual(batch.tensor.shape, [batch.labels.length, 3, 8, 8]);
    assert.deepEqual(await batch.tensor.toArray(), batch.images);
    assert.deepEqual(await batch.labelTensor!.toArray(), batch.labels);
    assert.equal(batch.masks!.length, batch.labels.length * 64);
    batch.dispose();
    n += batch.labels.length;
  }
  assert.equal(n, 7);
  assert.equal(gpu.pool.stats().liveBytes, live, "dispose() frees the batch tensors");
});
