// Run: deno task pretrain
//      deno run -A examples/pretrain.ts --steps 400 --lr 0.05
//
// Interim example until the DINO pretraining pipeline lands: trains a 2-layer MLP on a toy
// regression problem with our WGSL kernels, autograd and SGD, and prints the loss as it falls.
import { parseArgs } from "@std/cli/parse-args";
import {
  fromArray,
  getGpu,
  linear,
  mean,
  mul,
  relu,
  Rng,
  scope,
  SGD,
  sub,
  truncNormal,
  zeros,
} from "../mod.ts";

const HELP = `Usage: deno run -A examples/pretrain.ts [options]

NOTE: the DINO pretraining pipeline is not implemented yet; this example trains a small MLP.

Options:
  --steps N     training steps (default 300)
  --lr X        SGD learning rate (default 0.05)
  --hidden N    hidden units (default 64)
  --seed N      random seed (default 0)
  --help        show this help`;

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "300" },
    lr: { type: "string", default: "0.05" },
    hidden: { type: "string", default: "64" },
    seed: { type: "string", default: "0" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(HELP);
  Deno.exit(0);
}
const steps = Number(values.steps);
const hidden = Number(values.hidden);
const seed = Number(values.seed);

const gpu = await getGpu();
console.log(`adapter: ${gpu.describe().description}`);
console.log(
  "DINO pretraining is not implemented yet: training a 2-layer MLP on y = sin(x0) + x1².",
);

const rng = new Rng(seed);
const n = 512;
const xs = new Float32Array(n * 2);
const ys = new Float32Array(n);
for (let i = 0; i < n; i++) {
  xs[2 * i] = rng.range(-2, 2);
  xs[2 * i + 1] = rng.range(-1, 1);
  ys[i] = Math.sin(xs[2 * i]) + xs[2 * i + 1] ** 2;
}
const x = fromArray(xs, [n, 2]);
const y = fromArray(ys, [n, 1]);
const w1 = truncNormal([hidden, 2], { std: 0.5, seed: seed + 1 }).requireGrad();
const b1 = zeros([hidden]).requireGrad();
const w2 = truncNormal([1, hidden], { std: 0.1, seed: seed + 2 }).requireGrad();
const b2 = zeros([1]).requireGrad();
const optimizer = new SGD([w1, b1, w2, b2], { lr: Number(values.lr), momentum: 0.9 });

const start = performance.now();
for (let step = 0; step < steps; step++) {
  const loss = scope(() => {
    const d = sub(linear(relu(linear(x, w1, b1)), w2, b2), y);
    const l = mean(mul(d, d));
    l.backward();
    optimizer.step();
    optimizer.zeroGrad();
    return l;
  });
  // Reading the loss waits for the GPU: do it rarely.
  if (step % 50 === 0 || step === steps - 1) {
    console.log(`step ${String(step).padStart(4)}  loss ${(await loss.item()).toFixed(5)}`);
  }
  loss.dispose();
}
await gpu.sync();
console.log(`${steps} steps in ${((performance.now() - start) / 1000).toFixed(2)} s`);
