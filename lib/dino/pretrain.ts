/**
 * `pretrain`: the DINO training loop over a dataset — multi-crop augmentation on the GPU, the
 * training step, a loss read back every `logEvery` steps, a JSONL log, and an atomic checkpoint
 * at every epoch end (and on interruption) from which `resume` continues exactly: the data order
 * is a function of (seed, epoch) and every random generator's state is saved.
 *
 * @module
 */
import { MultiCropAugment, type MultiCropConfig } from "../data/augment.ts";
import { isCpuAdapter } from "../ops/matmul.ts";
import { tuneMatmul } from "../ops/matmul_tune.ts";
import type { Dataset } from "../data/dataset.ts";
import { DataLoader } from "../data/loader.ts";
import { readCheckpoint, writeCheckpoint } from "../io/checkpoint.ts";
import { fromArray } from "../tensor/create.ts";
import type { DinoConfig } from "./config.ts";
import { DinoTrainer } from "./train.ts";

/** Where training stands, passed to {@link PretrainOptions.onProgress} at every loss read. */
export interface Progress {
  /** Current epoch (0-based). */
  epoch: number;
  /** Global iteration just finished. */
  iteration: number;
  /** Iterations per epoch. */
  itersPerEpoch: number;
  /** Total iterations of the run. */
  totalIterations: number;
  /** The loss read back at this iteration. */
  loss: number;
  /** Learning rate of this iteration. */
  lr: number;
  /** Weight decay of this iteration. */
  wd: number;
  /** Teacher momentum of this iteration. */
  momentum: number;
  /** Training throughput since the start (or resume), images per second. */
  imagesPerSecond: number;
  /** Estimated seconds to the end. */
  etaSeconds: number;
}

/** Options of {@link pretrain}. */
export interface PretrainOptions {
  /** The run's hyper-parameters. */
  config: DinoConfig;
  /** Training images (labels are not used). */
  dataset: Dataset;
  /** Multi-crop augmentation; its crop sizes must match `config.globalSize`/`localSize`. */
  augment: MultiCropConfig;
  /** Directory for `checkpoint.safetensors`, its `.json`, and `log.jsonl`; nothing is written without. */
  outputDir?: string;
  /** Continue from `outputDir/checkpoint.safetensors` when it exists. */
  resume?: boolean;
  /** Also keep `checkpoint<epoch>.safetensors` every this many epochs (0: never). */
  saveckpFreq?: number;
  /** Read the loss back every this many iterations (and at every epoch end). Default 10. */
  logEvery?: number;
  /** Called at every loss read. */
  onProgress?: (progress: Progress) => void;
  /** Aborting saves a checkpoint at the current iteration and returns (Ctrl-C). */
  signal?: AbortSignal;
  /** Called after every step with the trainer (tests inject faults here). */
  onStep?: (iteration: number, trainer: DinoTrainer) => void;
  /** Stop (with a checkpoint) once this global iteration is reached; for tests and time budgets. */
  stopAtIteration?: number;
  /** Resize every image to this square side first (image folders of mixed sizes). */
  resize?: number;
  /**
   * Time the matmul variants on the products of the first step and keep the fastest for the
   * rest of the run, as `cudnn.benchmark` in the reference (see `tuneMatmul`). Default: on GPU
   * adapters; off on CPU adapters, where the adapter default (`texture`) wins nearly every product
   * and the ~20 s of timings would not pay back.
   */
  tuneMatmul?: boolean;
}

/** Outcome of {@link pretrain}. */
export interface PretrainResult {
  /** The trainer, holding the student and the teacher; dispose it when done. */
  trainer: DinoTrainer;
  /** Every loss read: iteration and value. */
  losses: { iteration: number; epoch: number; loss: number }[];
  /** Iteration to continue from (the total when finished). */
  nextIteration: number;
  /** True when stopped early by the signal or `stopAtIteration`. */
  interrupted: boolean;
  /** Images per second over the steps run here. */
  imagesPerSecond: number;
}

/**
 * Path of the rolling checkpoint in `outputDir`.
 *
 * @example
 * ```ts
 * import { checkpointPath } from "./pretrain.ts";
 * console.log(checkpointPath("runs/a")); // "runs/a/checkpoint.safetensors"
 * ```
 */
export function checkpointPath(outputDir: string): string {
  return `${outputDir}/checkpoint.safetensors`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Trains with DINO; see the module doc.
 *
 * @throws {NonFiniteLossError} when the loss becomes NaN or infinite (no checkpoint is written
 *   after the last finite read).
 * @example
 * ```ts ignore
 * import { pretrain } from "./pretrain.ts";
 * const { trainer } = await pretrain({ config, dataset, augment, outputDir: "runs/tiny" });
 * ```
 */
export async function pretrain(options: PretrainOptions): Promise<PretrainResult> {
  const { config, dataset, outputDir } = options;
  const logEvery = options.logEvery ?? 10;
  if (
    options.augment.globalSize !== config.globalSize ||
    options.augment.localSize !== config.localSize
  ) {
    throw new RangeError(
      `Cannot pretrain: the augmentation makes ${options.augment.globalSize}/${options.augment.localSize} px ` +
        `crops but the model expects ${config.globalSize}/${config.localSize} px`,
    );
  }
  const augment = new MultiCropAugment(
    { ...options.augment, localCropsNumber: config.localCropsNumber },
    config.seed,
  );
  const loader = new DataLoader(dataset, {
    batchSize: config.batchSize,
    seed: config.seed,
    dropLast: true,
    resize: options.resize,
  });
  const itersPerEpoch = loader.batchIndices(0).length;
  if (itersPerEpoch === 0) {
    throw new RangeError(
      `Cannot pretrain on ${dataset.length} images with batch size ${config.batchSize}: not one full batch`,
    );
  }
  const trainer = new DinoTrainer(config, itersPerEpoch);
  const total = itersPerEpoch * config.epochs;
  let start = 0;
  const ckptPath = outputDir ? checkpointPath(outputDir) : undefined;
  if (outputDir) await Deno.mkdir(outputDir, { recursive: true });
  if (options.resume && ckptPath && await exists(ckptPath)) {
    const ckpt = await readCheckpoint(ckptPath);
    trainer.restore(ckpt);
    augment.rngState = JSON.parse(ckpt.metadata.augment_rng);
    start = Number(ckpt.metadata.next_iteration);
    // A killed run may have logged iterations past its last checkpoint: they run again now.
    const logPath = `${outputDir}/log.jsonl`;
    if (await exists(logPath)) {
      const kept = (await Deno.readTextFile(logPath)).split("\n")
        .filter((line) => line.trim() !== "" && JSON.parse(line).iteration < start);
      await Deno.writeTextFile(logPath, kept.map((line) => line + "\n").join(""));
    }
  }

  const save = async (nextIteration: number, path = ckptPath) => {
    if (!path) return;
    const { tensors, metadata } = await trainer.checkpoint();
    await writeCheckpoint(path, tensors, {
      ...metadata,
      epoch: String(Math.floor(nextIteration / itersPerEpoch)),
      next_iteration: String(nextIteration),
      augment_rng: JSON.stringify(augment.rngState),
    });
  };
  const log = outputDir
    ? await Deno.open(`${outputDir}/log.jsonl`, { append: true, create: true })
    : null;
  const losses: PretrainResult["losses"] = [];
  const began = performance.now();
  let stepsRun = 0;
  let it = start;
  let interrupted = false;
  try {
    outer: for (let epoch = Math.floor(start / itersPerEpoch); epoch < config.epochs; epoch++) {
      let k = 0;
      for await (const host of loader.hostBatches(epoch)) {
        if (epoch * itersPerEpoch + k++ < start) continue; // resumed mid-epoch
        const images = fromArray(host.images, host.shape);
        const views = augment.apply(images);
        images.dispose();
        const loss = trainer.step(views, it);
        for (const v of views) v.dispose();
        if (stepsRun === 0 && (options.tuneMatmul ?? !isCpuAdapter(loss.gpu))) {
          await tuneMatmul(loss.gpu);
        }
        options.onStep?.(it, trainer);
        stepsRun++;
        const endOfEpoch = (it + 1) % itersPerEpoch === 0;
        const stopping = options.signal?.aborted ||
          (options.stopAtIteration !== undefined && it + 1 >= options.stopAtIteration);
        // A checkpoint follows every read that precedes it, so no diverged state is ever saved.
        if (it % logEvery === 0 || endOfEpoch || stopping) {
          const value = await loss.item();
          trainer.checkLoss(it, value);
          losses.push({ iteration: it, epoch, loss: value });
          const seconds = (performance.now() - began) / 1000;
          const imagesPerSecond = (stepsRun * config.batchSize) / seconds;
          const progress: Progress = {
            epoch,
            iteration: it,
            itersPerEpoch,
            totalIterations: total,
            loss: value,
            lr: trainer.schedules.lr[it],
            wd: trainer.schedules.wd[it],
            momentum: trainer.schedules.momentum[it],
            imagesPerSecond,
            etaSeconds: ((total - it - 1) * config.batchSize) / imagesPerSecond,
          };
          await log?.write(new TextEncoder().encode(JSON.stringify(progress) + "\n"));
          options.onProgress?.(progress);
        }
        loss.dispose();
        it++;
        if (endOfEpoch) {
          await save(it);
          const done = it / itersPerEpoch;
          if (outputDir && options.saveckpFreq && done % options.saveckpFreq === 0) {
            await save(it, `${outputDir}/checkpoint${String(done).padStart(4, "0")}.safetensors`);
          }
        }
        if (stopping) {
          if (!endOfEpoch) await save(it);
          interrupted = it < total;
          break outer;
        }
      }
    }
  } finally {
    log?.close();
  }
  await trainer.center.gpu.sync();
  const seconds = (performance.now() - began) / 1000;
  return {
    trainer,
    losses,
    nextIteration: it,
    interrupted,
    imagesPerSecond: stepsRun ? (stepsRun * config.batchSize) / seconds : 0,
  };
}
