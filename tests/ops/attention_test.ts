// attention() and attentionWithProbs(): the float64 reference against finite differences, then the
// GPU kernels against the reference on odd shapes, a peaky softmax, cross-attention and errors.
import assert from "@std/assert";
import { getGpu } from "../../lib/gpu/device.ts";
import { Rng } from "../../lib/data/rng.ts";
import { ShapeError } from "../../lib/errors.ts";
import { attention, attentionWithProbs } from "../../lib/ops/attention.ts";
import { fromArray, zeros } from "../../lib/tensor/create.ts";
import { type HostTensor, maxAbs, maxAbsDiff } from "../../lib/tensor/host.ts";
import { scope } from "../../lib/tensor/scope.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { assertClose, randomHost } from "../helpers.ts";

await getGpu();

const ref = attention.reference;

Deno.test("attention.reference backward matches finite differences", () => {
  // L = Σ O·dO; central differences in float64 with h = 1e-6 have error ~h² + 1e-16/h ≈ 1e-10.
  const rng = new Rng(1);
  for (const [b, h, nq, nk, hd] of [[1, 2, 3, 3, 4], [2, 1, 2, 5, 3]]) {
    const q = randomHost([b, h, nq, hd], rng, 1.5);
    const k = randomHost([b, h, nk, hd], rng, 1.5);
    const v = randomHost([b, h, nk, hd], rng);
    const dO = randomHost([b, h, nq, hd], rng);
    const loss = (qq: HostTensor, kk: HostTensor, vv: HostTensor) => {
      const { out } = ref.forward(qq, kk, vv);
      return out.reduce((acc, o, i) => acc + o * dO.data[i], 0);
    };
    const grads = ref.backward(q, k, v, dO);
    const eps = 1e-6;
    for (
      const [name, t, g] of [["q", q, grads.dq], ["k", k, grads.dk], ["v", v, grads.dv]] as const
    ) {
      for (let i = 0; i < t.data.length; i++) {
        const plus = Float64Array.from(t.data);
        const minus = Float64Array.from(t.data);
        plus[i] += eps;
        minus[i] -= eps;
        const args = (data: Float64Array) =>
          [
            name === "q" ? { shape: q.shape, data } : q,
            name === "k" ? { shape: k.shape, data } : k,
            name === "v" ? { shape: v.shape, data } : v,
          ] as const;
        const fd = (loss(...args(plus)) - loss(...args(minus))) / (2 * eps);
        assert.ok(Math.abs(fd - g[i]) < 1e-8, `d${name}[${i}]: ${g[i]} vs finite difference ${fd}`);
      }
    }
  }
});

Deno.test("attention.reference rows of P sum to one and O averages v", () => {
  const rng = new Rng(2);
  const q = randomHost([1, 1, 4, 8], rng);
  const k = randomHost([1, 1, 6, 8], rng);
  // v constant per column: every convex combination of its rows is that row.
  const v: HostTensor = { shape: [1, 1, 6, 8], data: new Float64Array(48).map((_, i) => i % 8) };
  const { out, probs } = ref.forward(q, k, v);
  for (let r = 0; r < 4; r++) {
    const total = probs.slice(r * 6, r * 6 + 6).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 1) < 1e-12);
  }
  assert.ok(maxAbsDiff(out, new Float64Array(32).map((_, i) => i % 8)) < 1e-12);
});

interface Case {
  b: number;
  h: number;
  nq: number;
  nk?: number;
  hd: number;
  std?: number;
}

/** Runs attentionWithProbs forward and backward on the GPU and compares every output. */
async function checkCase(c: Case, seed: number, tol: number): Promise<void> {
  const nk = c.nk ?? c.nq;
  const rng = new Rng(seed);
  const hq = randomHost([c.b, c.h, c.nq, c.hd], rng, c.std ?? 1);
  const hk = randomHost([c.b, c.h, nk, c.hd], rng, c.std ?? 1);
  const hv = randomHost([c.b, c.h, nk, c.hd], rng);
  const hdO = randomHost([c.b, c.h, c.nq, c.hd], rng);
  const want = ref.forward(hq, hk, hv);
  const wantGrad = ref.backward(hq, hk, hv, hdO);
  const label = `B=${c.b} H=${c.h} Nq=${c.nq} Nk=${nk} hd=${c.hd} std=${c.std ?? 1}`;
  await scope(async () => {
    const [q, k, v] = [hq, hk, hv].map((t) => fromArray(t.data, t.shape).requireGrad());
    const { out, probs } = attentionWithProbs(q, k, v);
    out.backward(fromArray(hdO.data, hdO.shape));
    assertClose(await probs.toArray(), want.probs, tol, `P ${label}`);
    assertClose(await out.toArray(), want.out, tol, `O ${label}`);
    assertClose(await q.grad!.toArray(), wantGrad.dq, tol, `dq ${label}`);
    assertClose(await k.grad!.toArray(), wantGrad.dk, tol, `dk ${label}`);
    assertClose(await v.grad!.toArray(), wantGrad.dv, tol, `dv ${label}`);
  });
}

// f32 sums of ≤ 65 products of O(1) terms: ~1e-6 relative error; 1e-4 is the fixture tolerance.
const TOL = 1e-4;

Deno.test("attention() forward and backward match the reference on odd shapes", async () => {
  // Nk of 1, 7, 17, 65 and 6 run on keys padded to a multiple of 4; 8 on the keys as given.
  const cases: Case[] = [
    { b: 1, h: 1, nq: 1, hd: 8 },
    { b: 2, h: 3, nq: 7, hd: 16 },
    { b: 3, h: 4, nq: 17, hd: 32 },
    { b: 1, h: 2, nq: 65, hd: 8 },
    { b: 2, h: 1, nq: 65, hd: 32 },
    { b: 2, h: 2, nq: 8, hd: 8 },
    { b: 2, h: 1, nq: 6, hd: 5 },
  ];
  for (const [i, c] of cases.entries()) await checkCase(c, 10 + i, TOL);
});

Deno.test("attention() matches the reference on a peaky softmax (q, k std 4 and 8)", async () => {
  // std 8, hd 16: logits have std ~64, so e^logit overflows f32 unless the max is subtracted.
  // Near-one-hot rows make dq, dk tiny differences of large terms; 1e-4 still holds (fixture c3).
  await checkCase({ b: 2, h: 1, nq: 7, hd: 8, std: 4 }, 20, TOL);
  await checkCase({ b: 1, h: 3, nq: 17, hd: 16, std: 4 }, 21, TOL);
  await checkCase({ b: 1, h: 2, nq: 17, hd: 16, std: 8 }, 22, TOL);
});

Deno.test("attention() supports cross-attention (Nq ≠ Nk)", async () => {
  await checkCase({ b: 2, h: 2, nq: 5, nk: 17, hd: 8 }, 30, TOL);
  await checkCase({ b: 1, h: 3, nq: 17, nk: 1, hd: 16 }, 31, TOL);
});

Deno.test("attention() equals attentionWithProbs().out and honours scale", async () => {
  const rng = new Rng(40);
  const [hq, hk, hv] = [0, 1, 2].map(() => randomHost([2, 3, 7, 16], rng));
  await scope(async () => {
    const [q, k, v] = [hq, hk, hv].map((t) => fromArray(t.data, t.shape));
    const plain = await attention(q, k, v).toArray();
    const withProbs = await attentionWithProbs(q, k, v).out.toArray();
    assert.equal(maxAbsDiff(plain, withProbs), 0);
    const scaled = await attention(q, k, v, { scale: 0.1 }).toArray();
    assertClose(scaled, ref.forward(hq, hk, hv, 0.1).out, TOL, "O with scale 0.1");
  });
});

Deno.test("attention() backward returns gradients only for inputs that require grad", async () => {
  const rng = new Rng(50);
  const [hq, hk, hv, hdO] = [0, 1, 2, 3].map(() => randomHost([1, 2, 7, 8], rng));
  const want = ref.backward(hq, hk, hv, hdO);
  await scope(async () => {
    const q = fromArray(hq.data, hq.shape);
    const k = fromArray(hk.data, hk.shape).requireGrad();
    const v = fromArray(hv.data, hv.shape);
    attention(q, k, v).backward(fromArray(hdO.data, hdO.shape));
    assert.equal(q.grad, null);
    assert.equal(v.grad, null);
    assertClose(await k.grad!.toArray(), want.dk, TOL, "dk");
  });
});

Deno.test("attentionWithProbs() probs outlive the backward and can be freed before it", async () => {
  const rng = new Rng(60);
  const [hq, hk, hv] = [0, 1, 2].map(() => randomHost([1, 1, 5, 8], rng));
  const want = ref.forward(hq, hk, hv);
  await scope(async () => {
    const [q, k, v] = [hq, hk, hv].map((t) => fromArray(t.data, t.shape).requireGrad());
    const first = attentionWithProbs(q, k, v);
    first.out.backward(zeros(first.out.shape));
    assertClose(await first.probs.toArray(), want.probs, TOL, "P after backward");
    const second = attentionWithProbs(q, k, v);
    second.probs.dispose();
    second.out.backward(zeros(second.out.shape));
    assert.ok(q.grad !== null);
  });
});

Deno.test("attention() rejects bad shapes naming the op and both shapes", () => {
  scope(() => {
    const t = (shape: number[]): Tensor => zeros(shape);
    assert.throws(
      () => attention(t([2, 7, 16]), t([2, 7, 16]), t([2, 7, 16])),
      (e: Error) =>
        e instanceof ShapeError &&
        e.message === "Cannot attention tensors of shape [2, 7, 16] and [2, 7, 16]: " +
            "q must have rank 4 ([B, H, N, hd]), got rank 3",
    );
    assert.throws(
      () => attention(t([1, 2, 7, 16]), t([1, 2, 7, 16]), t([1, 2, 5, 16])),
      (e: Error) =>
        e instanceof ShapeError && e.message.includes("[1, 2, 7, 16] and [1, 2, 5, 16]") &&
        e.message.includes("k and v must have the same shape"),
    );
    assert.throws(
      () => attention(t([1, 2, 7, 16]), t([1, 2, 7, 8]), t([1, 2, 7, 8])),
      (e: Error) =>
        e instanceof ShapeError && e.message.includes("[1, 2, 7, 16] and [1, 2, 7, 8]") &&
        e.message.includes("q and k must agree in B, H and hd"),
    );
    assert.throws(
      () => attentionWithProbs(t([1, 2, 7, 16]), t([1, 3, 7, 16]), t([1, 3, 7, 16])),
      (e: Error) => e instanceof ShapeError && e.message.startsWith("Cannot attentionWithProbs"),
    );
  });
});

Deno.test("attention() with no queries returns an empty output and zero dk, dv", async () => {
  await scope(async () => {
    const q = zeros([1, 2, 0, 8]).requireGrad();
    const k = fromArray(new Float32Array(2 * 3 * 8).fill(1), [1, 2, 3, 8]).requireGrad();
    const v = fromArray(new Float32Array(2 * 3 * 8).fill(1), [1, 2, 3, 8]).requireGrad();
    const out = attention(q, k, v);
    assert.deepEqual(out.shape, [1, 2, 0, 8]);
    out.backward(zeros([1, 2, 0, 8]));
    assert.equal(maxAbs(await k.grad!.toArray()), 0);
    assert.equal(maxAbs(await v.grad!.toArray()), 0);
  });
});
