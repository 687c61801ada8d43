// `deno task pretrain --resume` after a kill -9 in mid-epoch: the run continues from the last
// checkpoint and ends where an uninterrupted run ends.
import assert from "@std/assert";
import { readCheckpoint } from "../../lib/io/checkpoint.ts";

const EXAMPLE = new URL("../../examples/pretrain.ts", import.meta.url).pathname;
const FLAGS = [
  "--train_images",
  "48",
  "--batch_size",
  "12",
  "--epochs",
  "3",
  "--local_crops_number",
  "2",
  "--log_every",
  "1",
  "--no_eval",
];

function pretrain(outputDir: string, ...extra: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", EXAMPLE, ...FLAGS, "--output_dir", outputDir, ...extra],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function waitFor(path: string, seconds: number): Promise<void> {
  for (let t = 0; t < seconds * 10; t++) {
    try {
      await Deno.stat(path);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`${path} did not appear within ${seconds} s`);
}

/** Waits (up to 60 s) until `dir`'s log.jsonl has `count` lines. */
async function waitForLogLines(dir: string, count: number): Promise<void> {
  await waitFor(`${dir}/log.jsonl`, 5);
  for (let t = 0; t < 600; t++) {
    const lines = (await Deno.readTextFile(`${dir}/log.jsonl`)).trim().split("\n").length;
    if (lines >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

Deno.test("pretrain --resume after kill -9 in mid-epoch continues from the last checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const ckpt = `${dir}/checkpoint.safetensors`;
  const first = pretrain(dir);
  await waitFor(ckpt, 240); // end of epoch 1
  // Let epoch 2 start, then kill without warning.
  await waitForLogLines(dir, 5);
  first.kill("SIGKILL");
  const killed = await first.output();
  assert.equal(killed.success, false);
  const saved = await readCheckpoint(ckpt);
  assert.equal(saved.metadata.next_iteration, "4");

  const second = await pretrain(dir, "--resume").output();
  assert.ok(second.success, new TextDecoder().decode(second.stderr));
  assert.match(new TextDecoder().decode(second.stdout), /finished at iteration 12/);
  const done = await readCheckpoint(ckpt);
  assert.equal(done.metadata.next_iteration, "12");
  const log = (await Deno.readTextFile(`${dir}/log.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assert.deepEqual(log.map((l) => l.iteration), [...Array(12).keys()]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("pretrain on SIGINT saves a mid-epoch checkpoint and prints how to resume", async () => {
  const dir = await Deno.makeTempDir();
  const run = pretrain(dir);
  await waitFor(`${dir}/log.jsonl`, 240);
  await waitForLogLines(dir, 2);
  run.kill("SIGINT");
  const out = await run.output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const stopped = Number(stdout.match(/stopped at iteration (\d+)/)?.[1]);
  assert.ok(stopped >= 2 && stopped < 12, stdout);
  const saved = await readCheckpoint(`${dir}/checkpoint.safetensors`);
  assert.equal(saved.metadata.next_iteration, String(stopped));
  const resume = stdout.match(/resume with: (.*)/)?.[1] ?? "";
  assert.equal(resume, `deno task pretrain ${[...FLAGS, "--output_dir", dir].join(" ")} --resume`);
  await Deno.remove(dir, { recursive: true });
});
