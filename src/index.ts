/**
 * videomae — VideoMAE V2 in TypeScript over libtorch. The library API, by layer:
 *
 *   torch    tensors, autograd, scopes (tidy), functional ops      src/torch
 *   nn       Module, Linear, LayerNorm, Conv3d, DropPath, …        src/nn
 *   optim    AdamW, clipping, cosine schedule, layer decay         src/optim
 *   models   configs, VisionTransformer, PretrainVisionTransformer, loss, checkpoint loading
 *   masking  tube / running-cell / dual masks                     src/masking
 *   io       .pth / safetensors / .npy / PNG                       src/io
 *   video    ffmpeg decoding                                       src/video
 *   data     samplers, transforms, datasets, loader, synth         src/data
 *   train    training loop, pretrain, finetune                     src/train
 *   eval     evaluation, prediction, features, pictures            src/eval
 *   hf       VideoMAEForVideoClassification / VideoMAEModel / VideoMAEForPreTraining
 *            (fromPretrained, savePretrained), VideoMAEImageProcessor   src/hf
 * plus the task API (`pipeline("video-classification" | "feature-extraction", model)`).
 */
export * as torch from "./torch/index.ts";
export * as nn from "./nn/index.ts";
export * as optim from "./optim/index.ts";
export * as models from "./models/index.ts";
export * as masking from "./masking/index.ts";
export * as io from "./io/index.ts";
export * as video from "./video/index.ts";
export * as data from "./data/index.ts";
export * as train from "./train/index.ts";
export { pretrain, PRETRAIN_DEFAULTS, type PretrainOptions } from "./train/pretrain.ts";
export { finetune, FINETUNE_DEFAULTS, type FinetuneOptions } from "./train/finetune.ts";
export { evaluateList, type EvaluateOptions } from "./eval/evaluate.ts";
export { loadModelForInference, type ModelSpec } from "./eval/load_model.ts";
export {
  pipeline,
  videoClassification,
  featureExtraction,
  type ClassifierSpec,
  type FeatureExtractionPipeline,
  type FeatureOptions,
  type LabelScore,
  type Pipeline,
  type PipelineOptions,
  type PipelineTask,
  type VideoClassificationPipeline,
  type VideoFeatures,
} from "./pipeline.ts";
export type { PredictOptions } from "./eval/predict.ts";
export {
  VideoMAEForPreTraining,
  VideoMAEForVideoClassification,
  VideoMAEImageProcessor,
  VideoMAEModel,
  type FromPretrainedOptions,
  type PreprocessorConfig,
  type ProcessorOptions,
} from "./hf/index.ts";
