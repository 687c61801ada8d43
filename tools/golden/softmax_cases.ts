/**
 * Shared golden checker for `ops_softmax` and `ops_log_softmax`: forward y and backward dx
 * (through autograd) of every case, including rows with a +90 spike and rows offset far from 0.
 *
 * @module
 */
import type { SafetensorsFile } from "../../lib/io/safetensors.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { type CaseResult, compareTensor, gpuTensor, meta } from "./compare.ts";

interface SoftmaxCase {
  id: string;
  x_shape: number[];
  x_scale?: number;
  x_offset?: number;
  has_spikes_plus_90?: boolean;
}

/** Runs every case of the file through `op` (softmax or logSoftmax). */
export async function checkSoftmaxCases(
  file: SafetensorsFile,
  op: (x: Tensor) => Tensor,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of meta<SoftmaxCase[]>(file, "cases")) {
    const x = gpuTensor(file, `${c.id}.x`).requireGrad();
    const y = op(x);
    y.backward(gpuTensor(file, `${c.id}.dy`));
    const notes = [
      c.x_scale !== undefined ? `scale ${c.x_scale}` : "",
      c.x_offset ? `offset ${c.x_offset}` : "",
      c.has_spikes_plus_90 ? "+90 spikes" : "",
    ].filter((s) => s !== "");
    results.push({
      name: `${c.id} [${c.x_shape.join(",")}]${notes.length ? ` ${notes.join(", ")}` : ""}`,
      comparisons: [
        await compareTensor(file, `${c.id}.y`, y),
        await compareTensor(file, `${c.id}.dx`, x.grad!),
      ],
    });
    x.dispose();
  }
  return results;
}
