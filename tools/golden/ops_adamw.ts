/**
 * Golden checker for `ops_adamw` (fixture README §11): per-tensor clipping then AdamW over
 * several steps. Parameters, decay groups, betas, eps and the per-step lr / wd / clip come from
 * the metadata; each step compares `grad_clipped`, `param`, `exp_avg` and `exp_avg_sq` of every
 * parameter. Even steps use the fused clip of `AdamW.step`, odd steps `clipGradients` first.
 *
 * @module
 */
import type { SafetensorsFile } from "../../lib/io/safetensors.ts";
import { AdamW } from "../../lib/optim/adamw.ts";
import { clipGradients } from "../../lib/optim/clip.ts";
import { type CaseResult, compareTensor, gpuTensor, meta } from "./compare.ts";

interface ParamMeta {
  name: string;
  shape: number[];
  weight_decay_group: boolean;
}

interface StepMeta {
  lr: number;
  wd: number;
  clip: number;
}

/** Runs every step of the file as one case each. */
export async function check(file: SafetensorsFile): Promise<CaseResult[]> {
  const params = meta<ParamMeta[]>(file, "params");
  const steps = meta<StepMeta[]>(file, "steps");
  const betas = file.metadata.betas ? meta<[number, number]>(file, "betas") : undefined;
  const eps = file.metadata.eps ? Number(meta(file, "eps")) : undefined;
  const tensors = params.map((p) => gpuTensor(file, `${p.name}.init`));
  const opt = new AdamW(
    params.map((p, i) => ({ name: p.name, param: tensors[i], weightDecay: p.weight_decay_group })),
    { betas, eps },
  );
  const results: CaseResult[] = [];
  for (const [k, s] of steps.entries()) {
    tensors.forEach((t, i) => {
      t.grad?.dispose();
      t.grad = gpuTensor(file, `${params[i].name}.grad.s${k}`);
    });
    const fused = k % 2 === 0;
    if (!fused && s.clip > 0) clipGradients(tensors.map((t) => t.grad!), s.clip).dispose();
    opt.step({ lr: s.lr, weightDecay: s.wd, clipGrad: fused ? s.clip : 0 });
    const comparisons = [];
    for (const [i, p] of params.entries()) {
      const state = opt.state(p.name)!;
      comparisons.push(
        await compareTensor(file, `${p.name}.grad_clipped.s${k}`, tensors[i].grad!.view(p.shape)),
        await compareTensor(file, `${p.name}.param.s${k}`, tensors[i].view(p.shape)),
        await compareTensor(file, `${p.name}.exp_avg.s${k}`, state.expAvg.view(p.shape)),
        await compareTensor(file, `${p.name}.exp_avg_sq.s${k}`, state.expAvgSq.view(p.shape)),
      );
    }
    results.push({
      name: `s${k} lr ${s.lr} wd ${s.wd} clip ${s.clip}${fused ? " (fused clip)" : ""}`,
      comparisons,
    });
  }
  opt.dispose();
  tensors.forEach((t) => {
    t.grad?.dispose();
    t.dispose();
  });
  return results;
}
