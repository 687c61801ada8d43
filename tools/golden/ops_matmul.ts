/**
 * Golden checker for `ops_matmul`: forward Y and backward dA, dB of every case (nn, tn, nt and
 * their batched forms), through autograd.
 *
 * @module
 */
import { matmul } from "../../lib/ops/matmul.ts";
import type { SafetensorsFile } from "../../lib/io/safetensors.ts";
import { type CaseResult, compareTensor, gpuTensor, meta } from "./compare.ts";

interface MatmulCase {
  id: string;
  kind: string;
  M: number;
  K: number;
  N: number;
  batch: number | null;
}

/** Runs every case of the file. */
export async function check(file: SafetensorsFile): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of meta<MatmulCase[]>(file, "cases")) {
    const mode = c.kind.replace(/^b/, "");
    const a = gpuTensor(file, `${c.id}.A`).requireGrad();
    const b = gpuTensor(file, `${c.id}.B`).requireGrad();
    const y = matmul(a, b, { transposeA: mode[0] === "t", transposeB: mode[1] === "t" });
    y.backward(gpuTensor(file, `${c.id}.dY`));
    const size = `${c.batch ? `${c.batch}×(` : ""}${c.M}×${c.K}×${c.N}${c.batch ? ")" : ""}`;
    results.push({
      name: `${c.id} ${c.kind} ${size}`,
      comparisons: [
        await compareTensor(file, `${c.id}.Y`, y),
        await compareTensor(file, `${c.id}.dA`, a.grad!),
        await compareTensor(file, `${c.id}.dB`, b.grad!),
      ],
    });
    a.dispose();
    b.dispose();
  }
  return results;
}
