import assert from "@std/assert";
import { getGpu } from "../../lib/gpu/device.ts";
import { fromArray } from "../../lib/tensor/create.ts";
import { add, exp } from "../../lib/ops/elementwise.ts";
import { matmul } from "../../lib/ops/matmul.ts";
import { reshape } from "../../lib/ops/movement.ts";
import { layerNorm } from "../../lib/ops/normalization.ts";

await getGpu();

Deno.test("ops reject a non-f32 tensor before encoding, naming the op, dtype and shape", () => {
  const ints = fromArray([1, 2, 3, 4], [2, 2], { dtype: "i32" });
  const floats = fromArray([1, 2, 3, 4], [2, 2]);
  assert.throws(
    () => add(floats, ints),
    /^TypeError: Cannot add a tensor of dtype i32 and shape \[2, 2\]: expected f32$/,
  );
  assert.throws(() => exp(ints), /Cannot exp a tensor of dtype i32/);
  assert.throws(() => matmul(ints, floats), /Cannot matmul a tensor of dtype i32/);
  assert.throws(
    () => layerNorm(floats, ints.view([4]), floats.view([4])),
    /Cannot layerNorm a tensor of dtype i32/,
  );
  // reshape moves any dtype.
  assert.deepEqual(reshape(ints, [4]).shape, [4]);
});
