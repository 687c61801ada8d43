// Every WGSL module of shaders/ compiles on this adapter, and every entry point builds a pipeline
// with its default override values: a syntax or validation error anywhere fails here, not at the
// first use of the op.
import assert from "@std/assert";
import { getGpu } from "../../lib/gpu/device.ts";
import { SHADERS } from "../../lib/gpu/shaders.gen.ts";

const gpu = await getGpu();
const ENTRY = /@compute\s+@workgroup_size\([^)]*\)\s*fn\s+(\w+)/g;
const F16 = /^\s*enable\s+f16\s*;/m;

for (const [family, ops] of Object.entries(SHADERS)) {
  for (const [op, source] of Object.entries(ops)) {
    Deno.test({
      name: `shaders/${family}/${op}.wgsl compiles and builds every entry point`,
      ignore: F16.test(source.code) && !gpu.hasF16,
      async fn() {
        const device = gpu.device;
        device.pushErrorScope("validation");
        const module = device.createShaderModule({ label: source.name, code: source.code });
        const info = await module.getCompilationInfo();
        const moduleError = await device.popErrorScope();
        const errors = info.messages.filter((m) => m.type === "error").map((m) =>
          `${m.lineNum}:${m.linePos} ${m.message}`
        );
        assert.deepEqual(errors, [], `${source.name}: ${errors.join("; ")}`);
        assert.equal(moduleError, null, `${source.name}: ${moduleError?.message}`);
        const entries = [...source.code.matchAll(ENTRY)].map((m) => m[1]);
        assert.ok(entries.length > 0, `${source.name} has no compute entry point`);
        for (const entryPoint of entries) {
          await device.createComputePipelineAsync({
            label: `${source.name}.${entryPoint}`,
            layout: "auto",
            compute: { module, entryPoint },
          });
        }
      },
    });
  }
}

Deno.test("a WGSL error is reported by the compile check", async () => {
  const module = gpu.device.createShaderModule({
    code: "@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }",
  });
  const info = await module.getCompilationInfo();
  assert.ok(info.messages.some((m) => m.type === "error"));
});
