import assert from "@std/assert";
import { getGpu } from "../../lib/gpu/device.ts";
import {
  augmentBatch,
  brightness,
  contrast,
  dinoDefault,
  fmnistTiny,
  gaussianBlur,
  grayscale,
  hflip,
  hue,
  type ImageAugmentParams,
  type Interpolation,
  MultiCropAugment,
  type MultiCropConfig,
  normalize,
  randomResizedCropBox,
  resizedCrop,
  saturation,
  solarize,
  type ViewParams,
} from "../../lib/data/augment.ts";
import {
  augmentImageRef,
  brightnessRef,
  contrastRef,
  gaussianBlurRef,
  grayscaleRef,
  hflipRef,
  type HostImage,
  hueRef,
  normalizeRef,
  resizedCropRef,
  saturationRef,
  solarizeRef,
} from "../../lib/data/augment_reference.ts";
import { Rng } from "../../lib/data/rng.ts";
import { fromArray } from "../../lib/tensor/create.ts";
import { maxAbsDiff } from "../../lib/tensor/host.ts";
import { scope } from "../../lib/tensor/scope.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";

await getGpu();

// f32 kernels against float64 references on values in [0, 1] (or a few units after normalize):
// the error is a few ulps (~1e-7, hue's HSV round trip ~5e-7); 1e-5 leaves a wide margin yet
// catches any wrong tap, weight or op order (errors ≥ 1e-3).
const TOL = 1e-5;

function randomImages(seed: number, shape: [number, number, number, number]): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.uniform());
}

function hostImage(data: Float32Array, b: number, c: number, h: number, w: number): HostImage {
  const n = c * h * w;
  return {
    channels: c,
    height: h,
    width: w,
    data: Float64Array.from(data.subarray(b * n, b * n + n)),
  };
}

async function assertClose(got: Tensor, want: ArrayLike<number>, what: string, tol = TOL) {
  const err = maxAbsDiff(await got.toArray(), want);
  assert.ok(err <= tol, `${what}: max abs err ${err} > ${tol}`);
}

/** A small config for GPU tests: 2 locals, small sizes. */
function smallConfig(channels: 1 | 3, interpolation: Interpolation): MultiCropConfig {
  return {
    ...structuredClone(dinoDefault as MultiCropConfig),
    localCropsNumber: 2,
    globalSize: 11,
    localSize: 5,
    blur: { p: { global1: 1, global2: 0.5, local: 0.5 }, sigma: [0.1, 2.0], kernelSize: "auto" },
    solarizeP: 0.5,
    mean: channels === 3 ? [0.485, 0.456, 0.406] : [0.286],
    std: channels === 3 ? [0.229, 0.224, 0.225] : [0.353],
    interpolation,
  };
}

// ---- statistics of the drawn parameters (CPU only) ---------------------------------------------

/** Asserts |mean − expected| ≤ 4 standard errors (+ slack for pixel rounding). */
function assertMean(values: number[], expected: number, what: string, slack = 0): void {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  const se = Math.sqrt(variance / n);
  assert.ok(
    Math.abs(mean - expected) <= 4 * se + slack,
    `${what}: mean ${mean} vs ${expected} (4 SE = ${4 * se}, slack ${slack})`,
  );
}

/** Asserts the fraction of `flags` is p within 4 standard errors of a Bernoulli(p) mean. */
function assertRate(flags: boolean[], p: number, what: string): void {
  const n = flags.length;
  const rate = flags.filter((f) => f).length / n;
  const se = Math.sqrt((p * (1 - p)) / n);
  assert.ok(Math.abs(rate - p) <= 4 * se, `${what}: rate ${rate} vs ${p} (4 SE = ${4 * se})`);
}

Deno.test("MultiCropAugment.drawParams() matches every configured probability and range", () => {
  const N = 20000;
  const H = 224, W = 224;
  const config = { ...structuredClone(dinoDefault as MultiCropConfig), localCropsNumber: 2 };
  const views = new MultiCropAugment(config, 123).drawParams(N, H, W);
  assert.deepEqual(views.map((v) => [v.kind, v.size]), [
    ["global1", 224],
    ["global2", 224],
    ["local", 96],
    ["local", 96],
  ]);
  const blurP = { global1: 1.0, global2: 0.1, local: 0.5 };
  for (const [vi, v] of views.entries()) {
    const at = (f: (p: ImageAugmentParams) => boolean) => v.images.map(f);
    const what = `view ${vi} (${v.kind})`;
    assert.equal(v.images.length, N);
    assertRate(at((p) => p.flip), 0.5, `${what} flip`);
    assertRate(at((p) => p.jitter), 0.8, `${what} jitter`);
    assertRate(at((p) => p.grayscale), 0.2, `${what} grayscale`);
    assertRate(at((p) => p.blur), blurP[v.kind], `${what} blur`);
    assertRate(at((p) => p.solarize), v.kind === "global2" ? 0.2 : 0, `${what} solarize`);
    for (let op = 0; op < 4; op++) {
      assertRate(at((p) => p.order[0] === op), 0.25, `${what} op ${op} first`);
    }
    assert.ok(
      v.images.every((p) => [...p.order].sort().join() === "0,1,2,3"),
      "order is a permutation",
    );
    const uniform = (
      key: "brightness" | "contrast" | "saturation" | "hue" | "sigma",
      lo: number,
      hi: number,
    ) => {
      const xs = v.images.map((p) => p[key]);
      assert.ok(xs.every((x) => x >= lo && x <= hi), `${what} ${key} in [${lo}, ${hi}]`);
      assertMean(xs, (lo + hi) / 2, `${what} ${key}`);
    };
    uniform("brightness", 0.6, 1.4);
    uniform("contrast", 0.6, 1.4);
    uniform("saturation", 0.8, 1.2);
    uniform("hue", -0.1, 0.1);
    uniform("sigma", 0.1, 2.0);
    assert.ok(v.images.every((p) => p.kernelSize === 2 * Math.ceil(3 * p.sigma) + 1));

    // Every box lies inside the image, with area and ratio in range up to pixel rounding.
    const area = v.images.map((p) => (p.box[2] * p.box[3]) / (H * W));
    const logRatio = v.images.map((p) => Math.log(p.box[3] / p.box[2]));
    const [lo, hi] = v.kind === "local" ? config.localCropsScale : config.globalCropsScale;
    assert.ok(
      v.images.every(({ box: [t, l, h, w] }) => t >= 0 && l >= 0 && t + h <= H && l + w <= W),
    );
    assert.ok(area.every((a) => a >= lo - 0.01 && a <= hi + 0.01), `${what} area in range`);
    const L = Math.log(4 / 3);
    assert.ok(logRatio.every((r) => Math.abs(r) <= L + 0.02), `${what} ratio in range`);
    // Rounding w and h to pixels moves the area by ~1/side: a slack of 0.002 (4 SE ≈ 0.003).
    if (v.kind === "local") {
      // (0.05, 0.4) × (3/4, 4/3) never leaves the image: area ~ U(scale), log-ratio ~ U(±L).
      assertMean(area, (lo + hi) / 2, `${what} area`, 0.002);
      assertMean(logRatio, 0, `${what} log ratio`, 0.002);
      assertMean(logRatio.map((r) => r * r), (L * L) / 3, `${what} log ratio²`, 0.002);
    } else {
      // Attempts with w > W or h > H are rejected: the accepted (a, log r) is uniform over
      // {a·e^|log r| ≤ 1}, whose mean area is computed here by quadrature.
      let num = 0, den = 0;
      for (let i = 0; i < 100000; i++) {
        const a = lo + ((i + 0.5) / 100000) * (hi - lo);
        const width = Math.min(L, -Math.log(a));
        num += a * width;
        den += width;
      }
      assertMean(area, num / den, `${what} area`, 0.002);
      assertMean(logRatio, 0, `${what} log ratio`, 0.002);
    }
  }
});

Deno.test("randomResizedCropBox() falls back to the centre crop clamped to the ratio range", () => {
  // A 10×100 strip: every attempt is taller than 10 px, so the fallback takes h = 10 and
  // w = round(10 · 4/3) = 13, centred.
  assert.deepEqual(randomResizedCropBox(new Rng(1), 10, 100, [0.9, 1], [3 / 4, 4 / 3]), [
    0,
    43,
    10,
    13,
  ]);
  // A 100×2 column with ratio [0.8, 1.25]: h = round(2 / 0.8) = round(2.5) = 2 (half to even).
  assert.deepEqual(randomResizedCropBox(new Rng(1), 100, 2, [0.9, 1], [0.8, 1.25]), [49, 0, 2, 2]);
  // A 3×3 image with ratio [2, 3]: w = 3, h = round(3 / 2) = round(1.5) = 2, top (3 − 2) // 2 = 0.
  assert.deepEqual(randomResizedCropBox(new Rng(1), 3, 3, [1, 1], [2, 3]), [0, 0, 2, 3]);
  // Its own ratio in range: the whole image, from an attempt or the fallback.
  assert.deepEqual(randomResizedCropBox(new Rng(1), 3, 3, [1, 1], [0.5, 2]), [0, 0, 3, 3]);
});

Deno.test("MultiCropAugment rejects bad configs and images with a message naming the value", () => {
  assert.throws(
    () => new MultiCropAugment({ ...fmnistTiny, blur: { ...fmnistTiny.blur, kernelSize: 4 } }),
    /blur\.kernelSize = 4/,
  );
  assert.throws(
    () => new MultiCropAugment({ ...fmnistTiny, localCropsScale: [0.5, 0.2] }),
    /localCropsScale/,
  );
  scope(() => {
    const rgb = fromArray(new Float32Array(2 * 3 * 8 * 8), [2, 3, 8, 8]);
    assert.throws(() => new MultiCropAugment(fmnistTiny).apply(rgb), /\[2, 3, 8, 8\].*1 channel/);
    assert.throws(() => new MultiCropAugment(fmnistTiny).apply(rgb.view([6, 8, 8])), /\[6, 8, 8\]/);
    assert.throws(() => resizedCrop(rgb, [4, 4, 5, 5], [3, 3]), /box \[4,4,5,5\]/);
  });
});

// ---- GPU against the CPU reference -------------------------------------------------------------

Deno.test("augment ops match the CPU reference on odd shapes (7×13 → 5×3 and others)", async () => {
  await scope(async () => {
    const [C, H, W] = [3, 7, 13];
    const data = randomImages(5, [1, C, H, W]);
    const img = fromArray(data, [C, H, W]);
    const ref = hostImage(data, 0, C, H, W);
    for (const mode of ["bilinear", "bicubic"] as const) {
      for (
        const [box, size] of [
          [[1, 2, 5, 9], [5, 3]],
          [[0, 0, 7, 13], [5, 3]],
          [[3, 4, 3, 4], [11, 7]],
          [[6, 12, 1, 1], [2, 3]],
        ] as [[number, number, number, number], [number, number]][]
      ) {
        const want = resizedCropRef(ref, box, size[0], size[1], mode);
        await assertClose(
          resizedCrop(img, box, size, mode),
          want.data,
          `resizedCrop ${mode} ${box}→${size}`,
        );
      }
    }
    await assertClose(hflip(img), hflipRef(ref).data, "hflip");
    for (const f of [0, 0.55, 1.4, 3]) {
      await assertClose(brightness(img, f), brightnessRef(ref, f).data, `brightness ${f}`);
      await assertClose(contrast(img, f), contrastRef(ref, f).data, `contrast ${f}`);
      await assertClose(saturation(img, f), saturationRef(ref, f).data, `saturation ${f}`);
    }
    for (const h of [-0.5, -0.23, 0.05, 0.5]) {
      await assertClose(hue(img, h), hueRef(ref, h).data, `hue ${h}`, 2e-6);
    }
    await assertClose(grayscale(img), grayscaleRef(ref).data, "grayscale");
    // k = 15 is wider than the 7-row image: the reflection folds again.
    for (const [k, s] of [[1, 1], [3, 0.4], [5, 2.0], [15, 1.5]]) {
      await assertClose(gaussianBlur(img, k, s), gaussianBlurRef(ref, k, s).data, `blur ${k} ${s}`);
    }
    await assertClose(solarize(img, 0.3), solarizeRef(ref, 0.3).data, "solarize");
    const [mean, std] = [[0.1, 0.2, 0.3], [0.5, 2, 0.25]];
    await assertClose(normalize(img, mean, std), normalizeRef(ref, mean, std).data, "normalize");
    // Batched input keeps its shape; every image gets the same op.
    const batch = fromArray(randomImages(6, [2, C, H, W]), [2, C, H, W]);
    assert.deepEqual(resizedCrop(batch, [1, 2, 5, 9], [5, 3]).shape, [2, 3, 5, 3]);
  });
});

/** Runs `views` through `applyParams` and compares every image with the CPU chain. */
async function checkViews(
  augment: MultiCropAugment,
  data: Float32Array,
  shape: [number, number, number, number],
  views: ViewParams[],
) {
  const [B, C, H, W] = shape;
  const c = augment.config;
  await scope(async () => {
    const outs = augment.applyParams(fromArray(data, shape), views);
    for (const [vi, v] of views.entries()) {
      assert.deepEqual(outs[vi].shape, [B, C, v.size, v.size]);
      const got = await outs[vi].toArray();
      const n = C * v.size * v.size;
      for (let b = 0; b < B; b++) {
        const want = augmentImageRef(hostImage(data, b, C, H, W), v.images[b], [v.size, v.size], {
          interpolation: c.interpolation,
          mean: c.mean,
          std: c.std,
          threshold: c.solarizeThreshold,
        });
        // Normalised values reach |x| ≈ 4.5 (1/0.225) and the f32 error with them: 5 × TOL.
        const err = maxAbsDiff(got.subarray(b * n, (b + 1) * n), want.data);
        assert.ok(err <= 5 * TOL, `view ${vi} image ${b}: max abs err ${err}`);
      }
    }
  });
}

Deno.test("MultiCropAugment.apply() matches the CPU chain per image, RGB and 1 channel", async () => {
  for (const [channels, mode] of [[3, "bilinear"], [3, "bicubic"], [1, "bilinear"]] as const) {
    const augment = new MultiCropAugment(smallConfig(channels, mode), 11);
    const shape: [number, number, number, number] = [5, channels, 13, 17];
    await checkViews(augment, randomImages(channels, shape), shape, augment.drawParams(5, 13, 17));
  }
  // Crops of 37×37 > 256 pixels per image: the colour kernel loops, contrast sums across threads.
  const big = new MultiCropAugment(
    { ...smallConfig(3, "bilinear"), globalSize: 37, localSize: 19 },
    3,
  );
  const shape: [number, number, number, number] = [3, 3, 29, 31];
  await checkViews(big, randomImages(9, shape), shape, big.drawParams(3, 29, 31));
});

Deno.test("MultiCropAugment on 1-channel images: fmnistTiny shapes; saturation/hue/grayscale are identity", async () => {
  await scope(async () => {
    const data = randomImages(4, [3, 1, 28, 28]);
    const images = fromArray(data, [3, 1, 28, 28]);
    const views = new MultiCropAugment(fmnistTiny, 0).apply(images);
    assert.deepEqual(views.map((v) => v.shape), [
      [3, 1, 28, 28],
      [3, 1, 28, 28],
      [3, 1, 14, 14],
      [3, 1, 14, 14],
      [3, 1, 14, 14],
      [3, 1, 14, 14],
    ]);
    for (const out of [saturation(images, 0.3), hue(images, 0.2), grayscale(images)]) {
      assert.deepEqual(await out.toArray(), data);
    }
    await assertClose(
      contrast(images, 0.5),
      [0, 1, 2].flatMap((b) => [...contrastRef(hostImage(data, b, 1, 28, 28), 0.5).data]),
      "contrast 1 channel",
    );
  });
});

Deno.test("MultiCropAugment is deterministic: same seed or restored state → identical views", async () => {
  await scope(async () => {
    const shape: [number, number, number, number] = [2, 3, 20, 24];
    const images = fromArray(randomImages(1, shape), shape);
    const config = smallConfig(3, "bilinear");
    const read = (views: Tensor[]) => Promise.all(views.map((v) => v.toArray()));
    const a = await read(new MultiCropAugment(config, 7).apply(images));
    const b = await read(new MultiCropAugment(config, 7).apply(images));
    assert.deepEqual(a, b);
    const other = await read(new MultiCropAugment(config, 8).apply(images));
    assert.notDeepEqual(a, other);
    const augment = new MultiCropAugment(config, 7);
    augment.apply(images);
    const state = augment.rngState;
    const next = await read(augment.apply(images));
    augment.rngState = state;
    assert.deepEqual(await read(augment.apply(images)), next);
    assert.notDeepEqual(next, a);
  });
});

Deno.test("augmentBatch() applies explicit per-image parameters (different box per image)", async () => {
  await scope(async () => {
    const shape: [number, number, number, number] = [2, 3, 9, 11];
    const data = randomImages(2, shape);
    const base: ImageAugmentParams = {
      box: [0, 0, 9, 11],
      flip: false,
      jitter: true,
      order: [3, 1, 0, 2],
      brightness: 1.2,
      contrast: 0.7,
      saturation: 1.3,
      hue: 0.2,
      grayscale: false,
      blur: true,
      sigma: 0.9,
      kernelSize: 5,
      solarize: true,
    };
    const params = [base, {
      ...base,
      box: [2, 3, 4, 5],
      flip: true,
      grayscale: true,
      blur: false,
    }] as ImageAugmentParams[];
    const out = await augmentBatch(fromArray(data, shape), params, { size: [6, 4] }).toArray();
    for (let b = 0; b < 2; b++) {
      const want = augmentImageRef(hostImage(data, b, 3, 9, 11), params[b], [6, 4], {
        mean: [0, 0, 0],
        std: [1, 1, 1],
      });
      const err = maxAbsDiff(out.subarray(b * 72, b * 72 + 72), want.data);
      assert.ok(err <= TOL, `image ${b}: ${err}`);
    }
  });
});
