/**
 * The head split and merge of multi-head attention, each one dispatch of `shaders/ops/heads.wgsl`:
 * `splitHeads(qkv [B, N, 3·H·hd], H)` → q, k, v [B, H, N, hd] (channel j of qkv = which·D +
 * head·hd + d, as timm's `qkv.reshape(B, N, 3, H, hd).permute(2, 0, 3, 1, 4)`), and
 * `mergeHeads(o [B, H, N, hd])` → [B, N, H·hd] (timm's `o.transpose(1, 2).reshape(B, N, D)`).
 * Both are pure movement, so forward and backward are exact: the backward of one is the forward
 * of the other.
 *
 * Why not permute + slice: that path made four strided copies forward (the permute, then one
 * slice per part) and, backward, three zero-filled [3, B, H, N, hd] buffers, three slice writes,
 * two full-size adds on the tape and one more permute. Here it is one copy each way.
 *
 * How splitHeads, an op with three outputs, fits `defineOp` (one output per op): a hidden op
 * `splitHeads` runs the one forward dispatch into three fresh tensors and returns a one-element
 * *token* (an autograd node whose input is qkv); three ops `splitHeads.q/k/v` take the token and
 * return the prepared q, k and v. Backward, each part's node stashes its gradient and hands the
 * token a placeholder gradient (only the first one, so the tape adds nothing); the tape processes
 * the token after every part that received a gradient (it is their input, and the order is
 * topological), and the token's backward gathers the stashed dq, dk, dv into dqkv in one dispatch,
 * writing zeros for a part that received none. The alternatives were worse: q, k, v as views of
 * one stacked [3, B, H, N, hd] tensor need views at an offset (which `Tensor.view` cannot make)
 * or an `attention()` that takes the stack; three independent ops would make the tape sum three
 * full [B, N, 3D] gradients. Without a gradient to track, splitHeads is just the dispatch.
 *
 * @module
 */
import { defineOp, type Op } from "../autograd/define_op.ts";
import { isGradEnabled } from "../autograd/grad_mode.ts";
import { ShapeError } from "../errors.ts";
import { grid, Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import type { HostTensor } from "../tensor/host.ts";
import { Tensor } from "../tensor/tensor.ts";

// Rows per workgroup: one row (hd elements) per invocation; small so that few rows still spread.
const WORKGROUP_SIZE = 64;

/** CPU reference of {@link splitHeads} and {@link mergeHeads}, exact (pure index maps). */
export interface HeadsReference {
  /**
   * packed [B, N, P·H·hd] → P arrays [B, H, N, hd]: splitHeads forward (P = 3) and mergeHeads
   * backward (P = 1).
   */
  split(packed: HostTensor, parts: number, numHeads: number): Float64Array[];
  /**
   * P tensors [B, H, N, hd] → packed [B, N, P·H·hd]: mergeHeads forward (P = 1) and splitHeads
   * backward (P = 3, the gradients of q, k, v).
   */
  merge(heads: readonly HostTensor[]): Float64Array;
}

/** `splitHeads` with its CPU reference attached. */
export type SplitHeads =
  & ((qkv: Tensor, numHeads: number) => [
    q: Tensor<"f32">,
    k: Tensor<"f32">,
    v: Tensor<"f32">,
  ])
  & {
    /** The CPU reference. */
    readonly reference: HeadsReference;
  };

/** Packed flat index of element (which, b, h, n, d). */
function packedIndex(
  [b, h, n, d]: number[],
  which: number,
  parts: number,
  [heads, tokens, hd]: number[],
): number {
  return (((b * tokens + n) * parts + which) * heads + h) * hd + d;
}

function forEachHeadElement(
  [batch, heads, tokens, hd]: readonly number[],
  fn: (i: number, coord: number[]) => void,
): void {
  let i = 0;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let n = 0; n < tokens; n++) {
        for (let d = 0; d < hd; d++) fn(i++, [b, h, n, d]);
      }
    }
  }
}

/**
 * The CPU reference of both ops (also `splitHeads.reference` and `mergeHeads.reference`).
 *
 * @example
 * ```ts
 * import { HEADS_REFERENCE } from "./heads.ts";
 * // qkv [1, 1, 6] with H = 1: q = [0, 1], k = [2, 3], v = [4, 5]
 * const qkv = { shape: [1, 1, 6], data: new Float32Array([0, 1, 2, 3, 4, 5]) };
 * const [q, k, v] = HEADS_REFERENCE.split(qkv, 3, 1);
 * console.log(k); // Float64Array(2) [2, 3]
 * ```
 */
export const HEADS_REFERENCE: HeadsReference = {
  split(packed, parts, numHeads) {
    const [batch, tokens, channels] = packed.shape;
    const hd = channels / (parts * numHeads);
    const shape = [batch, numHeads, tokens, hd];
    return Array.from({ length: parts }, (_, which) => {
      const out = new Float64Array(batch * numHeads * tokens * hd);
      forEachHeadElement(shape, (i, coord) => {
        out[i] = packed.data[packedIndex(coord, which, parts, [numHeads, tokens, hd])];
      });
      return out;
    });
  },
  merge(headTensors) {
    const [batch, heads, tokens, hd] = headTensors[0].shape;
    const parts = headTensors.length;
    const out = new Float64Array(batch * tokens * parts * heads * hd);
    headTensors.forEach((t, which) => {
      forEachHeadElement(t.shape, (i, coord) => {
        out[packedIndex(coord, which, parts, [heads, tokens, hd])] = t.data[i];
      });
    });
    return out;
  },
};

/** Sizes of one head split: P parts of [B, H, N, hd]. */
interface HeadDims {
  batch: number;
  heads: number;
  tokens: number;
  hd: number;
  parts: number;
}

/**
 * Encodes `pack` (head tensors → packed) or `unpack`/`unpack_one` (packed → head tensors).
 * `heads` holds P tensors, `null` for a part that `pack` fills with zeros.
 */
function encode(
  direction: "pack" | "unpack",
  packed: Tensor,
  heads: readonly (Tensor | null)[],
  dims: HeadDims,
): void {
  const { batch, tokens, hd, parts } = dims;
  const gpu = packed.gpu;
  const vec = hd % 4 === 0 ? 4 : 1;
  const rows = batch * dims.heads * tokens;
  if (rows === 0 || hd === 0) return;
  let present = 0;
  heads.forEach((t, which) => present |= t ? 1 << which : 0);
  const params = new Params()
    .u32(rows, parts, present, hd / vec, tokens, dims.heads)
    .f32(1 / tokens, 1 / dims.heads);
  const headBindings = [0, 1, 2].map((i) => heads[i]?.binding ?? gpu.placeholder);
  let entry: string;
  let bindings: (GPUBufferBinding | GPUBuffer | undefined)[];
  if (direction === "pack") {
    entry = "pack";
    bindings = [...headBindings, packed.binding];
  } else if (parts === 1) {
    // A single output: the other two output bindings stay unbound (two writable bindings of one
    // placeholder buffer would alias).
    entry = "unpack_one";
    bindings = [packed.binding, headBindings[0], undefined, undefined];
  } else {
    entry = "unpack";
    bindings = [packed.binding, ...headBindings];
  }
  const [x, y] = grid(rows, WORKGROUP_SIZE, gpu.limits.maxComputeWorkgroupsPerDimension);
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(SHADERS.ops.heads, vec === 4 ? `${entry}_vec4` : entry, {
      // Every index the kernel divides is < rows ≤ 2^23: exact in f32, so exact after correction.
      FAST_DIV: Number(rows <= 2 ** 23),
    }),
    bindings,
    params: params.bytes(),
    workgroups: [x, y, parts],
  });
}

function splitDims(qkv: Tensor, numHeads: number): HeadDims {
  if (!Number.isInteger(numHeads) || numHeads < 1) {
    throw new RangeError(`Cannot split heads with numHeads = ${numHeads}: expected an integer ≥ 1`);
  }
  if (qkv.rank !== 3 || qkv.shape[2] % (3 * numHeads) !== 0) {
    throw new ShapeError(
      "splitHeads",
      qkv.shape,
      null,
      `expected [B, N, 3·H·hd] with the channels divisible by 3 · ${numHeads} heads`,
    );
  }
  const [batch, tokens, channels] = qkv.shape;
  return { batch, heads: numHeads, tokens, hd: channels / (3 * numHeads), parts: 3 };
}

function splitForward(qkv: Tensor, dims: HeadDims): [Tensor<"f32">, Tensor<"f32">, Tensor<"f32">] {
  const shape = [dims.batch, dims.heads, dims.tokens, dims.hd];
  const parts = [0, 1, 2].map(() => Tensor.empty(qkv.gpu, shape, "f32"));
  encode("unpack", qkv, parts, dims);
  return parts as [Tensor<"f32">, Tensor<"f32">, Tensor<"f32">];
}

/** What one splitHeads call shares between its token and its three parts. */
interface SplitState {
  dims: HeadDims;
  /** q, k, v until their part ops hand them out. */
  parts: (Tensor<"f32"> | null)[];
  /** Gradients stashed by the parts' backwards (views the state owns). */
  grads: (Tensor | null)[];
  /** True once a part gave the token its (placeholder) gradient in this backward pass. */
  tokenGradGiven: boolean;
}

const STATES = new WeakMap<Tensor, SplitState>();

/** The token: runs the forward dispatch; its backward is the fused gather into dqkv. */
const splitToken: Op<[qkv: Tensor, numHeads: number], Tensor<"f32">, undefined> = defineOp({
  name: "splitHeads",
  forward(ctx, qkv: Tensor, numHeads: number): Tensor<"f32"> {
    const dims = splitDims(qkv, numHeads);
    const state: SplitState = {
      dims,
      parts: splitForward(qkv, dims),
      grads: [null, null, null],
      tokenGradGiven: false,
    };
    ctx.saved.state = state;
    ctx.saved.qkvShape = qkv.shape;
    const token = Tensor.empty(qkv.gpu, [1], "f32");
    STATES.set(token, state);
    return token;
  },
  backward(ctx, tokenGrad) {
    const state = ctx.saved.state as SplitState;
    const dqkv = Tensor.empty(tokenGrad.gpu, ctx.saved.qkvShape as number[], "f32");
    encode("pack", dqkv, state.grads, state.dims);
    for (const g of state.grads) g?.dispose();
    state.grads = [null, null, null];
    state.tokenGradGiven = false;
    return [dqkv];
  },
});

/** One of q, k, v, taken from the token; backward stashes its gradient for the token. */
const splitPart: Op<[token: Tensor, which: number], Tensor<"f32">, undefined> = defineOp({
  name: "splitHeads.part",
  forward(ctx, token: Tensor, which: number): Tensor<"f32"> {
    const state = STATES.get(token)!;
    const part = state.parts[which]!;
    state.parts[which] = null;
    ctx.saved.state = state;
    ctx.saved.which = which;
    return part;
  },
  backward(ctx, grad) {
    const state = ctx.saved.state as SplitState;
    const which = ctx.saved.which as number;
    // The tape frees `grad` after this call: keep a view (a second handle on its memory).
    const previous = state.grads[which];
    state.grads[which] = grad.view(grad.shape);
    previous?.dispose();
    if (state.tokenGradGiven) return [null];
    state.tokenGradGiven = true;
    // The token's gradient is never read, only its arrival matters: no need to initialise it.
    return [Tensor.empty(grad.gpu, [1], "f32")];
  },
});

/**
 * Splits qkv [B, N, 3·H·hd] into q, k, v [B, H, N, hd] each, in one dispatch each way; same as
 * timm's `qkv.reshape(B, N, 3, H, hd).permute(2, 0, 3, 1, 4).unbind(0)`. See the module doc for
 * how the three outputs share one autograd node.
 *
 * @example
 * ```ts ignore
 * import { splitHeads } from "./heads.ts";
 * const [q, k, v] = splitHeads(qkv, 3); // qkv [B, N, 3·D] → [B, 3, N, D / 3] each
 * ```
 */
export const splitHeads: SplitHeads = Object.assign(
  (qkv: Tensor, numHeads: number): [Tensor<"f32">, Tensor<"f32">, Tensor<"f32">] => {
    if (qkv.dtype !== "f32") {
      throw new TypeError(
        `Cannot splitHeads a tensor of dtype ${qkv.dtype} and shape [${
          qkv.shape.join(", ")
        }]: expected f32`,
      );
    }
    if (!(isGradEnabled() && qkv.requiresGrad)) return splitForward(qkv, splitDims(qkv, numHeads));
    const token = splitToken(qkv, numHeads);
    const parts = [0, 1, 2].map((which) => splitPart(token, which));
    return parts as [Tensor<"f32">, Tensor<"f32">, Tensor<"f32">];
  },
  { reference: HEADS_REFERENCE },
);

function mergeDims(o: Tensor): HeadDims {
  if (o.rank !== 4) {
    throw new ShapeError("mergeHeads", o.shape, null, `expected [B, H, N, hd], got rank ${o.rank}`);
  }
  const [batch, heads, tokens, hd] = o.shape;
  return { batch, heads, tokens, hd, parts: 1 };
}

/**
 * Merges heads o [B, H, N, hd] into [B, N, H·hd] in one dispatch (backward: one dispatch back);
 * same as timm's `o.transpose(1, 2).reshape(B, N, H * hd)`.
 *
 * @example
 * ```ts ignore
 * import { mergeHeads } from "./heads.ts";
 * const y = mergeHeads(o); // [B, 3, N, 32] → [B, N, 96]
 * ```
 */
export const mergeHeads: Op<[o: Tensor], Tensor<"f32">, HeadsReference> = defineOp({
  name: "mergeHeads",
  forward(ctx, o: Tensor): Tensor<"f32"> {
    const dims = mergeDims(o);
    ctx.saved.dims = dims;
    const out = Tensor.empty(o.gpu, [dims.batch, dims.tokens, dims.heads * dims.hd], "f32");
    encode("pack", out, [o], dims);
    return out;
  },
  backward(ctx, grad) {
    const dims = ctx.saved.dims as HeadDims;
    const dO = Tensor.empty(grad.gpu, [dims.batch, dims.heads, dims.tokens, dims.hd], "f32");
    encode("unpack", grad, [dO], dims);
    return [dO];
  },
  reference: HEADS_REFERENCE,
});
