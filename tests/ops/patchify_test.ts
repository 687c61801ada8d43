// im2col() and patchEmbed(): the float64 references against the fixtures and finite differences,
// then the GPU kernels against the references on odd shapes (C = 1, p = 1, p = 3, non-square,
// ≥ 1025 patch rows), gradients only where asked, and shape errors.
import assert from "@std/assert";
import { currentGpu, getGpu } from "../../lib/gpu/device.ts";
import { Rng } from "../../lib/data/rng.ts";
import { ShapeError } from "../../lib/errors.ts";
import { readSafetensors } from "../../lib/io/safetensors.ts";
import { im2col, patchEmbed } from "../../lib/ops/patchify.ts";
import { fromArray, zeros } from "../../lib/tensor/create.ts";
import { type HostTensor, maxAbsDiff } from "../../lib/tensor/host.ts";
import { scope } from "../../lib/tensor/scope.ts";
import { hostTensor } from "../../tools/golden/compare.ts";
import { assertClose, randomHost } from "../helpers.ts";

await getGpu();

const ref = patchEmbed.reference;

const host = (t: { shape: readonly number[]; data: ArrayLike<number> }): HostTensor => ({
  shape: t.shape,
  data: Float64Array.from(t.data),
});

Deno.test("patchEmbed.reference and im2col.reference match the PyTorch fixtures", async () => {
  // The references are float64 like the fixtures, which are rounded once to f32: ~1e-7 relative.
  const file = await readSafetensors(
    new URL("../fixtures/ops_patchify.safetensors", import.meta.url).pathname,
  );
  const cases = JSON.parse(file.metadata.cases) as { id: string; patch: number }[];
  for (const { id, patch } of cases) {
    const t = (name: string) => host(hostTensor(file, `${id}.${name}`));
    const x = t("x");
    const weight = t("weight");
    assertClose(im2col.reference.forward(x, patch), t("cols").data, 1e-6, `${id} cols`);
    assertClose(ref.forward(x, weight, t("bias"), patch), t("y").data, 1e-6, `${id} y`);
    const grads = ref.backward(x, weight, t("dy"), patch);
    assertClose(grads.dx, t("dx").data, 1e-6, `${id} dx`);
    assertClose(grads.dweight, t("dweight").data, 1e-6, `${id} dweight`);
    assertClose(grads.dbias, t("dbias").data, 1e-6, `${id} dbias`);
  }
});

Deno.test("patchEmbed.reference backward matches finite differences", () => {
  // L = Σ y·dy is linear in each input, so central differences are exact up to float64
  // round-off (~1e-16/h with h = 1e-3 → 1e-13); 1e-9 leaves room for the sums.
  const rng = new Rng(3);
  for (const [b, c, h, w, p, d] of [[2, 2, 4, 6, 2, 3], [1, 1, 3, 3, 3, 2], [1, 3, 2, 2, 1, 1]]) {
    const x = randomHost([b, c, h, w], rng);
    const weight = randomHost([d, c, p, p], rng);
    const bias = randomHost([d], rng);
    const dy = randomHost([b, (h / p) * (w / p), d], rng);
    const loss = (xx: HostTensor, ww: HostTensor, bb: HostTensor) =>
      ref.forward(xx, ww, bb, p).reduce((acc, v, i) => acc + v * dy.data[i], 0);
    const grads = ref.backward(x, weight, dy, p);
    const eps = 1e-3;
    const inputs = [["x", x, grads.dx], ["weight", weight, grads.dweight], [
      "bias",
      bias,
      grads.dbias,
    ]] as const;
    for (const [name, t, g] of inputs) {
      for (let i = 0; i < t.data.length; i++) {
        const at = (delta: number) => {
          const data = Float64Array.from(t.data);
          data[i] += delta;
          const moved = { shape: t.shape, data };
          return loss(
            name === "x" ? moved : x,
            name === "weight" ? moved : weight,
            name === "bias" ? moved : bias,
          );
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        assert.ok(Math.abs(fd - g[i]) < 1e-9, `d${name}[${i}]: ${g[i]} vs finite difference ${fd}`);
      }
    }
  }
});

Deno.test("im2col.reference backward is the adjoint of its forward (finite differences)", () => {
  // ⟨im2col(x), c⟩ is linear in x: its gradient is col2im(c) exactly.
  const rng = new Rng(4);
  const x = randomHost([2, 3, 6, 9], rng);
  const p = 3;
  const cols = randomHost([2 * 6, 3 * 9], rng);
  const dx = im2col.reference.backward(cols, x.shape, p);
  const eps = 1e-3;
  for (let i = 0; i < x.data.length; i++) {
    const at = (delta: number) => {
      const data = Float64Array.from(x.data);
      data[i] += delta;
      return im2col.reference.forward({ shape: x.shape, data }, p)
        .reduce((acc, v, j) => acc + v * cols.data[j], 0);
    };
    const fd = (at(eps) - at(-eps)) / (2 * eps);
    assert.ok(Math.abs(fd - dx[i]) < 1e-9, `dx[${i}]: ${dx[i]} vs ${fd}`);
  }
});

Deno.test("im2col() forward and backward match the reference on odd shapes", async () => {
  // A permutation: the GPU must reproduce every value exactly.
  const rng = new Rng(5);
  for (
    const [b, c, h, w, p] of [[1, 1, 5, 7, 1], [2, 1, 9, 6, 3], [3, 3, 8, 12, 4], [1, 2, 33, 33, 1]]
  ) {
    await scope(async () => {
      const xh = randomHost([b, c, h, w], rng);
      const n = (h / p) * (w / p);
      const dcols = randomHost([b * n, c * p * p], rng);
      const x = fromArray(xh.data, xh.shape).requireGrad();
      const cols = im2col(x, p);
      assert.deepEqual(cols.shape, [b * n, c * p * p]);
      cols.backward(fromArray(dcols.data, dcols.shape));
      const what = `[${b}, ${c}, ${h}, ${w}] p=${p}`;
      assert.equal(maxAbsDiff(await cols.toArray(), im2col.reference.forward(xh, p)), 0, what);
      const dx = im2col.reference.backward(dcols, xh.shape, p);
      assert.equal(maxAbsDiff(await x.grad!.toArray(), dx), 0, `${what} dx`);
    });
  }
});

Deno.test("patchEmbed() forward and backward match the reference on odd shapes", async () => {
  // f32 dot products of K = C·p² ≤ 48 terms of N(0,1) values: error ~1e-6, well inside 1e-4.
  const rng = new Rng(6);
  const cases = [
    [1, 1, 5, 7, 1, 3], // p = 1, C = 1
    [2, 1, 9, 6, 3, 5], // p = 3, non-square, C = 1
    [3, 3, 8, 12, 4, 7], // non-square grid 2×3; p, W multiples of 4: the vec4 strided copy
    [1, 3, 4, 4, 4, 1], // one patch, D = 1
    [2, 2, 16, 24, 8, 3], // p = 8, vec4 runs of two vec4s
    [1, 2, 33, 33, 1, 2], // 1089 patch rows
  ];
  for (const [b, c, h, w, p, d] of cases) {
    await scope(async () => {
      const xh = randomHost([b, c, h, w], rng);
      const wh = randomHost([d, c, p, p], rng, 0.3);
      const bh = randomHost([d], rng);
      const n = (h / p) * (w / p);
      const dyh = randomHost([b, n, d], rng);
      const x = fromArray(xh.data, xh.shape).requireGrad();
      const weight = fromArray(wh.data, wh.shape).requireGrad();
      const bias = fromArray(bh.data, bh.shape).requireGrad();
      const y = patchEmbed(x, weight, bias, p);
      assert.deepEqual(y.shape, [b, n, d]);
      y.backward(fromArray(dyh.data, dyh.shape));
      const what = `[${b}, ${c}, ${h}, ${w}] p=${p} D=${d}`;
      assertClose(await y.toArray(), ref.forward(xh, wh, bh, p), 1e-4, `${what} y`);
      const grads = ref.backward(xh, wh, dyh, p);
      assertClose(await x.grad!.toArray(), grads.dx, 1e-4, `${what} dx`);
      assertClose(await weight.grad!.toArray(), grads.dweight, 1e-4, `${what} dweight`);
      assertClose(await bias.grad!.toArray(), grads.dbias, 1e-4, `${what} dbias`);
    });
  }
});

Deno.test("patchEmbed() computes only the gradients asked for and works without bias", async () => {
  // Images never need a gradient in training: x.grad stays null while the weight's is right.
  await scope(async () => {
    const rng = new Rng(7);
    const xh = randomHost([2, 3, 6, 6], rng);
    const wh = randomHost([4, 3, 3, 3], rng);
    const dyh = randomHost([2, 4, 4], rng);
    const x = fromArray(xh.data, xh.shape);
    const weight = fromArray(wh.data, wh.shape).requireGrad();
    const y = patchEmbed(x, weight, undefined, 3);
    y.backward(fromArray(dyh.data, dyh.shape));
    assert.equal(x.grad, null);
    assertClose(await y.toArray(), ref.forward(xh, wh, undefined, 3), 1e-4, "y");
    assertClose(await weight.grad!.toArray(), ref.backward(xh, wh, dyh, 3).dweight, 1e-4, "dW");
  });
});

Deno.test("patchEmbed() and im2col() reject shapes that do not fit the patch size", () => {
  scope(() => {
    const x = zeros([1, 3, 7, 8]);
    const weight = zeros([5, 3, 2, 2]);
    assert.throws(() => patchEmbed(x, weight, zeros([5]), 2), (e: Error) => {
      assert.ok(e instanceof ShapeError);
      assert.match(e.message, /patchEmbed/);
      assert.match(e.message, /\[1, 3, 7, 8\]/);
      assert.match(e.message, /\[5, 3, 2, 2\]/);
      assert.match(e.message, /height 7 is not divisible by patch size 2/);
      return true;
    });
    assert.throws(() => im2col(zeros([1, 3, 8, 9]), 2), /Cannot im2col .*width 9/);
    assert.throws(() => patchEmbed(zeros([1, 2, 8, 8]), weight, undefined, 2), ShapeError);
    assert.throws(() => patchEmbed(zeros([1, 3, 8, 8]), weight, undefined, 4), ShapeError);
    assert.throws(() => patchEmbed(zeros([1, 3, 8, 8]), weight, zeros([4]), 2), /bias/);
    assert.throws(() => patchEmbed(zeros([3, 8, 8]), weight, undefined, 2), /rank 4/);
    assert.throws(() => im2col(zeros([1, 1, 4, 4]), 0), RangeError);
  });
});

Deno.test("patchEmbed() frees its temporaries with and without autograd", () => {
  // Outside any scope: only the result (and the leaf gradients) may stay alive.
  const pool = currentGpu().pool;
  const x = zeros([2, 3, 8, 8]);
  const weight = zeros([5, 3, 4, 4]);
  const bias = zeros([5]);
  const dy = zeros([2, 4, 5]);
  patchEmbed(x, weight, bias, 4).dispose(); // compiles the pipelines
  const before = pool.stats().liveBytes;
  patchEmbed(x, weight, bias, 4).dispose();
  assert.equal(pool.stats().liveBytes, before, "forward without grad");
  weight.requireGrad();
  x.requireGrad();
  const y = patchEmbed(x, weight, bias, 4);
  y.backward(dy);
  y.dispose();
  weight.grad!.dispose();
  x.grad!.dispose();
  assert.equal(pool.stats().liveBytes, before, "forward and backward");
  for (const t of [x, weight, bias, dy]) t.dispose();
});
