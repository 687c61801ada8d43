import assert from "@std/assert";
import { getGpu } from "../../lib/gpu/device.ts";
import { DinoTrainer, NonFiniteLossError } from "../../lib/dino/train.ts";
import { randn } from "../../lib/tensor/create.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { TINY } from "./tiny_config.ts";

const gpu = await getGpu();

function crops(seed: number, config = TINY): Tensor[] {
  const b = config.batchSize;
  const sizes = [
    config.globalSize,
    config.globalSize,
    ...new Array(config.localCropsNumber).fill(config.localSize),
  ];
  return sizes.map((s, i) => randn([b, 3, s, s], { seed: seed * 100 + i }));
}

Deno.test("DinoTrainer.step() leaks nothing and creates no buffer after warm-up (100 steps)", async () => {
  // Last layer unfrozen from the start: its AdamW state would otherwise appear at epoch 1.
  const trainer = new DinoTrainer({ ...TINY, freezeLastLayer: 0 }, 50);
  const batch = crops(0);
  const live: number[] = [];
  const created: number[] = [];
  for (let it = 0; it < 100; it++) {
    const loss = trainer.step(batch, it);
    if (it % 25 === 24) trainer.checkLoss(it, await loss.item());
    loss.dispose();
    live.push(gpu.pool.stats().liveBytes);
    created.push(gpu.pool.stats().buffersCreated);
  }
  // Step 1 (0-based) is the first with optimizer state everywhere: from then on nothing changes.
  assert.equal(live[19], live[1], `live bytes ${live[1]} after step 2, ${live[19]} after step 20`);
  assert.equal(live[99], live[1], `live bytes ${live[1]} after step 2, ${live[99]} after step 100`);
  assert.equal(created[99], created[2], "buffers were created after warm-up");
  trainer.dispose();
  for (const t of batch) t.dispose();
});

Deno.test("DinoTrainer starts the teacher as an exact copy of the student and never gives it grads", async () => {
  const trainer = new DinoTrainer(TINY, 10);
  const student = trainer.student.namedParameters();
  const teacher = trainer.teacher.namedParameters();
  assert.deepEqual(teacher.map(([n]) => n), student.map(([n]) => n));
  for (let i = 0; i < student.length; i++) {
    assert.deepEqual(await teacher[i][1].toArray(), await student[i][1].toArray(), student[i][0]);
  }
  const batch = crops(2);
  trainer.step(batch, 0).dispose();
  assert.ok(teacher.every(([, t]) => t.grad === null && !t.requiresGrad));
  assert.ok(student.every(([, t]) => t.grad === null), "zeroGrad() after the step");
  trainer.dispose();
  for (const t of batch) t.dispose();
});

Deno.test("checkLoss() stops on a non-finite loss with the step and the last finite loss", () => {
  const trainer = new DinoTrainer(TINY, 10);
  trainer.checkLoss(3, 5.25);
  assert.throws(
    () => trainer.checkLoss(7, Number.NaN),
    (e: Error) =>
      e instanceof NonFiniteLossError && e.step === 7 && e.lastFiniteLoss === 5.25 &&
      /Loss is NaN at step 7/.test(e.message),
  );
  trainer.dispose();
});
