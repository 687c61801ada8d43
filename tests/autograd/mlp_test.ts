// A 2-layer MLP learns y = sin(x0) + x1² on a toy set with plain SGD: the end-to-end check that the
// kernels, the tape and the optimiser agree.
import assert from "@std/assert";
import { getGpu } from "../../lib/gpu/device.ts";
import { fromArray, randn, truncNormal, zeros } from "../../lib/tensor/create.ts";
import { scope } from "../../lib/tensor/scope.ts";
import { linear } from "../../lib/ops/matmul.ts";
import { mean } from "../../lib/ops/reduce.ts";
import { mul, relu, sub } from "../../lib/ops/elementwise.ts";
import { SGD } from "../../lib/optim/sgd.ts";
import { Rng } from "../../lib/data/rng.ts";
import { detach, isGradEnabled, noGrad } from "../../lib/autograd/grad_mode.ts";

const gpu = await getGpu();

function toyData(n: number, seed: number) {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 2);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[2 * i] = rng.range(-2, 2);
    x[2 * i + 1] = rng.range(-1, 1);
    y[i] = Math.sin(x[2 * i]) + x[2 * i + 1] ** 2;
  }
  return { x: fromArray(x, [n, 2]), y: fromArray(y, [n, 1]) };
}

Deno.test("a 2-layer MLP trained with SGD cuts its loss at least tenfold", async () => {
  const { x, y } = toyData(256, 0);
  const hidden = 64;
  const w1 = truncNormal([hidden, 2], { std: 0.5, seed: 1 }).requireGrad();
  const b1 = zeros([hidden]).requireGrad();
  const w2 = truncNormal([1, hidden], { std: 0.1, seed: 2 }).requireGrad();
  const b2 = zeros([1]).requireGrad();
  const opt = new SGD([w1, b1, w2, b2], { lr: 0.05, momentum: 0.9 });
  const losses: number[] = [];
  const created: number[] = [];
  for (let step = 0; step < 300; step++) {
    const loss = scope(() => {
      const h = relu(linear(x, w1, b1));
      const d = sub(linear(h, w2, b2), y);
      const l = mean(mul(d, d));
      l.backward();
      opt.step();
      opt.zeroGrad();
      return l;
    });
    if (step === 0 || step === 299) losses.push(await loss.item());
    loss.dispose();
    created.push(gpu.pool.stats().buffersCreated);
  }
  const [first, last] = losses;
  assert.ok(last * 10 <= first, `loss went from ${first} to ${last}`);
  // After warm-up the step allocates nothing new.
  assert.equal(created[299], created[10]);
});

Deno.test("backward() accumulates into .grad across calls and rejects non-scalar roots", async () => {
  const w = fromArray([1, 2, 3]).requireGrad();
  const x = randn([3], { seed: 4 });
  for (let i = 0; i < 2; i++) scope(() => mean(mul(w, x)).backward());
  const g = await w.grad!.toArray();
  const xs = await x.toArray();
  g.forEach((v, i) => assert.ok(Math.abs(v - (2 * xs[i]) / 3) < 1e-6));
  assert.throws(() => mul(w, x).backward(), /only one-element outputs get an implicit gradient/);
  assert.throws(() => mean(x).backward(), /does not require grad/);
});

Deno.test("noGrad() and detach() stop the graph", () => {
  const w = fromArray([1, 2]).requireGrad();
  const inside = noGrad(() => mul(w, w));
  assert.equal(inside.requiresGrad, false);
  assert.equal(inside.gradFn, null);
  const d = detach(mul(w, w));
  assert.equal(d.requiresGrad, false);
  assert.equal(isGradEnabled(), true);
});
