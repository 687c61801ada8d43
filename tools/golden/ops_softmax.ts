/**
 * Golden checker for `ops_softmax`: forward y and backward dx (through autograd) of every case,
 * including rows with a +90 spike and rows offset far from 0 (see softmax_cases.ts).
 *
 * @module
 */
import type { SafetensorsFile } from "../../lib/io/safetensors.ts";
import { softmax } from "../../lib/ops/softmax.ts";
import type { CaseResult } from "./compare.ts";
import { checkSoftmaxCases } from "./softmax_cases.ts";

/** Runs every case of the file. */
export function check(file: SafetensorsFile): Promise<CaseResult[]> {
  return checkSoftmaxCases(file, softmax);
}
