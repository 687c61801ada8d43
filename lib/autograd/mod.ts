/**
 * Autograd: {@link defineOp} records ops, {@link backward} runs the tape in reverse, and
 * {@link noGrad} switches recording off. Open `define_op.ts` first.
 *
 * @module
 */
export {
  type BinaryOp,
  defineOp,
  type Op,
  type OpContext,
  type OpSpec,
  type UnaryOp,
} from "./define_op.ts";
export { backward } from "./tape.ts";
export { detach, isGradEnabled, noGrad, type Viewable } from "./grad_mode.ts";
