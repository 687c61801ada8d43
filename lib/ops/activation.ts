/**
 * Activations beyond `relu`: `gelu`, the exact erf form the ViT MLP and the DINO head use. The
 * WGSL is `shaders/ops/gelu.wgsl`; forward and backward use the same erf there, and the float64
 * CPU reference (`gelu.reference`, with {@link erf} and {@link erfc}) is what tests compare with.
 *
 * @module
 */
import { defineOp, type UnaryOp } from "../autograd/define_op.ts";
import { grid, Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { ScalarReference } from "./elementwise.ts";

const WORKGROUP_SIZE = 256;
const SQRT_2 = Math.SQRT2;
const FRAC_1_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * The complementary error function in float64, accurate to ~1e-15 relative everywhere (a
 * Taylor series with positive terms below 1, a continued fraction above). For references and
 * tests; the GPU has its own f32 erf in `gelu.wgsl`.
 *
 * @example
 * ```ts
 * import { erfc } from "./activation.ts";
 * console.log(erfc(3)); // 0.0000220904969985854...
 * ```
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  // Below 1, erfc ≥ 0.157: 1 − erf loses under one digit.
  if (x < 1) return 1 - erfSeries(x);
  // erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated backwards;
  // 200 levels converge to double precision for x ≥ 1.
  let f = 0;
  for (let n = 200; n >= 1; n--) f = n / 2 / (x + f);
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / (x + f);
}

/**
 * The error function in float64 (see {@link erfc} for the accuracy).
 *
 * @example
 * ```ts
 * import { erf } from "./activation.ts";
 * console.log(erf(1)); // 0.8427007929497149
 * ```
 */
export function erf(x: number): number {
  if (Math.abs(x) < 1) return x < 0 ? -erfSeries(-x) : erfSeries(x);
  return x < 0 ? erfc(-x) - 1 : 1 - erfc(x);
}

/** erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)): every term positive, no cancellation. */
function erfSeries(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200 && term > 1e-17 * sum; n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

/** Φ(x), the standard normal CDF, without cancellation in either tail. */
function normalCdf(x: number): number {
  return 0.5 * erfc(-x / SQRT_2);
}

const geluReference: ScalarReference = {
  forward: (x: number) => x * normalCdf(x),
  backward: (x: number) => normalCdf(x) + x * FRAC_1_SQRT_2PI * Math.exp(-0.5 * x * x),
};

function encodeGelu(
  x: Tensor,
  dy: Tensor | undefined,
  entry: "forward" | "backward",
): Tensor<"f32"> {
  const gpu = x.gpu;
  const out = Tensor.empty(gpu, x.shape, "f32");
  if (out.size === 0) return out;
  const vec4 = x.size % 4 === 0;
  const n = vec4 ? x.size / 4 : x.size;
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(SHADERS.ops.gelu, vec4 ? `${entry}_vec4` : entry, { WORKGROUP_SIZE }),
    bindings: [x.binding, dy?.binding, out.binding],
    params: new Params().u32(n).bytes(),
    workgroups: grid(n, WORKGROUP_SIZE, gpu.limits.maxComputeWorkgroupsPerDimension),
  });
  return out;
}

/**
 * Encodes the GELU forward `y = x·Φ(x)` into a new tensor, without autograd (for benches;
 * `gelu` is the op).
 *
 * @example
 * ```ts ignore
 * import { encodeGeluForward } from "./activation.ts";
 * const y = encodeGeluForward(h);
 * ```
 */
export function encodeGeluForward(x: Tensor): Tensor<"f32"> {
  return encodeGelu(x, undefined, "forward");
}

/**
 * Encodes the GELU backward `dx = dy·(Φ(x) + x·φ(x))` into a new tensor, without autograd.
 *
 * @example
 * ```ts ignore
 * import { encodeGeluBackward } from "./activation.ts";
 * const dx = encodeGeluBackward(h, dy);
 * ```
 */
export function encodeGeluBackward(x: Tensor, dy: Tensor): Tensor<"f32"> {
  return encodeGelu(x, dy, "backward");
}

/**
 * GELU, exact erf form: `x·Φ(x) = ½x(1 + erf(x/√2))`, like `torch.nn.functional.gelu(x)`
 * (not the tanh approximation, which differs by up to ~5e-4). Elementwise: any shape.
 *
 * @example
 * ```ts ignore
 * import { gelu } from "./activation.ts";
 * const h = gelu(linear(x, fc1Weight, fc1Bias)); // the ViT MLP
 * ```
 */
export const gelu: UnaryOp<ScalarReference> = defineOp({
  name: "gelu",
  forward(ctx, x: Tensor): Tensor<"f32"> {
    if (ctx.needsGrad) ctx.saved.x = x;
    return encodeGeluForward(x);
  },
  backward: (ctx, grad) => [encodeGeluBackward(ctx.saved.x as Tensor, grad)],
  reference: geluReference,
});
