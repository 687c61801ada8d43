/**
 * Golden checker for `ops_cross_entropy` (the DINO loss, fixture README §10): `loss`,
 * `teacher_probs`, `center_new` and `dstudent` (through autograd) of every case, with the
 * temperatures, crop count and center momentum read from the case metadata.
 *
 * @module
 */
import { dinoLoss, teacherProbs, updateCenter } from "../../lib/dino/loss.ts";
import type { SafetensorsFile } from "../../lib/io/safetensors.ts";
import { type CaseResult, compareTensor, gpuTensor, meta } from "./compare.ts";

interface CrossEntropyCase {
  id: string;
  ncrops: number;
  B: number;
  K: number;
  student_temp: number;
  teacher_temp: number;
  center_momentum: number;
}

/** Runs every case of the file. */
export async function check(file: SafetensorsFile): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of meta<CrossEntropyCase[]>(file, "cases")) {
    const student = gpuTensor(file, `${c.id}.student`).requireGrad();
    const teacher = gpuTensor(file, `${c.id}.teacher`);
    const center = gpuTensor(file, `${c.id}.center`);
    const options = { studentTemp: c.student_temp, teacherTemp: c.teacher_temp, ncrops: c.ncrops };
    const loss = dinoLoss(student, teacher, center, options);
    const q = teacherProbs(teacher, center, c.teacher_temp);
    // In place, after the loss of the same step (as in dino): the loss read the old center.
    updateCenter(center, teacher, c.center_momentum);
    loss.backward();
    results.push({
      name: `${c.id} ncrops ${c.ncrops} B ${c.B} K ${c.K} τt ${c.teacher_temp}`,
      comparisons: [
        await compareTensor(file, `${c.id}.loss`, loss),
        await compareTensor(file, `${c.id}.teacher_probs`, q),
        await compareTensor(file, `${c.id}.center_new`, center),
        await compareTensor(file, `${c.id}.dstudent`, student.grad!),
      ],
    });
    student.dispose();
    teacher.dispose();
  }
  return results;
}
