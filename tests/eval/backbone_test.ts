import assert from "@std/assert";
import { DINO_DEFAULTS, type DinoConfig } from "../../lib/dino/config.ts";
import { vitConfigOf } from "../../lib/dino/train.ts";
import { loadBackbone } from "../../lib/eval/backbone.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import { writeSafetensors } from "../../lib/io/safetensors.ts";
import { VisionTransformer } from "../../lib/nn/vit.ts";

await getGpu();

Deno.test("loadBackbone() rebuilds the teacher ViT from a checkpoint's config and weights", async () => {
  const config: DinoConfig = {
    ...DINO_DEFAULTS,
    arch: "vit_tiny",
    patchSize: 4,
    globalSize: 8,
    embedDim: 12,
    depth: 2,
    numHeads: 2,
  };
  const teacher = new VisionTransformer(vitConfigOf(config), { seed: 7 });
  const other = new VisionTransformer(vitConfigOf(config), { seed: 8 });
  const dir = await Deno.makeTempDir({ prefix: "backbone_test" });
  try {
    const path = `${dir}/checkpoint.safetensors`;
    await writeSafetensors(
      path,
      { ...await teacher.stateDict("teacher."), ...await other.stateDict("student.") },
      { config: JSON.stringify(config) },
    );
    const vit = await loadBackbone(path);
    assert.equal(vit.training, false, "eval mode");
    assert.deepEqual(vit.config, vitConfigOf(config));
    const got = await vit.stateDict();
    for (const [name, t] of Object.entries(await teacher.stateDict())) {
      assert.deepEqual(got[name].data, t.data, name);
    }
    vit.dispose();
    await writeSafetensors(path, await teacher.stateDict("teacher."));
    await assert.rejects(() => loadBackbone(path), /no "config" metadata/);
    const explicit = await loadBackbone(path, { config: vitConfigOf(config) });
    explicit.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
    teacher.dispose();
    other.dispose();
  }
});
