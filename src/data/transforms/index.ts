/**
 * Clip augmentation transforms of the data pipeline (spec §4), pure TypeScript on uint8
 * (T, H, W, 3) clips so they can run in data-loader worker threads. See presets.ts for the
 * ready-made pipelines.
 */
export { checkClip, cropClip, cropPadded, flipClip, mapFrames, roundHalfEven, TransformError, type Box, type Clip, type FloatClip } from "./clip.ts";
export { fromFloatClip, IMAGENET_MEAN, IMAGENET_STD, normalizationLut, normalizationStats, toFloatClip, type Normalization } from "./normalize.ts";
export { resizeCv, resizedCropToFloat, resizePil, resizeShortSideCv, shortSideSize, type ResizedCropOptions } from "./resize.ts";
export { affineWarper, rotateMatrix, shearXMatrix, shearYMatrix, translateXMatrix, translateYMatrix, warpAffine, type Affine, type Resample } from "./geometry.ts";
export * as colorOps from "./color.ts";
export {
  applyOp,
  DEFAULT_RAND_AUGMENT,
  levelToArg,
  MAX_LEVEL,
  parseRandAugment,
  RAND_INCREASING_OPS,
  randAugment,
  sampleRandAugment,
  type AppliedOp,
  type RandAugmentConfig,
  type RandAugmentOpName,
} from "./randaugment.ts";
export {
  centerCropBox,
  MULTI_SCALE_SCALES,
  multiScaleCropSizes,
  multiScaleOffsets,
  sampleMultiScaleCrop,
  sampleRandomResizedCrop,
  testCropBoxes,
  type MultiScaleCropOptions,
  type RandomResizedCropOptions,
} from "./crops.ts";
export { eraseBox, NormalStream, randomErasing, sampleErasingBox, type RandomErasingOptions } from "./erasing.ts";
export {
  evalTransform,
  finetuneTrainTransform,
  pipeline,
  pretrainTransform,
  tadTransform,
  testCrops,
  testCropTransforms,
  type ClipOp,
  type EvalOptions,
  type FinetuneTrainOptions,
  type FloatOp,
  type PretrainOptions,
  type ToFloatOp,
  type Transform,
  type TransformInfo,
  type TransformResult,
} from "./presets.ts";
