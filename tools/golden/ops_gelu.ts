/**
 * Golden checker for `ops_gelu`: forward y and backward dx (through autograd) of every case,
 * including ±0, tiny values and the tails (±5.5, ±12, ±20).
 *
 * @module
 */
import type { SafetensorsFile } from "../../lib/io/safetensors.ts";
import { gelu } from "../../lib/ops/activation.ts";
import { type CaseResult, compareTensor, gpuTensor, meta } from "./compare.ts";

interface GeluCase {
  id: string;
  x_shape: number[];
}

/** Runs every case of the file. */
export async function check(file: SafetensorsFile): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of meta<GeluCase[]>(file, "cases")) {
    const x = gpuTensor(file, `${c.id}.x`).requireGrad();
    const y = gelu(x);
    y.backward(gpuTensor(file, `${c.id}.dy`));
    results.push({
      name: `${c.id} [${c.x_shape.join(",")}]`,
      comparisons: [
        await compareTensor(file, `${c.id}.y`, y),
        await compareTensor(file, `${c.id}.dx`, x.grad!),
      ],
    });
    x.dispose();
  }
  return results;
}
