/**
 * Optimisers and schedules: `AdamW` (one fused kernel per parameter, per-parameter step counts,
 * decay groups), per-parameter gradient clipping, the teacher EMA, dino's cosine schedules, and
 * `SGD`. Open `adamw.ts` first.
 *
 * @module
 */
export { SGD, type SgdOptions } from "./sgd.ts";
export {
  AdamW,
  type AdamWOptions,
  type AdamWParam,
  adamwReference,
  type AdamWReferenceOptions,
  type AdamWState,
  type AdamWStateDict,
  type AdamWStepOptions,
} from "./adamw.ts";
export { clipGradients, clipReference } from "./clip.ts";
export { emaReference, emaUpdate } from "./ema.ts";
export { cosineScheduler, teacherTempSchedule } from "./schedule.ts";
