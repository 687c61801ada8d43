/**
 * Tensors: the {@link Tensor} class, creation functions, lifetime scopes and shape helpers.
 * Open `tensor.ts` first.
 *
 * @module
 */
export { type GradNode, Tensor } from "./tensor.ts";
export {
  type CreateOptions,
  fromArray,
  full,
  manualSeed,
  ones,
  rand,
  randn,
  type RandomOptions,
  truncNormal,
  zeros,
} from "./create.ts";
export { type Disposable, keep, scope } from "./scope.ts";
export { type ArrayFor, BYTES_PER_ELEMENT, type DType, type DTypeArrays } from "./dtype.ts";
export { Storage } from "./storage.ts";
export { broadcastShapes, numel, type Shape } from "./shape.ts";
export { type HostTensor, maxAbs, maxAbsDiff } from "./host.ts";
