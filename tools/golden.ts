// Run: deno task golden                 (every *.safetensors in tests/fixtures)
//      deno task golden path/to/dir     (any directory of fixture files)
//
// Loads each file, picks the checker by its `kind` metadata (tools/golden/<kind>.ts), runs our
// code on the file's inputs with shapes and configs read from the file only, and prints one line
// per case: max abs error and PASS/FAIL. Kinds without a checker print `SKIP <kind>: <reason>`.
// Exits 1 on any FAIL.
import { join } from "@std/path";
import { readSafetensors } from "../lib/io/safetensors.ts";
import { getGpu } from "../lib/gpu/device.ts";
import { scope } from "../lib/tensor/scope.ts";
import type { CaseResult, GoldenCheck } from "./golden/compare.ts";

/** Outcome of one fixture file. */
export interface FileResult {
  /** The file path. */
  path: string;
  /** Its `kind` metadata. */
  kind: string;
  /** Set when no checker exists for the kind. */
  skipped?: string;
  /** The cases checked. */
  cases: CaseResult[];
}

async function loadChecker(kind: string): Promise<GoldenCheck | string> {
  if (!/^[a-z0-9_]+$/.test(kind)) return `kind ${JSON.stringify(kind)} is not a checker name`;
  const url = new URL(`./golden/${kind}.ts`, import.meta.url);
  try {
    await Deno.stat(url);
  } catch {
    return "no checker yet (tools/golden/" + kind + ".ts)";
  }
  const module = await import(url.href);
  return module.check as GoldenCheck;
}

/** Checks one fixture file. */
export async function checkFile(path: string): Promise<FileResult> {
  const file = await readSafetensors(path);
  const kind = file.metadata.kind ?? "";
  const checker = await loadChecker(kind);
  if (typeof checker === "string") return { path, kind, skipped: checker, cases: [] };
  await getGpu();
  const cases = await scope(() => checker(file));
  return { path, kind, cases };
}

/** The `*.safetensors` files of `dir`, sorted. */
export async function fixtureFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".safetensors")) files.push(join(dir, entry.name));
  }
  return files.sort();
}

/** One line per case: the worst tensor's error against its allowance. */
export function formatCase(kind: string, c: CaseResult): string {
  const pass = c.comparisons.every((x) => x.pass);
  const worst = c.comparisons.reduce((
    a,
    b,
  ) => (b.maxAbsErr / (b.allowed || 1) > a.maxAbsErr / (a.allowed || 1) ? b : a));
  const failing = c.comparisons.filter((x) => !x.pass).map((x) => x.tensor);
  return `${pass ? "PASS" : "FAIL"} ${kind} ${c.name}: max abs err ${
    worst.maxAbsErr.toExponential(2)
  } ` +
    `(${worst.tensor}, allowed ${worst.allowed.toExponential(2)})` +
    (failing.length ? ` failing: ${failing.join(", ")}` : "");
}

if (import.meta.main) {
  const dir = Deno.args[0] ?? new URL("../tests/fixtures", import.meta.url).pathname;
  let failed = 0;
  let passed = 0;
  for (const path of await fixtureFiles(dir)) {
    const result = await checkFile(path);
    if (result.skipped) {
      console.log(`SKIP ${result.kind}: ${result.skipped}`);
      continue;
    }
    for (const c of result.cases) {
      const line = formatCase(result.kind, c);
      console.log(line);
      if (line.startsWith("FAIL")) failed++;
      else passed++;
    }
  }
  console.log(`${passed} cases passed, ${failed} failed`);
  Deno.exit(failed > 0 ? 1 : 0);
}
