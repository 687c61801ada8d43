/**
 * Scaled-dot-product attention on head-split tensors, no mask, no dropout:
 * `attention(q, k, v)` = softmax(q kᵀ · s) v with s = hd^-0.5, like
 * `torch.nn.functional.scaled_dot_product_attention`, and `attentionWithProbs` which also returns
 * the probabilities P (attention maps).
 *
 * How it runs: three dispatches forward and five backward. The products are the register-blocked
 * kernels of `shaders/ops/matmul.wgsl` on [B·H, N, hd] views; the row softmax and its backward are
 * `shaders/ops/attention.wgsl`, in place on the score buffer. When Nk is not a multiple of 4 (197
 * tokens), k and v are first copied with zero rows appended up to the next one: P's rows and every
 * product over the keys then move vec4s, where 197-float rows took the kernels' scalar path
 * (3–5× slower on lavapipe); the softmax gives the padded keys P = 0, and dk, dv drop them again.
 *
 *   forward:  S = s·q kᵀ → P = softmax(S) (in place) → O = P v
 *   backward: dv = Pᵀ dO ; dP = dO vᵀ → dS = P·(dP − Σ_keys dP·P) (in place) ;
 *             dq = s·dS k ; dk = s·dSᵀ q
 *
 * What the forward saves: P itself ([B·H, Nq, n], n = Nk rounded up to a multiple of 4), not the
 * row logsumexp, and the padded copies of k and v when n ≠ Nk. ViT token counts are small
 * (N ≤ 197–257), so P costs 4·B·H·N·n bytes per block — 30 MB for ViT-S at B = 32, N = 197 — and
 * keeping it spares the backward a recomputation of q kᵀ (a third of the forward FLOPs) and an
 * extra kernel. The backward frees them as soon as it has used them. A flash-style kernel that saves
 * only the logsumexp pays off for long sequences, which ViTs on 224² crops do not have.
 *
 * @module
 */
import { defineOp, type Op, type OpContext } from "../autograd/define_op.ts";
import { ShapeError } from "../errors.ts";
import { grid, Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import type { HostTensor } from "../tensor/host.ts";
import { zeros } from "../tensor/create.ts";
import { Tensor } from "../tensor/tensor.ts";
import { encodeMatmul } from "./matmul.ts";
import { encodeNarrow, encodeWriteInto } from "./movement.ts";

const WORKGROUP_SIZE = 64;

/** Options of {@link attention} and {@link attentionWithProbs}. */
export interface AttentionOptions {
  /** Multiplies q kᵀ before the softmax. Default hd^-0.5 (as timm's `Attention` and torch SDPA). */
  scale?: number;
}

/** The result of {@link attentionWithProbs}. */
export interface AttentionWithProbs {
  /** O = P v, [B, H, Nq, hd]; differentiable like {@link attention}'s result. */
  out: Tensor<"f32">;
  /** P = softmax(s · q kᵀ) over the keys, [B, H, Nq, Nk]; no gradient flows through it. */
  probs: Tensor<"f32">;
}

/** The CPU reference of {@link attention}, in float64. */
export interface AttentionReference {
  /** O and P for host tensors q [B, H, Nq, hd], k and v [B, H, Nk, hd]. */
  forward(
    q: HostTensor,
    k: HostTensor,
    v: HostTensor,
    scale?: number,
  ): { out: Float64Array; probs: Float64Array };
  /** dq, dk, dv given dO (shaped like the output). */
  backward(
    q: HostTensor,
    k: HostTensor,
    v: HostTensor,
    dOut: HostTensor,
    scale?: number,
  ): { dq: Float64Array; dk: Float64Array; dv: Float64Array };
}

interface AttentionDims {
  batch: number;
  heads: number;
  nq: number;
  nk: number;
  hd: number;
}

/** What the forward keeps for the backward: k, v and P with the keys padded (see padKeys). */
interface Saved {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  keys: PaddedKeys;
  scale: number;
  dims: AttentionDims;
}

/** k and v as [B·H, n, hd] and P as [B·H, Nq, n], n = Nk rounded up to a multiple of 4. */
interface PaddedKeys {
  n: number;
  k: Tensor;
  v: Tensor;
  probs: Tensor<"f32">;
}

function attentionDims(op: string, q: Tensor, k: Tensor, v: Tensor): AttentionDims {
  for (const [name, t] of [["q", q], ["k", k], ["v", v]] as const) {
    if (t.rank !== 4) {
      throw new ShapeError(
        op,
        q.shape,
        t.shape,
        `${name} must have rank 4 ([B, H, N, hd]), got rank ${t.rank}`,
      );
    }
  }
  if (!k.shape.every((d, i) => d === v.shape[i])) {
    throw new ShapeError(op, k.shape, v.shape, "k and v must have the same shape");
  }
  const [batch, heads, nq, hd] = q.shape;
  const nk = k.shape[2];
  if (k.shape[0] !== batch || k.shape[1] !== heads || k.shape[3] !== hd) {
    throw new ShapeError(op, q.shape, k.shape, "q and k must agree in B, H and hd");
  }
  if (nk === 0 || hd === 0) {
    throw new ShapeError(op, q.shape, k.shape, "attention needs at least one key and hd ≥ 1");
  }
  return { batch, heads, nq, nk, hd };
}

/**
 * Encodes the in-place row softmax (forward) or its backward (dP → dS) of attention.wgsl over
 * rows of `n` floats (a multiple of 4) of which the first `valid` are keys.
 */
function encodeSoftmax(
  probs: Tensor,
  dprobs: Tensor | undefined,
  rows: number,
  n: number,
  valid: number,
): void {
  if (rows === 0) return;
  const gpu = probs.gpu;
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(SHADERS.ops.attention, dprobs ? "backward" : "forward", {
      WORKGROUP_SIZE,
    }),
    bindings: [probs.binding, dprobs?.binding],
    params: new Params().u32(rows, n, valid).bytes(),
    workgroups: grid(rows, WORKGROUP_SIZE, gpu.limits.maxComputeWorkgroupsPerDimension),
  });
}

/** [B, H, N, d] → [B·H, N, d] view; the caller disposes it. */
function flat(t: Tensor): Tensor {
  return t.view([t.shape[0] * t.shape[1], t.shape[2], t.shape[3]]);
}

/** `t` [B, H, N, d] as [B·H, n, d] with n − N zero rows appended per head (a view when n = N). */
function padKeys(t: Tensor, n: number): Tensor {
  const [batch, heads, rows, d] = t.shape;
  if (rows === n) return flat(t);
  const out = zeros([batch * heads, n, d], { gpu: t.gpu });
  const t3 = flat(t);
  encodeWriteInto(out, t3, 1, 0);
  t3.dispose();
  return out;
}

function runForward(
  op: string,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  scaleOption: number | undefined,
): { out: Tensor<"f32">; keys: PaddedKeys; dims: AttentionDims; scale: number } {
  const dims = attentionDims(op, q, k, v);
  const { batch, heads, nq, nk, hd } = dims;
  const scale = scaleOption ?? 1 / Math.sqrt(hd);
  const n = Math.ceil(nk / 4) * 4;
  const out = Tensor.empty(q.gpu, [batch, heads, nq, hd], "f32");
  const keys: PaddedKeys = {
    n,
    k: padKeys(k, n),
    v: padKeys(v, n),
    probs: Tensor.empty(q.gpu, [batch * heads, nq, n], "f32"),
  };
  if (out.size === 0) return { out, keys, dims, scale };
  const [q3, o3] = [q, out].map(flat);
  encodeMatmul(q3, keys.k, keys.probs, { transposeB: true, alpha: scale });
  encodeSoftmax(keys.probs, undefined, batch * heads * nq, n, nk);
  encodeMatmul(keys.probs, keys.v, o3);
  for (const t of [q3, o3]) t.dispose();
  return { out, keys, dims, scale };
}

function disposeKeys(keys: PaddedKeys): void {
  for (const t of [keys.k, keys.v, keys.probs]) t.dispose();
}

function runBackward(ctx: OpContext, grad: Tensor<"f32">): (Tensor | null)[] {
  const { q, k, v, keys, scale, dims } = ctx.saved.attention as Saved;
  const { batch, heads, nq, nk } = dims;
  const n = keys.n;
  const gpu = grad.gpu;
  const needQ = q.requiresGrad;
  const needK = k.requiresGrad;
  const dq = needQ ? Tensor.empty(gpu, q.shape, "f32") : null;
  const dk = needK ? Tensor.empty(gpu, k.shape, "f32") : null;
  const dv = v.requiresGrad ? Tensor.empty(gpu, v.shape, "f32") : null;
  if (nq === 0 || batch * heads === 0) {
    // No queries: O is empty and every key and value received zero gradient.
    for (const t of [dk, dv]) {
      if (t && t.size > 0) gpu.stream.upload(t.storage.buffer, new Float32Array(t.size));
    }
    disposeKeys(keys);
    return [dq, dk, dv];
  }
  // Gradients of the padded keys land in [B·H, n, hd] buffers, then lose the padding rows.
  const padded = (t: Tensor) =>
    n === nk ? flat(t) : Tensor.empty(gpu, [batch * heads, n, q.shape[3]], "f32");
  const unpad = (grad3: Tensor, t: Tensor) => {
    if (n !== nk) {
      const t3 = flat(t);
      encodeNarrow(grad3, t3, 1, 0);
      t3.dispose();
    }
    grad3.dispose();
  };
  const [q3, g3] = [q, grad].map(flat);
  if (dv) {
    const dv3 = padded(dv);
    encodeMatmul(keys.probs, g3, dv3, { transposeA: true });
    unpad(dv3, dv);
  }
  if (dq || dk) {
    const ds = Tensor.empty(gpu, [batch * heads, nq, n], "f32");
    encodeMatmul(g3, keys.v, ds, { transposeB: true });
    encodeSoftmax(keys.probs, ds, batch * heads * nq, n, nk);
    if (dq) {
      const dq3 = flat(dq);
      encodeMatmul(ds, keys.k, dq3, { alpha: scale });
      dq3.dispose();
    }
    if (dk) {
      const dk3 = padded(dk);
      encodeMatmul(ds, q3, dk3, { transposeA: true, alpha: scale });
      unpad(dk3, dk);
    }
    ds.dispose();
  }
  for (const t of [q3, g3]) t.dispose();
  disposeKeys(keys);
  return [dq, dk, dv];
}

function hostDims(q: HostTensor, k: HostTensor): AttentionDims {
  const [batch, heads, nq, hd] = q.shape;
  return { batch, heads, nq, nk: k.shape[2], hd };
}

function referenceForward(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  scale?: number,
): { out: Float64Array; probs: Float64Array } {
  const { batch, heads, nq, nk, hd } = hostDims(q, k);
  const s = scale ?? 1 / Math.sqrt(hd);
  const probs = new Float64Array(batch * heads * nq * nk);
  const out = new Float64Array(batch * heads * nq * hd);
  for (let t = 0; t < batch * heads; t++) {
    const qo = t * nq * hd;
    const ko = t * nk * hd;
    for (let i = 0; i < nq; i++) {
      const row = (t * nq + i) * nk;
      let max = -Infinity;
      for (let j = 0; j < nk; j++) {
        let acc = 0;
        for (let d = 0; d < hd; d++) acc += q.data[qo + i * hd + d] * k.data[ko + j * hd + d];
        probs[row + j] = acc * s;
        max = Math.max(max, acc * s);
      }
      let total = 0;
      for (let j = 0; j < nk; j++) total += probs[row + j] = Math.exp(probs[row + j] - max);
      for (let j = 0; j < nk; j++) probs[row + j] /= total;
      for (let d = 0; d < hd; d++) {
        let acc = 0;
        for (let j = 0; j < nk; j++) acc += probs[row + j] * v.data[ko + j * hd + d];
        out[qo + i * hd + d] = acc;
      }
    }
  }
  return { out, probs };
}

function referenceBackward(
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  dOut: HostTensor,
  scale?: number,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { batch, heads, nq, nk, hd } = hostDims(q, k);
  const s = scale ?? 1 / Math.sqrt(hd);
  const { probs } = referenceForward(q, k, v, s);
  const dq = new Float64Array(q.data.length);
  const dk = new Float64Array(k.data.length);
  const dv = new Float64Array(v.data.length);
  const ds = new Float64Array(nk);
  for (let t = 0; t < batch * heads; t++) {
    const qo = t * nq * hd;
    const ko = t * nk * hd;
    for (let i = 0; i < nq; i++) {
      const row = (t * nq + i) * nk;
      // dP[i, j] = dO_i · v_j ; dS = P·(dP − Σ dP·P)
      let dot = 0;
      for (let j = 0; j < nk; j++) {
        let acc = 0;
        for (let d = 0; d < hd; d++) acc += dOut.data[qo + i * hd + d] * v.data[ko + j * hd + d];
        ds[j] = acc;
        dot += acc * probs[row + j];
      }
      for (let j = 0; j < nk; j++) {
        const p = probs[row + j];
        const g = p * (ds[j] - dot) * s;
        for (let d = 0; d < hd; d++) {
          dq[qo + i * hd + d] += g * k.data[ko + j * hd + d];
          dk[ko + j * hd + d] += g * q.data[qo + i * hd + d];
          dv[ko + j * hd + d] += p * dOut.data[qo + i * hd + d];
        }
      }
    }
  }
  return { dq, dk, dv };
}

const reference: AttentionReference = { forward: referenceForward, backward: referenceBackward };

/**
 * Scaled-dot-product attention O = softmax(q kᵀ · s) v over the keys, no mask, no dropout, like
 * `torch.nn.functional.scaled_dot_product_attention(q, k, v)`. q is [B, H, Nq, hd], k and v are
 * [B, H, Nk, hd] (Nk = Nq for self-attention); the result is [B, H, Nq, hd], before the
 * transpose back to [B, N, H·hd]. s defaults to hd^-0.5.
 *
 * @throws {ShapeError} naming the op and shapes when a tensor is not rank 4, k and v differ, or
 * q and k disagree in B, H or hd.
 * @example
 * ```ts ignore
 * import { attention } from "./attention.ts";
 * const o = attention(q, k, v); // [32, 3, 197, 64] each → [32, 3, 197, 64]
 * ```
 */
export const attention: Op<
  [q: Tensor, k: Tensor, v: Tensor, options?: AttentionOptions],
  Tensor<"f32">,
  AttentionReference
> = defineOp({
  name: "attention",
  forward(ctx, q: Tensor, k: Tensor, v: Tensor, options?: AttentionOptions): Tensor<"f32"> {
    const { out, keys, dims, scale } = runForward("attention", q, k, v, options?.scale);
    if (ctx.needsGrad) ctx.saved.attention = { q, k, v, keys, scale, dims } satisfies Saved;
    else disposeKeys(keys);
    return out;
  },
  backward: runBackward,
  reference,
});

/** The same op as `attention`, handing P to the caller through `sink`. */
const attentionKeepingProbs = defineOp({
  name: "attention",
  forward(
    ctx,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    scale: number | undefined,
    sink: { probs?: Tensor<"f32"> },
  ): Tensor<"f32"> {
    const result = runForward("attentionWithProbs", q, k, v, scale);
    const { out, keys, dims } = result;
    // The caller's P is its own tensor, without the padded keys: it may free it before the
    // backward has used the padded one, or after.
    const { batch, heads, nq, nk } = dims;
    const probs = Tensor.empty(q.gpu, [batch, heads, nq, nk], "f32");
    const p3 = flat(probs);
    encodeNarrow(keys.probs, p3, 2, 0);
    p3.dispose();
    sink.probs = probs;
    if (ctx.needsGrad) {
      ctx.saved.attention = { q, k, v, keys, scale: result.scale, dims } satisfies Saved;
    } else disposeKeys(keys);
    return out;
  },
  backward: runBackward,
});

/**
 * {@link attention} that also returns the attention probabilities P = softmax(q kᵀ · s)
 * ([B, H, Nq, Nk]), e.g. for DINO's attention maps: `probs[:, :, 0, 1:]` is the CLS query's
 * attention over the patches. Same cost as `attention`; `out` is differentiable, `probs` is not.
 *
 * @throws {ShapeError} as {@link attention}, naming `attentionWithProbs`.
 * @example
 * ```ts ignore
 * import { attentionWithProbs } from "./attention.ts";
 * const { out, probs } = attentionWithProbs(q, k, v); // probs: [B, H, N, N]
 * ```
 */
export function attentionWithProbs(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options?: AttentionOptions,
): AttentionWithProbs {
  const sink: { probs?: Tensor<"f32"> } = {};
  const out = attentionKeepingProbs(q, k, v, options?.scale, sink);
  return { out, probs: sink.probs! };
}
