import assert from "@std/assert";
import { join } from "@std/path";
import {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIR,
  IdxDataset,
  loadFashionMnist,
  parseIdx,
  readIdx,
} from "../../lib/data/idx.ts";

/** An IDX file: magic 0x000008NN, big-endian dims, then `data`. */
function idxBytes(dims: number[], data: ArrayLike<number>, ndimsByte = dims.length): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = ndimsByte;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dinogpu_idx_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const PIXELS = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => (i * 37) % 256);
const LABELS = [2, 0, 9];

/** Writes images (3×4×5) and labels (3) to `dir`, gzipped or raw; returns the two paths. */
async function writePair(dir: string, gz: boolean, labels = LABELS): Promise<[string, string]> {
  const suffix = gz ? ".gz" : "";
  const images = join(dir, `imgs-idx3-ubyte${suffix}`);
  const labelsPath = join(dir, `lbls-idx1-ubyte${suffix}`);
  const ib = idxBytes([3, 4, 5], PIXELS);
  const lb = idxBytes([labels.length], labels);
  await Deno.writeFile(images, gz ? await gzip(ib) : ib);
  await Deno.writeFile(labelsPath, gz ? await gzip(lb) : lb);
  return [images, labelsPath];
}

async function assertRejectsWith(
  fn: () => Promise<unknown>,
  ...parts: string[]
): Promise<void> {
  await assert.rejects(fn, (error: Error) => {
    for (const part of parts) {
      assert.ok(error.message.includes(part), `"${error.message}" lacks "${part}"`);
    }
    return true;
  });
}

for (const gz of [false, true]) {
  Deno.test(`IdxDataset.open() reads ${gz ? "gzip" : "raw"} IDX files back exactly`, async () => {
    await withTempDir(async (dir) => {
      const [images, labels] = await writePair(dir, gz);
      const ds = await IdxDataset.open({ images, labels });
      assert.equal(ds.length, 3);
      assert.equal(ds.height, 4);
      assert.equal(ds.width, 5);
      assert.equal(ds.channels, 1);
      assert.equal(ds.numClasses, 10);
      assert.deepEqual([...ds.pixels], [...PIXELS]);
      const s = ds.get(1);
      assert.equal(s.label, 0);
      assert.deepEqual([s.channels, s.height, s.width], [1, 4, 5]);
      assert.deepEqual([...s.image], [...PIXELS.subarray(20, 40)].map((v) => Math.fround(v / 255)));

      const rgb = await IdxDataset.open({ images, labels, channels: 3 });
      const t = rgb.get(2);
      assert.equal(t.image.length, 3 * 20);
      assert.deepEqual([...t.image.subarray(40, 60)], [...t.image.subarray(0, 20)]);
    });
  });
}

Deno.test("parseIdx() parses a 1-D label array and checks the magic", () => {
  const { dims, data, magic } = parseIdx(idxBytes([3], [7, 8, 9]), "mem", 0x801);
  assert.deepEqual(dims, [3]);
  assert.deepEqual([...data], [7, 8, 9]);
  assert.equal(magic, 0x801);
});

Deno.test("loadFashionMnist() reads the installed train and test splits", async () => {
  const t0 = performance.now();
  const train = await loadFashionMnist({ split: "train" });
  const test = await loadFashionMnist({ split: "test", dir: FASHION_MNIST_DIR });
  console.log(`  loaded Fashion-MNIST in ${(performance.now() - t0).toFixed(0)} ms`);
  assert.equal(train.length, 60000);
  assert.equal(test.length, 10000);
  for (const ds of [train, test]) {
    assert.equal(ds.height, 28);
    assert.equal(ds.width, 28);
    assert.equal(ds.numClasses, 10);
    assert.deepEqual(ds.classNames, FASHION_MNIST_CLASSES);
    // Balanced: 6,000 per class in train, 1,000 in test.
    const counts = new Array(10).fill(0);
    for (const l of ds.labels) counts[l]++;
    assert.deepEqual(counts, new Array(10).fill(ds.length / 10));
  }
  let sum = 0;
  for (const v of train.pixels) sum += v;
  assert.ok(
    Math.abs(sum / train.pixels.length / 255 - 0.2860) < 5e-4,
    "train pixel mean is 0.2860",
  );
  const s = train.get(0);
  assert.equal(s.image.length, 28 * 28);
  assert.ok(s.image.every((v) => v >= 0 && v <= 1));
});

Deno.test("readIdx() rejects a truncated raw or gzip file, naming it and the sizes", async () => {
  await withTempDir(async (dir) => {
    const full = idxBytes([3, 4, 5], PIXELS);
    const raw = join(dir, "short-idx3-ubyte");
    await Deno.writeFile(raw, full.subarray(0, 16 + 10));
    await assertRejectsWith(
      () => readIdx(raw, 0x803),
      `Cannot read ${raw}: truncated: header declares 3×4×5 = 60 bytes but 10 remain`,
    );
    const gz = join(dir, "short-idx3-ubyte.gz");
    await Deno.writeFile(gz, await gzip(full.subarray(0, 16 + 10)));
    await assertRejectsWith(
      () => readIdx(gz, 0x803),
      `Cannot read ${gz}: truncated: header declares 3×4×5 = 60 bytes but 10 remain`,
    );
    const tiny = join(dir, "tiny");
    await Deno.writeFile(tiny, full.subarray(0, 9));
    await assertRejectsWith(() => readIdx(tiny), tiny, "truncated", "3 dimensions");
  });
});

Deno.test("readIdx() rejects trailing bytes after the declared data", async () => {
  await withTempDir(async (dir) => {
    const long = new Uint8Array([...idxBytes([3], [1, 2, 3]), 0, 0]);
    const raw = join(dir, "long");
    await Deno.writeFile(raw, long);
    await assertRejectsWith(() => readIdx(raw), raw, "2 trailing bytes");
    const gz = join(dir, "long.gz");
    await Deno.writeFile(gz, await gzip(long));
    await assertRejectsWith(() => readIdx(gz), gz, "trailing bytes");
  });
});

Deno.test("readIdx() rejects a wrong magic number and a non-byte element type", async () => {
  await withTempDir(async (dir) => {
    const [, labels] = await writePair(dir, true);
    await assertRejectsWith(
      () => readIdx(labels, 0x803),
      `Cannot read ${labels}: wrong magic number 0x00000801, expected 0x00000803`,
    );
    const floats = join(dir, "floats");
    const bytes = idxBytes([1], [0, 0, 0, 0]);
    bytes[2] = 0x0d;
    await Deno.writeFile(floats, bytes);
    await assertRejectsWith(() => readIdx(floats), floats, "unsupported element type 0x0d");
    const text = join(dir, "text");
    await Deno.writeFile(text, new TextEncoder().encode("hello world"));
    await assertRejectsWith(() => readIdx(text), text, "wrong magic number 0x68656c6c");
  });
});

Deno.test("readIdx() refuses a gzip header declaring more than the file could hold", async () => {
  await withTempDir(async (dir) => {
    // 100000×1000×1000 = 1e11 bytes declared by a file of ~40 bytes: must fail before allocating.
    const path = join(dir, "bomb-idx3-ubyte.gz");
    await Deno.writeFile(path, await gzip(idxBytes([100000, 1000, 1000], [1, 2, 3])));
    await assertRejectsWith(
      () => readIdx(path, 0x803),
      path,
      "header declares 100000×1000×1000 = 100000000000 bytes but a",
      "holds at most",
    );
    // The same header raw: the file's own length shows it truncated.
    const raw = join(dir, "bomb-idx3-ubyte");
    await Deno.writeFile(raw, idxBytes([100000, 1000, 1000], [1, 2, 3]));
    await assertRejectsWith(() => readIdx(raw, 0x803), raw, "truncated", "but 3 remain");
  });
});

Deno.test("readIdx() reports corrupt gzip data and missing files", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "corrupt.gz");
    const good = await gzip(idxBytes([3, 4, 5], PIXELS));
    const bad = good.slice();
    for (let i = 10; i < bad.length - 8; i++) bad[i] ^= 0x5a;
    await Deno.writeFile(path, bad);
    await assertRejectsWith(() => readIdx(path), path, "corrupt gzip data");
    const missing = join(dir, "missing");
    await assertRejectsWith(() => readIdx(missing), `Cannot read ${missing}: file not found`);
    await assertRejectsWith(
      () => loadFashionMnist({ dir }),
      "train-images-idx3-ubyte",
      dir,
      "dataset-fashion-mnist",
    );
  });
});

Deno.test("IdxDataset.open() rejects label/image count mismatches and out-of-range labels", async () => {
  await withTempDir(async (dir) => {
    const [images, labels] = await writePair(dir, false, [1, 2]);
    await assertRejectsWith(
      () => IdxDataset.open({ images, labels }),
      `Cannot read ${labels}: 2 labels for 3 images in ${images}`,
    );
    const [images2, labels2] = await writePair(dir, true, [1, 12, 3]);
    await assertRejectsWith(
      () => IdxDataset.open({ images: images2, labels: labels2 }),
      `Cannot read ${labels2}: label 12 at index 1 is not below the number of classes 10`,
    );
    const ok = await IdxDataset.open({ images: images2, labels: labels2, numClasses: 13 });
    assert.equal(ok.numClasses, 13);
    // Swapped files: the magic check names the file (the images file when both are wrong).
    await assertRejectsWith(
      () => IdxDataset.open({ images: labels2, labels: images2 }),
      `Cannot read ${labels2}: wrong magic number 0x00000801, expected 0x00000803`,
    );
    await assertRejectsWith(
      () => IdxDataset.open({ images: images2, labels: images2 }),
      `Cannot read ${images2}: wrong magic number 0x00000803, expected 0x00000801`,
    );
  });
});
