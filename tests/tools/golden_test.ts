// Runs every fixture file of tests/fixtures through the golden runner (tools/golden.ts); a kind
// without a checker yet is reported as an ignored test, never as a pass.
import assert from "@std/assert";
import { readSafetensors } from "../../lib/io/safetensors.ts";
import { checkFile, fixtureFiles, formatCase } from "../../tools/golden.ts";

const dir = new URL("../fixtures", import.meta.url).pathname;

for (const path of await fixtureFiles(dir)) {
  const name = path.split("/").pop()!.replace(".safetensors", "");
  const kind = (await readSafetensors(path)).metadata.kind;
  const exists = await Deno.stat(new URL(`../../tools/golden/${kind}.ts`, import.meta.url))
    .then(() => true, () => false);
  Deno.test({
    name: `golden ${name} matches PyTorch`,
    ignore: !exists,
    async fn() {
      const result = await checkFile(path);
      assert.equal(result.skipped, undefined, `${name}: ${result.skipped}`);
      assert.ok(result.cases.length > 0, `${name}: no cases were checked`);
      const lines = result.cases.map((c) => formatCase(result.kind, c));
      const failing = lines.filter((l) => l.startsWith("FAIL"));
      assert.deepEqual(failing, [], failing.join("\n"));
    },
  });
}
