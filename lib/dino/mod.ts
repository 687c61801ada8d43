/**
 * DINO: the configuration, the multi-crop student/teacher model, the loss with its center, and
 * the training step. Open `train.ts` first.
 *
 * @module
 */
export { DINO_DEFAULTS, type DinoConfig } from "./config.ts";
export { DinoModel, type MultiCropOutput } from "./multi_crop.ts";
export {
  buildDinoModel,
  type DinoSchedules,
  dinoSchedules,
  DinoTrainer,
  NonFiniteLossError,
  vitConfigOf,
} from "./train.ts";
export {
  dinoLoss,
  type DinoLossOptions,
  type DinoLossReference,
  teacherProbs,
  updateCenter,
} from "./loss.ts";
export {
  checkpointPath,
  pretrain,
  type PretrainOptions,
  type PretrainResult,
  type Progress,
} from "./pretrain.ts";
export { type DatasetKind, type Preset, PRESETS } from "./presets.ts";
