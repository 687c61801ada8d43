/**
 * Weighted k-NN classification of frozen features, as dino's `eval_knn.py`: features are
 * L2-normalised, the similarity of a query to the bank is the dot product, the k nearest vote for
 * their class with weight `exp(sim / T)`, and top-1 / top-5 accuracy are reported per k.
 *
 * Where the work runs: similarities ([chunk, N] = matmul of the query chunk and the bank) and
 * their top-k (`topk`, a radix select + bitonic sort kernel, `shaders/eval/topk.wgsl`) run on the
 * GPU chunk by chunk; only [chunk, kmax] values and indices are read back, and the votes (chunk ×
 * kmax additions) are counted on the CPU. The next chunk is encoded before the current one is
 * awaited, so the GPU never waits for the CPU.
 *
 * @module
 */
import { noGrad } from "../autograd/grad_mode.ts";
import { ShapeError } from "../errors.ts";
import { matmul } from "../ops/matmul.ts";
import { slice } from "../ops/movement.ts";
import { l2normalize } from "../ops/normalization.ts";
import { fromArray } from "../tensor/create.ts";
import { keep, scope } from "../tensor/scope.ts";
import { Tensor } from "../tensor/tensor.ts";
import { topk, TOPK_MAX_K } from "./topk.ts";

/** Options of {@link knnClassify}. */
export interface KnnOptions {
  /** The bank: [N, D] features of the training images (a GPU tensor or a row-major array). */
  trainFeatures: Tensor | Float32Array;
  /** [N] class labels of the bank. */
  trainLabels: ArrayLike<number>;
  /** [Q, D] features of the images to classify. */
  testFeatures: Tensor | Float32Array;
  /** [Q] true labels of the queries. */
  testLabels: ArrayLike<number>;
  /** Number of classes; every label is below it. */
  numClasses: number;
  /** Neighbour counts to score, each capped at N (default [10, 20, 100, 200], as dino). */
  ks?: readonly number[];
  /** Temperature of the vote weights exp(sim / T) (default 0.07, as dino). */
  temperature?: number;
  /** Queries per GPU chunk (default: as many as keep [chunk, N] within 16 Mi floats, ≤ 512). */
  chunkSize?: number;
}

/** Accuracy of one k, in percent (as dino prints it). */
export interface KnnResult {
  /** Neighbours that voted (the requested k, capped at the bank size). */
  k: number;
  /** Percentage of queries whose highest-voted class is right. */
  top1: number;
  /** Percentage whose right class is among the min(5, k) highest-voted (dino's rule). */
  top5: number;
}

/** An [rows, D] GPU tensor of the features, and whether we created it. */
function asMatrix(
  features: Tensor | Float32Array,
  rows: number,
  what: string,
): { tensor: Tensor; owned: boolean } {
  if (features instanceof Tensor) {
    if (features.rank !== 2 || features.shape[0] !== rows) {
      throw new ShapeError(
        "knnClassify",
        [rows, -1],
        features.shape,
        `${what} must be [${rows}, D], one row per label`,
      );
    }
    return { tensor: features, owned: false };
  }
  if (rows === 0 || features.length % rows !== 0) {
    throw new ShapeError(
      "knnClassify",
      [rows, -1],
      [features.length],
      `${what} must hold ${rows} rows of D values, one row per label`,
    );
  }
  return { tensor: fromArray(features, [rows, features.length / rows]), owned: true };
}

/**
 * Class votes of one query from its neighbours (sorted by similarity): `scores[c] += exp(sim/T)`
 * over the first `k`, then whether the true label ranks first and within the first `top` classes
 * (ties between classes: the lower class first, a deterministic stand-in for torch's sort).
 */
function vote(
  sims: Float32Array,
  neighbours: Uint32Array,
  offset: number,
  k: number,
  trainLabels: ArrayLike<number>,
  label: number,
  temperature: number,
  scores: Float64Array,
): [boolean, boolean] {
  scores.fill(0);
  for (let j = 0; j < k; j++) {
    scores[trainLabels[neighbours[offset + j]]] += Math.exp(sims[offset + j] / temperature);
  }
  // Rank of the true class: classes that beat it (higher score, or equal and lower index).
  const own = scores[label];
  let rank = 0;
  for (let c = 0; c < scores.length; c++) {
    if (scores[c] > own || (scores[c] === own && c < label)) rank++;
  }
  return [rank === 0, rank < Math.min(5, k)];
}

/**
 * Weighted k-NN accuracy of `testFeatures` against the bank `trainFeatures`, for every k in
 * `ks`, exactly as dino's `knn_classifier` (cosine similarity, top-k, votes `exp(sim/T)` summed
 * per class). Features may be GPU tensors or row-major `Float32Array`s; they need not be
 * normalised. Returns one result per k, in the order of `ks`.
 *
 * @throws {ShapeError} when the features and labels disagree in count or width.
 * @throws {RangeError} for a k or temperature out of range, or a label outside [0, numClasses).
 * @example
 * ```ts ignore
 * import { knnClassify } from "./knn.ts";
 * const results = await knnClassify({
 *   trainFeatures: train.features, trainLabels: train.labels,
 *   testFeatures: test.features, testLabels: test.labels,
 *   numClasses: 8, ks: [10, 20],
 * });
 * for (const { k, top1, top5 } of results) console.log(`${k}-NN: ${top1.toFixed(2)}% ${top5}`);
 * ```
 */
export async function knnClassify(options: KnnOptions): Promise<KnnResult[]> {
  const { trainLabels, testLabels, numClasses } = options;
  const temperature = options.temperature ?? 0.07;
  const requested = options.ks ?? [10, 20, 100, 200];
  const n = trainLabels.length;
  const q = testLabels.length;
  if (!(temperature > 0)) {
    throw new RangeError(`Cannot run k-NN with temperature ${temperature}: use a value > 0`);
  }
  for (const k of requested) {
    if (!Number.isInteger(k) || k < 1 || k > TOPK_MAX_K) {
      throw new RangeError(`Cannot run k-NN with k = ${k}: use integers in [1, ${TOPK_MAX_K}]`);
    }
  }
  for (const [name, labels] of [["train", trainLabels], ["test", testLabels]] as const) {
    for (let i = 0; i < labels.length; i++) {
      if (!(Number.isInteger(labels[i]) && labels[i] >= 0 && labels[i] < numClasses)) {
        throw new RangeError(
          `Cannot run k-NN with ${name} label ${labels[i]} at ${i}: labels must be in ` +
            `[0, ${numClasses})`,
        );
      }
    }
  }
  const ks = requested.map((k) => Math.min(k, n));
  if (q === 0) return ks.map((k) => ({ k, top1: 0, top5: 0 }));
  const kmax = Math.max(...ks);
  const chunk = options.chunkSize ?? Math.max(1, Math.min(512, Math.floor(2 ** 24 / n)));

  const correct1 = new Float64Array(ks.length);
  const correct5 = new Float64Array(ks.length);
  const scores = new Float64Array(numClasses);
  const count = (start: number, sims: Float32Array, neighbours: Uint32Array) => {
    const rows = sims.length / kmax;
    for (let r = 0; r < rows; r++) {
      ks.forEach((k, i) => {
        const [hit1, hit5] = vote(
          sims,
          neighbours,
          r * kmax,
          k,
          trainLabels,
          testLabels[start + r],
          temperature,
          scores,
        );
        correct1[i] += Number(hit1);
        correct5[i] += Number(hit5);
      });
    }
  };

  const [bank, queries] = noGrad(() =>
    scope(() => {
      const train = asMatrix(options.trainFeatures, n, "trainFeatures");
      const test = asMatrix(options.testFeatures, q, "testFeatures");
      if (train.tensor.shape[1] !== test.tensor.shape[1]) {
        throw new ShapeError(
          "knnClassify",
          train.tensor.shape,
          test.tensor.shape,
          "train and test features must have the same width D",
        );
      }
      return [l2normalize(train.tensor), l2normalize(test.tensor)];
    })
  );
  try {
    let pending: { start: number; reads: Promise<[Float32Array, Uint32Array]> } | null = null;
    for (let start = 0; start < q; start += chunk) {
      const end = Math.min(q, start + chunk);
      const reads = noGrad(() =>
        scope(() => {
          const part = end - start === q ? queries : slice(queries, 0, start, end);
          const sims = matmul(part, bank, { transposeB: true });
          const { values, indices } = topk(sims, kmax);
          // Both copies are submitted now; the tensors may go with the scope.
          return { all: Promise.all([values.toArray(), indices.toArray()]) };
        })
      ).all as Promise<[Float32Array, Uint32Array]>;
      reads.catch(() => {});
      if (pending) count(pending.start, ...(await pending.reads));
      pending = { start, reads };
    }
    if (pending) count(pending.start, ...(await pending.reads));
  } finally {
    keep(bank).dispose();
    keep(queries).dispose();
  }
  return ks.map((k, i) => ({
    k,
    top1: (100 * correct1[i]) / q,
    top5: (100 * correct5[i]) / q,
  }));
}
