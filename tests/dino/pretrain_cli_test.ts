// `deno task pretrain` refuses flags that cannot make a run, in one line, before loading data.
import assert from "@std/assert";

const EXAMPLE = new URL("../../examples/pretrain.ts", import.meta.url).pathname;

Deno.test("pretrain rejects a warm-up longer than the run with one line and exit code 2", async () => {
  const dir = await Deno.makeTempDir();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", EXAMPLE, "--epochs", "1", "--warmup_epochs", "2", "--output_dir", dir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr).trim();
  assert.equal(out.code, 2);
  assert.equal(
    stderr,
    "--warmup_epochs 2 exceeds --epochs 1: the learning-rate warm-up must fit in the run",
  );
  assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing was written");
  await Deno.remove(dir, { recursive: true });
});
