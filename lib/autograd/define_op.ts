/**
 * `defineOp`: an op's forward and backward in one place. The forward validates shapes and
 * encodes its dispatches; when an input requires grad, the result records a node whose backward
 * maps the output gradient to the gradients of the tensor inputs (in argument order).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { isGradEnabled, noGrad } from "./grad_mode.ts";

/** What a forward may keep for its backward. */
export interface OpContext {
  /** True when a backward will run: forwards skip saving otherwise. */
  readonly needsGrad: boolean;
  /** Values the backward reads (tensors created here are freed with the step's scope). */
  saved: Record<string, unknown>;
}

/** The definition of one differentiable op. */
export interface OpSpec<Args extends unknown[], Out extends Tensor, Ref> {
  /** Name used in errors and node labels (PyTorch's name in camelCase). */
  name: string;
  /** Checks shapes (throwing `ShapeError`) and encodes the forward. */
  forward(ctx: OpContext, ...args: Args): Out;
  /**
   * Gradients of the tensor arguments (in order; arrays of tensors flattened) given the gradient
   * of the output: fresh tensors or `grad` itself, which the tape frees once used (never return a
   * saved input). Omit for ops without gradient.
   */
  backward?(ctx: OpContext, grad: Out): (Tensor | null)[];
  /** CPU reference of the op, for tests. */
  reference?: Ref;
  /**
   * `"f32"` (the default): every tensor argument must be f32, checked before the forward runs.
   * `"any"`: the forward checks dtypes itself (reshape, ops taking integer labels).
   */
  dtypes?: "f32" | "any";
}

/** A callable op with its CPU reference attached. */
export type Op<Args extends unknown[], Out extends Tensor, Ref> = ((...args: Args) => Out) & {
  /** The CPU reference given at definition. */
  readonly reference: Ref;
  /** The op's name. */
  readonly opName: string;
};

/** An op of one tensor, e.g. `exp`. */
export type UnaryOp<Ref = undefined> = Op<[x: Tensor], Tensor<"f32">, Ref>;

/** An op of two broadcastable tensors, e.g. `add`. */
export type BinaryOp<Ref = undefined> = Op<[a: Tensor, b: Tensor], Tensor<"f32">, Ref>;

function tensorInputs(args: readonly unknown[], isTensor: (v: unknown) => v is Tensor): Tensor[] {
  const inputs: Tensor[] = [];
  for (const arg of args) {
    if (isTensor(arg)) inputs.push(arg);
    else if (Array.isArray(arg)) { for (const a of arg) if (isTensor(a)) inputs.push(a); }
  }
  return inputs;
}

function looksLikeTensor(value: unknown): value is Tensor {
  return typeof value === "object" && value !== null && "storage" in value && "shape" in value &&
    "gradFn" in value;
}

/**
 * Defines a differentiable op.
 *
 * @example
 * ```ts ignore
 * import { defineOp } from "./define_op.ts";
 * import { mul, scale } from "../ops/elementwise.ts";
 * import type { Tensor } from "../tensor/tensor.ts";
 * // square(x) = x², d/dx = 2x
 * export const square = defineOp({
 *   name: "square",
 *   forward: (ctx, x: Tensor<"f32">) => {
 *     ctx.saved.x = x;
 *     return mul(x, x);
 *   },
 *   backward: (ctx, grad) => [mul(grad, scale(ctx.saved.x as Tensor<"f32">, 2))],
 * });
 * ```
 */
export function defineOp<Args extends unknown[], Out extends Tensor, Ref = undefined>(
  spec: OpSpec<Args, Out, Ref>,
): Op<Args, Out, Ref> {
  const op = (...args: Args): Out => {
    const inputs = tensorInputs(args, looksLikeTensor);
    if (spec.dtypes !== "any") {
      const wrong = inputs.find((t) => t.dtype !== "f32");
      if (wrong) {
        throw new TypeError(
          `Cannot ${spec.name} a tensor of dtype ${wrong.dtype} and shape [${
            wrong.shape.join(", ")
          }]: ` +
            `expected f32`,
        );
      }
    }
    const needsGrad = spec.backward !== undefined && isGradEnabled() &&
      inputs.some((t) => t.requiresGrad);
    const ctx: OpContext = { needsGrad, saved: {} };
    const out = needsGrad ? noGrad(() => spec.forward(ctx, ...args)) : spec.forward(ctx, ...args);
    if (needsGrad) {
      out.requiresGrad = true;
      out.gradFn = {
        op: spec.name,
        inputs,
        backward: (grad) => spec.backward!(ctx, grad as Out),
      };
    }
    return out;
  };
  Object.defineProperty(op, "name", { value: spec.name });
  return Object.assign(op, { reference: spec.reference as Ref, opName: spec.name });
}
