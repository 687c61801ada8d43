// `deno task pretrain --eval_only --pretrained_weights FILE` evaluates a kept checkpoint.
import assert from "@std/assert";

const EXAMPLE = new URL("../../examples/pretrain.ts", import.meta.url).pathname;
const FLAGS = [
  "--train_images",
  "24",
  "--eval_images",
  "16",
  "--batch_size",
  "12",
  "--epochs",
  "1",
  "--local_crops_number",
  "2",
  "--probe_epochs",
  "2",
];

async function pretrain(...args: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", EXAMPLE, ...FLAGS, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("pretrain --eval_only --pretrained_weights evaluates that checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const run = await pretrain("--output_dir", dir, "--saveckp_freq", "1");
  assert.ok(run.success, new TextDecoder().decode(run.stderr));
  const kept = `${dir}/checkpoint0001.safetensors`;
  const again = await pretrain("--output_dir", dir, "--eval_only", "--pretrained_weights", kept);
  assert.ok(again.success, new TextDecoder().decode(again.stderr));
  assert.match(new TextDecoder().decode(again.stdout), /evaluating the teacher of .*0001/);
  // The run ended at epoch 1, so the kept checkpoint is its final one: the same evaluation.
  const final = JSON.parse(await Deno.readTextFile(`${dir}/eval.json`));
  const ofKept = JSON.parse(await Deno.readTextFile(`${dir}/eval_checkpoint0001.json`));
  assert.deepEqual(ofKept.knn, final.knn);

  const missing = await pretrain(
    "--output_dir",
    dir,
    "--eval_only",
    "--pretrained_weights",
    `${dir}/nope.safetensors`,
  );
  assert.equal(missing.success, false);
  assert.match(new TextDecoder().decode(missing.stderr), /nope\.safetensors: no such file/);
  await Deno.remove(dir, { recursive: true });
});
