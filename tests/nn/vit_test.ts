import assert from "@std/assert";
import { getGpu } from "../../lib/gpu/device.ts";
import { parseSafetensors, serializeSafetensors } from "../../lib/io/safetensors.ts";
import { VisionTransformer, vitSmall, vitTiny } from "../../lib/nn/vit.ts";
import { DinoHead } from "../../lib/nn/dino_head.ts";
import { randn } from "../../lib/tensor/create.ts";
import { scope } from "../../lib/tensor/scope.ts";
import { maxAbsDiff } from "../../lib/tensor/host.ts";

await getGpu();
const small = () =>
  new VisionTransformer(vitTiny(4, { imgSize: 16, embedDim: 24, depth: 2, numHeads: 2 }), {
    seed: 1,
  });

Deno.test("VisionTransformer names its parameters as timm, in timm's order", () => {
  const vit = small();
  const names = vit.namedParameters().map(([n]) => n);
  assert.deepEqual(names.slice(0, 6), [
    "patch_embed.proj.weight",
    "patch_embed.proj.bias",
    "cls_token",
    "pos_embed",
    "blocks.0.norm1.weight",
    "blocks.0.norm1.bias",
  ]);
  assert.ok(names.includes("blocks.1.attn.qkv.weight") && names.includes("blocks.1.mlp.fc2.bias"));
  assert.deepEqual(names.slice(-2), ["norm.weight", "norm.bias"]);
  vit.dispose();
});

Deno.test("vitTiny(16) has timm's 5,524,416 backbone parameters; vitSmall(16) is D 384 with 6 heads", () => {
  const vit = new VisionTransformer(vitTiny(16), { seed: 0 });
  assert.equal(vit.parameterCount(), 5_524_416);
  vit.dispose();
  const s = vitSmall(16);
  assert.deepEqual([s.embedDim, s.depth, s.numHeads, s.imgSize], [384, 12, 6, 224]);
});

Deno.test("DinoHead names mlp.0/2/4 and last_layer.weight_g/weight_v, with weight_g frozen", () => {
  const head = new DinoHead({ inDim: 24, outDim: 50, hiddenDim: 32, bottleneckDim: 8 });
  assert.deepEqual(head.namedParameters().map(([n, t]) => `${n}:${t.shape.join("x")}`), [
    "mlp.0.weight:32x24",
    "mlp.0.bias:32",
    "mlp.2.weight:32x32",
    "mlp.2.bias:32",
    "mlp.4.weight:8x32",
    "mlp.4.bias:8",
    "last_layer.weight_g:50x1",
    "last_layer.weight_v:50x8",
  ]);
  assert.equal(head.trainableParameters().length, 7);
  head.dispose();
});

Deno.test("stateDict() and loadStateDict() round-trip through safetensors, with dino prefixes", async () => {
  const a = small();
  const b = new VisionTransformer(a.config, { seed: 2 });
  const state = await a.stateDict();
  const prefixed = Object.fromEntries(
    Object.entries(state).map(([k, v]) => [`module.backbone.${k}`, v]),
  );
  b.loadStateDict(parseSafetensors(serializeSafetensors(prefixed), "ckpt.safetensors"));
  const x = randn([2, 3, 16, 16], { seed: 3 });
  const [ya, yb] = scope(() => [a.eval().forward(x), b.eval().forward(x)]);
  assert.equal(maxAbsDiff(await ya.toArray(), await yb.toArray()), 0);
  a.dispose();
  b.dispose();
});

Deno.test("loadStateDict() names a missing or mis-shaped tensor", async () => {
  const vit = small();
  const state = await vit.stateDict();
  const { pos_embed: _, ...missing } = state;
  assert.throws(
    () => vit.loadStateDict(parseSafetensors(serializeSafetensors(missing), "a.safetensors")),
    /Cannot load the state dict from a\.safetensors: tensor "pos_embed" is missing/,
  );
  const wrong = {
    ...state,
    cls_token: { dtype: "F32" as const, shape: [1, 2], data: new Float32Array(2) },
  };
  assert.throws(
    () => vit.loadStateDict(wrong),
    /Cannot load tensor "cls_token": shape \[1, 2\] does not match the parameter's \[1, 1, 24\]/,
  );
  vit.loadStateDict(missing, { strict: false });
  vit.dispose();
});

Deno.test("lastSelfAttention() gives CLS attention rows summing to 1 at any crop size", async () => {
  const vit = small().eval();
  for (const size of [16, 8, 12]) {
    const probs = scope(() => vit.lastSelfAttention(randn([2, 3, size, size], { seed: size })));
    const n = 1 + (size / 4) ** 2;
    assert.deepEqual(probs.shape, [2, 2, n, n]);
    const p = await probs.toArray();
    for (let row = 0; row < p.length / n; row++) {
      const s = p.slice(row * n, (row + 1) * n).reduce((a, v) => a + v, 0);
      assert.ok(Math.abs(s - 1) < 1e-5, `row ${row} sums to ${s}`);
    }
    probs.dispose();
  }
  vit.dispose();
});

Deno.test("intermediateLayers(n) returns the normed outputs of the last n blocks", async () => {
  const vit = small().eval();
  const x = randn([1, 3, 16, 16], { seed: 5 });
  const [layers, tokens] = scope(() => [vit.intermediateLayers(x, 2), vit.forwardTokens(x)]);
  assert.equal(layers.length, 2);
  assert.deepEqual(layers[1].shape, [1, 17, 24]);
  assert.equal(maxAbsDiff(await layers[1].toArray(), await tokens.toArray()), 0);
  assert.ok(maxAbsDiff(await layers[0].toArray(), await tokens.toArray()) > 1e-3);
  vit.dispose();
});

Deno.test("drop-path is random in training mode and off in eval mode", async () => {
  const vit = new VisionTransformer(
    vitTiny(4, { imgSize: 16, embedDim: 24, depth: 4, numHeads: 2, dropPathRate: 0.5 }),
    {
      seed: 1,
    },
  );
  const x = randn([8, 3, 16, 16], { seed: 6 });
  const run = () => scope(() => vit.forward(x)).toArray();
  vit.train();
  assert.ok(maxAbsDiff(await run(), await run()) > 1e-4);
  vit.eval();
  assert.equal(maxAbsDiff(await run(), await run()), 0);
  vit.dispose();
});

Deno.test("VisionTransformer rejects images whose size is not a multiple of the patch", () => {
  const vit = small();
  assert.throws(
    () => vit.forward(randn([1, 3, 10, 16], { seed: 0 })),
    /Cannot VisionTransformer\.forward tensors of shape .* and \[1, 3, 10, 16\]/,
  );
  vit.dispose();
});
