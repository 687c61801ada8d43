/**
 * Golden checker for `augment`: every deterministic image op of lib/data/augment.ts on the file's
 * `img` with the file's parameters (hflip, resized_crop.c*, brightness.c*, contrast.c*,
 * saturation.c*, hue.c*, grayscale, blur.c* and its 1-D kernel, solarize, normalize) and the fused
 * chain of `metadata.config.chain` through `augmentBatch`. Cases are discovered from the tensor
 * names; shapes and parameters are read from the file.
 *
 * @module
 */
import {
  augmentBatch,
  brightness,
  contrast,
  gaussianBlur,
  gaussianKernel1d,
  grayscale,
  hflip,
  hue,
  type ImageAugmentParams,
  normalize,
  resizedCrop,
  saturation,
  solarize,
} from "../../lib/data/augment.ts";
import type { SafetensorsFile } from "../../lib/io/safetensors.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { type CaseResult, compare, compareTensor, gpuTensor, hostTensor, meta } from "./compare.ts";

interface AugmentConfig {
  solarize_threshold?: number;
  normalize_mean: number[];
  normalize_std: number[];
  chain: {
    crop: number[];
    flip: boolean;
    brightness: number;
    contrast: number;
    saturation: number;
    hue: number;
    grayscale: boolean;
    blur: [number, number];
    solarize: boolean;
  };
}

/** The case ids `c0`, `c1`, … of an op, from the names `<op>.c<i>` of the file's outputs. */
function caseIds(file: SafetensorsFile, op: string): string[] {
  const pattern = new RegExp(`^${op.replace(".", "\\.")}\\.(c\\d+)$`);
  const ids = [...file.tensors.keys()].flatMap((name) => pattern.exec(name)?.[1] ?? []);
  return ids.sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
}

function scalar(file: SafetensorsFile, name: string): number {
  return hostTensor(file, name).data[0];
}

function ints(file: SafetensorsFile, name: string): number[] {
  return [...hostTensor(file, name).data];
}

/** Runs every op of the file. */
export async function check(file: SafetensorsFile): Promise<CaseResult[]> {
  const config = meta<AugmentConfig>(file, "config");
  const img = gpuTensor(file, "img");
  const [, height, width] = img.shape;
  const results: CaseResult[] = [];
  const run = async (name: string, cases: [string, () => Tensor][]) => {
    const comparisons = [];
    for (const [ref, fn] of cases) comparisons.push(await compareTensor(file, ref, fn()));
    results.push({ name, comparisons });
  };

  await run(`hflip ${height}×${width}`, [["hflip", () => hflip(img)]]);
  await run(
    "resized_crop",
    caseIds(file, "resized_crop").map((c) => {
      const box = ints(file, `resized_crop.${c}.box`) as [number, number, number, number];
      const size = ints(file, `resized_crop.${c}.size`) as [number, number];
      return [`resized_crop.${c}`, () => resizedCrop(img, box, size, "bilinear")];
    }),
  );
  const jitterOps = { brightness, contrast, saturation, hue };
  for (const [op, fn] of Object.entries(jitterOps)) {
    await run(
      op,
      caseIds(file, op).map((c) => [
        `${op}.${c}`,
        () => fn(img, scalar(file, `${op}.${c}.factor`)),
      ]),
    );
  }
  await run("grayscale", [["grayscale", () => grayscale(img)]]);

  const blurCases = caseIds(file, "blur");
  const kernels = blurCases.map((c) => {
    const k = scalar(file, `blur.${c}.kernel_size`);
    const sigma = scalar(file, `blur.${c}.sigma`);
    return compare(
      `blur.${c}.kernel1d`,
      gaussianKernel1d(k, sigma),
      hostTensor(file, `blur.${c}.kernel1d`).data,
    );
  });
  await run(
    "blur",
    blurCases.map((c) => [
      `blur.${c}`,
      () =>
        gaussianBlur(img, scalar(file, `blur.${c}.kernel_size`), scalar(file, `blur.${c}.sigma`)),
    ]),
  );
  results[results.length - 1].comparisons.push(...kernels);

  await run("solarize", [["solarize", () => solarize(img, config.solarize_threshold ?? 0.5)]]);
  await run("normalize", [[
    "normalize",
    () => normalize(img, config.normalize_mean, config.normalize_std),
  ]]);

  const ch = config.chain;
  const [top, left, h, w, outH, outW] = ch.crop;
  const params: ImageAugmentParams = {
    box: [top, left, h, w],
    flip: ch.flip,
    jitter: true,
    order: [0, 1, 2, 3],
    brightness: ch.brightness,
    contrast: ch.contrast,
    saturation: ch.saturation,
    hue: ch.hue,
    grayscale: ch.grayscale,
    blur: true,
    kernelSize: ch.blur[0],
    sigma: ch.blur[1],
    solarize: ch.solarize,
  };
  await run(`chain ${h}×${w} → ${outH}×${outW}`, [["chain", () => {
    const batch = img.view([1, ...img.shape]);
    const out = augmentBatch(batch, [params], {
      size: [outH, outW],
      interpolation: "bilinear",
      mean: config.normalize_mean,
      std: config.normalize_std,
      threshold: config.solarize_threshold ?? 0.5,
    });
    batch.dispose();
    const view = out.view(out.shape.slice(1));
    out.dispose();
    return view;
  }]]);
  img.dispose();
  return results;
}
