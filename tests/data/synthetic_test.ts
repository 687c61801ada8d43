import assert from "@std/assert";
import { SHAPE_AREAS, SYNTHETIC_SHAPES, SyntheticShapes } from "../../lib/data/synthetic.ts";

Deno.test("SyntheticShapes.get() is deterministic: same seed same bytes, other seed differs", () => {
  const a = new SyntheticShapes({ length: 50, seed: 7 });
  const b = new SyntheticShapes({ length: 50, seed: 7 });
  const c = new SyntheticShapes({ length: 50, seed: 8 });
  for (const i of [0, 1, 13, 49]) {
    const x = a.get(i), y = b.get(i), z = c.get(i);
    assert.deepEqual(x.image, y.image);
    assert.deepEqual(x.mask, y.mask);
    assert.deepEqual(a.get(i).image, x.image, "a second get() returns the same image");
    assert.equal(x.label, z.label, "labels depend on the index only");
    assert.notDeepEqual(x.image, z.image);
  }
  assert.notDeepEqual(a.get(0).image, a.get(8).image, "same class, different images");
});

Deno.test("SyntheticShapes has balanced labels, every shape, and 3×H×W images in [0, 1]", () => {
  const ds = new SyntheticShapes({ length: 24, size: [24, 40] });
  assert.deepEqual(ds.classNames, [...SYNTHETIC_SHAPES]);
  assert.equal(ds.numClasses, 8);
  assert.deepEqual([ds.channels, ds.height, ds.width], [3, 24, 40]);
  for (let i = 0; i < ds.length; i++) {
    const s = ds.get(i);
    assert.equal(s.label, i % 8);
    assert.equal(ds.describe(i).shape, SYNTHETIC_SHAPES[i % 8]);
    assert.deepEqual([s.channels, s.height, s.width, s.image.length, s.mask!.length], [
      3,
      24,
      40,
      3 * 24 * 40,
      24 * 40,
    ]);
    assert.ok(s.image.every((v) => v >= 0 && v <= 1));
  }
  const sub = new SyntheticShapes({ length: 6, shapes: ["ring", "cross"] });
  assert.deepEqual(sub.classNames, ["ring", "cross"]);
  assert.equal(sub.describe(3).shape, "cross");
});

Deno.test("SyntheticShapes masks match the drawn shape's area, position and colour", () => {
  // At 64 px the radius is 14–26 px: the pixel-centre mask area is within 5 % of the analytic
  // area (the outline holds O(r) pixels, each off by at most 1). At 32 px, 12 %.
  for (const [size, tol] of [[64, 0.05], [32, 0.12]] as const) {
    const ds = new SyntheticShapes({ length: 80, size, seed: 3 });
    for (let i = 0; i < ds.length; i++) {
      const s = ds.get(i);
      const spec = ds.describe(i);
      let area = 0, sx = 0, sy = 0;
      const mean = [0, 0, 0];
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          if (!s.mask![y * size + x]) continue;
          area++;
          sx += x + 0.5;
          sy += y + 0.5;
          assert.ok(
            Math.hypot(x + 0.5 - spec.cx, y + 0.5 - spec.cy) <= spec.radius + 1e-9,
            "mask pixels lie in the bounding circle",
          );
          for (let c = 0; c < 3; c++) mean[c] += s.image[c * size * size + y * size + x];
        }
      }
      const want = SHAPE_AREAS[spec.shape] * spec.radius ** 2;
      assert.ok(area > 0, `image ${i} has a non-empty mask`);
      assert.ok(
        Math.abs(area / want - 1) <= tol,
        `${spec.shape} at ${size} px: mask area ${area}, analytic ${want.toFixed(1)}`,
      );
      if (spec.shape !== "crescent") {
        // Symmetric shapes: the mask's centroid is the shape's centre.
        assert.ok(
          Math.hypot(sx / area - spec.cx, sy / area - spec.cy) < 1,
          `${spec.shape} centroid`,
        );
      }
      // Inside the mask the image shows the fill colour, up to noise (≤ ±0.06) and anti-aliasing.
      for (let c = 0; c < 3; c++) {
        assert.ok(
          Math.abs(mean[c] / area - spec.color[c]) < 0.08,
          `${spec.shape} colour channel ${c}`,
        );
      }
    }
  }
});

Deno.test("SyntheticShapes renders 224 px images and rejects bad options", () => {
  const ds = new SyntheticShapes({ length: 2, size: 224 });
  const s = ds.get(1);
  assert.equal(s.image.length, 3 * 224 * 224);
  assert.ok(s.mask!.some((v) => v === 1));
  assert.throws(() => new SyntheticShapes({ size: 4 }), /size 4×4: sides must be integers ≥ 8/);
  assert.throws(() => new SyntheticShapes({ length: -1 }), /length -1/);
  assert.throws(() => new SyntheticShapes({ shapes: [] }), /no shapes/);
  assert.throws(
    () => ds.get(2),
    /Cannot get example 2 of SyntheticShapes: index must be an integer in \[0, 2\)/,
  );
});
