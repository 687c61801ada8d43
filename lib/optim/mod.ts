/**
 * Optimisers and schedules. Open `sgd.ts` first.
 *
 * @module
 */
export { SGD, type SgdOptions } from "./sgd.ts";
