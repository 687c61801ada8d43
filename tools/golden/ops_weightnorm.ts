/**
 * Golden checker for `ops_weightnorm`: the weight-normalised DINO head layer W = g·v/‖v‖ and
 * y = x·Wᵀ (`linear`), with dx, dweight_v and dweight_g through autograd from dy.
 *
 * @module
 */
import { linear } from "../../lib/ops/matmul.ts";
import { weightNorm } from "../../lib/ops/weight_norm.ts";
import type { SafetensorsFile } from "../../lib/io/safetensors.ts";
import { type CaseResult, compareTensor, gpuTensor, meta } from "./compare.ts";

/** Runs every case of the file. */
export async function check(file: SafetensorsFile): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const { id } of meta<{ id: string }[]>(file, "cases")) {
    const x = gpuTensor(file, `${id}.x`).requireGrad();
    const weightV = gpuTensor(file, `${id}.weight_v`).requireGrad();
    const weightG = gpuTensor(file, `${id}.weight_g`).requireGrad();
    const w = weightNorm(weightV, weightG);
    const y = linear(x, w);
    y.backward(gpuTensor(file, `${id}.dy`));
    const [o, i] = weightV.shape;
    results.push({
      name: `${id} B=${x.shape[0]} ${o}×${i}`,
      comparisons: [
        await compareTensor(file, `${id}.W`, w),
        await compareTensor(file, `${id}.y`, y),
        await compareTensor(file, `${id}.dx`, x.grad!),
        await compareTensor(file, `${id}.dweight_v`, weightV.grad!),
        await compareTensor(file, `${id}.dweight_g`, weightG.grad!),
      ],
    });
    for (const t of [x, weightV, weightG]) t.dispose();
  }
  return results;
}
