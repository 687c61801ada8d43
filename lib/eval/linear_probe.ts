/**
 * Linear probing of frozen features, after dino's `eval_linear.py`: the features are the CLS
 * tokens of the last n blocks concatenated (optionally with the average-pooled patch tokens of
 * the last block), standardised with the training mean and std, and a linear classifier is
 * trained on them on the GPU (`linear` + `crossEntropy`, SGD momentum 0.9, cosine learning rate
 * per iteration, batch 256). The test accuracy is measured after every epoch; the best top-1 is
 * reported, as dino does.
 *
 * Differences from dino: features are computed once (no augmentation per epoch), and they are
 * standardised (dino trains on raw features). Both make the probe cheap enough to run often.
 *
 * @module
 */
import { noGrad } from "../autograd/grad_mode.ts";
import { Rng } from "../data/rng.ts";
import { ShapeError } from "../errors.ts";
import { crossEntropy } from "../ops/loss.ts";
import { linear } from "../ops/matmul.ts";
import { concat, slice } from "../ops/movement.ts";
import { mean } from "../ops/reduce.ts";
import { BINARY, runBinaryInPlace } from "../ops/strided.ts";
import { SGD } from "../optim/sgd.ts";
import { cosineScheduler } from "../optim/schedule.ts";
import { fromArray, randn, zeros } from "../tensor/create.ts";
import { keep, scope } from "../tensor/scope.ts";
import { Tensor } from "../tensor/tensor.ts";
import { clsOf, type VisionTransformer } from "../nn/vit.ts";
import type { Embedder } from "./features.ts";

/** Options of {@link probeEmbedder}. */
export interface ProbeFeatureOptions {
  /** CLS tokens of this many last blocks are concatenated (dino: 4 for ViT-S, 1 for ViT-B). */
  nLastBlocks?: number;
  /** Append the mean of the last block's patch tokens (dino: false for ViT-S, true for ViT-B). */
  avgPool?: boolean;
}

/**
 * The linear-probe embedder of a ViT: `[cls_{L−n+1}, …, cls_L (, mean of patch tokens of L)]`,
 * each after the final norm, width `D · (nLastBlocks + avgPool)`. Put the model in eval mode.
 *
 * @throws {RangeError} when nLastBlocks is not in [1, depth].
 * @example
 * ```ts ignore
 * import { extractFeatures } from "./features.ts";
 * import { probeEmbedder } from "./linear_probe.ts";
 * const train = await extractFeatures(dataset, probeEmbedder(vit.eval(), { nLastBlocks: 4 }));
 * ```
 */
export function probeEmbedder(vit: VisionTransformer, options: ProbeFeatureOptions = {}): Embedder {
  const n = options.nLastBlocks ?? 4;
  const depth = vit.config.depth;
  if (!Number.isInteger(n) || n < 1 || n > depth) {
    throw new RangeError(
      `Cannot probe the last ${n} blocks of a ViT of depth ${depth}: use 1 to ${depth}`,
    );
  }
  return (images) => {
    const layers = vit.intermediateLayers(images, n);
    const parts: Tensor[] = layers.map((t) => clsOf(t));
    if (options.avgPool) {
      const last = layers[layers.length - 1];
      parts.push(mean(slice(last, 1, 1, last.shape[1]), 1));
    }
    return parts.length === 1 ? parts[0] : concat(parts, 1);
  };
}

/** Options of {@link trainLinearProbe}. */
export interface LinearProbeOptions {
  /** [N, D] training features (row-major array or GPU tensor). */
  trainFeatures: Float32Array | Tensor;
  /** [N] training labels. */
  trainLabels: ArrayLike<number>;
  /** [Q, D] test features. */
  testFeatures: Float32Array | Tensor;
  /** [Q] test labels. */
  testLabels: ArrayLike<number>;
  /** Number of classes. */
  numClasses: number;
  /** Epochs over the training features (default 100, as dino). */
  epochs?: number;
  /** Peak learning rate, annealed to 0 by a per-iteration cosine (default 0.1). */
  lr?: number;
  /** Examples per SGD step; the last batch of an epoch may be smaller (default 256). */
  batchSize?: number;
  /** SGD momentum (default 0.9, as dino). */
  momentum?: number;
  /** Standardise features with the training mean and std (default true). */
  standardize?: boolean;
  /** Seed of the classifier init and the epoch shuffles (default 0). */
  seed?: number;
  /** Called after every epoch with its statistics. */
  onEpoch?: (epoch: ProbeEpoch) => void;
}

/** Statistics of one probe epoch. */
export interface ProbeEpoch {
  /** Epoch index, from 0. */
  epoch: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  /** Test top-1 accuracy after the epoch, percent. */
  top1: number;
  /** Test top-5 accuracy after the epoch, percent (all classes when there are ≤ 5). */
  top5: number;
}

/** What {@link trainLinearProbe} returns. */
export interface LinearProbeResult {
  /** Best test top-1 over the epochs, percent (dino's reported number). */
  bestTop1: number;
  /** The epoch where it was reached. */
  bestEpoch: number;
  /** Every epoch's statistics. */
  history: ProbeEpoch[];
  /** The final classifier, [numClasses, D] row-major (applies to standardised features). */
  weight: Float32Array;
  /** The final bias, [numClasses]. */
  bias: Float32Array;
  /** The per-dimension mean subtracted before the classifier (zeros without standardisation). */
  mean: Float32Array;
  /** The per-dimension std divided by (ones without standardisation). */
  std: Float32Array;
}

async function toHost(
  features: Float32Array | Tensor,
  rows: number,
  what: string,
): Promise<{ data: Float32Array; dim: number }> {
  const size = features instanceof Tensor ? features.size : features.length;
  const dim = rows === 0 ? 0 : size / rows;
  if (
    rows === 0 || !Number.isInteger(dim) ||
    (features instanceof Tensor && (features.rank !== 2 || features.shape[0] !== rows))
  ) {
    throw new ShapeError(
      "trainLinearProbe",
      [rows, -1],
      features instanceof Tensor ? features.shape : [size],
      `${what} must be [${rows}, D], one row per label`,
    );
  }
  const data = features instanceof Tensor ? await features.toArray() as Float32Array : features;
  return { data, dim };
}

/**
 * Per-dimension mean and std (population) of `data` [rows, dim], in float64; a std below 1e-6
 * is taken as 1 (a constant feature carries no signal and must not blow up).
 *
 * @example
 * ```ts
 * import { featureStats } from "./linear_probe.ts";
 * const { mean, std } = featureStats(new Float32Array([1, 10, 3, 10]), 2);
 * console.log(mean, std); // Float32Array [2, 10] Float32Array [1, 1]
 * ```
 */
export function featureStats(
  data: Float32Array,
  dim: number,
): { mean: Float32Array; std: Float32Array } {
  const rows = data.length / dim;
  const sum = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < dim; j++) sum[j] += data[r * dim + j];
  }
  const m = sum.map((s) => s / rows);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < dim; j++) sq[j] += (data[r * dim + j] - m[j]) ** 2;
  }
  const std = Float32Array.from(sq, (s) => {
    const v = Math.sqrt(s / rows);
    return v < 1e-6 ? 1 : v;
  });
  return { mean: Float32Array.from(m), std };
}

function standardised(data: Float32Array, dim: number, mean: Float32Array, std: Float32Array) {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const j = i % dim;
    out[i] = (data[i] - mean[j]) / std[j];
  }
  return out;
}

/** Top-1 and top-5 hits of logits [rows, c] (ties: the lower class first). */
function accuracy(logits: Float32Array, labels: ArrayLike<number>, c: number): [number, number] {
  let top1 = 0, top5 = 0;
  for (let r = 0; r < labels.length; r++) {
    const own = logits[r * c + labels[r]];
    let rank = 0;
    for (let k = 0; k < c; k++) {
      const v = logits[r * c + k];
      if (v > own || (v === own && k < labels[r])) rank++;
    }
    top1 += Number(rank === 0);
    top5 += Number(rank < 5);
  }
  return [(100 * top1) / labels.length, (100 * top5) / labels.length];
}

/**
 * Trains a linear classifier on frozen features and reports the best test top-1 over epochs,
 * as dino's `eval_linear.py` (see the module doc for the differences). Each step uploads one
 * shuffled batch; each epoch reads back its summed loss and the test logits once.
 *
 * @throws {ShapeError} when features and labels disagree in count or width.
 * @throws {RangeError} for a label outside [0, numClasses) or a bad count.
 * @example
 * ```ts ignore
 * import { trainLinearProbe } from "./linear_probe.ts";
 * const { bestTop1, bestEpoch } = await trainLinearProbe({
 *   trainFeatures: train.features, trainLabels: train.labels,
 *   testFeatures: test.features, testLabels: test.labels,
 *   numClasses: 8, epochs: 20,
 * });
 * ```
 */
export async function trainLinearProbe(options: LinearProbeOptions): Promise<LinearProbeResult> {
  const { trainLabels, testLabels, numClasses } = options;
  const epochs = options.epochs ?? 100;
  const batchSize = options.batchSize ?? 256;
  const n = trainLabels.length;
  for (const [name, v] of [["epochs", epochs], ["batchSize", batchSize]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`Cannot train a linear probe with ${name} ${v}: use an integer ≥ 1`);
    }
  }
  for (const [name, labels] of [["train", trainLabels], ["test", testLabels]] as const) {
    for (let i = 0; i < labels.length; i++) {
      if (!(Number.isInteger(labels[i]) && labels[i] >= 0 && labels[i] < numClasses)) {
        throw new RangeError(
          `Cannot train a linear probe with ${name} label ${labels[i]} at ${i}: labels must ` +
            `be in [0, ${numClasses})`,
        );
      }
    }
  }
  const train = await toHost(options.trainFeatures, n, "trainFeatures");
  const test = await toHost(options.testFeatures, testLabels.length, "testFeatures");
  const dim = train.dim;
  if (test.dim !== dim) {
    throw new ShapeError(
      "trainLinearProbe",
      [n, dim],
      [testLabels.length, test.dim],
      "train and test features must have the same width D",
    );
  }
  const stats = options.standardize ?? true
    ? featureStats(train.data, dim)
    : { mean: new Float32Array(dim), std: new Float32Array(dim).fill(1) };
  const trainX = standardised(train.data, dim, stats.mean, stats.std);
  const testX = standardised(test.data, dim, stats.mean, stats.std);

  const seed = options.seed ?? 0;
  const rng = new Rng(seed);
  const stepsPerEpoch = Math.ceil(n / batchSize);
  const lrs = cosineScheduler(options.lr ?? 0.1, 0, epochs, stepsPerEpoch);
  // dino's LinearClassifier init: weight N(0, 0.01²), bias 0.
  const weight = keep(randn([numClasses, dim], { std: 0.01, seed: seed + 1 })).requireGrad();
  const bias = keep(zeros([numClasses])).requireGrad();
  const opt = new SGD([weight, bias], { lr: lrs[0], momentum: options.momentum ?? 0.9 });
  const testTensor = keep(fromArray(testX, [testLabels.length, dim]));
  let lossSum = keep(zeros([]));
  const history: ProbeEpoch[] = [];
  const batchX = new Float32Array(batchSize * dim);
  const batchY = new Int32Array(batchSize);
  try {
    let step = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = rng.permutation(n);
      for (let start = 0; start < n; start += batchSize, step++) {
        const b = Math.min(batchSize, n - start);
        for (let i = 0; i < b; i++) {
          const row = order[start + i];
          batchX.set(trainX.subarray(row * dim, (row + 1) * dim), i * dim);
          batchY[i] = trainLabels[row];
        }
        scope(() => {
          const x = fromArray(batchX.subarray(0, b * dim), [b, dim]);
          const y = fromArray(batchY.subarray(0, b), [b], { dtype: "i32" });
          const loss = crossEntropy(linear(x, weight, bias), y);
          loss.backward();
          opt.lr = lrs[step];
          opt.step();
          opt.zeroGrad();
          runBinaryInPlace(lossSum, loss, BINARY.add);
        });
      }
      const [summed, logits] = await noGrad(() =>
        scope(() => {
          const reads = Promise.all([
            lossSum.toArray(),
            linear(testTensor, weight, bias).toArray(),
          ]);
          return { reads };
        })
      ).reads;
      lossSum.dispose();
      lossSum = keep(zeros([]));
      const [top1, top5] = accuracy(logits as Float32Array, testLabels, numClasses);
      const stat = { epoch, loss: summed[0] / stepsPerEpoch, top1, top5 };
      history.push(stat);
      options.onEpoch?.(stat);
    }
    const [w, b] = await Promise.all([weight.toArray(), bias.toArray()]);
    let best = history[0];
    for (const h of history) if (h.top1 > best.top1) best = h;
    return {
      bestTop1: best.top1,
      bestEpoch: best.epoch,
      history,
      weight: w as Float32Array,
      bias: b as Float32Array,
      mean: stats.mean,
      std: stats.std,
    };
  } finally {
    opt.dispose();
    for (const t of [weight, bias, testTensor, lossSum]) t.dispose();
  }
}
