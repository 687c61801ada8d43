/**
 * Golden checker for `ops_l2normalize`: forward y and the per-row norm, and backward dx (through
 * autograd) of every case, eps from the file's metadata.
 *
 * @module
 */
import type { SafetensorsFile } from "../../lib/io/safetensors.ts";
import { encodeL2Normalize, l2normalize } from "../../lib/ops/normalization.ts";
import { type CaseResult, compareTensor, gpuTensor, meta } from "./compare.ts";

interface L2NormalizeCase {
  id: string;
  x_shape: number[];
  eps?: number;
}

/** Runs every case of the file. */
export async function check(file: SafetensorsFile): Promise<CaseResult[]> {
  const fileEps = Number(meta(file, "eps"));
  const results: CaseResult[] = [];
  for (const c of meta<L2NormalizeCase[]>(file, "cases")) {
    const eps = c.eps ?? fileEps;
    const x = gpuTensor(file, `${c.id}.x`).requireGrad();
    const y = l2normalize(x, eps);
    y.backward(gpuTensor(file, `${c.id}.dy`));
    const stats = encodeL2Normalize(x, eps);
    stats.y.dispose();
    results.push({
      name: `${c.id} [${c.x_shape.join(",")}]`,
      comparisons: [
        await compareTensor(file, `${c.id}.y`, y),
        await compareTensor(file, `${c.id}.norm`, stats.norm),
        await compareTensor(file, `${c.id}.dx`, x.grad!),
      ],
    });
    x.dispose();
  }
  return results;
}
