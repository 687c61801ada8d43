/**
 * dinogpu: DINO self-supervised training of Vision Transformers on WebGPU, in TypeScript.
 *
 * @module
 */
export * from "./lib/errors.ts";
export * from "./lib/gpu/mod.ts";
export * from "./lib/tensor/mod.ts";
export * from "./lib/autograd/mod.ts";
export * from "./lib/ops/mod.ts";
