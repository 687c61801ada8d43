/**
 * Autograd: {@link defineOp} records ops, {@link backward} runs the tape in reverse, and
 * {@link noGrad} switches recording off. Open `define_op.ts` first.
 *
 * @module
 */
export { defineOp, type Op, type OpContext, type OpSpec } from "./define_op.ts";
export { backward } from "./tape.ts";
export { isGradEnabled, noGrad } from "./grad_mode.ts";
