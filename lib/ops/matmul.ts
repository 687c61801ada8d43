/**
 * Matrix products: `matmul` (nn, tn, nt; batched, a rank-2 operand broadcasts over the batch) and
 * `linear` (x·Wᵀ + b with the bias fused into the epilogue). The WGSL is `shaders/ops/matmul.wgsl`.
 *
 * @module
 */
import { defineOp, type Op } from "../autograd/define_op.ts";
import { ShapeError } from "../errors.ts";
import { Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import type { HostTensor } from "../tensor/host.ts";
import { Tensor } from "../tensor/tensor.ts";
import { sum } from "./reduce.ts";

/** Options of {@link matmul}. */
export interface MatmulOptions {
  /** Use Aᵀ: A is stored [K, M] (or [batch, K, M]). */
  transposeA?: boolean;
  /** Use Bᵀ: B is stored [N, K] (or [batch, N, K]). */
  transposeB?: boolean;
  /** Multiplies the product (attention's hd^-0.5). Default 1. */
  alpha?: number;
}

/** Kernel variants of matmul.wgsl, in order of complexity. */
export type MatmulVariant = "forward_naive" | "forward";

const TILE = 16;
const BLOCK = 4;

interface MatmulDims {
  batch: number;
  m: number;
  n: number;
  k: number;
  batched: boolean;
}

function matmulDims(
  a: Tensor,
  b: Tensor,
  transA: boolean,
  transB: boolean,
  op: string,
): MatmulDims {
  if (a.rank < 2 || a.rank > 3 || b.rank < 2 || b.rank > 3) {
    throw new ShapeError(op, a.shape, b.shape, "operands must have rank 2 or 3");
  }
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const [k2, n] = transB ? [bc, br] : [br, bc];
  if (k !== k2) {
    throw new ShapeError(op, a.shape, b.shape, `inner dimensions ${k} and ${k2} differ`);
  }
  const batchA = a.rank === 3 ? a.shape[0] : 1;
  const batchB = b.rank === 3 ? b.shape[0] : 1;
  if (a.rank === 3 && b.rank === 3 && batchA !== batchB) {
    throw new ShapeError(op, a.shape, b.shape, `batch sizes ${batchA} and ${batchB} differ`);
  }
  return { batch: Math.max(batchA, batchB), m, n, k, batched: a.rank === 3 || b.rank === 3 };
}

/**
 * Encodes C = alpha · op(A) · op(B) (+ bias) into `out` ([batch, M, N] or [M, N]). No autograd,
 * no shape checks: the ops below check first. Exported for benchmarks.
 *
 * @example
 * ```ts ignore
 * import { encodeMatmul } from "./matmul.ts";
 * encodeMatmul(a, b, out, { variant: "forward_naive" });
 * ```
 */
export function encodeMatmul(
  a: Tensor,
  b: Tensor,
  out: Tensor,
  options: MatmulOptions & { bias?: Tensor; variant?: MatmulVariant } = {},
): void {
  const transA = options.transposeA ?? false;
  const transB = options.transposeB ?? false;
  const { batch, m, n, k } = matmulDims(a, b, transA, transB, "matmul");
  if (batch * m * n === 0) return;
  const variant = options.variant ?? "forward";
  const gpu = out.gpu;
  const kernel = gpu.kernels.get(SHADERS.ops.matmul, variant, {
    TRANS_A: Number(transA),
    TRANS_B: Number(transB),
    HAS_BIAS: Number(options.bias !== undefined),
  });
  const perGroup = variant === "forward" ? TILE * BLOCK : TILE;
  gpu.stream.dispatch({
    kernel,
    bindings: [a.binding, b.binding, options.bias?.binding ?? gpu.placeholder, out.binding],
    params: new Params()
      .u32(m, n, k, batch, a.rank === 3 ? m * k : 0, b.rank === 3 ? k * n : 0, m * n)
      .f32(options.alpha ?? 1)
      .bytes(),
    workgroups: [Math.ceil(n / perGroup), Math.ceil(m / perGroup), batch],
  });
}

/** Sums a batched gradient over the batch when its operand was rank 2 (broadcast). */
function unbatch(grad: Tensor<"f32">, operand: Tensor): Tensor<"f32"> {
  if (operand.rank === grad.rank) return grad;
  const out = sum(grad, 0);
  grad.dispose();
  return out;
}

function product(a: Tensor, b: Tensor, transA: boolean, transB: boolean, alpha = 1): Tensor<"f32"> {
  const { batch, m, n, batched } = matmulDims(a, b, transA, transB, "matmul");
  const out = Tensor.empty(a.gpu, batched ? [batch, m, n] : [m, n], "f32");
  encodeMatmul(a, b, out, { transposeA: transA, transposeB: transB, alpha });
  return out;
}

function matmulReference(
  a: HostTensor,
  b: HostTensor,
  transA: boolean,
  transB: boolean,
): Float64Array {
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const n = transB ? br : bc;
  const batch = Math.max(
    a.shape.length === 3 ? a.shape[0] : 1,
    b.shape.length === 3 ? b.shape[0] : 1,
  );
  const out = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const ao = a.shape.length === 3 ? t * m * k : 0;
    const bo = b.shape.length === 3 ? t * k * n : 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) {
          acc += a.data[ao + (transA ? p * m + i : i * k + p)] *
            b.data[bo + (transB ? j * k + p : p * n + j)];
        }
        out[t * m * n + i * n + j] = acc;
      }
    }
  }
  return out;
}

/**
 * C = alpha · op(A) · op(B), like `torch.matmul` (with `.mT` for the transposed forms).
 * Shapes (stored): A [M, K] or [K, M] with `transposeA`, B [K, N] or [N, K] with `transposeB`,
 * each optionally with a leading batch dimension.
 *
 * @throws {ShapeError} naming both shapes when inner or batch dimensions differ.
 * @example
 * ```ts ignore
 * import { matmul } from "./matmul.ts";
 * const scores = matmul(q, k, { transposeB: true, alpha: 0.25 }); // [B, N, hd] × [B, N, hd]ᵀ
 * ```
 */
export const matmul: Op<
  [a: Tensor, b: Tensor, options?: MatmulOptions],
  Tensor<"f32">,
  { forward: typeof matmulReference }
> = defineOp({
  name: "matmul",
  forward(ctx, a: Tensor, b: Tensor, options?: MatmulOptions): Tensor<"f32"> {
    const transA = options?.transposeA ?? false;
    const transB = options?.transposeB ?? false;
    const alpha = options?.alpha ?? 1;
    ctx.saved.args = { a, b, transA, transB, alpha };
    return product(a, b, transA, transB, alpha);
  },
  backward(ctx, g) {
    const { a, b, transA, transB, alpha } = ctx.saved.args as {
      a: Tensor;
      b: Tensor;
      transA: boolean;
      transB: boolean;
      alpha: number;
    };
    // C = op(A)·op(B): d op(A) = dC·op(B)ᵀ, d op(B) = op(A)ᵀ·dC, transposed back when stored so.
    const da = transA ? product(b, g, transB, true, alpha) : product(g, b, false, !transB, alpha);
    const db = transB ? product(g, a, true, transA, alpha) : product(a, g, !transA, false, alpha);
    return [
      a.requiresGrad ? unbatch(da, a) : (da.dispose(), null),
      b.requiresGrad ? unbatch(db, b) : (db.dispose(), null),
    ];
  },
  reference: {
    /** op(A)·op(B) in float64. */
    forward: matmulReference,
  },
});

/**
 * y = x·Wᵀ + b over the last dim of x, like `torch.nn.functional.linear`; W is [out, in].
 *
 * @throws {ShapeError} when x's last dim is not W's in-features or b is not [out].
 * @example
 * ```ts ignore
 * import { linear } from "./matmul.ts";
 * const y = linear(x, weight, bias); // [B, N, in] → [B, N, out]
 * ```
 */
export const linear: Op<[x: Tensor, weight: Tensor, bias?: Tensor], Tensor<"f32">, undefined> =
  defineOp({
    name: "linear",
    forward(ctx, x: Tensor, weight: Tensor, bias?: Tensor): Tensor<"f32"> {
      if (weight.rank !== 2 || x.rank < 1 || x.shape[x.rank - 1] !== weight.shape[1]) {
        throw new ShapeError(
          "linear",
          x.shape,
          weight.shape,
          "x's last dim must equal weight's in-features",
        );
      }
      const outFeatures = weight.shape[0];
      if (bias && (bias.rank !== 1 || bias.shape[0] !== outFeatures)) {
        throw new ShapeError(
          "linear",
          weight.shape,
          bias.shape,
          `bias must have shape [${outFeatures}]`,
        );
      }
      const rows = x.size / weight.shape[1];
      const x2 = x.view([rows, weight.shape[1]]);
      const out = Tensor.empty(x.gpu, [...x.shape.slice(0, -1), outFeatures], "f32");
      const out2 = out.view([rows, outFeatures]);
      encodeMatmul(x2, weight, out2, { transposeB: true, bias });
      out2.dispose();
      ctx.saved.args = { x2, weight, bias };
      if (!ctx.needsGrad) x2.dispose();
      return out;
    },
    backward(ctx, g) {
      const { x2, weight, bias } = ctx.saved.args as { x2: Tensor; weight: Tensor; bias?: Tensor };
      const g2 = g.view([x2.shape[0], weight.shape[0]]);
      const dx = product(g2, weight, false, false);
      const dw = product(g2, x2, true, false);
      const db = bias ? sum(g2, 0) : null;
      g2.dispose();
      x2.dispose();
      const dxShaped = dx.view([...g.shape.slice(0, -1), weight.shape[1]]);
      dx.dispose();
      return bias ? [dxShaped, dw, db] : [dxShaped, dw];
    },
  });
