// Shared timing and reporting for the benches in this folder: measure what an empty
// `await gpu.sync()` costs, time `iters` dispatches per Deno.bench run (keeping the best run per
// row), and print a table of time per dispatch, throughput (GB/s or GFLOP/s) and the ratio to a
// baseline row after Deno's own table.
import type { Gpu } from "../lib/gpu/device.ts";
import { scope } from "../lib/tensor/scope.ts";

/** Best time of one row: `ms` per dispatch, `work` (bytes or FLOPs) per dispatch. */
export interface Timing {
  ms: number;
  work: number;
}

/**
 * Measures an empty `await gpu.sync()` (mean of two), to subtract from timed runs.
 *
 * @example
 * ```ts
 * const syncMs = await measureSyncMs(await getGpu());
 * ```
 */
export async function measureSyncMs(gpu: Gpu): Promise<number> {
  const start = performance.now();
  await gpu.sync();
  await gpu.sync();
  return (performance.now() - start) / 2;
}

/** Throughput in GB/s (work in bytes) or GFLOP/s (work in FLOPs). */
export function rate({ ms, work }: Timing): number {
  return work / ms / 1e6;
}

/** How a {@linkcode DispatchBench} times its rows. */
export interface DispatchBenchOptions {
  /** Dispatches encoded per timed run (one wait for all of them). */
  iters: number;
  /** Deno.bench `n`. */
  n: number;
  /** Deno.bench `warmup`; 1 unless given. */
  warmup?: number;
  /** Empty-wait cost subtracted from each run (then at least 1 µs per dispatch); none unless given. */
  syncMs?: number;
  /** Name of the row Deno.bench marks as baseline and ratios are taken to. */
  baseline?: string;
  /** Appended (after a space) to each row's name in Deno's table. */
  suffix?: string;
}

/** How {@linkcode DispatchBench.printOnUnload} prints the table. */
export interface ReportOptions {
  /** Width of the name column. */
  pad: number;
  /** "GB/s" (default) or "GFLOP/s". */
  unit?: string;
  /** Print a ratio to the baseline row (default: when the bench has a baseline). */
  ratio?: boolean;
  /** Replaces the default row format (`baseRate`: the baseline row's rate, NaN without one). */
  row?: (name: string, timing: Timing, baseRate: number) => string;
}

/**
 * A group of Deno.bench rows that each time `iters` dispatches and keep their best run.
 *
 * @example
 * ```ts
 * const gpu = await getGpu();
 * const rows = new DispatchBench(gpu, { iters: 4, n: 2, baseline: "copy" });
 * rows.add("copy", "group", 8 * x.size, () => runUnary(x, UNARY.affine));
 * rows.printOnUnload("Copies on this adapter:", { pad: 20 });
 * ```
 */
export class DispatchBench {
  /** Best timing per row name, in the order rows were added. */
  readonly best: Map<string, Timing> = new Map();
  readonly #runs: (() => unknown)[] = [];

  constructor(readonly gpu: Gpu, readonly options: DispatchBenchOptions) {}

  /** Registers a Deno.bench row running `run` `iters` times per timed run. */
  add(name: string, group: string, work: number, run: () => unknown): void {
    const { iters, n, warmup = 1, syncMs, baseline, suffix } = this.options;
    const gpu = this.gpu;
    const best = this.best;
    this.#runs.push(run);
    Deno.bench({
      name: suffix ? `${name} ${suffix}` : name,
      group,
      baseline: name === baseline,
      n,
      warmup,
      async fn(b) {
        b.start();
        const t0 = performance.now();
        scope(() => {
          for (let i = 0; i < iters; i++) run();
        });
        await gpu.sync();
        const elapsed = performance.now() - t0;
        const ms = syncMs === undefined
          ? elapsed / iters
          : Math.max(1e-3, (elapsed - syncMs) / iters);
        b.end();
        const previous = best.get(name);
        if (!previous || ms < previous.ms) best.set(name, { ms, work });
      },
    });
  }

  /** Runs every row once (so that no timed run compiles a pipeline) and waits. */
  async warmUp(): Promise<void> {
    scope(() => {
      for (const run of this.#runs) run();
    });
    await this.gpu.sync();
  }

  /** Prints `title` and a row per timing when the process ends. */
  printOnUnload(title: string, options: ReportOptions): void {
    const { pad, unit = "GB/s", ratio = this.options.baseline !== undefined, row } = options;
    const baseline = this.options.baseline;
    globalThis.addEventListener("unload", () => {
      const base = baseline === undefined ? undefined : this.best.get(baseline);
      const baseRate = base ? rate(base) : NaN;
      console.log(`\n${title}`);
      for (const [name, timing] of this.best) {
        if (row) {
          console.log(row(name, timing, baseRate));
          continue;
        }
        const r = rate(timing);
        console.log(
          `  ${name.padEnd(pad)} ${(timing.ms * 1000).toFixed(0).padStart(7)} µs  ${
            r.toFixed(2).padStart(7)
          } ${unit}` + (ratio ? `  ${(r / baseRate).toFixed(2)}× ${baseline}` : ""),
        );
      }
    });
  }
}
