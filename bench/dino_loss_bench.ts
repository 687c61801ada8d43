// Run: deno bench -A bench/dino_loss_bench.ts
//
// DINO loss forward (teacher_probs + student_rows + reduce_loss) and backward on the dino ViT-S
// shape: ncrops 10 (2 global + 8 local), B 32 per GPU, K 65536 (out_dim).
// Napkin math, R = ncrops·B = 320 student rows, T = 2B = 64 teacher rows, 4 B per float:
//   teacher_probs  reads t twice (+ center, cached), writes q:          3·T·K·4    =  50 MB
//   student_rows   reads s twice, q once per teacher view it meets
//                  (global rows 1 view, local rows 2: 2B + 2·(ncrops−2)·B = 576 q rows): 2·R·K·4 + 576·K·4 = 319 MB
//   backward       reads s and the 576 q rows, writes ds:               2·R·K·4 + 576·K·4 = 319 MB
// GB/s below = those bytes over the measured time (best of n). The forward is bound by the two
// passes over s (online max/Σexp, then the q·ls dot); lavapipe manages a few GB/s.
import { dinoLoss } from "../lib/dino/loss.ts";
import { getGpu } from "../lib/gpu/device.ts";
import { randn } from "../lib/tensor/create.ts";
import { scope } from "../lib/tensor/scope.ts";

const gpu = await getGpu();
const NCROPS = 10;
const B = 32;
const K = Number(Deno.env.get("DINO_LOSS_BENCH_K") ?? 65536);
const R = NCROPS * B;
const T = 2 * B;
const qRows = T + 2 * (NCROPS - 2) * B;
const forwardBytes = 3 * T * K * 4 + 2 * R * K * 4 + qRows * K * 4;
const backwardBytes = 2 * R * K * 4 + qRows * K * 4;

const student = randn([R, K], { seed: 1 }).requireGrad();
const teacher = randn([T, K], { seed: 2 });
const center = randn([1, K], { seed: 3, std: 0.1 });
await gpu.sync();

const best = { forward: Infinity, "forward+backward": Infinity };

Deno.bench({
  name: `dinoLoss forward (ncrops ${NCROPS}, B ${B}, K ${K})`,
  group: "dino_loss",
  n: 3,
  warmup: 1,
  async fn(b) {
    b.start();
    const t0 = performance.now();
    scope(() => void dinoLoss(student.view([R, K]), teacher, center, { teacherTemp: 0.04 }));
    await gpu.sync();
    best.forward = Math.min(best.forward, performance.now() - t0);
    b.end();
  },
});

Deno.bench({
  name: `dinoLoss forward+backward (ncrops ${NCROPS}, B ${B}, K ${K})`,
  group: "dino_loss",
  n: 3,
  warmup: 1,
  async fn(b) {
    b.start();
    const t0 = performance.now();
    scope(() => {
      dinoLoss(student, teacher, center, { teacherTemp: 0.04 }).backward();
      student.grad?.dispose();
      student.grad = null;
    });
    await gpu.sync();
    best["forward+backward"] = Math.min(best["forward+backward"], performance.now() - t0);
    b.end();
  },
});

globalThis.addEventListener("unload", () => {
  const fwd = best.forward;
  const all = best["forward+backward"];
  if (!Number.isFinite(fwd) || !Number.isFinite(all)) return;
  console.log(
    `dinoLoss forward: ${fwd.toFixed(1)} ms, ${(forwardBytes / fwd / 1e6).toFixed(2)} GB/s; ` +
      `forward+backward: ${all.toFixed(1)} ms, ` +
      `${((forwardBytes + backwardBytes) / all / 1e6).toFixed(2)} GB/s ` +
      `(${gpu.describe().description})`,
  );
});
