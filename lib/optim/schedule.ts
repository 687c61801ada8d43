/**
 * Training schedules as precomputed arrays, exactly as dino's `utils.cosine_scheduler` and the
 * teacher-temperature warmup of `DINOLoss`: index them by global iteration (`epoch·niter + i`) or
 * by epoch. Pure TypeScript, computed in float64 like numpy; no GPU.
 *
 * @module
 */

/**
 * `numpy.linspace(start, stop, num)` with its endpoint rules: `y[i] = start + i·step` with
 * `step = (stop − start)/(num − 1)`, the last value set to `stop` exactly, and `[start]` for
 * `num = 1`.
 */
function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  if (num === 0) return out;
  if (num === 1) {
    out[0] = start;
    return out;
  }
  const delta = stop - start;
  const step = delta / (num - 1);
  // numpy divides before multiplying only when the step underflows to zero (denormal deltas).
  for (let i = 0; i < num; i++) {
    out[i] = step === 0 ? (i / (num - 1)) * delta + start : i * step + start;
  }
  out[num - 1] = stop;
  return out;
}

function checkCount(value: number, what: string, fn: string): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot build ${fn}: ${what} must be a non-negative integer, got ${value}`,
    );
  }
}

/**
 * dino's `cosine_scheduler`: a linear warmup from `startWarmupValue` to `base` over
 * `warmupEpochs·niterPerEp` iterations (both endpoints included), then a half cosine from `base`
 * towards `final` over the remaining `L` iterations, `final + ½(base − final)(1 + cos(π i / L))`
 * (the last value is not exactly `final`). Length `epochs·niterPerEp`.
 *
 * @param base value at the end of the warmup (lr: 5e-4 · batch/256 in dino)
 * @param final value approached at the end (lr: 1e-6; weight decay: 0.4; momentum: 1)
 * @param epochs number of epochs
 * @param niterPerEp iterations per epoch
 * @param warmupEpochs epochs of linear warmup (0: none; dino uses 10 for the lr)
 * @param startWarmupValue first value of the warmup
 * @throws {RangeError} when a count is not a non-negative integer or the warmup is longer than
 *   the run.
 * @example
 * ```ts
 * import { cosineScheduler } from "./schedule.ts";
 * const lr = cosineScheduler(1.25e-4, 1e-6, 10, 7, 2);
 * console.log(lr.length, lr[13], lr[14]); // 70 0.000125 0.000125
 * ```
 */
export function cosineScheduler(
  base: number,
  final: number,
  epochs: number,
  niterPerEp: number,
  warmupEpochs = 0,
  startWarmupValue = 0,
): Float64Array {
  const fn = "cosineScheduler";
  checkCount(epochs, "epochs", fn);
  checkCount(niterPerEp, "niterPerEp", fn);
  checkCount(warmupEpochs, "warmupEpochs", fn);
  if (warmupEpochs > epochs) {
    throw new RangeError(
      `Cannot build cosineScheduler: warmupEpochs ${warmupEpochs} exceeds epochs ${epochs}`,
    );
  }
  const total = epochs * niterPerEp;
  const warmupIters = warmupEpochs * niterPerEp;
  const out = new Float64Array(total);
  if (warmupEpochs > 0) out.set(linspace(startWarmupValue, base, warmupIters));
  const length = total - warmupIters;
  for (let i = 0; i < length; i++) {
    out[warmupIters + i] = final + 0.5 * (base - final) * (1 + Math.cos(Math.PI * i / length));
  }
  return out;
}

/**
 * The teacher temperature per **epoch**, as dino's `DINOLoss`: a linear warmup from
 * `warmupTeacherTemp` to `teacherTemp` over `warmupTeacherTempEpochs` epochs (both endpoints
 * included), then `teacherTemp`. Length `epochs`.
 *
 * @param warmupTeacherTemp initial teacher temperature (0.04 works well in most cases)
 * @param teacherTemp final teacher temperature (0.04–0.07; above 0.07 training is unstable)
 * @param warmupTeacherTempEpochs epochs of warmup (dino default 30)
 * @param epochs number of epochs
 * @throws {RangeError} when a count is not a non-negative integer or the warmup is longer than
 *   the run.
 * @example
 * ```ts
 * import { teacherTempSchedule } from "./schedule.ts";
 * console.log(teacherTempSchedule(0.04, 0.07, 3, 5)); // [0.04, 0.055, 0.07, 0.07, 0.07]
 * ```
 */
export function teacherTempSchedule(
  warmupTeacherTemp: number,
  teacherTemp: number,
  warmupTeacherTempEpochs: number,
  epochs: number,
): Float64Array {
  const fn = "teacherTempSchedule";
  checkCount(warmupTeacherTempEpochs, "warmupTeacherTempEpochs", fn);
  checkCount(epochs, "epochs", fn);
  if (warmupTeacherTempEpochs > epochs) {
    throw new RangeError(
      `Cannot build teacherTempSchedule: warmupTeacherTempEpochs ${warmupTeacherTempEpochs} ` +
        `exceeds epochs ${epochs}`,
    );
  }
  const out = new Float64Array(epochs).fill(teacherTemp);
  out.set(linspace(warmupTeacherTemp, teacherTemp, warmupTeacherTempEpochs));
  return out;
}
