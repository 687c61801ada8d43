import assert from "@std/assert";
import { join } from "@std/path";
import { Image } from "imagescript";
// imagescript's PNG encoder writes 1- and 2-channel (gray, gray+alpha) PNGs; Image.encode() only RGBA.
import { encode as encodePng } from "npm:imagescript@^1.3.1/png/src/png.mjs";
import { ImageFolder } from "../../lib/data/image_folder.ts";
import { DataLoader } from "../../lib/data/loader.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dinogpu_imgfolder_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function assertRejectsWith(fn: () => Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(fn, (error: Error) => {
    for (const part of parts) {
      assert.ok(error.message.includes(part), `"${error.message}" lacks "${part}"`);
    }
    return true;
  });
}

/** An RGBA image whose pixel (x, y) is (10x, 20y, 100, alpha). */
function pattern(width: number, height: number, alpha = 255): Image {
  const img = new Image(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      img.setPixelAt(x + 1, y + 1, Image.rgbaToColor(10 * x, 20 * y, 100, alpha));
    }
  }
  return img;
}

function grayPng(width: number, height: number, alpha?: number): Uint8Array {
  const channels = alpha === undefined ? 1 : 2;
  const data = new Uint8Array(width * height * channels);
  for (let p = 0; p < width * height; p++) {
    data[p * channels] = (p * 13) % 256;
    if (alpha !== undefined) data[p * channels + 1] = alpha;
  }
  return encodePng(data, { width, height, channels, level: 1 });
}

/**
 * root/
 *   b_shapes/  rgb.png (4×3), rgba.png (4×3, alpha 128), z.jpg (8×6)
 *   a_gray/    g.png (5×2, 1 channel), ga.PNG (5×2, gray+alpha 0), notes.txt
 */
async function makeFolder(root: string): Promise<void> {
  await Deno.mkdir(join(root, "b_shapes"), { recursive: true });
  await Deno.mkdir(join(root, "a_gray"), { recursive: true });
  await Deno.writeFile(join(root, "b_shapes", "rgb.png"), await pattern(4, 3).encode(1));
  await Deno.writeFile(join(root, "b_shapes", "rgba.png"), await pattern(4, 3, 128).encode(1));
  const flat = new Image(8, 6).fill(Image.rgbaToColor(200, 40, 90, 255));
  await Deno.writeFile(join(root, "b_shapes", "z.jpg"), await flat.encodeJPEG(95));
  await Deno.writeFile(join(root, "a_gray", "g.png"), grayPng(5, 2));
  await Deno.writeFile(join(root, "a_gray", "ga.PNG"), grayPng(5, 2, 0));
  await Deno.writeTextFile(join(root, "a_gray", "notes.txt"), "not an image");
}

/** Channel c of pixel (x, y) of a C×H×W sample, in 0..255. */
function px(image: Float32Array, w: number, h: number, c: number, x: number, y: number): number {
  return Math.round(image[c * h * w + y * w + x] * 255);
}

Deno.test("ImageFolder.open() reads PNG, JPEG, gray and RGBA images with sorted classes", async () => {
  await withTempDir(async (root) => {
    await makeFolder(root);
    const ds = await ImageFolder.open(root);
    assert.deepEqual(ds.classNames, ["a_gray", "b_shapes"]);
    assert.equal(ds.numClasses, 2);
    assert.equal(ds.channels, 3);
    assert.equal(ds.length, 5); // notes.txt is not an image
    assert.equal(ds.skipped, 0);
    assert.equal(ds.height, undefined, "mixed sizes have no common height");
    assert.deepEqual(
      Array.from({ length: 5 }, (_, i) => ds.path(i).slice(root.length + 1)),
      ["a_gray/g.png", "a_gray/ga.PNG", "b_shapes/rgb.png", "b_shapes/rgba.png", "b_shapes/z.jpg"],
    );
    assert.deepEqual(Array.from({ length: 5 }, (_, i) => ds.get(i).label), [0, 0, 1, 1, 1]);

    // Gray PNG: R = G = B = the gray value.
    const g = ds.get(0);
    assert.deepEqual([g.channels, g.height, g.width, g.image.length], [3, 2, 5, 30]);
    for (let p = 0; p < 10; p++) {
      for (let c = 0; c < 3; c++) {
        assert.equal(Math.round(g.image[c * 10 + p] * 255), (p * 13) % 256);
      }
    }
    // Gray + alpha 0, composited on black: all zero.
    assert.ok(ds.get(1).image.every((v) => v === 0));
    // RGB PNG: exact.
    const rgb = ds.get(2);
    assert.deepEqual([rgb.height, rgb.width], [3, 4]);
    assert.deepEqual([
      px(rgb.image, 4, 3, 0, 3, 2),
      px(rgb.image, 4, 3, 1, 3, 2),
      px(rgb.image, 4, 3, 2, 3, 2),
    ], [
      30,
      40,
      100,
    ]);
    // RGBA with alpha 128 on black: value · 128/255.
    const rgba = ds.get(3);
    assert.equal(px(rgba.image, 4, 3, 0, 3, 2), Math.round((30 * 128) / 255));
    assert.equal(px(rgba.image, 4, 3, 2, 0, 0), Math.round((100 * 128) / 255));
    // JPEG, lossy: within 6 levels of the flat colour (quality 95).
    const jpg = ds.get(4);
    assert.deepEqual([jpg.height, jpg.width], [6, 8]);
    for (const [c, want] of [[0, 200], [1, 40], [2, 90]]) {
      assert.ok(Math.abs(px(jpg.image, 8, 6, c, 4, 3) - want) <= 6, `JPEG channel ${c}`);
    }
    assert.ok(jpg.image.every((v) => v >= 0 && v <= 1));
  });
});

Deno.test("ImageFolder.open() drops alpha or converts to one gray channel on request", async () => {
  await withTempDir(async (root) => {
    await makeFolder(root);
    const dropped = await ImageFolder.open(root, { alpha: "drop" });
    assert.equal(px(dropped.get(3).image, 4, 3, 0, 3, 2), 30);
    assert.equal(Math.round(dropped.get(1).image[1] * 255), 13);
    const gray = await ImageFolder.open(root, { channels: 1 });
    const s = gray.get(2);
    assert.equal(s.channels, 1);
    assert.equal(s.image.length, 12);
    // ITU-R 601: 0.299·30 + 0.587·40 + 0.114·100 = 43.9
    assert.equal(px(s.image, 4, 3, 0, 3, 2), 44);
  });
});

Deno.test("ImageFolder.open() keeps a common size when every image shares it", async () => {
  await withTempDir(async (root) => {
    for (const cls of ["x", "y"]) {
      await Deno.mkdir(join(root, cls));
      for (let i = 0; i < 3; i++) {
        await Deno.writeFile(join(root, cls, `${i}.png`), await pattern(6, 5).encode(1));
      }
    }
    const ds = await ImageFolder.open(root);
    assert.deepEqual([ds.length, ds.height, ds.width], [6, 5, 6]);
    const loader = new DataLoader(ds, { batchSize: 4, shuffle: false });
    const batches = [];
    for await (const b of loader.hostBatches(0)) batches.push(b);
    assert.deepEqual(batches.map((b) => b.shape), [[4, 3, 5, 6], [2, 3, 5, 6]]);
    assert.deepEqual([...batches[1].labels], [1, 1]);
  });
});

Deno.test("ImageFolder.open() names a corrupt image, or skips and counts it with skipCorrupt", async () => {
  await withTempDir(async (root) => {
    await makeFolder(root);
    const png = await pattern(4, 3).encode(1);
    const broken = join(root, "b_shapes", "broken.png");
    await Deno.writeFile(broken, png.slice(0, 40));
    const garbage = join(root, "a_gray", "garbage.jpg");
    await Deno.writeTextFile(garbage, "definitely not a jpeg");
    await assertRejectsWith(() => ImageFolder.open(root), `Cannot decode ${garbage}`, "corrupt");
    await Deno.remove(garbage);
    await assertRejectsWith(() => ImageFolder.open(root), `Cannot decode ${broken}`, "skipCorrupt");
    await Deno.writeTextFile(garbage, "definitely not a jpeg");
    const ds = await ImageFolder.open(root, { skipCorrupt: true });
    assert.equal(ds.skipped, 2);
    assert.deepEqual([...ds.skippedFiles].sort(), [broken, garbage].sort());
    assert.equal(ds.length, 5);
  });
});

Deno.test("ImageFolder.open() rejects an empty class folder, no classes, and a missing root", async () => {
  await withTempDir(async (root) => {
    await assertRejectsWith(() => ImageFolder.open(root), root, "no class folders");
    await makeFolder(root);
    const empty = join(root, "c_empty");
    await Deno.mkdir(empty);
    await Deno.writeTextFile(join(empty, "readme.md"), "no images here");
    await assertRejectsWith(() => ImageFolder.open(root), `class folder ${empty} is empty`);
    const missing = join(root, "nope");
    await assertRejectsWith(() => ImageFolder.open(missing), missing, "folder not found");
  });
});

Deno.test("DataLoader batches a mixed-size ImageFolder only with resize", async () => {
  await withTempDir(async (root) => {
    await makeFolder(root);
    const ds = await ImageFolder.open(root);
    const plain = new DataLoader(ds, { batchSize: 5, shuffle: false });
    await assertRejectsWith(async () => {
      for await (const _ of plain.hostBatches(0)) { /* drain */ }
    }, "pass resize");
    const resized = new DataLoader(ds, { batchSize: 5, shuffle: false, resize: 7 });
    const batches = [];
    for await (const b of resized.hostBatches(0)) batches.push(b);
    assert.equal(batches.length, 1);
    assert.deepEqual(batches[0].shape, [5, 3, 7, 7]);
    // The flat JPEG stays flat after resizing.
    const jpg = batches[0].images.subarray(4 * 147, 5 * 147);
    assert.ok(Math.abs(jpg[3 * 7 + 3] * 255 - 200) <= 6);
  });
});
