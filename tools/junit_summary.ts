// Run: deno run --allow-read tools/junit_summary.ts report.xml
// Reads Deno's JUnit report and prints `N passed, N failed` (with `, N skipped` when some were
// ignored); exits 1 when the report is missing, empty or has failures.
const path = Deno.args[0];
let xml = "";
try {
  xml = await Deno.readTextFile(path);
} catch {
  console.log("0 passed, 1 failed");
  console.error(`no JUnit report at ${path}: the test run did not finish`);
  Deno.exit(1);
}
const cases = xml.match(/<testcase\b[\s\S]*?(?:\/>|<\/testcase>)/g) ?? [];
let failed = 0;
let skipped = 0;
for (const c of cases) {
  if (/<(failure|error)\b/.test(c)) failed++;
  else if (/<skipped\b/.test(c)) skipped++;
}
const passed = cases.length - failed - skipped;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
Deno.exit(failed > 0 || passed === 0 ? 1 : 0);
