import assert from "@std/assert";
import {
  parseSafetensors,
  readSafetensors,
  SafetensorsError,
  serializeSafetensors,
  writeSafetensors,
} from "../../lib/io/safetensors.ts";

const sample = () =>
  serializeSafetensors({
    w: { dtype: "F32", shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
    n: { dtype: "I32", shape: [], data: new Int32Array([7]) },
  }, { kind: "demo", config: JSON.stringify({ a: 1 }) });

/** Rebuilds a file from a header object and a data section. */
function rawFile(header: unknown, data = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

Deno.test("serializeSafetensors() and parseSafetensors() round-trip tensors and metadata", () => {
  const file = parseSafetensors(sample(), "sample.safetensors");
  assert.deepEqual([...file.tensors.keys()], ["w", "n"]);
  assert.deepEqual(file.tensors.get("w")!.shape, [2, 3]);
  assert.deepEqual([...file.tensors.get("w")!.data as Float32Array], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...file.tensors.get("n")!.data as Int32Array], [7]);
  assert.deepEqual(file.metadata, { kind: "demo", config: '{"a":1}' });
  assert.equal((sample().byteLength - 8 - 28) % 8, 0); // header padded to 8 bytes
});

Deno.test("readSafetensors() reads the PyTorch fixtures", async () => {
  const file = await readSafetensors("tests/fixtures/ops_matmul.safetensors");
  assert.equal(file.metadata.kind, "ops_matmul");
  assert.deepEqual(file.tensors.get("c1.A")!.shape, [7, 13]);
});

Deno.test("writeSafetensors() writes atomically and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/x.safetensors`;
  await writeSafetensors(path, { a: { dtype: "F32", shape: [1], data: new Float32Array([3]) } });
  await writeSafetensors(path, { a: { dtype: "F32", shape: [1], data: new Float32Array([4]) } });
  const names = [...Deno.readDirSync(dir)].map((e) => e.name);
  assert.deepEqual(names, ["x.safetensors"]);
  assert.deepEqual([...(await readSafetensors(path)).tensors.get("a")!.data as Float32Array], [4]);
  await Deno.remove(dir, { recursive: true });
});

const entry = (dtype: string, shape: number[], offsets: number[]) => ({
  dtype,
  shape,
  data_offsets: offsets,
});

const corrupt: [string, Uint8Array, RegExp][] = [
  ["a file shorter than 8 bytes", new Uint8Array(5), /shorter than the 8-byte header length/],
  [
    "a header length past the end",
    rawFile({}, new Uint8Array(0), 1000n),
    /header length 1000 is past the end/,
  ],
  ["a huge header length", rawFile({}, new Uint8Array(0), 1n << 60n), /exceeds 100000000 bytes/],
  [
    "a header that is not JSON",
    (() => {
      const f = rawFile({ a: 1 });
      f[8] = 0x7b + 1;
      return f;
    })(),
    /not valid UTF-8 JSON/,
  ],
  [
    "an unknown dtype",
    rawFile({ w: entry("Q7", [1], [0, 4]) }, new Uint8Array(4)),
    /tensor "w": unknown dtype "Q7"/,
  ],
  [
    "a negative shape",
    rawFile({ w: entry("F32", [-1], [0, 4]) }, new Uint8Array(4)),
    /tensor "w": shape \[-1\]/,
  ],
  [
    "offsets out of range",
    rawFile({ w: entry("F32", [2], [0, 8]) }, new Uint8Array(4)),
    /tensor "w": data_offsets \[0, 8\] run past the 4-byte data section/,
  ],
  [
    "shape × dtype ≠ byte length",
    rawFile({ w: entry("F32", [3], [0, 8]) }, new Uint8Array(8)),
    /tensor "w": shape \[3\] × F32 needs 12 bytes but data_offsets span 8/,
  ],
  [
    "overlapping tensors",
    rawFile({ a: entry("F32", [2], [0, 8]), b: entry("F32", [2], [4, 12]) }, new Uint8Array(12)),
    /tensor "b": data_offsets \[4, 12\] overlap another tensor/,
  ],
  [
    "a hole in the data section",
    rawFile({ a: entry("F32", [1], [4, 8]) }, new Uint8Array(8)),
    /tensor "a": the data section has a hole at bytes \[0, 4\)/,
  ],
  [
    "unindexed trailing bytes",
    rawFile({ a: entry("F32", [1], [0, 4]) }, new Uint8Array(8)),
    /4 bytes after the last tensor/,
  ],
  [
    "non-string metadata",
    rawFile({ __metadata__: { k: 1 } }),
    /__metadata__\["k"\] is not a string/,
  ],
];

for (const [what, bytes, message] of corrupt) {
  Deno.test(`parseSafetensors() rejects ${what}, naming the file`, () => {
    assert.throws(
      () => parseSafetensors(bytes, "bad.safetensors"),
      (e: Error) =>
        e instanceof SafetensorsError && e.message.startsWith("Cannot read bad.safetensors: ") &&
        message.test(e.message),
    );
  });
}

Deno.test("readSafetensors() names a truncated fixture file", async () => {
  const bytes = await Deno.readFile("tests/fixtures/ops_gelu.safetensors");
  const dir = await Deno.makeTempDir();
  const path = `${dir}/truncated.safetensors`;
  await Deno.writeFile(path, bytes.subarray(0, bytes.length - 10));
  await assert.rejects(
    () => readSafetensors(path),
    (e: Error) =>
      e instanceof SafetensorsError && e.message.includes(path) &&
      /run past|bytes after/.test(e.message),
  );
  await Deno.remove(dir, { recursive: true });
});
