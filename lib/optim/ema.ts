/**
 * The teacher's exponential moving average (dino `momentum_teacher`): for every parameter pair,
 * in place, `teacher = m·teacher + (1 − m)·student`. Uses the in-place `axpby` entry point of
 * `shaders/ops/elementwise.wgsl` (`out = α·out + β·b`, one read of each and one write: 12 bytes
 * per element), so it needs no shader of its own; one dispatch per parameter, nothing allocated.
 *
 * @module
 */
import { ShapeError } from "../errors.ts";
import { BINARY, runBinaryInPlace } from "../ops/strided.ts";
import type { Tensor } from "../tensor/tensor.ts";

/**
 * Moves each `teacher` tensor towards its `student` tensor in place:
 * `teacher = momentum·teacher + (1 − momentum)·student` (dino's EMA update, after the optimizer
 * step, over every parameter including frozen ones). No gradient is recorded.
 *
 * @param momentum teacher momentum m from the momentum schedule (dino: 0.996 → 1)
 * @throws {ShapeError} naming `emaUpdate` when the lists differ in length or a pair in shape.
 * @example
 * ```ts ignore
 * import { emaUpdate } from "./ema.ts";
 * emaUpdate(teacher.parameters(), student.parameters(), momentumSchedule[it]);
 * ```
 */
export function emaUpdate(
  teacher: Tensor | readonly Tensor[],
  student: Tensor | readonly Tensor[],
  momentum: number,
): void {
  const ts = Array.isArray(teacher) ? teacher as readonly Tensor[] : [teacher as Tensor];
  const ss = Array.isArray(student) ? student as readonly Tensor[] : [student as Tensor];
  if (ts.length !== ss.length) {
    throw new ShapeError(
      "emaUpdate",
      [ts.length],
      [ss.length],
      `got ${ts.length} teacher and ${ss.length} student tensors`,
    );
  }
  ts.forEach((t, i) => {
    const s = ss[i];
    if (t.shape.length !== s.shape.length || t.shape.some((d, j) => d !== s.shape[j])) {
      throw new ShapeError("emaUpdate", t.shape, s.shape, `pair ${i} differs in shape`);
    }
    if (t.dtype !== "f32" || s.dtype !== "f32") {
      throw new ShapeError("emaUpdate", t.shape, s.shape, `pair ${i} must be f32`);
    }
  });
  ts.forEach((t, i) => runBinaryInPlace(t, ss[i], BINARY.axpby, momentum, 1 - momentum));
}

/**
 * CPU reference of {@link emaUpdate} for one pair, in place.
 *
 * @example
 * ```ts
 * import { emaReference } from "./ema.ts";
 * const t = new Float64Array([1]);
 * emaReference(t, [0], 0.9);
 * console.log(t[0]); // 0.9
 * ```
 */
export function emaReference(
  teacher: Float64Array,
  student: ArrayLike<number>,
  momentum: number,
): void {
  for (let i = 0; i < teacher.length; i++) {
    teacher[i] = momentum * teacher[i] + (1 - momentum) * student[i];
  }
}
