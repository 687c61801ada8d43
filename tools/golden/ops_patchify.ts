/**
 * Golden checker for `ops_patchify`: im2col `cols`, and the patch embedding forward `y` and
 * backward `dx`, `dweight`, `dbias` through autograd. The patch size comes from each case's
 * `patch` (falling back to the weight's kernel size); every shape from the tensors.
 *
 * @module
 */
import { im2col, patchEmbed } from "../../lib/ops/patchify.ts";
import type { SafetensorsFile } from "../../lib/io/safetensors.ts";
import { noGrad } from "../../lib/autograd/grad_mode.ts";
import { type CaseResult, compareTensor, gpuTensor, hostTensor, meta } from "./compare.ts";

interface PatchifyCase {
  id: string;
  patch?: number;
}

/** Runs every case of the file. */
export async function check(file: SafetensorsFile): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of meta<PatchifyCase[]>(file, "cases")) {
    const weightShape = hostTensor(file, `${c.id}.weight`).shape;
    const p = c.patch ?? weightShape[weightShape.length - 1];
    const x = gpuTensor(file, `${c.id}.x`).requireGrad();
    const weight = gpuTensor(file, `${c.id}.weight`).requireGrad();
    const bias = gpuTensor(file, `${c.id}.bias`).requireGrad();
    const cols = noGrad(() => im2col(x, p));
    const y = patchEmbed(x, weight, bias, p);
    y.backward(gpuTensor(file, `${c.id}.dy`));
    const [B, C, H, W] = x.shape;
    results.push({
      name: `${c.id} B=${B} C=${C} ${H}×${W} p=${p} D=${weightShape[0]}`,
      comparisons: [
        await compareTensor(file, `${c.id}.cols`, cols),
        await compareTensor(file, `${c.id}.y`, y),
        await compareTensor(file, `${c.id}.dx`, x.grad!),
        await compareTensor(file, `${c.id}.dweight`, weight.grad!),
        await compareTensor(file, `${c.id}.dbias`, bias.grad!),
      ],
    });
    for (const t of [x, weight, bias]) t.dispose();
  }
  return results;
}
