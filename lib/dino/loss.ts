/**
 * The DINO loss (main_dino.py `DINOLoss`): the cross-entropy between the sharpened, centred teacher
 * distribution of each global crop and the student distribution of every *other* crop, with its
 * gradient to the student logits, the teacher probabilities, and the center EMA. The WGSL is
 * `shaders/dino/dino_loss.wgsl`; the formulas are in its header and in the fixture README §10.
 *
 * The loss stays on the GPU as a scalar tensor: a training loop reads it back only every k steps.
 *
 * @module
 */
import { defineOp, type Op } from "../autograd/define_op.ts";
import { ShapeError } from "../errors.ts";
import { grid, Params } from "../gpu/dispatch.ts";
import { SHADERS } from "../gpu/shaders.gen.ts";
import type { HostTensor } from "../tensor/host.ts";
import { Tensor } from "../tensor/tensor.ts";

const WORKGROUP_SIZE = 256;
const OP = "dinoLoss";

/** Binding numbers of dino_loss.wgsl; `params` follows the last one. */
const SLOTS = {
  student: 0,
  teacher: 1,
  center: 2,
  dloss: 3,
  q: 4,
  stats: 5,
  rowLoss: 6,
  loss: 7,
  dstudent: 8,
} as const;

/** Encodes one entry point of dino_loss.wgsl with the tensors it references. */
function run(
  entry: string,
  tensors: Partial<Record<keyof typeof SLOTS, Tensor>>,
  params: Params,
  workgroups: [number, number?],
): void {
  const gpu = Object.values(tensors)[0]!.gpu;
  const bindings: (GPUBufferBinding | undefined)[] = new Array(Object.keys(SLOTS).length);
  for (const [name, t] of Object.entries(tensors)) {
    bindings[SLOTS[name as keyof typeof SLOTS]] = t.binding;
  }
  gpu.stream.dispatch({
    kernel: gpu.kernels.get(SHADERS.dino.dino_loss, entry),
    bindings,
    params: params.bytes(),
    workgroups,
  });
}

/** Options of {@link dinoLoss}. */
export interface DinoLossOptions {
  /** Teacher temperature τt (0.04 works well in most cases; warm up from it, see `teacherTempSchedule`). */
  teacherTemp: number;
  /** Student temperature τs. Default 0.1 (dino's value). */
  studentTemp?: number;
  /**
   * Number of crops: 2 global + local crops. Default: student rows / B, where B = teacher rows / 2.
   * Given explicitly it is checked against the shapes.
   */
  ncrops?: number;
}

/** The CPU reference of the DINO loss, in float64. */
export interface DinoLossReference {
  /** The loss value. */
  forward(
    student: HostTensor,
    teacher: HostTensor,
    center: HostTensor,
    options: DinoLossOptions,
  ): number;
  /** d loss / d student, row-major like `student`. */
  backward(
    student: HostTensor,
    teacher: HostTensor,
    center: HostTensor,
    options: DinoLossOptions,
  ): Float64Array;
  /** softmax((teacher − center)/τt) per row. */
  teacherProbs(teacher: HostTensor, center: HostTensor, teacherTemp: number): Float64Array;
  /** m·center + (1 − m)·mean of the teacher rows. */
  updateCenter(center: HostTensor, teacher: HostTensor, momentum?: number): Float64Array;
}

interface LossDims {
  batch: number;
  k: number;
  ncrops: number;
  nTerms: number;
  studentTemp: number;
  teacherTemp: number;
}

function checkTemp(value: number, what: string, op: string): void {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`Cannot ${op}: ${what} must be a positive number, got ${value}`);
  }
}

/** Checks teacher [2B, K] and center [1, K] (or [K]); returns B and K. */
function teacherDims(
  teacher: { shape: readonly number[] },
  center: { shape: readonly number[] },
  op: string,
): { batch: number; k: number } {
  if (teacher.shape.length !== 2) {
    throw new ShapeError(op, teacher.shape, center.shape, "teacher logits must be [2B, K]");
  }
  const [rows, k] = teacher.shape;
  if (rows === 0 || rows % 2 !== 0) {
    throw new ShapeError(
      op,
      teacher.shape,
      center.shape,
      `teacher has ${rows} rows: expected 2B (the two global crops) with B ≥ 1`,
    );
  }
  const centerK = center.shape.length === 2 && center.shape[0] === 1
    ? center.shape[1]
    : center.shape.length === 1
    ? center.shape[0]
    : -1;
  if (centerK !== k || k === 0) {
    throw new ShapeError(op, teacher.shape, center.shape, `center must be [1, ${k}]`);
  }
  return { batch: rows / 2, k };
}

function lossDims(
  student: { shape: readonly number[] },
  teacher: { shape: readonly number[] },
  center: { shape: readonly number[] },
  options: DinoLossOptions,
): LossDims {
  const { batch, k } = teacherDims(teacher, center, OP);
  if (student.shape.length !== 2 || student.shape[1] !== k) {
    throw new ShapeError(
      OP,
      student.shape,
      teacher.shape,
      `student logits must be [ncrops·B, ${k}] like the teacher's K = ${k}`,
    );
  }
  const rows = student.shape[0];
  const ncrops = options.ncrops ?? rows / batch;
  if (!Number.isInteger(ncrops) || ncrops < 2 || ncrops * batch !== rows) {
    throw new ShapeError(
      OP,
      student.shape,
      teacher.shape,
      `student has ${rows} rows: expected ncrops·B with B = ${batch} (teacher rows / 2) and ` +
        `ncrops ≥ 2` + (options.ncrops === undefined ? "" : ` (ncrops = ${options.ncrops})`),
    );
  }
  const studentTemp = options.studentTemp ?? 0.1;
  checkTemp(studentTemp, "studentTemp", OP);
  checkTemp(options.teacherTemp, "teacherTemp", OP);
  return {
    batch,
    k,
    ncrops,
    nTerms: 2 * ncrops - 2,
    studentTemp,
    teacherTemp: options.teacherTemp,
  };
}

/** Encodes q = softmax((teacher − center)/τt) into `q`. */
function encodeTeacherProbs(teacher: Tensor, center: Tensor, q: Tensor, teacherTemp: number): void {
  const [rows, k] = teacher.shape;
  run(
    "teacher_probs",
    { teacher, center, q },
    new Params().u32(rows / 2, k, rows, 0).f32(1 / teacherTemp, 0, 0, 0),
    grid(rows, 1, teacher.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

/**
 * The DINO loss of student logits `student` [ncrops·B, K] (crop-major: rows v·B … v·B+B−1 are crop
 * v) against teacher logits `teacher` [2B, K] (global crops 0 then 1) centred by `center` [1, K]:
 * the mean over pairs (iq ∈ {0, 1}, v ≠ iq) of mean_b Σ_k −q_iq · log_softmax(s_v/τs), with
 * q = softmax((t − center)/τt). Returns a scalar tensor (shape []) that stays on the GPU. The
 * gradient flows to `student` only (the teacher and center get none), as in dino.
 *
 * @throws {ShapeError} naming `dinoLoss` and the shapes when they do not fit.
 * @throws {RangeError} when a temperature is not positive.
 * @example
 * ```ts ignore
 * import { dinoLoss, updateCenter } from "./loss.ts";
 * const loss = dinoLoss(studentOut, teacherOut, center, { teacherTemp: 0.04 });
 * updateCenter(center, teacherOut); // after the loss, as dino does
 * loss.backward();
 * ```
 */
export const dinoLoss: Op<
  [student: Tensor, teacher: Tensor, center: Tensor, options: DinoLossOptions],
  Tensor<"f32">,
  DinoLossReference
> = defineOp({
  name: OP,
  forward(ctx, student: Tensor, teacher: Tensor, center: Tensor, options: DinoLossOptions) {
    const d = lossDims(student, teacher, center, options);
    const gpu = student.gpu;
    const rows = d.ncrops * d.batch;
    const maxPerDim = gpu.limits.maxComputeWorkgroupsPerDimension;
    const q = Tensor.empty(gpu, teacher.shape, "f32");
    encodeTeacherProbs(teacher, center, q, d.teacherTemp);
    const stats = Tensor.empty(gpu, [rows, 2], "f32");
    const rowLoss = Tensor.empty(gpu, [rows], "f32");
    const loss = Tensor.empty(gpu, [], "f32");
    run(
      "student_rows",
      { student, q, stats, rowLoss },
      new Params().u32(d.batch, d.k, rows, 0).f32(1 / d.studentTemp, 0, 0, 0),
      grid(rows, 1, maxPerDim),
    );
    run(
      "reduce_loss",
      { rowLoss, loss },
      new Params().u32(d.batch, d.k, rows, 0).f32(0, 1 / (d.nTerms * d.batch), 0, 0),
      [1],
    );
    rowLoss.dispose();
    if (ctx.needsGrad) {
      Object.assign(ctx.saved, { student, q, stats, dims: d });
    } else {
      q.dispose();
      stats.dispose();
    }
    return loss;
  },
  backward(ctx, grad) {
    const { student, q, stats, dims: d } = ctx.saved as {
      student: Tensor;
      q: Tensor;
      stats: Tensor;
      dims: LossDims;
    };
    const gpu = student.gpu;
    const dstudent = Tensor.empty(gpu, student.shape, "f32");
    run(
      "backward",
      { student, dloss: grad, q, stats, dstudent },
      new Params().u32(d.batch, d.k, student.shape[0], 0)
        .f32(1 / d.studentTemp, 1 / (d.nTerms * d.batch * d.studentTemp), 0, 0),
      grid(student.size, WORKGROUP_SIZE, gpu.limits.maxComputeWorkgroupsPerDimension),
    );
    q.dispose();
    stats.dispose();
    return [dstudent, null, null];
  },
  reference: {
    forward: (student, teacher, center, options) =>
      dinoLossReference(student, teacher, center, options).loss,
    backward: (student, teacher, center, options) =>
      dinoLossReference(student, teacher, center, options).dstudent,
    teacherProbs: teacherProbsReference,
    updateCenter: updateCenterReference,
  },
});

/**
 * The teacher distribution q = softmax((teacher − center)/τt) over the last dim, [2B, K]; the
 * targets of {@link dinoLoss} (which computes them itself). No gradient.
 *
 * @throws {ShapeError} naming `teacherProbs` when teacher is not [2B, K] or center not [1, K].
 * @example
 * ```ts ignore
 * import { teacherProbs } from "./loss.ts";
 * const q = teacherProbs(teacherOut, center, 0.04); // rows sum to 1
 * ```
 */
export function teacherProbs(teacher: Tensor, center: Tensor, teacherTemp: number): Tensor<"f32"> {
  teacherDims(teacher, center, "teacherProbs");
  checkTemp(teacherTemp, "teacherTemp", "teacherProbs");
  const q = Tensor.empty(teacher.gpu, teacher.shape, "f32");
  encodeTeacherProbs(teacher, center, q, teacherTemp);
  return q;
}

/**
 * Updates the DINO center in place: center = m·center + (1 − m)·mean over the rows of `teacher`
 * (raw logits, not centred), as dino's `update_center` on one process. Call it after
 * {@link dinoLoss} of the same step (the loss reads the old center). Nothing is allocated.
 *
 * @param momentum the center momentum m (dino default 0.9)
 * @throws {ShapeError} naming `updateCenter` when teacher is not [N, K] or center not [1, K].
 * @example
 * ```ts ignore
 * import { updateCenter } from "./loss.ts";
 * updateCenter(center, teacherOut); // momentum 0.9
 * ```
 */
export function updateCenter(center: Tensor, teacher: Tensor, momentum = 0.9): void {
  if (
    teacher.rank !== 2 || teacher.shape[0] === 0 || center.size !== teacher.shape[1] ||
    center.rank > 2 || (center.rank === 2 && center.shape[0] !== 1)
  ) {
    throw new ShapeError(
      "updateCenter",
      center.shape,
      teacher.shape,
      `center must be [1, K] and teacher [N ≥ 1, K]`,
    );
  }
  const [rows, k] = teacher.shape;
  run(
    "update_center",
    { teacher, center },
    new Params().u32(0, k, rows, 0).f32(0, momentum, 1 - momentum, 0),
    grid(k, WORKGROUP_SIZE, center.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

// ---------------------------------------------------------------------------------------------
// CPU reference (float64), for tests.

function teacherProbsReference(
  teacher: HostTensor,
  center: HostTensor,
  teacherTemp: number,
): Float64Array {
  const { batch, k } = teacherDims(teacher, center, "teacherProbs");
  const rows = 2 * batch;
  const q = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) {
      q[r * k + j] = (teacher.data[r * k + j] - center.data[j]) / teacherTemp;
      max = Math.max(max, q[r * k + j]);
    }
    let sum = 0;
    for (let j = 0; j < k; j++) sum += q[r * k + j] = Math.exp(q[r * k + j] - max);
    for (let j = 0; j < k; j++) q[r * k + j] /= sum;
  }
  return q;
}

/** log_softmax(s/τs) of every student row, in float64. */
function studentLogProbs(student: HostTensor, k: number, studentTemp: number): Float64Array {
  const rows = student.data.length / k;
  const ls = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, student.data[r * k + j] / studentTemp);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(student.data[r * k + j] / studentTemp - max);
    const lse = max + Math.log(sum);
    for (let j = 0; j < k; j++) ls[r * k + j] = student.data[r * k + j] / studentTemp - lse;
  }
  return ls;
}

function dinoLossReference(
  student: HostTensor,
  teacher: HostTensor,
  center: HostTensor,
  options: DinoLossOptions,
): { loss: number; dstudent: Float64Array } {
  const d = lossDims(student, teacher, center, options);
  const { batch: B, k } = d;
  const q = teacherProbsReference(teacher, center, d.teacherTemp);
  const ls = studentLogProbs(student, k, d.studentTemp);
  let loss = 0;
  const dstudent = new Float64Array(ls.length);
  const scale = 1 / (d.nTerms * B * d.studentTemp);
  for (let iq = 0; iq < 2; iq++) {
    for (let v = 0; v < d.ncrops; v++) {
      if (v === iq) continue;
      let term = 0;
      for (let b = 0; b < B; b++) {
        const qRow = (iq * B + b) * k;
        const sRow = (v * B + b) * k;
        for (let j = 0; j < k; j++) {
          term -= q[qRow + j] * ls[sRow + j];
          dstudent[sRow + j] += scale * (Math.exp(ls[sRow + j]) - q[qRow + j]);
        }
      }
      loss += term / B;
    }
  }
  return { loss: loss / d.nTerms, dstudent };
}

function updateCenterReference(
  center: HostTensor,
  teacher: HostTensor,
  momentum = 0.9,
): Float64Array {
  const [rows, k] = teacher.shape;
  const out = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let sum = 0;
    for (let r = 0; r < rows; r++) sum += teacher.data[r * k + j];
    out[j] = center.data[j] * momentum + (sum / rows) * (1 - momentum);
  }
  return out;
}
