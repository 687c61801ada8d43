/**
 * Golden checker for `schedules`: dino's cosine scheduler (lr, wd, momentum, custom) and the
 * per-epoch teacher-temperature warmup, every argument read from `metadata.config`.
 *
 * @module
 */
import type { SafetensorsFile } from "../../lib/io/safetensors.ts";
import { cosineScheduler, teacherTempSchedule } from "../../lib/optim/schedule.ts";
import { type CaseResult, compare, type Comparison, hostTensor, meta } from "./compare.ts";

interface CosineConfig {
  base_value: number;
  final_value: number;
  warmup_epochs?: number;
  start_warmup_value?: number;
  epochs?: number;
  niter_per_ep?: number;
}

interface TeacherTempConfig {
  warmup_teacher_temp: number;
  teacher_temp: number;
  warmup_teacher_temp_epochs: number;
  nepochs: number;
}

type ScheduleConfig = { epochs: number; niter_per_ep: number } & Record<string, unknown>;

function compareSchedule(file: SafetensorsFile, name: string, got: Float64Array): Comparison {
  const ref = hostTensor(file, name);
  if (ref.data.length !== got.length) {
    return {
      tensor: `${name} (length ${got.length} vs ${ref.data.length})`,
      maxAbsErr: Infinity,
      allowed: 0,
      pass: false,
    };
  }
  return compare(name, got, ref.data);
}

/** Runs every schedule of the file. */
export function check(file: SafetensorsFile): Promise<CaseResult[]> {
  const config = meta<ScheduleConfig>(file, "config");
  const results: CaseResult[] = [];
  for (const [name, value] of Object.entries(config)) {
    if (typeof value !== "object" || value === null || !file.tensors.has(name)) continue;
    let got: Float64Array;
    if ("warmup_teacher_temp" in value) {
      const c = value as TeacherTempConfig;
      got = teacherTempSchedule(
        c.warmup_teacher_temp,
        c.teacher_temp,
        c.warmup_teacher_temp_epochs,
        c.nepochs,
      );
    } else {
      const c = value as CosineConfig;
      got = cosineScheduler(
        c.base_value,
        c.final_value,
        c.epochs ?? config.epochs,
        c.niter_per_ep ?? config.niter_per_ep,
        c.warmup_epochs ?? 0,
        c.start_warmup_value ?? 0,
      );
    }
    results.push({ name, comparisons: [compareSchedule(file, name, got)] });
  }
  return Promise.resolve(results);
}
