/**
 * File formats: safetensors read/write with validation, atomic writes. Open `safetensors.ts` first.
 *
 * @module
 */
export {
  parseSafetensors,
  readSafetensors,
  type SafetensorsArray,
  type SafetensorsDType,
  SafetensorsError,
  type SafetensorsFile,
  type SafetensorsTensor,
  serializeSafetensors,
  writeFileAtomic,
  writeSafetensors,
} from "./safetensors.ts";
export { type Checkpoint, readCheckpoint, sidecarPath, writeCheckpoint } from "./checkpoint.ts";
