/**
 * Data: seeded random numbers, datasets, the loader and multi-crop augmentation. Open `rng.ts` first.
 *
 * @module
 */
export { Rng } from "./rng.ts";
