/**
 * Elementwise ops with numpy broadcasting: `add`, `sub`, `mul`, `div`, `scale`, `exp`, `log`,
 * `sqrt`, `relu`. The WGSL is `shaders/ops/elementwise.wgsl` (encoders in `strided.ts`); each
 * backward is built from the same ops, and broadcast gradients are summed back with `sumTo`.
 *
 * @module
 */
import { type BinaryOp, defineOp, type Op, type UnaryOp } from "../autograd/define_op.ts";
import { broadcastShapes, type Shape } from "../tensor/shape.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { sumTo } from "./reduce.ts";
import { BINARY, runBinary, runUnary, UNARY } from "./strided.ts";

/**
 * Sums `g` to `shape` unless it already has it (then returns `g` itself; the tape gives every
 * gradient its own handle). A temporary `g` (`owned`) is freed once summed.
 */
function reduceGrad(g: Tensor<"f32">, shape: Shape, owned = true): Tensor<"f32"> {
  if (g.rank === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const out = sumTo(g, shape);
  if (owned) g.dispose();
  return out;
}

/** CPU reference of a unary op: its value and derivative at x. */
export interface ScalarReference {
  /** f(x). */
  forward: (x: number) => number;
  /** f'(x). */
  backward: (x: number) => number;
}

function binaryOp(name: string, op: number) {
  return (ctx: { saved: Record<string, unknown> }, a: Tensor, b: Tensor): Tensor<"f32"> => {
    ctx.saved.a = a;
    ctx.saved.b = b;
    return runBinary(a, b, op, broadcastShapes(a.shape, b.shape, name));
  };
}

/**
 * a + b with broadcasting, like `torch.add`.
 *
 * @example
 * ```ts ignore
 * import { add } from "./elementwise.ts";
 * const y = add(x, bias); // [N, D] + [D]
 * ```
 */
export const add: BinaryOp<{ forward: (a: number, b: number) => number }> = defineOp({
  name: "add",
  forward: binaryOp("add", BINARY.add),
  backward(ctx, g) {
    const { a, b } = ctx.saved as { a: Tensor; b: Tensor };
    return [reduceGrad(g, a.shape, false), reduceGrad(g, b.shape, false)];
  },
  reference: { forward: (a: number, b: number) => a + b },
});

/**
 * a − b with broadcasting, like `torch.sub`.
 *
 * @example
 * ```ts ignore
 * import { sub } from "./elementwise.ts";
 * const d = sub(pred, target);
 * ```
 */
export const sub: BinaryOp<{ forward: (a: number, b: number) => number }> = defineOp({
  name: "sub",
  forward: binaryOp("sub", BINARY.sub),
  backward(ctx, g) {
    const { a, b } = ctx.saved as { a: Tensor; b: Tensor };
    return [reduceGrad(g, a.shape, false), reduceGrad(runUnary(g, UNARY.affine, -1), b.shape)];
  },
  reference: { forward: (a: number, b: number) => a - b },
});

/**
 * a · b with broadcasting, like `torch.mul`.
 *
 * @example
 * ```ts ignore
 * import { mul } from "./elementwise.ts";
 * const sq = mul(x, x);
 * ```
 */
export const mul: BinaryOp<{ forward: (a: number, b: number) => number }> = defineOp({
  name: "mul",
  forward: binaryOp("mul", BINARY.mul),
  backward(ctx, g) {
    const { a, b } = ctx.saved as { a: Tensor; b: Tensor };
    return [
      reduceGrad(runBinary(g, b, BINARY.mul, g.shape), a.shape),
      reduceGrad(runBinary(g, a, BINARY.mul, g.shape), b.shape),
    ];
  },
  reference: { forward: (a: number, b: number) => a * b },
});

/**
 * a / b with broadcasting, like `torch.div`.
 *
 * @example
 * ```ts ignore
 * import { div } from "./elementwise.ts";
 * const y = div(x, norm);
 * ```
 */
export const div: BinaryOp<{ forward: (a: number, b: number) => number }> = defineOp({
  name: "div",
  forward: binaryOp("div", BINARY.div),
  backward(ctx, g) {
    const { a, b } = ctx.saved as { a: Tensor; b: Tensor };
    const ga = runBinary(g, b, BINARY.div, g.shape);
    // d/db (a/b) = −a/b² = −(a/b)/b
    const ratio = runBinary(a, b, BINARY.div, g.shape);
    const gb = runBinary(g, ratio, BINARY.mul, g.shape);
    const gb2 = runBinary(gb, b, BINARY.div, g.shape);
    ratio.dispose();
    gb.dispose();
    const neg = runUnary(gb2, UNARY.affine, -1);
    gb2.dispose();
    return [reduceGrad(ga, a.shape), reduceGrad(neg, b.shape)];
  },
  reference: { forward: (a: number, b: number) => a / b },
});

/**
 * alpha · x + beta, like `x * alpha + beta` in PyTorch.
 *
 * @example
 * ```ts ignore
 * import { scale } from "./elementwise.ts";
 * const y = scale(x, 0.5);
 * ```
 */
export const scale: Op<
  [x: Tensor, alpha: number, beta?: number],
  Tensor<"f32">,
  { forward: (x: number, alpha: number, beta?: number) => number }
> = defineOp({
  name: "scale",
  forward(ctx, x: Tensor, alpha: number, beta?: number): Tensor<"f32"> {
    ctx.saved.alpha = alpha;
    return runUnary(x, UNARY.affine, alpha, beta ?? 0);
  },
  backward: (ctx, g) => [runUnary(g, UNARY.affine, ctx.saved.alpha as number)],
  reference: { forward: (x: number, alpha: number, beta = 0) => alpha * x + beta },
});

/**
 * e^x, like `torch.exp`.
 *
 * @example
 * ```ts ignore
 * import { exp } from "./elementwise.ts";
 * const y = exp(x);
 * ```
 */
export const exp: UnaryOp<ScalarReference> = defineOp({
  name: "exp",
  forward(ctx, x: Tensor): Tensor<"f32"> {
    const out = runUnary(x, UNARY.exp);
    ctx.saved.out = out;
    return out;
  },
  backward: (ctx, g) => [runBinary(g, ctx.saved.out as Tensor, BINARY.mul, g.shape)],
  reference: { forward: Math.exp, backward: (x: number) => Math.exp(x) },
});

/**
 * Natural logarithm, like `torch.log`.
 *
 * @example
 * ```ts ignore
 * import { log } from "./elementwise.ts";
 * const y = log(x);
 * ```
 */
export const log: UnaryOp<ScalarReference> = defineOp({
  name: "log",
  forward(ctx, x: Tensor): Tensor<"f32"> {
    ctx.saved.x = x;
    return runUnary(x, UNARY.log);
  },
  backward: (ctx, g) => [runBinary(g, ctx.saved.x as Tensor, BINARY.div, g.shape)],
  reference: { forward: Math.log, backward: (x: number) => 1 / x },
});

/**
 * Square root, like `torch.sqrt`.
 *
 * @example
 * ```ts ignore
 * import { sqrt } from "./elementwise.ts";
 * const y = sqrt(x);
 * ```
 */
export const sqrt: UnaryOp<ScalarReference> = defineOp({
  name: "sqrt",
  forward(ctx, x: Tensor): Tensor<"f32"> {
    const out = runUnary(x, UNARY.sqrt);
    ctx.saved.out = out;
    return out;
  },
  backward(ctx, g) {
    // d sqrt(x) = 1 / (2 sqrt(x))
    const half = runBinary(g, ctx.saved.out as Tensor, BINARY.div, g.shape);
    const out = runUnary(half, UNARY.affine, 0.5);
    half.dispose();
    return [out];
  },
  reference: { forward: Math.sqrt, backward: (x: number) => 0.5 / Math.sqrt(x) },
});

/**
 * max(x, 0), like `torch.relu`.
 *
 * @example
 * ```ts ignore
 * import { relu } from "./elementwise.ts";
 * const h = relu(x);
 * ```
 */
export const relu: UnaryOp<ScalarReference> = defineOp({
  name: "relu",
  forward(ctx, x: Tensor): Tensor<"f32"> {
    ctx.saved.x = x;
    return runUnary(x, UNARY.relu);
  },
  backward: (ctx, g) => [runBinary(ctx.saved.x as Tensor, g, BINARY.reluBackward, g.shape)],
  reference: { forward: (x: number) => Math.max(x, 0), backward: (x: number) => (x > 0 ? 1 : 0) },
});
