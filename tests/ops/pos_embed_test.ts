// bicubicResize(), interpolatePosEmbed() and bicubicMatrix(): the sampling formula, the float64
// references against the fixtures and finite differences, then the GPU against the references on
// up- and down-sampling, non-square and 1×1 targets in both modes, the identity case and errors.
import assert from "@std/assert";
import { currentGpu, getGpu } from "../../lib/gpu/device.ts";
import { Rng } from "../../lib/data/rng.ts";
import { ShapeError } from "../../lib/errors.ts";
import { readSafetensors } from "../../lib/io/safetensors.ts";
import {
  bicubicMatrix,
  bicubicResize,
  interpolatePosEmbed,
  type PosEmbedMode,
} from "../../lib/ops/pos_embed.ts";
import { fromArray, zeros } from "../../lib/tensor/create.ts";
import { type HostTensor, maxAbsDiff } from "../../lib/tensor/host.ts";
import { scope } from "../../lib/tensor/scope.ts";
import { hostTensor } from "../../tools/golden/compare.ts";
import { assertClose, randomHost } from "../helpers.ts";

await getGpu();

/** The README §8 weights at fraction t, written out independently of lib/ops/pos_embed.ts. */
function readmeWeights(t: number): number[] {
  const a = -0.75;
  const u = 1 - t;
  return [
    ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
    ((a + 2) * t - (a + 3)) * t * t + 1,
    ((a + 2) * u - (a + 3)) * u * u + 1,
    ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a,
  ];
}

Deno.test("bicubicMatrix() samples where PyTorch does in both modes", () => {
  for (const [inSize, outSize] of [[14, 6], [4, 7], [2, 5], [3, 1], [1, 3], [4, 4]]) {
    for (const mode of ["size", "dino"] as PosEmbedMode[]) {
      const m = bicubicMatrix(inSize, outSize, mode);
      for (let o = 0; o < outSize; o++) {
        // size: src = (o + 0.5)·in/out − 0.5; dino: scale_factor (out + 0.1)/in, src = (o + 0.5)/scale − 0.5.
        const src = mode === "size"
          ? (o + 0.5) * inSize / outSize - 0.5
          : (o + 0.5) / ((outSize + 0.1) / inSize) - 0.5;
        const i = Math.floor(src);
        const want = new Float64Array(inSize);
        readmeWeights(src - i).forEach((w, k) => {
          want[Math.min(Math.max(i - 1 + k, 0), inSize - 1)] += w;
        });
        const row = m.slice(o * inSize, (o + 1) * inSize);
        assert.ok(maxAbsDiff(row, want) < 1e-12, `${mode} ${inSize}→${outSize} row ${o}`);
        const total = row.reduce((acc, v) => acc + v, 0);
        assert.ok(Math.abs(total - 1) < 1e-12, `${mode} ${inSize}→${outSize} row ${o} sums to 1`);
      }
    }
  }
  // Same size in "size" mode: t = 0 and the weights are (0, 1, 0, 0).
  assert.deepEqual(Array.from(bicubicMatrix(3, 3)), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
});

Deno.test("bicubicResize.reference and interpolatePosEmbed.reference match the fixtures", async () => {
  // float64 references vs fixtures rounded once to f32: ~1e-7 relative.
  const file = await readSafetensors(
    new URL("../fixtures/ops_pos_interp.safetensors", import.meta.url).pathname,
  );
  for (const { id } of JSON.parse(file.metadata.cases) as { id: string }[]) {
    const t = (name: string) => hostTensor(file, `${id}.${name}`);
    const grid = t("grid");
    const g = grid.shape[3];
    const [h, w] = t("dout_grid").shape.slice(-2);
    const resize = bicubicResize.reference;
    assertClose(resize.forward(grid, h, w), t("out_grid").data, 1e-6, `${id} out_grid`);
    assertClose(resize.backward(t("dout_grid"), g, g), t("dgrid").data, 1e-6, `${id} dgrid`);
    const interp = interpolatePosEmbed.reference;
    const out = interp.forward(t("pos_embed"), g, h, w);
    assertClose(out, t("out_pos_embed").data, 1e-6, `${id} out_pos_embed`);
    const dpe = interp.backward(t("dout_pos_embed"), g, h, w);
    assertClose(dpe, t("dpos_embed").data, 1e-6, `${id} dpos_embed`);
  }
});

/** Checks `backward(dout)` = ∇ Σ forward(x)·dout by central differences. */
function checkFiniteDifferences(
  x: HostTensor,
  dout: HostTensor,
  forward: (x: HostTensor) => Float64Array,
  backward: (dout: HostTensor) => Float64Array,
  what: string,
): void {
  // The maps are linear, so central differences are exact up to float64 round-off (~1e-13).
  const grad = backward(dout);
  const eps = 1e-3;
  for (let i = 0; i < x.data.length; i++) {
    const at = (delta: number) => {
      const data = Float64Array.from(x.data);
      data[i] += delta;
      return forward({ shape: x.shape, data }).reduce((acc, v, j) => acc + v * dout.data[j], 0);
    };
    const fd = (at(eps) - at(-eps)) / (2 * eps);
    assert.ok(Math.abs(fd - grad[i]) < 1e-9, `${what}[${i}]: ${grad[i]} vs ${fd}`);
  }
}

Deno.test("bicubicResize.reference backward matches finite differences", () => {
  const rng = new Rng(1);
  const cases: [number, number, number, number, number, PosEmbedMode][] = [
    [2, 4, 4, 3, 5, "size"],
    [1, 3, 2, 7, 1, "size"],
    [1, 5, 5, 2, 2, "dino"],
    [2, 1, 1, 3, 2, "size"],
  ];
  for (const [c, gh, gw, h, w, mode] of cases) {
    const grid = randomHost([c, gh, gw], rng);
    const dout = randomHost([c, h, w], rng);
    checkFiniteDifferences(
      grid,
      dout,
      (x) => bicubicResize.reference.forward(x, h, w, mode),
      (d) => bicubicResize.reference.backward(d, gh, gw, mode),
      `${mode} [${c}, ${gh}, ${gw}]→${h}×${w}`,
    );
  }
});

Deno.test("interpolatePosEmbed.reference backward matches finite differences", () => {
  const rng = new Rng(2);
  const cases: [number, number, number, number, PosEmbedMode][] = [
    [3, 4, 2, 5, "size"],
    [2, 3, 1, 1, "size"],
    [2, 4, 3, 3, "dino"],
  ];
  for (const [d, g, h, w, mode] of cases) {
    const pe = randomHost([1, 1 + g * g, d], rng);
    const dout = randomHost([1, 1 + h * w, d], rng);
    checkFiniteDifferences(
      pe,
      dout,
      (x) => interpolatePosEmbed.reference.forward(x, g, h, w, mode),
      (dd) => interpolatePosEmbed.reference.backward(dd, g, h, w, mode),
      `${mode} D=${d} ${g}→${h}×${w}`,
    );
  }
});

Deno.test("bicubicResize() forward and backward match the reference on odd shapes", async () => {
  // f32 matmuls over ≤ 14 taps per axis of N(0,1) values: error ~1e-6, well inside 1e-4.
  const rng = new Rng(3);
  const cases: [number[], number, number, PosEmbedMode][] = [
    [[1, 7, 4, 4], 7, 7, "size"], // upsample
    [[6, 14, 14], 6, 6, "size"], // 224/16 → 96/16
    [[3, 4, 5], 3, 8, "size"], // non-square grid, down rows, up columns
    [[2, 5, 5], 1, 1, "size"], // 1×1 target
    [[2, 1, 1], 3, 2, "size"], // 1×1 source
    [[5, 14, 14], 6, 6, "dino"],
    [[2, 4, 4], 4, 4, "dino"], // same size still resamples in dino mode
    [[1031, 2, 2], 3, 1, "size"], // many channels
  ];
  for (const [shape, h, w, mode] of cases) {
    await scope(async () => {
      const gh = shape[shape.length - 2];
      const gw = shape[shape.length - 1];
      const gridH = randomHost(shape, rng);
      const outShape = [...shape.slice(0, -2), h, w];
      const doutH = randomHost(outShape, rng);
      const grid = fromArray(gridH.data, shape).requireGrad();
      const out = bicubicResize(grid, h, w, mode);
      assert.deepEqual(out.shape, outShape);
      out.backward(fromArray(doutH.data, outShape));
      const what = `${mode} [${shape}]→${h}×${w}`;
      const ref = bicubicResize.reference;
      assertClose(await out.toArray(), ref.forward(gridH, h, w, mode), 1e-4, what);
      assertClose(await grid.grad!.toArray(), ref.backward(doutH, gh, gw, mode), 1e-4, `${what} d`);
    });
  }
});

Deno.test("interpolatePosEmbed() forward and backward match the reference on odd shapes", async () => {
  // As above: f32 matmuls over ≤ 14 taps per axis, error ~1e-6.
  const rng = new Rng(4);
  const cases: [number, number, number, number, PosEmbedMode][] = [
    [48, 4, 2, 2, "size"], // tiny-ViT local crop
    [7, 4, 7, 7, "size"], // upsample
    [5, 4, 3, 5, "size"], // non-square target
    [6, 14, 6, 6, "size"],
    [3, 4, 1, 1, "size"], // 1×1 target
    [2, 1, 3, 2, "size"], // 1×1 source grid
    [6, 14, 6, 6, "dino"],
    [4, 3, 3, 5, "dino"], // one axis keeps its size but still resamples in dino mode
    [1031, 2, 3, 3, "size"], // wide embedding
  ];
  for (const [d, g, h, w, mode] of cases) {
    await scope(async () => {
      const peH = randomHost([1, 1 + g * g, d], rng);
      const doutH = randomHost([1, 1 + h * w, d], rng);
      const pe = fromArray(peH.data, peH.shape).requireGrad();
      const out = interpolatePosEmbed(pe, g, h, w, mode);
      assert.deepEqual(out.shape, [1, 1 + h * w, d]);
      out.backward(fromArray(doutH.data, doutH.shape));
      const what = `${mode} D=${d} ${g}→${h}×${w}`;
      const ref = interpolatePosEmbed.reference;
      const got = await out.toArray();
      assertClose(got, ref.forward(peH, g, h, w, mode), 1e-4, what);
      assert.deepEqual(Array.from(got.slice(0, d)), Array.from(peH.data.slice(0, d)), "CLS row");
      assertClose(await pe.grad!.toArray(), ref.backward(doutH, g, h, w, mode), 1e-4, `${what} d`);
    });
  }
});

Deno.test("interpolatePosEmbed() at the trained size returns the embedding unchanged", async () => {
  await scope(async () => {
    const rng = new Rng(5);
    const peH = randomHost([1, 10, 4], rng);
    const doutH = randomHost([1, 10, 4], rng);
    for (const mode of ["size", "dino"] as PosEmbedMode[]) {
      const pe = fromArray(peH.data, peH.shape).requireGrad();
      const out = interpolatePosEmbed(pe, 3, 3, 3, mode);
      assert.equal(out.storage, pe.storage, "a view, not a copy");
      out.backward(fromArray(doutH.data, doutH.shape));
      assert.deepEqual(await out.toArray(), peH.data);
      assert.deepEqual(await pe.grad!.toArray(), doutH.data);
    }
  });
});

Deno.test("interpolatePosEmbed() and bicubicResize() reject mismatched shapes", () => {
  scope(() => {
    assert.throws(() => interpolatePosEmbed(zeros([1, 17, 8]), 3, 2, 2), (e: Error) => {
      assert.ok(e instanceof ShapeError);
      assert.match(e.message, /interpolatePosEmbed/);
      assert.match(e.message, /\[1, 17, 8\] and \[1, 10, 8\]/);
      return true;
    });
    assert.throws(() => interpolatePosEmbed(zeros([2, 17, 8]), 4, 2, 2), ShapeError);
    assert.throws(() => interpolatePosEmbed(zeros([17, 8]), 4, 2, 2), ShapeError);
    assert.throws(() => interpolatePosEmbed(zeros([1, 17, 8]), 4, 0, 2), /positive integers/);
    assert.throws(() => bicubicResize(zeros([4]), 2, 2), /rank ≥ 2/);
    assert.throws(() => bicubicResize(zeros([1, 4, 4]), 2.5, 2), ShapeError);
  });
});

Deno.test("interpolatePosEmbed() and bicubicResize() free their temporaries", () => {
  // Outside any scope: only results, leaf gradients and the cached matrices may stay alive.
  const pool = currentGpu().pool;
  const pe = zeros([1, 17, 6]);
  const grid = zeros([2, 4, 4]);
  const dpe = zeros([1, 7, 6]);
  const dgrid = zeros([2, 3, 2]);
  const run = () => {
    const out = interpolatePosEmbed(pe, 4, 3, 2);
    out.backward(dpe);
    out.dispose();
    const resized = bicubicResize(grid, 3, 2);
    resized.backward(dgrid);
    resized.dispose();
    pe.grad!.dispose();
    pe.grad = null;
    grid.grad!.dispose();
    grid.grad = null;
  };
  pe.requireGrad();
  grid.requireGrad();
  run(); // builds the cached matrices
  const before = pool.stats().liveBytes;
  run();
  assert.equal(pool.stats().liveBytes, before);
  for (const t of [pe, grid, dpe, dgrid]) t.dispose();
});
