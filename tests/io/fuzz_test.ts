// Fuzzing of every reader of untrusted bytes: ≥ 1,000 random corruptions per reader per run
// (truncation, bit flips, byte overwrites, huge declared sizes). Each must either succeed or
// throw its documented error naming the input, never another exception, never hang, and never
// allocate more than the file could justify. The whole file runs in well under 30 s.
import assert from "@std/assert";
import { Image } from "imagescript";
import {
  parseSafetensors,
  SafetensorsError,
  serializeSafetensors,
} from "../../lib/io/safetensors.ts";
import { parseIdx, readIdx } from "../../lib/data/idx.ts";
import { ImageFolder } from "../../lib/data/image_folder.ts";
import { Rng } from "../../lib/data/rng.ts";

const CASES = 1000;
const rng = new Rng(20261128);

/** One random corruption of `bytes`: truncate, flip bits, overwrite bytes or plant a huge size. */
function corrupt(bytes: Uint8Array, sizeFieldAt: number[]): Uint8Array {
  const out = bytes.slice();
  switch (rng.int(4)) {
    case 0:
      return out.subarray(0, rng.int(out.length));
    case 1:
      for (let i = 1 + rng.int(8); i > 0; i--) out[rng.int(out.length)] ^= 1 << rng.int(8);
      return out;
    case 2:
      for (let i = 1 + rng.int(16); i > 0; i--) out[rng.int(out.length)] = rng.int(256);
      return out;
    default: {
      const at = sizeFieldAt[rng.int(sizeFieldAt.length)];
      for (let i = 0; i < 4 && at + i < out.length; i++) out[at + i] = 0xff - rng.int(4);
      return out;
    }
  }
}

/** Runs `body` CASES times and checks time and memory stay bounded. */
async function fuzz(what: string, body: (i: number) => Promise<void> | void): Promise<void> {
  const start = performance.now();
  const before = Deno.memoryUsage().rss;
  for (let i = 0; i < CASES; i++) await body(i);
  const seconds = (performance.now() - start) / 1000;
  const grown = (Deno.memoryUsage().rss - before) / 2 ** 20;
  assert.ok(seconds < 15, `${what}: ${CASES} cases took ${seconds.toFixed(1)} s`);
  assert.ok(grown < 512, `${what}: memory grew by ${grown.toFixed(0)} MiB`);
}

Deno.test("parseSafetensors() survives 1,000 corruptions with a SafetensorsError or a valid parse", async () => {
  const valid = serializeSafetensors({
    w: { dtype: "F32", shape: [3, 4], data: new Float32Array(12).fill(1.5) },
    b: { dtype: "I32", shape: [4], data: new Int32Array([1, 2, 3, 4]) },
    s: { dtype: "F16", shape: [], data: new Float16Array([2]) },
  }, { kind: "fuzz", config: '{"a":[1,2,3]}' });
  const text = new TextDecoder().decode(valid);
  const digits = [...text.matchAll(/\d+/g)].map((m) => m.index!);
  let rejected = 0;
  await fuzz("safetensors", () => {
    const bytes = corrupt(valid, [0, 4, ...digits]);
    try {
      const file = parseSafetensors(bytes, "fuzz.safetensors");
      for (const t of file.tensors.values()) assert.ok(t.data.byteLength <= bytes.length);
    } catch (error) {
      if (!(error instanceof SafetensorsError)) throw error;
      assert.ok(error.message.startsWith("Cannot read fuzz.safetensors: "), error.message);
      rejected++;
    }
  });
  assert.ok(rejected > CASES / 2, `only ${rejected} corruptions were rejected`);
});

function idxBytes(): Uint8Array {
  const dims = [5, 6, 7];
  const header = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(header.buffer);
  view.setUint32(0, 0x00000803);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  const data = Uint8Array.from({ length: 5 * 6 * 7 }, (_, i) => i % 256);
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

Deno.test("parseIdx() survives 1,000 corruptions with an error naming the file", async () => {
  const valid = idxBytes();
  await fuzz("idx", () => {
    const bytes = corrupt(valid, [0, 4, 8, 12]);
    try {
      const idx = parseIdx(bytes, "fuzz-idx3-ubyte");
      assert.ok(idx.data.length <= bytes.length);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("Cannot read fuzz-idx3-ubyte: ")) {
        throw error;
      }
    }
  });
});

Deno.test("readIdx() survives 1,000 corruptions of a gzip IDX file", async () => {
  const raw = idxBytes();
  const gz = new Uint8Array(
    await new Response(
      new Blob([raw as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
        new CompressionStream("gzip"),
      ),
    ).arrayBuffer(),
  );
  const dir = await Deno.makeTempDir();
  const path = `${dir}/fuzz-idx3-ubyte.gz`;
  await fuzz("gzip idx", async () => {
    const bytes = corrupt(gz, [4, 10, gz.length - 4, gz.length - 8]);
    await Deno.writeFile(path, bytes);
    try {
      const idx = await readIdx(path);
      assert.ok(idx.data.length <= 1032 * bytes.length);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith(`Cannot read ${path}: `)) {
        throw error;
      }
    }
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ImageFolder.open() survives 1,000 corrupt PNG and JPEG files with an error naming the file", async () => {
  const image = new Image(12, 9);
  for (let y = 1; y <= 9; y++) {
    for (let x = 1; x <= 12; x++) {
      image.setPixelAt(x, y, ((x * 20) << 24) | ((y * 25) << 16) | 0x80ff);
    }
  }
  const png = await image.encode();
  const jpeg = await image.encodeJPEG(80);
  const root = await Deno.makeTempDir();
  await Deno.mkdir(`${root}/a`);
  let decoded = 0;
  await fuzz("images", async (i) => {
    const [name, valid] = i % 2 ? ["x.png", png] : ["x.jpg", jpeg];
    const path = `${root}/a/${name}`;
    await Deno.writeFile(path, corrupt(valid, [16, 20]));
    try {
      const folder = await ImageFolder.open(root);
      const sample = folder.get(0);
      assert.ok(sample.image.length <= 3 * 4096 * 4096);
      decoded++;
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes(path)) throw error;
    } finally {
      await Deno.remove(path);
    }
  });
  assert.ok(decoded < CASES, "no corruption was detected");
  await Deno.remove(root, { recursive: true });
});
