/**
 * The DINO training step, in the order of main_dino.py's `train_one_epoch`: schedules → teacher
 * forward on the global crops → student forward on all crops → loss → backward → clip → cancel
 * last-layer gradients → AdamW → teacher EMA → center. One step encodes GPU work only; the loss
 * stays on the GPU until the caller reads it (every k steps).
 *
 * @module
 */
import { noGrad } from "../autograd/grad_mode.ts";
import { Rng } from "../data/rng.ts";
import { DinoHead } from "../nn/dino_head.ts";
import { VisionTransformer, vitBase, type VitConfig, vitSmall, vitTiny } from "../nn/vit.ts";
import { AdamW } from "../optim/adamw.ts";
import { clipGradients } from "../optim/clip.ts";
import { emaUpdate } from "../optim/ema.ts";
import { cosineScheduler, teacherTempSchedule } from "../optim/schedule.ts";
import type { Checkpoint } from "../io/checkpoint.ts";
import type { SafetensorsTensor } from "../io/safetensors.ts";
import { fromArray, zeros } from "../tensor/create.ts";
import { keep, scope } from "../tensor/scope.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { DinoConfig } from "./config.ts";
import { dinoLoss, updateCenter } from "./loss.ts";
import { DinoModel } from "./multi_crop.ts";

/** The per-iteration and per-epoch schedules of a run (dino precomputes them as arrays). */
export interface DinoSchedules {
  /** Learning rate per iteration. */
  lr: Float64Array;
  /** Weight decay per iteration. */
  wd: Float64Array;
  /** Teacher momentum per iteration. */
  momentum: Float64Array;
  /** Teacher temperature per epoch. */
  teacherTemp: Float64Array;
}

/**
 * The schedules of `config` for `itersPerEpoch` iterations per epoch, as main_dino.py builds them.
 *
 * @example
 * ```ts
 * import { DINO_DEFAULTS } from "./config.ts";
 * import { dinoSchedules } from "./train.ts";
 * const s = dinoSchedules({ ...DINO_DEFAULTS, epochs: 2, warmupEpochs: 1 }, 10);
 * console.log(s.lr.length, s.teacherTemp.length); // 20 2
 * ```
 */
export function dinoSchedules(config: DinoConfig, itersPerEpoch: number): DinoSchedules {
  const c = config;
  return {
    lr: cosineScheduler(c.lr * c.batchSize / 256, c.minLr, c.epochs, itersPerEpoch, c.warmupEpochs),
    wd: cosineScheduler(c.weightDecay, c.weightDecayEnd, c.epochs, itersPerEpoch),
    momentum: cosineScheduler(c.momentumTeacher, 1, c.epochs, itersPerEpoch),
    // As in dino, a warm-up longer than the run is cut short rather than refused.
    teacherTemp: teacherTempSchedule(
      c.warmupTeacherTemp,
      c.teacherTemp,
      c.warmupTeacherTempEpochs,
      Math.max(c.epochs, c.warmupTeacherTempEpochs),
    ).slice(0, c.epochs),
  };
}

/**
 * The backbone architecture of `config` (preset plus overrides), at the global crop size.
 *
 * @example
 * ```ts
 * import { DINO_DEFAULTS } from "./config.ts";
 * import { vitConfigOf } from "./train.ts";
 * console.log(vitConfigOf(DINO_DEFAULTS).embedDim); // 384
 * ```
 */
export function vitConfigOf(config: DinoConfig, dropPathRate = 0): VitConfig {
  const preset = { vit_tiny: vitTiny, vit_small: vitSmall, vit_base: vitBase }[config.arch];
  if (!preset) {
    throw new RangeError(
      `Cannot build arch ${JSON.stringify(config.arch)}: use vit_tiny, vit_small or vit_base`,
    );
  }
  const overrides: Partial<VitConfig> = {
    imgSize: config.globalSize,
    inChans: config.inChans,
    dropPathRate,
  };
  if (config.embedDim) overrides.embedDim = config.embedDim;
  if (config.depth) overrides.depth = config.depth;
  if (config.numHeads) overrides.numHeads = config.numHeads;
  return preset(config.patchSize, overrides);
}

/**
 * Builds a student or teacher network of `config` (the student with drop-path).
 *
 * @example
 * ```ts ignore
 * import { buildDinoModel } from "./train.ts";
 * const student = buildDinoModel(config, { student: true });
 * ```
 */
export function buildDinoModel(
  config: DinoConfig,
  options: { student: boolean; seed?: number },
): DinoModel {
  const rng = new Rng(options.seed ?? config.seed);
  const backbone = new VisionTransformer(
    vitConfigOf(config, options.student ? config.dropPathRate : 0),
    { rng },
  );
  const head = new DinoHead({
    inDim: backbone.config.embedDim,
    outDim: config.outDim,
    nlayers: config.headNlayers,
    hiddenDim: config.headHiddenDim,
    bottleneckDim: config.headBottleneckDim,
    normLastLayer: config.normLastLayer,
  }, rng);
  return new DinoModel(backbone, head);
}

/**
 * The loss became NaN or infinite: training stops, the last good checkpoint stays untouched.
 *
 * @example
 * ```ts
 * import { NonFiniteLossError } from "./train.ts";
 * const error = new NonFiniteLossError(120, Number.NaN, 5.31);
 * console.log(error.step, error.lastFiniteLoss); // 120 5.31
 * ```
 */
export class NonFiniteLossError extends Error {
  /** Global iteration at which the loss was read. */
  readonly step: number;
  /** The last finite loss read before it (NaN if none). */
  readonly lastFiniteLoss: number;

  /** Records where training diverged. */
  constructor(step: number, loss: number, lastFiniteLoss: number) {
    super(
      `Loss is ${loss} at step ${step}, stopping training (last finite loss: ${lastFiniteLoss}); ` +
        `try a lower --lr, a lower --teacher_temp or --clip_grad 3.0`,
    );
    this.name = "NonFiniteLossError";
    this.step = step;
    this.lastFiniteLoss = lastFiniteLoss;
  }
}

/**
 * Student, teacher, center, optimiser and schedules of one DINO run, and its training step.
 *
 * @example
 * ```ts ignore
 * import { DinoTrainer } from "./train.ts";
 * const trainer = new DinoTrainer(config, itersPerEpoch);
 * for (const [it, crops] of batches) {
 *   const loss = trainer.step(crops, it);
 *   if (it % 10 === 0) trainer.checkLoss(it, await loss.item());
 *   loss.dispose();
 * }
 * ```
 */
export class DinoTrainer {
  /** The run's hyper-parameters. */
  readonly config: DinoConfig;
  /** Iterations per epoch. */
  readonly itersPerEpoch: number;
  /** Schedules, indexed by global iteration (teacher temperature by epoch). */
  readonly schedules: DinoSchedules;
  /** The student, trained by AdamW. */
  readonly student: DinoModel;
  /** The teacher: an EMA of the student, never trained by gradients. */
  readonly teacher: DinoModel;
  /** The center of the teacher logits [1, K]. */
  readonly center: Tensor<"f32">;
  /** AdamW over the trainable student parameters. */
  readonly optimizer: AdamW;
  #lastFiniteLoss = Number.NaN;

  /** A run of `config`; the teacher starts as a copy of the student. */
  constructor(
    config: DinoConfig,
    itersPerEpoch: number,
    models?: { student: DinoModel; teacher: DinoModel },
  ) {
    this.config = config;
    this.itersPerEpoch = itersPerEpoch;
    this.schedules = dinoSchedules(config, itersPerEpoch);
    this.student = models?.student ?? buildDinoModel(config, { student: true });
    this.teacher = models?.teacher ?? buildDinoModel(config, { student: false });
    if (!models) {
      const names = this.student.namedParameters();
      this.teacher.namedParameters().forEach(([, t], i) => {
        t.gpu.stream.copy(names[i][1].storage.buffer, 0, t.storage.buffer, 0, t.byteLength);
      });
    }
    for (const t of this.teacher.parameters()) t.requiresGrad = false;
    this.teacher.eval();
    this.center = keep(zeros([1, config.outDim]));
    // No weight decay on biases and 1-D parameters (norms), as dino's get_params_groups.
    this.optimizer = new AdamW(
      this.student.trainableParameters().map(([name, param]) => ({
        name,
        param,
        weightDecay: param.rank > 1 && !name.endsWith(".bias"),
      })),
    );
  }

  /** Epoch of global iteration `it`. */
  epochOf(it: number): number {
    return Math.floor(it / this.itersPerEpoch);
  }

  /** Teacher logits of the global crops [2B, K] and student outputs of all crops, and the loss. */
  forwardLoss(crops: readonly Tensor[], it: number): {
    loss: Tensor<"f32">;
    teacherOut: Tensor<"f32">;
    studentOut: Tensor<"f32">;
    studentFeatures: Tensor<"f32">;
    teacherFeatures: Tensor<"f32">;
  } {
    const teacher = noGrad(() => this.teacher.forward(crops.slice(0, 2)));
    const student = this.student.forward(crops);
    const loss = dinoLoss(student.logits, teacher.logits, this.center, {
      teacherTemp: this.schedules.teacherTemp[this.epochOf(it)],
      studentTemp: this.config.studentTemp,
      ncrops: crops.length,
    });
    return {
      loss,
      teacherOut: teacher.logits,
      studentOut: student.logits,
      studentFeatures: student.features,
      teacherFeatures: teacher.features,
    };
  }

  /** Per-parameter gradient clipping (dino's `clip_gradients`) when `clipGrad` > 0. */
  clip(): void {
    if (this.config.clipGrad <= 0) return;
    const grads = this.student.parameters().flatMap((p) => (p.grad ? [p.grad] : []));
    clipGradients(grads, this.config.clipGrad).dispose();
  }

  /** Drops the last layer's gradients while it is frozen (`epoch < freezeLastLayer`). */
  cancelLastLayerGrads(it: number): void {
    if (this.epochOf(it) < this.config.freezeLastLayer) {
      for (const [name, p] of this.student.trainableParameters()) {
        if (name.startsWith("head.last_layer.")) {
          p.grad?.dispose();
          p.grad = null;
        }
      }
    }
  }

  /** AdamW with this iteration's lr and weight decay, then the teacher EMA. */
  update(it: number): void {
    this.optimizer.step({ lr: this.schedules.lr[it], weightDecay: this.schedules.wd[it] });
    emaUpdate(this.teacher.parameters(), this.student.parameters(), this.schedules.momentum[it]);
  }

  /** Frees every student gradient. */
  zeroGrad(): void {
    for (const p of this.student.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /**
   * One training iteration `it` (global index) on `crops` (2 global then the local crops, each
   * [B, C, S, S]). Returns the loss, still on the GPU; every intermediate is freed.
   */
  step(crops: readonly Tensor[], it: number): Tensor<"f32"> {
    if (it >= this.schedules.lr.length) {
      throw new RangeError(
        `Cannot train iteration ${it}: the schedules cover ${this.schedules.lr.length}`,
      );
    }
    return scope(() => {
      const { loss, teacherOut } = this.forwardLoss(crops, it);
      loss.backward();
      this.clip();
      this.cancelLastLayerGrads(it);
      this.update(it);
      updateCenter(this.center, teacherOut, this.config.centerMomentum);
      this.zeroGrad();
      return loss;
    });
  }

  /**
   * Checks a loss value read back at iteration `it`.
   *
   * @throws {NonFiniteLossError} when it is NaN or infinite.
   */
  checkLoss(it: number, loss: number): void {
    if (!Number.isFinite(loss)) throw new NonFiniteLossError(it, loss, this.#lastFiniteLoss);
    this.#lastFiniteLoss = loss;
  }

  /**
   * Everything needed to resume: `student.*`, `teacher.*`, `optimizer.exp_avg(_sq).*`, `center`
   * tensors, and metadata (config, per-parameter optimizer steps, drop-path RNG state).
   */
  async checkpoint(): Promise<
    { tensors: Record<string, SafetensorsTensor>; metadata: Record<string, string> }
  > {
    const tensors: Record<string, SafetensorsTensor> = {
      ...await this.student.stateDict("student."),
      ...await this.teacher.stateDict("teacher."),
    };
    const optimizer = this.optimizer.stateDict();
    for (const [name, t] of Object.entries(optimizer.tensors)) {
      tensors[`optimizer.${name}`] = {
        dtype: "F32",
        shape: [...t.shape],
        data: await t.toArray() as Float32Array,
      };
    }
    tensors.center = {
      dtype: "F32",
      shape: [...this.center.shape],
      data: await this.center.toArray(),
    };
    return {
      tensors,
      metadata: {
        config: JSON.stringify(this.config),
        optimizer_steps: JSON.stringify(optimizer.steps),
        drop_path_rng: JSON.stringify(this.student.backbone.rng.state),
      },
    };
  }

  /** Restores the state written by {@link DinoTrainer.checkpoint}. */
  restore(checkpoint: Checkpoint): void {
    this.student.loadStateDict(checkpoint.tensors, { prefix: "student." });
    this.teacher.loadStateDict(checkpoint.tensors, { prefix: "teacher." });
    const steps = JSON.parse(checkpoint.metadata.optimizer_steps ?? "{}") as Record<string, number>;
    const tensors: Record<string, Tensor> = {};
    for (const [name, t] of checkpoint.tensors) {
      if (name.startsWith("optimizer.")) {
        tensors[name.slice("optimizer.".length)] = fromArray(t.data as Float32Array, t.shape);
      }
    }
    this.optimizer.loadStateDict({ tensors, steps });
    for (const t of Object.values(tensors)) t.dispose();
    const center = checkpoint.tensors.get("center");
    if (!center || center.shape.join() !== this.center.shape.join()) {
      throw new RangeError(
        `Cannot restore the center from ${checkpoint.path}: missing or mis-shaped`,
      );
    }
    this.center.gpu.stream.upload(this.center.storage.buffer, center.data as Float32Array);
    if (checkpoint.metadata.drop_path_rng) {
      this.student.backbone.rng.state = JSON.parse(checkpoint.metadata.drop_path_rng);
    }
  }

  /** Frees the networks, center and optimiser state. */
  dispose(): void {
    this.student.dispose();
    this.teacher.dispose();
    this.center.dispose();
    this.optimizer.dispose();
  }
}
