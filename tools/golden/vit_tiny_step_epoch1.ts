/**
 * Golden checker for `vit_tiny_step_epoch1`: the same iteration as `vit_tiny_step` at epoch 1
 * (last layer trained, optimizer state given): see vit_tiny_step.ts.
 *
 * @module
 */
export { check } from "./vit_tiny_step.ts";
