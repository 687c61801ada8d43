/**
 * safetensors read and write. Every header field is validated before any tensor is read: header
 * length, JSON, dtypes, shapes, offsets inside the data section, no overlaps or holes, and
 * shape × dtype = byte length. Errors name the file and the tensor.
 *
 * @module
 */

/** Dtypes dinogpu reads and writes. */
export type SafetensorsDType = "F32" | "F16" | "I32" | "U32" | "U8" | "I64" | "F64";

const DTYPE_BYTES: Record<SafetensorsDType, number> = {
  F32: 4,
  F16: 2,
  I32: 4,
  U32: 4,
  U8: 1,
  I64: 8,
  F64: 8,
};

/** Header size cap, as in the reference implementation (100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

/** A typed array of any supported dtype. */
export type SafetensorsArray =
  | Float32Array
  | Float16Array
  | Int32Array
  | Uint32Array
  | Uint8Array
  | BigInt64Array
  | Float64Array;

/** One tensor of a safetensors file. */
export interface SafetensorsTensor {
  /** The stored dtype. */
  dtype: SafetensorsDType;
  /** The shape (`[]` for a scalar). */
  shape: number[];
  /** The elements, row-major. */
  data: SafetensorsArray;
}

/** A parsed safetensors file. */
export interface SafetensorsFile {
  /** Where it came from (a path or `<memory>`), for error messages. */
  source: string;
  /** `__metadata__`: string keys to string values. */
  metadata: Record<string, string>;
  /** The tensors by name, in header order. */
  tensors: Map<string, SafetensorsTensor>;
}

/**
 * A safetensors file is malformed. `file` and, where one is at fault, `tensor` say where.
 *
 * @example
 * ```ts
 * import { SafetensorsError } from "./safetensors.ts";
 * const err = new SafetensorsError("a.safetensors", "header length 99 is past the end", "w");
 * console.log(err.message);
 * ```
 */
export class SafetensorsError extends Error {
  /** The file (or `<memory>`). */
  readonly file: string;
  /** The tensor at fault, if any. */
  readonly tensor?: string;

  /** Formats `Cannot read <file>: tensor "<tensor>": <reason>`. */
  constructor(file: string, reason: string, tensor?: string) {
    super(`Cannot read ${file}: ${tensor !== undefined ? `tensor "${tensor}": ` : ""}${reason}`);
    this.name = "SafetensorsError";
    this.file = file;
    this.tensor = tensor;
  }
}

function arrayOf(dtype: SafetensorsDType, buffer: ArrayBuffer): SafetensorsArray {
  switch (dtype) {
    case "F32":
      return new Float32Array(buffer);
    case "F16":
      return new Float16Array(buffer);
    case "I32":
      return new Int32Array(buffer);
    case "U32":
      return new Uint32Array(buffer);
    case "U8":
      return new Uint8Array(buffer);
    case "I64":
      return new BigInt64Array(buffer);
    case "F64":
      return new Float64Array(buffer);
  }
}

/**
 * Parses safetensors bytes; `source` names them in errors.
 *
 * @throws {SafetensorsError} on any malformed header or data layout.
 * @example
 * ```ts
 * import { parseSafetensors, serializeSafetensors } from "./safetensors.ts";
 * const bytes = serializeSafetensors({ w: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } });
 * console.log(parseSafetensors(bytes).tensors.get("w")?.data); // Float32Array(2) [1, 2]
 * ```
 */
export function parseSafetensors(bytes: Uint8Array, source = "<memory>"): SafetensorsFile {
  const fail = (reason: string, tensor?: string): never => {
    throw new SafetensorsError(source, reason, tensor);
  };
  if (bytes.byteLength < 8) {
    fail(`file is ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES) {
    fail(`header length ${headerLength} exceeds ${MAX_HEADER_BYTES} bytes`);
  }
  if (8 + headerLength > bytes.byteLength) {
    fail(`header length ${headerLength} is past the end of the ${bytes.byteLength}-byte file`);
  }
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)),
    );
  } catch (error) {
    fail(`header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail("header is not a JSON object");
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: [string, SafetensorsDType, number[], number, number][] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        fail("__metadata__ is not an object");
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__["${k}"] is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (typeof value !== "object" || value === null) fail("entry is not an object", name);
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (typeof dtype !== "string" || !(dtype in DTYPE_BYTES)) {
      fail(
        `unknown dtype ${JSON.stringify(dtype)} (expected one of ${
          Object.keys(DTYPE_BYTES).join(", ")
        })`,
        name,
      );
    }
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      fail(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`, name);
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      offsets.some((o) => !Number.isSafeInteger(o) || o < 0) || offsets[0] > offsets[1]
    ) {
      fail(
        `data_offsets ${JSON.stringify(offsets)} are not [begin, end] with 0 ≤ begin ≤ end`,
        name,
      );
    }
    const [begin, end] = offsets as number[];
    if (end > dataLength) {
      fail(`data_offsets [${begin}, ${end}] run past the ${dataLength}-byte data section`, name);
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = count * DTYPE_BYTES[dtype as SafetensorsDType];
    if (end - begin !== expected) {
      fail(
        `shape [${shape}] × ${dtype} needs ${expected} bytes but data_offsets span ${end - begin}`,
        name,
      );
    }
    entries.push([name, dtype as SafetensorsDType, shape as number[], begin, end]);
  }
  const sorted = [...entries].sort((a, b) => a[3] - b[3] || a[4] - b[4]);
  let cursor = 0;
  for (const [name, , , begin, end] of sorted) {
    if (begin < cursor) fail(`data_offsets [${begin}, ${end}] overlap another tensor`, name);
    if (begin > cursor) fail(`the data section has a hole at bytes [${cursor}, ${begin})`, name);
    cursor = end;
  }
  if (cursor !== dataLength) {
    fail(`${dataLength - cursor} bytes after the last tensor are not indexed`);
  }
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, dtype, shape, begin, end] of entries) {
    const copy = bytes.slice(dataStart + begin, dataStart + end).buffer;
    tensors.set(name, { dtype, shape, data: arrayOf(dtype, copy) });
  }
  return { source, metadata, tensors };
}

/**
 * Reads and parses a safetensors file.
 *
 * @throws {SafetensorsError} naming the file (and tensor) when it is malformed or unreadable.
 * @example
 * ```ts ignore
 * import { readSafetensors } from "./safetensors.ts";
 * const file = await readSafetensors("tests/fixtures/ops_matmul.safetensors");
 * console.log(file.metadata.kind);
 * ```
 */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new SafetensorsError(path, (error as Error).message);
  }
  return parseSafetensors(bytes, path);
}

/**
 * Serialises tensors (in the order given) and string metadata to safetensors bytes; the header is
 * padded with spaces to a multiple of 8.
 *
 * @example
 * ```ts
 * import { serializeSafetensors } from "./safetensors.ts";
 * const bytes = serializeSafetensors({ b: { dtype: "I32", shape: [], data: new Int32Array([7]) } }, { kind: "demo" });
 * console.log(bytes.byteLength % 8); // 4 (8-byte length + padded header + 4 data bytes)
 * ```
 */
export function serializeSafetensors(
  tensors: Record<string, SafetensorsTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new RangeError(
        `Cannot write tensor "${name}": shape [${t.shape}] has ${count} elements but data has ${t.data.length}`,
      );
    }
    header[name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + t.data.byteLength],
    };
    offset += t.data.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded !== json.byteLength) {
    const spaced = new Uint8Array(padded).fill(0x20);
    spaced.set(json);
    json = spaced;
  }
  const out = new Uint8Array(8 + json.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  let at = 8 + json.byteLength;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Writes a file atomically: to a temporary file beside it, then renamed over the target, so a
 * crash leaves either the old file or the new one, never a torn one.
 *
 * @example
 * ```ts ignore
 * import { writeFileAtomic } from "./safetensors.ts";
 * await writeFileAtomic("out/ckpt.safetensors", new Uint8Array([1, 2, 3]));
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  // Same directory as the target, so the rename never crosses file systems.
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeFile(tmp, bytes);
    const file = await Deno.open(tmp, { read: true, write: true });
    try {
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
}

/**
 * Serialises and writes a safetensors file atomically.
 *
 * @example
 * ```ts ignore
 * import { writeSafetensors } from "./safetensors.ts";
 * await writeSafetensors("w.safetensors", { w: { dtype: "F32", shape: [1], data: new Float32Array([1]) } });
 * ```
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, SafetensorsTensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
