/**
 * Golden checker for `vit_tiny_step` (and `vit_tiny_step_epoch1`): one complete DINO iteration
 * of a tiny ViT through `DinoTrainer`'s phases — features, outputs, loss, teacher probabilities,
 * every gradient before and after clipping, AdamW state, parameters after the step, the teacher
 * after EMA, the center, the last-block attention and the debug tokens. Every shape and
 * hyper-parameter comes from the file.
 *
 * @module
 */
import type { SafetensorsFile } from "../../lib/io/safetensors.ts";
import { DINO_DEFAULTS, type DinoConfig } from "../../lib/dino/config.ts";
import { teacherProbs, updateCenter } from "../../lib/dino/loss.ts";
import { buildDinoModel, DinoTrainer } from "../../lib/dino/train.ts";
import { slice } from "../../lib/ops/movement.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import {
  type CaseResult,
  compareTensor,
  type Comparison,
  gpuTensor,
  hostTensor,
  meta,
} from "./compare.ts";

interface StepConfig {
  img_size: number;
  local_img_size: number;
  patch_size: number;
  in_chans: number;
  embed_dim: number;
  depth: number;
  num_heads: number;
  mlp_ratio: number;
  ln_eps: number;
  head_hidden_dim: number;
  head_bottleneck_dim: number;
  head_nlayers: number;
  out_dim: number;
  norm_last_layer: boolean;
  batch: number;
  n_global_crops: number;
  ncrops: number;
  student_temp: number;
  teacher_temp: number;
  center_momentum: number;
  epoch: number;
  freeze_last_layer: number;
  lr: number;
  weight_decay: number;
  clip_grad: number;
  teacher_momentum: number;
  drop_path_rate?: number;
}

/** The trainer of the file's config, with the file's parameters, center and optimizer state. */
function trainerOf(file: SafetensorsFile, c: StepConfig): DinoTrainer {
  if (c.mlp_ratio !== 4 || c.ln_eps !== 1e-6) {
    throw new Error(
      `${file.source}: mlp_ratio ${c.mlp_ratio} / ln_eps ${c.ln_eps} are not supported yet`,
    );
  }
  const config: DinoConfig = {
    ...DINO_DEFAULTS,
    arch: "vit_tiny",
    patchSize: c.patch_size,
    globalSize: c.img_size,
    localSize: c.local_img_size,
    inChans: c.in_chans,
    embedDim: c.embed_dim,
    depth: c.depth,
    numHeads: c.num_heads,
    outDim: c.out_dim,
    headHiddenDim: c.head_hidden_dim,
    headBottleneckDim: c.head_bottleneck_dim,
    headNlayers: c.head_nlayers,
    normLastLayer: c.norm_last_layer,
    studentTemp: c.student_temp,
    centerMomentum: c.center_momentum,
    clipGrad: c.clip_grad,
    freezeLastLayer: c.freeze_last_layer,
    epochs: c.epoch + 1,
    warmupEpochs: 0,
    dropPathRate: c.drop_path_rate ?? 0,
  };
  const student = buildDinoModel(config, { student: true });
  const teacher = buildDinoModel(config, { student: false });
  student.loadStateDict(file, { prefix: "student." });
  teacher.loadStateDict(file, { prefix: "teacher." });
  // One iteration per epoch: iteration `epoch` carries the file's lr, wd, momentum and τt.
  const trainer = new DinoTrainer(config, 1, { student, teacher });
  trainer.schedules.lr[c.epoch] = c.lr;
  trainer.schedules.wd[c.epoch] = c.weight_decay;
  trainer.schedules.momentum[c.epoch] = c.teacher_momentum;
  trainer.schedules.teacherTemp[c.epoch] = c.teacher_temp;
  const center = hostTensor(file, "center_before");
  trainer.center.gpu.stream.upload(trainer.center.storage.buffer, center.data);
  const steps = meta<Record<string, number>>(file, "adam_step_before");
  const tensors: Record<string, Tensor> = {};
  for (const [name, step] of Object.entries(steps)) {
    if (step === 0) continue;
    tensors[`exp_avg.${name}`] = gpuTensor(file, `adam_in.exp_avg.${name}`);
    tensors[`exp_avg_sq.${name}`] = gpuTensor(file, `adam_in.exp_avg_sq.${name}`);
  }
  trainer.optimizer.loadStateDict({ tensors, steps });
  return trainer;
}

/** Rows of crop `v` ([B, ·]) out of a crop-major [ncrops·B, ·] tensor. */
function cropRows(t: Tensor, v: number, batch: number): Tensor {
  return slice(t, 0, v * batch, (v + 1) * batch);
}

/** Runs the step and compares every tensor the file holds. */
export async function check(file: SafetensorsFile): Promise<CaseResult[]> {
  const c = meta<StepConfig>(file, "config");
  const trainer = trainerOf(file, c);
  const it = c.epoch;
  const crops = Array.from({ length: c.ncrops }, (_, v) => gpuTensor(file, `crop${v}`));
  const forward: Comparison[] = [];
  const grads: Comparison[] = [];
  const update: Comparison[] = [];
  const cmp = async (into: Comparison[], name: string, t: Tensor) => {
    if (file.tensors.has(name)) into.push(await compareTensor(file, name, t));
  };

  // Debug tokens and the input teacher's last-block attention, before anything changes.
  const backbone = trainer.student.backbone;
  const p = c.patch_size;
  await cmp(forward, "debug.student.tokens.crop0", backbone.prepareTokens(crops[0]));
  await cmp(
    forward,
    "debug.student.block0_out.crop0",
    backbone.blocks[0].forward(backbone.prepareTokens(crops[0])),
  );
  await cmp(
    forward,
    "debug.student.pos_embed.local",
    backbone.posEmbedFor(c.local_img_size / p, c.local_img_size / p),
  );
  if (c.ncrops > c.n_global_crops) {
    await cmp(forward, "debug.student.tokens.crop2", backbone.prepareTokens(crops[2]));
  }
  await cmp(
    forward,
    "teacher_attn_last.crop0",
    trainer.teacher.backbone.lastSelfAttention(crops[0]),
  );

  const out = trainer.forwardLoss(crops, it);
  for (let v = 0; v < c.ncrops; v++) {
    await cmp(forward, `student_feat.crop${v}`, cropRows(out.studentFeatures, v, c.batch));
    await cmp(forward, `student_out.crop${v}`, cropRows(out.studentOut, v, c.batch));
  }
  for (let v = 0; v < c.n_global_crops; v++) {
    await cmp(forward, `teacher_feat.crop${v}`, cropRows(out.teacherFeatures, v, c.batch));
    await cmp(forward, `teacher_out.crop${v}`, cropRows(out.teacherOut, v, c.batch));
  }
  await cmp(forward, "teacher_probs", teacherProbs(out.teacherOut, trainer.center, c.teacher_temp));
  await cmp(forward, "loss", out.loss);

  out.loss.backward();
  const trainable = meta<string[]>(file, "trainable_param_names");
  const params = new Map(trainer.student.namedParameters());
  for (const name of trainable) {
    await cmp(grads, `grad.${name}`, params.get(name)!.grad!.view(params.get(name)!.shape));
  }
  trainer.clip();
  for (const name of trainable) {
    await cmp(grads, `grad_clipped.${name}`, params.get(name)!.grad!.view(params.get(name)!.shape));
  }
  trainer.cancelLastLayerGrads(it);
  trainer.update(it);
  for (const [name, param] of params) {
    await cmp(update, `student_after.${name}`, param.view(param.shape));
    const state = param.requiresGrad ? trainer.optimizer.state(name) : undefined;
    if (state) {
      await cmp(update, `adam.exp_avg.${name}`, state.expAvg.view(param.shape));
      await cmp(update, `adam.exp_avg_sq.${name}`, state.expAvgSq.view(param.shape));
    } else if (file.tensors.has(`adam.exp_avg.${name}`)) {
      update.push({
        tensor: `adam.exp_avg.${name} (no state)`,
        maxAbsErr: Infinity,
        allowed: 0,
        pass: false,
      });
    }
  }
  for (const [name, param] of trainer.teacher.namedParameters()) {
    await cmp(update, `teacher_after.${name}`, param.view(param.shape));
  }
  updateCenter(trainer.center, out.teacherOut, c.center_momentum);
  await cmp(update, "center_after", trainer.center.view(trainer.center.shape));
  trainer.dispose();
  // Every output tensor of the file must have been compared: a renamed tensor would otherwise
  // pass silently.
  const compared = new Set([...forward, ...grads, ...update].map((x) => x.tensor));
  const inputs = /^(student\.|teacher\.|crop\d+$|center_before$|adam_in\.)/;
  const missed = [...file.tensors.keys()].filter((n) => !inputs.test(n) && !compared.has(n));
  update.push({
    tensor: missed.length ? `not compared: ${missed.join(", ")}` : "coverage",
    maxAbsErr: missed.length ? Infinity : 0,
    allowed: 0,
    pass: missed.length === 0,
  });
  return [
    { name: "forward (features, outputs, loss, attention)", comparisons: forward },
    { name: "backward (gradients, clipped gradients)", comparisons: grads },
    { name: "update (AdamW, EMA teacher, center)", comparisons: update },
  ];
}
