// Run: deno bench -A bench/matmul_bench.ts
//      MATMUL_BENCH=all deno bench -A bench/matmul_bench.ts   (every ViT layer, ViT-S/16, 2048³)
//      DINOGPU_MATMUL_VARIANT=block deno bench -A bench/matmul_bench.ts   (forces the "tuned" row)
//      On a GPU adapter it adds 4096³; tools/device_check.sh runs it on the H200.
//
// C = op(A)·op(B) at the shapes a DINO step runs: ViT-Tiny (D = 192, MLP 768) and ViT-S/16
// (D = 384, MLP 1536) over a batch of 32 global crops of 197 tokens, M = 32·197 = 6304 rows.
// Forward linears are nt (x·Wᵀ), their backward dX = dY·W is nn and dW = dYᵀ·X is tn with
// K = 6304. Napkin math: 2·M·N·K FLOPs per product (qkv fwd: 2·6304·576·192 = 1.39 GFLOP);
// GFLOP/s = 2MNK / time, where time is one dispatch and its wait minus the cost of an empty
// wait (~11 ms on lavapipe, measured at start). Each group times every variant of
// shaders/ops/matmul.wgsl and the one `tuneMatmul` picked for the shape ("tuned"); `naive`, at
// ~0.3 GFLOP/s on lavapipe, only runs the first 128 rows of M (its throughput does not depend
// on M). Results print after the table.
import process from "node:process";
import { getGpu } from "../lib/gpu/device.ts";
import {
  encodeMatmul,
  MATMUL_VARIANTS,
  type MatmulProblem,
  type MatmulVariant,
  matmulVariantFor,
} from "../lib/ops/matmul.ts";
import { tuneMatmul } from "../lib/ops/matmul_tune.ts";
import { full } from "../lib/tensor/create.ts";
import { Tensor } from "../lib/tensor/tensor.ts";

const gpu = await getGpu();
const ALL = Deno.env.get("MATMUL_BENCH") === "all";
const TOKENS = 32 * 197;
const NAIVE_ROWS = 128;

interface Shape {
  name: string;
  problem: MatmulProblem;
}

function problem(m: number, k: number, n: number, mode: string, batch = 1): MatmulProblem {
  return { m, n, k, batch, transposeA: mode[0] === "t", transposeB: mode[1] === "t" };
}

/** The products of one ViT block at batch 32; without `all`, one per layout (nt, nn, tn). */
function vitShapes(model: string, d: number, all: boolean): Shape[] {
  const shapes: Shape[] = [
    { name: `${model} qkv fwd`, problem: problem(TOKENS, d, 3 * d, "nt") },
    { name: `${model} fc1 dX`, problem: problem(TOKENS, 4 * d, d, "nn") },
    { name: `${model} fc1 dW`, problem: problem(4 * d, TOKENS, d, "tn") },
  ];
  if (all) {
    shapes.push(
      { name: `${model} proj fwd`, problem: problem(TOKENS, d, d, "nt") },
      { name: `${model} fc1 fwd`, problem: problem(TOKENS, d, 4 * d, "nt") },
      { name: `${model} fc2 fwd`, problem: problem(TOKENS, 4 * d, d, "nt") },
      { name: `${model} qkv dX`, problem: problem(TOKENS, 3 * d, d, "nn") },
      { name: `${model} qkv dW`, problem: problem(3 * d, TOKENS, d, "tn") },
      { name: `${model} fc2 dX`, problem: problem(TOKENS, d, 4 * d, "nn") },
      { name: `${model} fc2 dW`, problem: problem(d, TOKENS, 4 * d, "tn") },
    );
  }
  return shapes;
}

const SHAPES: Shape[] = [
  ...vitShapes("ViT-Tiny", 192, ALL),
  ...vitShapes("ViT-S/16", 384, ALL).slice(0, ALL ? undefined : 1),
  // Attention of the fmnist-tiny preset: 256 images × 3 heads, 17 tokens of 32 dims per head.
  { name: "attn q·kᵀ 768×17 tokens", problem: problem(17, 32, 17, "nt", 768) },
  { name: "attn p·v 768×17 tokens", problem: problem(17, 17, 32, "nn", 768) },
  { name: "1024³", problem: problem(1024, 1024, 1024, "nn") },
  ...(ALL ? [{ name: "2048³", problem: problem(2048, 2048, 2048, "nn") }] : []),
  // The GPU target (≥ 33 TFLOP/s on an H200); minutes per product on a CPU adapter.
  ...(gpu.describe().isFallbackAdapter ? [] : [{
    name: "4096³",
    problem: problem(4096, 4096, 4096, "nn"),
  }]),
];

function operands(p: MatmulProblem): [Tensor, Tensor, Tensor] {
  const lead = p.batch > 1 ? [p.batch] : [];
  // Small exact values: no denormals or NaN, which slow CPU adapters down.
  const a = full([...lead, ...(p.transposeA ? [p.k, p.m] : [p.m, p.k])], 0.5);
  const b = full([...lead, ...(p.transposeB ? [p.n, p.k] : [p.k, p.n])], 0.25);
  return [a, b, Tensor.empty(gpu, [...lead, p.m, p.n], "f32")];
}

const syncStart = performance.now();
await gpu.sync();
await gpu.sync();
const SYNC_MS = (performance.now() - syncStart) / 2;

const tuneStart = performance.now();
const tunings = await tuneMatmul(gpu, { problems: SHAPES.map((s) => s.problem) });
const tuneMs = performance.now() - tuneStart;

// On CPU adapters other processes steal cores mid-run; FLOPs per second of this process's CPU
// time, times the core count, says what an idle machine would give (not printed for GPUs, whose
// work costs no CPU time).
const CORES = navigator.hardwareConcurrency;
const CPU_ADAPTER = gpu.describe().isFallbackAdapter;

const results = new Map<string, Map<string, { ms: number; cpuMs: number; flops: number }>>();

function bench(shape: Shape, label: string, variant: MatmulVariant | undefined): void {
  const p = label === "naive"
    ? { ...shape.problem, m: Math.min(NAIVE_ROWS, shape.problem.m) }
    : shape.problem;
  const [a, b, c] = operands(p);
  const flops = 2 * p.batch * p.m * p.n * p.k;
  const options = { transposeA: p.transposeA, transposeB: p.transposeB, variant };
  Deno.bench({
    name: label === "naive" ? `naive (${p.m} rows)` : label,
    group: shape.name,
    baseline: variant === undefined,
    n: 1,
    warmup: 1,
    async fn(bench) {
      bench.start();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      encodeMatmul(a, b, c, options);
      await gpu.sync();
      const ms = Math.max(1e-3, performance.now() - t0 - SYNC_MS);
      const cpu = process.cpuUsage(cpu0);
      bench.end();
      const cpuMs = (cpu.user + cpu.system) / 1000;
      const row = results.get(shape.name) ?? new Map();
      results.set(shape.name, row);
      const previous = row.get(label);
      row.set(label, {
        ms: Math.min(ms, previous?.ms ?? Infinity),
        cpuMs: Math.min(cpuMs, previous?.cpuMs ?? Infinity),
        flops,
      });
    },
  });
}

for (const shape of SHAPES) {
  for (const variant of MATMUL_VARIANTS) bench(shape, variant, variant);
  bench(shape, `tuned (${matmulVariantFor(gpu, shape.problem)})`, undefined);
}

globalThis.addEventListener("unload", () => {
  console.log(
    `\nmatmul on ${gpu.describe().description}; empty wait ${SYNC_MS.toFixed(1)} ms ` +
      `(subtracted); tuning ${tunings.length} buckets took ${tuneMs.toFixed(0)} ms`,
  );
  for (const shape of SHAPES) {
    const p = shape.problem;
    const mode = `${p.transposeA ? "t" : "n"}${p.transposeB ? "t" : "n"}`;
    const batch = p.batch > 1 ? ` batch=${p.batch}` : "";
    console.log(`  ${shape.name}: ${mode}${batch} M=${p.m} K=${p.k} N=${p.n}`);
    for (const [label, { ms, cpuMs, flops }] of results.get(shape.name) ?? []) {
      const gflops = flops / ms / 1e6;
      const idle = CPU_ADAPTER
        ? `   (${(flops / (cpuMs / CORES) / 1e6).toFixed(2)} per CPU time × ${CORES} cores)`
        : "";
      console.log(
        `    ${label.padEnd(18)} ${ms.toFixed(1).padStart(9)} ms ${
          gflops.toFixed(2).padStart(9)
        } GFLOP/s${idle}`,
      );
    }
  }
});
