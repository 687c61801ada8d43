import assert from "@std/assert";
import { Rng } from "../../lib/data/rng.ts";
import { ShapeError } from "../../lib/errors.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import { noGrad } from "../../lib/autograd/grad_mode.ts";
import { add, mul } from "../../lib/ops/elementwise.ts";
import { HEADS_REFERENCE, mergeHeads, splitHeads } from "../../lib/ops/heads.ts";
import { permute, reshape, slice } from "../../lib/ops/movement.ts";
import { sum } from "../../lib/ops/reduce.ts";
import { fromArray } from "../../lib/tensor/create.ts";
import { scope } from "../../lib/tensor/scope.ts";

const gpu = await getGpu();
const live = () => gpu.pool.stats().liveBytes;

// [B, N, H, hd]: one token, the synthetic-tiny preset's heads (hd 32), odd sizes with hd 16
// (vec4 path) and odd hd 5 and 1 (scalar path), and one of 3·70720 elements.
const CASES: [number, number, number, number][] = [
  [1, 1, 1, 4],
  [1, 1, 2, 5],
  [3, 17, 3, 16],
  [2, 7, 3, 5],
  [2, 5, 4, 1],
  [2, 65, 3, 32],
  [17, 65, 2, 32],
];

function randomData(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** Pure movement: the GPU must reproduce the reference bit for bit. */
function assertExact(got: ArrayLike<number>, ref: ArrayLike<number>, what: string): void {
  assert.equal(got.length, ref.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== ref[i]) assert.fail(`${what}: element ${i} is ${got[i]}, expected ${ref[i]}`);
  }
}

Deno.test("HEADS_REFERENCE follows timm's qkv layout and merge inverts split", () => {
  const rng = new Rng(1);
  for (const [b, n, h, hd] of CASES.slice(0, 5)) {
    const d = h * hd;
    const qkv = randomData(rng, b * n * 3 * d);
    const parts = HEADS_REFERENCE.split({ shape: [b, n, 3 * d], data: qkv }, 3, h);
    // timm: qkv.reshape(B, N, 3, H, hd).permute(2, 0, 3, 1, 4): channel j = which·D + head·hd + e.
    for (let bi = 0; bi < b; bi++) {
      for (let ni = 0; ni < n; ni++) {
        for (let j = 0; j < 3 * d; j++) {
          const which = Math.floor(j / d);
          const head = Math.floor((j % d) / hd);
          const e = j % hd;
          const got = parts[which][((bi * h + head) * n + ni) * hd + e];
          assert.equal(got, qkv[(bi * n + ni) * 3 * d + j], `split [${b}, ${n}, ${h}, ${hd}]`);
        }
      }
    }
    const shape = [b, h, n, hd];
    const merged = HEADS_REFERENCE.merge(parts.map((data) => ({ shape, data })));
    assertExact(merged, qkv, "merge(split(x))");
  }
});

Deno.test("splitHeads() forward and backward match the reference on odd shapes", async () => {
  const rng = new Rng(2);
  const before = live();
  for (const [b, n, h, hd] of CASES) {
    const d = h * hd;
    const headSize = b * h * n * hd;
    const qkvData = randomData(rng, b * n * 3 * d);
    const grads = [0, 1, 2].map(() => randomData(rng, headSize));
    const label = `splitHeads [B ${b}, N ${n}, H ${h}, hd ${hd}]`;
    await scope(async () => {
      const qkv = fromArray(qkvData, [b, n, 3 * d]).requireGrad();
      const parts = splitHeads(qkv, h);
      const refParts = HEADS_REFERENCE.split({ shape: qkv.shape, data: qkvData }, 3, h);
      for (let i = 0; i < 3; i++) {
        assert.deepEqual(parts[i].shape, [b, h, n, hd]);
        assertExact(await parts[i].toArray(), refParts[i], `${label} part ${i}`);
      }
      // loss = Σ q·Gq + k·Gk + v·Gv: dq = Gq etc. exactly (products with ones, sums of one term).
      const terms = parts.map((p, i) => mul(p, fromArray(grads[i], p.shape)));
      sum(add(add(terms[0], terms[1]), terms[2])).backward();
      const shape = [b, h, n, hd];
      const ref = HEADS_REFERENCE.merge(grads.map((data) => ({ shape, data })));
      assertExact(await qkv.grad!.toArray(), ref, `${label} dqkv`);
      qkv.grad!.dispose();
    });
  }
  assert.equal(live(), before, "every tensor was freed");
});

Deno.test("splitHeads() matches reshape + permute + slice, forward and backward", async () => {
  const rng = new Rng(3);
  const [b, n, h, hd] = [3, 17, 3, 16];
  const d = h * hd;
  const qkvData = randomData(rng, b * n * 3 * d);
  const gData = [0, 1, 2].map(() => randomData(rng, b * h * n * hd));
  await scope(async () => {
    const viaOps = fromArray(qkvData, [b, n, 3 * d]).requireGrad();
    const split = permute(reshape(viaOps, [b, n, 3, h, hd]), [2, 0, 3, 1, 4]);
    const old = [0, 1, 2].map((i) => reshape(slice(split, 0, i, i + 1), [b, h, n, hd]));
    const fused = fromArray(qkvData, [b, n, 3 * d]).requireGrad();
    const parts = splitHeads(fused, h);
    for (const ps of [old, parts]) {
      const terms = ps.map((p, i) => mul(p, fromArray(gData[i], p.shape)));
      sum(add(add(terms[0], terms[1]), terms[2])).backward();
    }
    for (let i = 0; i < 3; i++) {
      assertExact(await parts[i].toArray(), await old[i].toArray(), `part ${i}`);
    }
    assertExact(await fused.grad!.toArray(), await viaOps.grad!.toArray(), "dqkv");
  });
});

Deno.test("splitHeads() backward writes zeros for a part without gradient", async () => {
  const rng = new Rng(4);
  const [b, n, h, hd] = [2, 7, 3, 5];
  const d = h * hd;
  const qkvData = randomData(rng, b * n * 3 * d);
  const gq = randomData(rng, b * h * n * hd);
  const gv = randomData(rng, b * h * n * hd);
  const before = live();
  await scope(async () => {
    const qkv = fromArray(qkvData, [b, n, 3 * d]).requireGrad();
    const [q, _k, v] = splitHeads(qkv, h);
    sum(add(mul(q, fromArray(gq, q.shape)), mul(v, fromArray(gv, v.shape)))).backward();
    const shape = [b, h, n, hd];
    const zero = new Float32Array(gq.length);
    const ref = HEADS_REFERENCE.merge([gq, zero, gv].map((data) => ({ shape, data })));
    assertExact(await qkv.grad!.toArray(), ref, "dqkv with dk = 0");
    // A second graph on the same qkv accumulates into .grad (the shared state was reset).
    const [q2] = splitHeads(qkv, h);
    sum(mul(q2, fromArray(gq, q2.shape))).backward();
    const ref2 = HEADS_REFERENCE.merge([gq, zero, zero].map((data) => ({ shape, data })));
    const twice = ref.map((r, i) => r + ref2[i]);
    assertExact(await qkv.grad!.toArray(), twice, "accumulated dqkv");
    qkv.grad!.dispose();
  });
  assert.equal(live(), before, "every tensor was freed");
});

Deno.test("splitHeads() without grad returns plain tensors; bad shapes throw", async () => {
  const rng = new Rng(5);
  const qkvData = randomData(rng, 2 * 3 * 12);
  await scope(async () => {
    const qkv = fromArray(qkvData, [2, 3, 12]).requireGrad();
    const parts = noGrad(() => splitHeads(qkv, 2));
    const ref = HEADS_REFERENCE.split({ shape: qkv.shape, data: qkvData }, 3, 2);
    for (let i = 0; i < 3; i++) {
      assert.equal(parts[i].gradFn, null);
      assert.equal(parts[i].requiresGrad, false);
      assertExact(await parts[i].toArray(), ref[i], `no-grad part ${i}`);
    }
    assert.throws(() => splitHeads(qkv, 5), ShapeError);
    assert.throws(() => splitHeads(qkv.view([6, 12]), 2), ShapeError);
    assert.throws(() => splitHeads(qkv, 0), RangeError);
    assert.throws(() => mergeHeads(qkv), ShapeError);
  });
});

Deno.test("mergeHeads() forward and backward match the reference on odd shapes", async () => {
  const rng = new Rng(6);
  const before = live();
  for (const [b, n, h, hd] of CASES) {
    const oData = randomData(rng, b * h * n * hd);
    const gData = randomData(rng, b * n * h * hd);
    const label = `mergeHeads [B ${b}, N ${n}, H ${h}, hd ${hd}]`;
    await scope(async () => {
      const o = fromArray(oData, [b, h, n, hd]).requireGrad();
      const y = mergeHeads(o);
      assert.deepEqual(y.shape, [b, n, h * hd]);
      assertExact(
        await y.toArray(),
        HEADS_REFERENCE.merge([{ shape: o.shape, data: oData }]),
        label,
      );
      y.backward(fromArray(gData, y.shape));
      const ref = HEADS_REFERENCE.split({ shape: y.shape, data: gData }, 1, h)[0];
      assertExact(await o.grad!.toArray(), ref, `${label} dO`);
      o.grad!.dispose();
    });
  }
  assert.equal(live(), before, "every tensor was freed");
});
