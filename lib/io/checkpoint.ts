/**
 * Checkpoints: a safetensors file whose metadata carries a SHA-256 checksum over its metadata
 * and tensor bytes, written atomically (temporary file + rename), plus a JSON sidecar with the
 * same metadata for people and tools. A crash leaves the previous checkpoint whole; a truncated
 * or altered file is rejected with an error naming it.
 *
 * @module
 */
import {
  parseSafetensors,
  SafetensorsError,
  type SafetensorsTensor,
  serializeSafetensors,
  writeFileAtomic,
} from "./safetensors.ts";

const FORMAT = "dinogpu-checkpoint/1";

/** A checkpoint read back: tensors by name and the metadata (without checksum and format). */
export interface Checkpoint {
  /** Where it was read from. */
  path: string;
  /** The tensors by name. */
  tensors: Map<string, SafetensorsTensor>;
  /** String metadata given at write time. */
  metadata: Record<string, string>;
}

/**
 * SHA-256 over the metadata (without `checksum`), then each tensor's name, dtype, shape and
 * SHA-256 of its bytes, in name order. Hashing each tensor in place avoids copying the whole
 * checkpoint into one buffer (hundreds of MB for ViT-S).
 */
async function checksum(
  metadata: Record<string, string>,
  tensors: Record<string, SafetensorsTensor>,
): Promise<string> {
  const keys = Object.keys(metadata).filter((k) => k !== "checksum").sort();
  const lines = [JSON.stringify(keys.map((k) => [k, metadata[k]]))];
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name];
    const bytes = new Uint8Array(
      t.data.buffer as ArrayBuffer,
      t.data.byteOffset,
      t.data.byteLength,
    );
    lines.push(
      `${name}:${t.dtype}:${t.shape.join(",")}:${
        hex(await crypto.subtle.digest("SHA-256", bytes))
      }`,
    );
  }
  return hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(lines.join("\n"))));
}

function hex(digest: ArrayBuffer): string {
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The JSON sidecar path of a checkpoint: `x.safetensors` → `x.json`.
 *
 * @example
 * ```ts
 * import { sidecarPath } from "./checkpoint.ts";
 * console.log(sidecarPath("runs/a/checkpoint.safetensors")); // "runs/a/checkpoint.json"
 * ```
 */
export function sidecarPath(path: string): string {
  return path.replace(/\.safetensors$/, "") + ".json";
}

/**
 * Writes `tensors` and `metadata` as a checksummed checkpoint at `path` (atomically), and its
 * JSON sidecar.
 *
 * @example
 * ```ts ignore
 * import { writeCheckpoint } from "./checkpoint.ts";
 * await writeCheckpoint("out/checkpoint.safetensors", tensors, { epoch: "3" });
 * ```
 */
export async function writeCheckpoint(
  path: string,
  tensors: Record<string, SafetensorsTensor>,
  metadata: Record<string, string>,
): Promise<void> {
  const meta = { ...metadata, format: FORMAT };
  const full = { ...meta, checksum: await checksum(meta, tensors) };
  await writeFileAtomic(path, serializeSafetensors(tensors, full));
  const sidecar = Object.fromEntries(
    Object.entries(full).map(([k, v]) => {
      try {
        return [k, JSON.parse(v)];
      } catch {
        return [k, v];
      }
    }),
  );
  await writeFileAtomic(
    sidecarPath(path),
    new TextEncoder().encode(JSON.stringify(sidecar, null, 2) + "\n"),
  );
}

/**
 * Reads a checkpoint and verifies its checksum.
 *
 * @throws {SafetensorsError} naming the file when it is missing, truncated, not a dinogpu
 *   checkpoint, or its checksum does not match (corrupted).
 * @example
 * ```ts ignore
 * import { readCheckpoint } from "./checkpoint.ts";
 * const ckpt = await readCheckpoint("out/checkpoint.safetensors");
 * console.log(ckpt.metadata.epoch);
 * ```
 */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new SafetensorsError(path, `cannot open the checkpoint (${(error as Error).message})`);
  }
  const file = parseSafetensors(bytes, path);
  const { checksum: stored, format, ...metadata } = file.metadata;
  if (format !== FORMAT) {
    throw new SafetensorsError(
      path,
      `not a dinogpu checkpoint (format ${JSON.stringify(format)}, expected ${FORMAT})`,
    );
  }
  const tensors = Object.fromEntries(file.tensors);
  const actual = await checksum({ ...metadata, format }, tensors);
  if (stored !== actual) {
    throw new SafetensorsError(
      path,
      `checksum mismatch: the checkpoint is corrupted (stored ${stored}, computed ${actual})`,
    );
  }
  return { path, tensors: file.tensors, metadata };
}
