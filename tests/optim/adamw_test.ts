// AdamW, clipGradients() and emaUpdate(): the GPU against the float64 references over several
// steps (decay groups, a frozen parameter, per-parameter step counts, clipping on and off, fused
// and separate), state save/load, and errors naming the op.
import assert from "@std/assert";
import { Rng } from "../../lib/data/rng.ts";
import { ShapeError } from "../../lib/errors.ts";
import { getGpu } from "../../lib/gpu/device.ts";
import { AdamW, adamwReference } from "../../lib/optim/adamw.ts";
import { clipGradients, clipReference } from "../../lib/optim/clip.ts";
import { emaReference, emaUpdate } from "../../lib/optim/ema.ts";
import { fromArray, zeros } from "../../lib/tensor/create.ts";
import { maxAbs, maxAbsDiff } from "../../lib/tensor/host.ts";
import { scope } from "../../lib/tensor/scope.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";

await getGpu();

function randomArray(n: number, rng: Rng, std = 1): Float32Array {
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = std * rng.normal();
  return data;
}

/** max|got − want| ≤ tol · max|want| (+ a floor for all-zero tensors). */
function assertRel(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) {
  const err = maxAbsDiff(got, want);
  const allowed = tol * maxAbs(want) + 1e-30;
  assert.ok(err <= allowed, `${what}: max abs err ${err} > ${allowed}`);
}

interface RefParam {
  name: string;
  shape: number[];
  weightDecay: boolean;
  /** Steps (0-based) at which the parameter has a gradient. */
  gradAt: (step: number) => boolean;
}

const PARAMS: RefParam[] = [
  { name: "blocks.0.attn.qkv.weight", shape: [7, 3], weightDecay: true, gradAt: () => true },
  { name: "blocks.0.attn.qkv.bias", shape: [1025], weightDecay: false, gradAt: () => true },
  { name: "cls_token", shape: [1, 1, 1], weightDecay: true, gradAt: () => true },
  { name: "head.last_layer.weight_v", shape: [5, 2], weightDecay: true, gradAt: (k) => k >= 2 },
  { name: "head.last_layer.weight_g", shape: [5, 1], weightDecay: false, gradAt: () => false },
  // 24 elements: whole vec4s, so step_vec4 (the others take the scalar entry point).
  { name: "blocks.0.mlp.fc1.weight", shape: [4, 6], weightDecay: true, gradAt: () => true },
];

const STEPS = [
  { lr: 1e-3, weightDecay: 0.04, clipGrad: 3.0 },
  { lr: 2e-3, weightDecay: 0.05, clipGrad: 0.5 },
  { lr: 5e-4, weightDecay: 0.1, clipGrad: 0 },
  { lr: 1e-3, weightDecay: 0.2, clipGrad: 1.0 },
];

/**
 * Runs STEPS on the GPU and on the CPU reference and compares after each step. `separateClip`
 * clips with clipGradients() before an unclipped step instead of the fused clip.
 */
async function runAgainstReference(separateClip: boolean) {
  await scope(async () => {
    const rng = new Rng(separateClip ? 21 : 20);
    const init = PARAMS.map((p) => randomArray(p.shape.reduce((a, b) => a * b, 1), rng, 0.5));
    const tensors = PARAMS.map((p, i) => fromArray(init[i], p.shape));
    const opt = new AdamW(
      PARAMS.map((p, i) => ({ name: p.name, param: tensors[i], weightDecay: p.weightDecay })),
    );
    const ref = init.map((d) => ({
      param: Float64Array.from(d),
      m: new Float64Array(d.length),
      v: new Float64Array(d.length),
      step: 0,
    }));
    for (const [k, s] of STEPS.entries()) {
      PARAMS.forEach((p, i) => {
        tensors[i].grad = p.gradAt(k)
          // Gradient scales from 0.01 to 10 so that some tensors clip and some do not.
          ? fromArray(randomArray(init[i].length, rng, 10 ** (i % 3 - 1)), p.shape)
          : null;
      });
      const grads = await Promise.all(tensors.map((t) => t.grad?.toArray() ?? null));
      if (separateClip && s.clipGrad > 0) {
        clipGradients(tensors.flatMap((t) => (t.grad ? [t.grad] : [])), s.clipGrad);
        opt.step({ ...s, clipGrad: 0 });
      } else {
        opt.step(s);
      }
      for (const [i, p] of PARAMS.entries()) {
        const g = grads[i];
        const r = ref[i];
        if (g) {
          const clipped = Float64Array.from(g);
          if (s.clipGrad > 0) clipReference(clipped, s.clipGrad);
          r.step++;
          adamwReference(r.param, clipped, r.m, r.v, {
            lr: s.lr,
            weightDecay: p.weightDecay ? s.weightDecay : 0,
            step: r.step,
          });
          // f32 vs float64: clipping and moments agree to a few ulps (1e-6 relative); the
          // parameter moves by ~lr per step, so 1e-6 of its magnitude is ~10 ulps.
          assertRel(await tensors[i].grad!.toArray(), clipped, 1e-6, `${p.name} grad s${k}`);
        }
        const state = opt.state(p.name);
        assert.equal(state?.step ?? 0, r.step, `${p.name} step count s${k}`);
        assertRel(await tensors[i].toArray(), r.param, 1e-6, `${p.name} param s${k}`);
        if (r.step > 0) {
          assertRel(await state!.expAvg.toArray(), r.m, 1e-5, `${p.name} exp_avg s${k}`);
          assertRel(await state!.expAvgSq.toArray(), r.v, 1e-5, `${p.name} exp_avg_sq s${k}`);
        } else {
          assert.equal(state, undefined, `${p.name} has no state before its first gradient`);
        }
      }
    }
    // The frozen parameter never moved: no decay without a gradient.
    assert.deepEqual(await tensors[4].toArray(), init[4]);
    opt.dispose();
  });
}

Deno.test("AdamW.step() with fused clipping matches the reference over several steps", async () => {
  await runAgainstReference(false);
});

Deno.test("AdamW.step() after clipGradients() matches the reference over several steps", async () => {
  await runAgainstReference(true);
});

Deno.test("clipGradients() clips only tensors above the norm and returns the norms", async () => {
  await scope(async () => {
    const rng = new Rng(5);
    // norm partials give each thread ≥ 64 elements: 70001 take 5 workgroups (scalar loads),
    // 70004 the same over vec4s, and 2²² + 4 all 256 workgroups, some threads looping twice.
    const sizes = [1, 7, 1025, 70001, 4, 70004, 2 ** 22 + 4];
    const data = sizes.map((n, i) => randomArray(n, rng, i === 1 ? 0.01 : 1));
    const grads = data.map((d) => fromArray(d));
    const norms = clipGradients(grads, 2.0);
    const wantNorms = data.map((d) => clipReference(Float64Array.from(d), 2.0));
    assertRel(await norms.toArray(), wantNorms, 1e-6, "norms");
    for (const [i, d] of data.entries()) {
      const want = Float64Array.from(d);
      const norm = clipReference(want, 2.0);
      const got = await grads[i].toArray();
      assertRel(got, want, 1e-6, `grad ${i}`);
      if (norm < 2.0) assert.deepEqual(got, d, `grad ${i} (norm ${norm}) is left bit-exact`);
    }
  });
});

Deno.test("AdamW.stateDict() and loadStateDict() resume training exactly", async () => {
  await scope(async () => {
    const rng = new Rng(7);
    const init = [randomArray(12, rng), randomArray(5, rng)];
    const grads = [0, 1, 2].map(() => [randomArray(12, rng), randomArray(5, rng)]);
    const make = () => {
      const params = init.map((d) => fromArray(d));
      const opt = new AdamW([
        { name: "w", param: params[0], weightDecay: true },
        { name: "b", param: params[1], weightDecay: false },
      ]);
      return { params, opt };
    };
    const step = ({ params, opt }: ReturnType<typeof make>, k: number, only?: number) => {
      params.forEach((
        p,
        i,
      ) => (p.grad = only === undefined || only === i ? fromArray(grads[k][i]) : null));
      opt.step({ lr: 1e-2, weightDecay: 0.1, clipGrad: 1 });
    };
    const a = make();
    step(a, 0, 0); // "b" gets no gradient: step count 0, no state
    step(a, 1);
    const saved = a.opt.stateDict();
    assert.deepEqual(saved.steps, { w: 2, b: 1 });
    assert.deepEqual(Object.keys(saved.tensors).sort(), [
      "exp_avg.b",
      "exp_avg.w",
      "exp_avg_sq.b",
      "exp_avg_sq.w",
    ]);
    const b = make();
    for (const [i, p] of b.params.entries()) {
      const src = a.params[i];
      p.dispose();
      b.params[i] = fromArray(await src.toArray());
    }
    const resumed = new AdamW([
      { name: "w", param: b.params[0], weightDecay: true },
      { name: "b", param: b.params[1], weightDecay: false },
    ]);
    resumed.loadStateDict(saved);
    step(a, 2);
    step({ params: b.params, opt: resumed }, 2);
    for (const i of [0, 1]) {
      assert.deepEqual(await b.params[i].toArray(), await a.params[i].toArray());
    }
    assert.equal(resumed.state("b")!.step, 2);
  });
});

Deno.test("emaUpdate() matches the reference in place", async () => {
  await scope(async () => {
    const rng = new Rng(8);
    const teacher = [randomArray(1, rng), randomArray(1025, rng)];
    const student = [randomArray(1, rng), randomArray(1025, rng)];
    const t = teacher.map((d) => fromArray(d));
    emaUpdate(t, student.map((d) => fromArray(d)), 0.996);
    for (const i of [0, 1]) {
      const want = Float64Array.from(teacher[i]);
      emaReference(want, student[i], 0.996);
      // m·t + (1 − m)·s in f32: a couple of ulps of max|t|.
      assertRel(await t[i].toArray(), want, 1e-6, `teacher ${i}`);
    }
  });
});

Deno.test("AdamW, clipGradients() and emaUpdate() reject bad input with errors naming the op", () => {
  scope(() => {
    const p = zeros([3, 2]);
    p.grad = zeros([2, 3]) as Tensor<"f32">;
    const opt = new AdamW([{ name: "w", param: p, weightDecay: true }]);
    assert.throws(
      () => opt.step({ lr: 1e-3, weightDecay: 0 }),
      (e: Error) => e instanceof ShapeError && /AdamW\.step.*\[3, 2\].*\[2, 3\].*w/.test(e.message),
    );
    assert.throws(
      () =>
        new AdamW([{ name: "w", param: p, weightDecay: true }, {
          name: "w",
          param: p,
          weightDecay: false,
        }]),
      /appears twice/,
    );
    assert.throws(() => opt.state("nope"), /no such parameter/);
    assert.throws(
      () => emaUpdate([zeros([2])], [zeros([3])], 0.9),
      (e: Error) => e instanceof ShapeError && /emaUpdate/.test(e.message),
    );
    assert.throws(() => emaUpdate([zeros([2])], [], 0.9), /emaUpdate.*1 teacher and 0 student/);
    assert.throws(() => clipGradients([zeros([2])], 0), /clipGradients.*positive/);
  });
});
