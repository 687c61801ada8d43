import assert from "@std/assert";
import { deriveSeed, subset, toFloatImage } from "../../lib/data/dataset.ts";
import { Rng } from "../../lib/data/rng.ts";
import { SyntheticShapes } from "../../lib/data/synthetic.ts";

Deno.test("subset() maps indices in order and checks them", () => {
  const ds = new SyntheticShapes({ length: 20, size: 8 });
  const sub = subset(ds, [5, 3, 19]);
  assert.equal(sub.length, 3);
  assert.equal(sub.numClasses, ds.numClasses);
  assert.deepEqual(sub.get(1).image, ds.get(3).image);
  assert.equal(sub.get(2).label, ds.get(19).label);
  assert.throws(() => subset(ds, [0, 20]), /Cannot get example 20 of the dataset of a subset/);
  assert.throws(
    () => sub.get(3),
    /Cannot get example 3 of a subset: index must be an integer in \[0, 3\)/,
  );
});

Deno.test("deriveSeed() gives distinct streams for neighbouring (seed, index) pairs", () => {
  const firsts = new Set<number>();
  for (let seed = 0; seed < 20; seed++) {
    for (let i = 0; i < 50; i++) {
      const s = deriveSeed(seed, i);
      assert.ok(Number.isSafeInteger(s) && s >= 0);
      firsts.add(new Rng(s).nextU32());
    }
  }
  assert.equal(firsts.size, 1000);
  assert.equal(deriveSeed(3, 4), deriveSeed(3, 4));
});

Deno.test("toFloatImage() converts interleaved and planar bytes to C×H×W floats", () => {
  // 1×2 RGB interleaved: pixels (255, 0, 51) and (0, 255, 102).
  const f = toFloatImage(new Uint8Array([255, 0, 51, 0, 255, 102]), 3, 1, 2);
  assert.deepEqual([...f], [1, 0, 0, 1, 0.2, 0.4].map(Math.fround));
  const planar = toFloatImage(new Uint8Array([0, 255]), 1, 1, 2, { repeat: 3 });
  assert.deepEqual([...planar], [0, 1, 0, 1, 0, 1]);
});
