// cosineScheduler() and teacherTempSchedule(): dino's formulas, numpy's linspace endpoints, and
// the edge cases (no warmup, warmup over every epoch, one-iteration warmup, bad counts). No GPU.
import assert from "@std/assert";
import { cosineScheduler, teacherTempSchedule } from "../../lib/optim/schedule.ts";

// Float64 throughout, like numpy: values agree to the last few ulps.
const TOL = 1e-15;

function assertNear(got: ArrayLike<number>, want: ArrayLike<number>, what: string) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(
      Math.abs(got[i] - want[i]) <= TOL * Math.max(1, Math.abs(want[i])),
      `${what}[${i}]: ${got[i]} vs ${want[i]}`,
    );
  }
}

Deno.test("cosineScheduler() warms up linearly, including both endpoints, then follows the cosine", () => {
  const s = cosineScheduler(1.0, 0.1, 4, 3, 1, 0.5);
  // warmup linspace(0.5, 1, 3); cosine over L = 9: 0.1 + 0.45·(1 + cos(π i/9)).
  const cosine = Array.from({ length: 9 }, (_, i) => 0.1 + 0.45 * (1 + Math.cos(Math.PI * i / 9)));
  assertNear(s, [0.5, 0.75, 1.0, ...cosine], "custom");
  assert.equal(s[2], 1.0); // the last warmup value is exactly base
  assert.equal(s[3], 1.0); // and so is the first cosine value
  assert.ok(s[11] > 0.1); // the last value is not exactly final
});

Deno.test("cosineScheduler() without warmup starts at base", () => {
  const s = cosineScheduler(0.04, 0.4, 10, 7);
  assert.equal(s.length, 70);
  assertNear([s[0]], [0.04], "first"); // final + ½(base − final)·2, as numpy rounds it
  assertNear([s[35]], [0.04 + 0.5 * 0.36 * (1 + Math.cos(Math.PI / 2))], "midpoint");
});

Deno.test("cosineScheduler() with warmup over every epoch is only the warmup", () => {
  const s = cosineScheduler(1e-3, 1e-6, 3, 4, 3, 0);
  assertNear(s, Array.from({ length: 12 }, (_, i) => (i * 1e-3) / 11), "all warmup");
  assert.equal(s[11], 1e-3);
});

Deno.test("cosineScheduler() with a one-iteration warmup starts at startWarmupValue", () => {
  // numpy.linspace(start, stop, 1) is [start].
  const s = cosineScheduler(1, 0, 2, 1, 1, 0.25);
  assertNear(s, [0.25, 1], "one-iteration warmup");
});

Deno.test("cosineScheduler() of zero epochs is empty", () => {
  assert.equal(cosineScheduler(1, 0, 0, 5).length, 0);
});

Deno.test("cosineScheduler() rejects bad counts naming the function", () => {
  assert.throws(
    () => cosineScheduler(1, 0, 2, 3, 3),
    /cosineScheduler: warmupEpochs 3 exceeds epochs 2/,
  );
  assert.throws(
    () => cosineScheduler(1, 0, 2.5, 3),
    /cosineScheduler: epochs must be a non-negative integer, got 2.5/,
  );
  assert.throws(() => cosineScheduler(1, 0, 2, -1), /niterPerEp/);
});

Deno.test("teacherTempSchedule() warms up per epoch then holds", () => {
  const s = teacherTempSchedule(0.04, 0.07, 3, 10);
  assertNear(s, [0.04, 0.055, 0.07, 0.07, 0.07, 0.07, 0.07, 0.07, 0.07, 0.07], "teacher temp");
});

Deno.test("teacherTempSchedule() edge cases: no warmup, warmup over every epoch", () => {
  assertNear(teacherTempSchedule(0.04, 0.07, 0, 3), [0.07, 0.07, 0.07], "no warmup");
  assertNear(teacherTempSchedule(0.04, 0.07, 4, 4), [0.04, 0.05, 0.06, 0.07], "all warmup");
  assert.throws(
    () => teacherTempSchedule(0.04, 0.07, 5, 4),
    /teacherTempSchedule: warmupTeacherTempEpochs 5 exceeds epochs 4/,
  );
});
