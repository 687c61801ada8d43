/**
 * Data: datasets (Fashion-MNIST/IDX, image folders, the embedded synthetic shapes), the seeded
 * prefetching loader, DINO multi-crop augmentation on the GPU, and the seeded RNG. Open
 * `dataset.ts` first.
 *
 * @module
 */
export { Rng } from "./rng.ts";
export {
  checkIndex,
  type Dataset,
  deriveSeed,
  type Sample,
  subset,
  toFloatImage,
} from "./dataset.ts";
export {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIR,
  FASHION_MNIST_MEAN,
  FASHION_MNIST_STD,
  type FashionMnistOptions,
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  type IdxArray,
  IdxDataset,
  type IdxDatasetOptions,
  loadFashionMnist,
  parseIdx,
  readIdx,
} from "./idx.ts";
export { IMAGE_EXTENSIONS, ImageFolder, type ImageFolderOptions } from "./image_folder.ts";
export {
  type BackgroundKind,
  SHAPE_AREAS,
  type ShapeName,
  type ShapeSpec,
  SYNTHETIC_SHAPES,
  type SyntheticOptions,
  SyntheticShapes,
} from "./synthetic.ts";
export {
  type Batch,
  DataLoader,
  type HostBatch,
  type LoaderOptions,
  resizeBilinear,
} from "./loader.ts";
export {
  augmentBatch,
  type AugmentBatchOptions,
  type BlurConfig,
  brightness,
  type ColorJitterConfig,
  contrast,
  dinoDefault,
  fmnistTiny,
  gaussianBlur,
  gaussianKernel1d,
  grayscale,
  hflip,
  hue,
  type ImageAugmentParams,
  type Interpolation,
  JITTER_OPS,
  MultiCropAugment,
  type MultiCropConfig,
  normalize,
  randomResizedCropBox,
  resizedCrop,
  saturation,
  solarize,
  type ViewKind,
  type ViewParams,
} from "./augment.ts";
