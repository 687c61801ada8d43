/**
 * Golden checker for `ops_attention`: P, O and the backward dq, dk, dv of scaled-dot-product
 * attention on [B, H, N, hd], through autograd. Shapes come from the tensors; P comes from
 * `attentionWithProbs`, O and the gradients from the same call (its `out` is differentiable).
 *
 * @module
 */
import { attentionWithProbs } from "../../lib/ops/attention.ts";
import type { SafetensorsFile } from "../../lib/io/safetensors.ts";
import { type CaseResult, compareTensor, gpuTensor, meta } from "./compare.ts";

/** Runs every case of the file. */
export async function check(file: SafetensorsFile): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const { id } of meta<{ id: string }[]>(file, "cases")) {
    const q = gpuTensor(file, `${id}.q`).requireGrad();
    const k = gpuTensor(file, `${id}.k`).requireGrad();
    const v = gpuTensor(file, `${id}.v`).requireGrad();
    const { out, probs } = attentionWithProbs(q, k, v);
    out.backward(gpuTensor(file, `${id}.dO`));
    const [b, h, n, hd] = q.shape;
    results.push({
      name: `${id} B=${b} H=${h} N=${n} hd=${hd}`,
      comparisons: [
        await compareTensor(file, `${id}.P`, probs),
        await compareTensor(file, `${id}.O`, out),
        await compareTensor(file, `${id}.dq`, q.grad!),
        await compareTensor(file, `${id}.dk`, k.grad!),
        await compareTensor(file, `${id}.dv`, v.grad!),
      ],
    });
    for (const t of [q, k, v]) t.dispose();
  }
  return results;
}
