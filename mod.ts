/**
 * dinogpu: DINO self-supervised training of Vision Transformers on WebGPU, in TypeScript, with
 * our own WGSL kernels for every forward and backward pass.
 *
 * Quick start — tensors, autograd and an optimiser step on whatever adapter the machine has:
 *
 * ```ts ignore
 * import { fromArray, getGpu, linear, mean, mul, scope, SGD, sub, truncNormal, zeros } from "@dinogpu/dinogpu";
 *
 * await getGpu();                                     // the WebGPU device (lavapipe works too)
 * const x = fromArray([0, 1, 2, 3], [4, 1]);
 * const y = fromArray([1, 3, 5, 7], [4, 1]);
 * const w = truncNormal([1, 1], { std: 0.1, seed: 0 }).requireGrad();
 * const b = zeros([1]).requireGrad();
 * const opt = new SGD([w, b], { lr: 0.05 });
 * for (let step = 0; step < 200; step++) {
 *   scope(() => {                                     // frees every intermediate of the step
 *     const d = sub(linear(x, w, b), y);
 *     mean(mul(d, d)).backward();
 *     opt.step();
 *     opt.zeroGrad();
 *   });
 * }
 * console.log(await w.toArray(), await b.toArray());  // ≈ 2 and 1
 * ```
 *
 * Folders: `lib/gpu` (device, kernels, dispatch), `lib/tensor`, `lib/autograd`, `lib/ops`,
 * `lib/optim`, `lib/data`, `lib/io`.
 *
 * @module
 */
export * from "./lib/errors.ts";
export * from "./lib/gpu/mod.ts";
export * from "./lib/tensor/mod.ts";
export * from "./lib/autograd/mod.ts";
export * from "./lib/ops/mod.ts";
export * from "./lib/optim/mod.ts";
export * from "./lib/data/mod.ts";
export * from "./lib/io/mod.ts";
export * from "./lib/nn/mod.ts";
export * from "./lib/dino/mod.ts";
export * from "./lib/eval/mod.ts";
