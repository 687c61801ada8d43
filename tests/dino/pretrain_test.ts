import assert from "@std/assert";
import { getGpu } from "../../lib/gpu/device.ts";
import type { DinoConfig } from "../../lib/dino/config.ts";
import { checkpointPath, pretrain } from "../../lib/dino/pretrain.ts";
import { untunedMatmulProblems } from "../../lib/ops/matmul.ts";
import { NonFiniteLossError } from "../../lib/dino/train.ts";
import { dinoDefault, type MultiCropConfig } from "../../lib/data/augment.ts";
import { SyntheticShapes } from "../../lib/data/synthetic.ts";
import { readCheckpoint } from "../../lib/io/checkpoint.ts";
import { SafetensorsError } from "../../lib/io/safetensors.ts";
import { TINY } from "./tiny_config.ts";

const gpu = await getGpu();

const CONFIG: DinoConfig = { ...TINY, seed: 3 };
const AUGMENT: MultiCropConfig = {
  ...dinoDefault,
  globalSize: 16,
  localSize: 8,
  localCropsNumber: 2,
  interpolation: "bilinear",
};
const dataset = new SyntheticShapes({ length: 16, size: 16, seed: 1 });
// Fixed kernels (no matmul tuning, whatever the adapter): runs compare to 1e-6.
const run = (extra: Partial<Parameters<typeof pretrain>[0]> = {}) =>
  pretrain({ config: CONFIG, dataset, augment: AUGMENT, logEvery: 1, tuneMatmul: false, ...extra });

Deno.test("pretrain() resumed after an interruption reproduces the uninterrupted loss curve", async () => {
  const full = await run();
  full.trainer.dispose();
  assert.equal(full.losses.length, 8);
  const dir = await Deno.makeTempDir();
  const first = await run({ outputDir: dir, stopAtIteration: 3 }); // mid-epoch 0
  first.trainer.dispose();
  assert.ok(first.interrupted);
  const second = await run({ outputDir: dir, resume: true, stopAtIteration: 6 }); // across the epoch end
  second.trainer.dispose();
  const third = await run({ outputDir: dir, resume: true });
  third.trainer.dispose();
  const resumed = [...first.losses, ...second.losses, ...third.losses];
  assert.deepEqual(resumed.map((l) => l.iteration), full.losses.map((l) => l.iteration));
  resumed.forEach((l, i) => {
    assert.ok(
      Math.abs(l.loss - full.losses[i].loss) <= 1e-6,
      `iteration ${l.iteration}: ${l.loss} vs ${full.losses[i].loss}`,
    );
  });
  const log = (await Deno.readTextFile(`${dir}/log.jsonl`)).trim().split("\n").map((line) =>
    JSON.parse(line)
  );
  assert.equal(log.length, 8);
  assert.equal((await readCheckpoint(checkpointPath(dir))).metadata.next_iteration, "8");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a NaN stops training with its step and leaves the last good checkpoint untouched", async () => {
  const dir = await Deno.makeTempDir();
  let saved: Uint8Array | null = null;
  await assert.rejects(
    () =>
      run({
        outputDir: dir,
        onStep: (it, trainer) => {
          if (it === 4) {
            saved = Deno.readFileSync(checkpointPath(dir)); // written at the end of epoch 0
            const p = trainer.student.parameters()[0];
            p.gpu.stream.upload(p.storage.buffer, new Float32Array(p.size).fill(Number.NaN));
          }
        },
      }),
    (e: Error) =>
      e instanceof NonFiniteLossError && e.step === 5 && Number.isFinite(e.lastFiniteLoss),
  );
  // The checkpoint of epoch 0 (written after iteration 3) is the one on disk, byte for byte.
  const after = await Deno.readFile(checkpointPath(dir));
  assert.deepEqual(after, saved);
  assert.equal((await readCheckpoint(checkpointPath(dir))).metadata.next_iteration, "4");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a truncated or altered checkpoint is rejected with an error naming the file", async () => {
  const dir = await Deno.makeTempDir();
  (await run({ outputDir: dir, stopAtIteration: 2 })).trainer.dispose();
  const path = checkpointPath(dir);
  const bytes = await Deno.readFile(path);
  await Deno.writeFile(path, bytes.subarray(0, bytes.length - 100));
  await assert.rejects(
    () => readCheckpoint(path),
    (e: Error) => e instanceof SafetensorsError && e.message.includes(path),
  );
  const flipped = bytes.slice();
  flipped[flipped.length - 7] ^= 0x40;
  await Deno.writeFile(path, flipped);
  await assert.rejects(
    () => readCheckpoint(path),
    /checksum mismatch: the checkpoint is corrupted/,
  );
  await Deno.remove(dir, { recursive: true });
});

// Last in this file: the tuned variants stay the choice for later products in this process.
Deno.test("pretrain({ tuneMatmul }) times the first step's products and trains the same", async () => {
  const plain = await run({ stopAtIteration: 3 });
  plain.trainer.dispose();
  const tuned = await run({ tuneMatmul: true, stopAtIteration: 3 });
  tuned.trainer.dispose();
  assert.equal(untunedMatmulProblems(gpu).size, 0, "every product of the step was timed");
  // Other variants sum in another order: f32 rounding, far below the loss's own scale.
  tuned.losses.forEach((l, i) => {
    const expected = plain.losses[i].loss;
    assert.ok(Math.abs(l.loss - expected) <= 1e-4 * Math.max(1, Math.abs(expected)), `${l.loss}`);
  });
});
