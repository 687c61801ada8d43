/**
 * Golden checker for `ops_layernorm`: forward y with the saved mean and rstd, and backward dx,
 * dweight, dbias (through autograd) of every case, eps from the file's metadata.
 *
 * @module
 */
import type { SafetensorsFile } from "../../lib/io/safetensors.ts";
import { encodeLayerNorm, layerNorm } from "../../lib/ops/normalization.ts";
import { type CaseResult, compareTensor, gpuTensor, meta } from "./compare.ts";

interface LayerNormCase {
  id: string;
  x_shape: number[];
  D: number;
  eps?: number;
}

/** Runs every case of the file. */
export async function check(file: SafetensorsFile): Promise<CaseResult[]> {
  const fileEps = Number(meta(file, "eps"));
  const results: CaseResult[] = [];
  for (const c of meta<LayerNormCase[]>(file, "cases")) {
    const eps = c.eps ?? fileEps;
    const x = gpuTensor(file, `${c.id}.x`).requireGrad();
    const weight = gpuTensor(file, `${c.id}.weight`).requireGrad();
    const bias = gpuTensor(file, `${c.id}.bias`).requireGrad();
    const y = layerNorm(x, weight, bias, eps);
    y.backward(gpuTensor(file, `${c.id}.dy`));
    const stats = encodeLayerNorm(x, weight, bias, eps);
    stats.y.dispose();
    results.push({
      name: `${c.id} [${c.x_shape.join(",")}] eps ${eps}`,
      comparisons: [
        await compareTensor(file, `${c.id}.y`, y),
        await compareTensor(file, `${c.id}.mean`, stats.mean),
        await compareTensor(file, `${c.id}.rstd`, stats.rstd),
        await compareTensor(file, `${c.id}.dx`, x.grad!),
        await compareTensor(file, `${c.id}.dweight`, weight.grad!),
        await compareTensor(file, `${c.id}.dbias`, bias.grad!),
      ],
    });
    for (const t of [x, weight, bias]) t.dispose();
  }
  return results;
}
