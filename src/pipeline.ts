/**
 * Task API, in the shape of transformers' `pipeline`: build once from a model, call on video
 * files (one path or a batch), free with `dispose()`.
 *
 *   import { pipeline } from "videomae";
 *   const classify = await pipeline("video-classification", "runs/demo/finetune-pretrained/checkpoint-best.safetensors");
 *   await classify("clip.mp4", { topK: 2 });
 *   // → [ { label: "move_left", score: 0.93 }, { label: "move_up", score: 0.04 } ]   (demo model)
 *   await classify(["a.mp4", "b.mp4"]);   // one list per video
 *   classify.dispose();
 *
 *   const extract = await pipeline("feature-extraction", "vit_g_k710_ft.pth", { model: "vit_giant_patch14_224" });
 *   const f = await extract("video.mp4", { stride: 4 });  // { data: Float32Array, windows, dim }
 *
 * `model` is what `fromPretrained` reads (a transformers folder, our checkpoint, official weights
 * with `{ model }` / `{ configFile }`), a model object from `src/hf` (then the caller keeps
 * ownership and `dispose()` leaves it alone), or a `.onnx` file from `videomae export` (its .json
 * beside it; `--features` for feature extraction), which runs through onnxruntime-node with the
 * same preprocessing. A folder's `preprocessor_config.json` sets the normalisation.
 * `videoClassification(spec)` and `featureExtraction(spec)` are the same pipelines.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { readLabelNames } from "./data/labels.ts";
import type { Normalization } from "./data/transforms/normalize.ts";
import type { InferenceEngine } from "./engines/engine.ts";
import { OnnxEngine } from "./engines/onnx.ts";
import { extractFeatures } from "./eval/extract.ts";
import type { ModelSpec } from "./eval/load_model.ts";
import { predictVideo, type LabelScore, type PredictOptions } from "./eval/predict.ts";
import { VideoMAEForVideoClassification, VideoMAEModel, type FromPretrainedOptions } from "./hf/models.ts";
import { VideoMAEImageProcessor } from "./hf/processor.ts";
import type { VisionTransformer } from "./models/vit.ts";
import { createVideoReader } from "./video/index.ts";

export type { LabelScore } from "./eval/predict.ts";

export type PipelineTask = "video-classification" | "feature-extraction";

export interface PipelineOptions extends FromPretrainedOptions {
  /** Class names (one per line / JSON array) overriding the model's. */
  labelsFile?: string;
}

export interface FeatureOptions {
  /** Frames between window starts (default 4). */
  stride?: number;
  /** The official TAD features are not normalised ("none", default). */
  normalize?: "none" | "imagenet";
  /** Windows per forward pass (default 4). */
  batch?: number;
}

/** Window features of one video: `data` is [windows, dim] row-major. */
export interface VideoFeatures {
  data: Float32Array;
  windows: number;
  dim: number;
}

/** A pipeline: call it on one video or a list, then free it. */
export interface Pipeline<O, R> {
  (video: string, options?: O): Promise<R>;
  (videos: readonly string[], options?: O): Promise<R[]>;
  /** Frees the model the pipeline loaded (a model object passed in stays the caller's). */
  dispose(): Promise<void>;
}

export type VideoClassificationPipeline = Pipeline<PredictOptions, LabelScore[]>;
export type FeatureExtractionPipeline = Pipeline<FeatureOptions, VideoFeatures>;

/** What the tasks run on: our libtorch ViT or an engine, plus labels and normalisation. */
interface Runner {
  model: VisionTransformer | InferenceEngine;
  labels: string[] | null;
  normalization?: Normalization;
  /** Frame stride the model was exported with (ONNX sidecar), else the predict default. */
  rate?: number;
  release(): Promise<void>;
}

function makePipeline<O, R>(run: (video: string, o: O | undefined) => Promise<R>, release: () => Promise<void>): Pipeline<O, R> {
  const call = async (videos: string | readonly string[], o?: O) => {
    if (typeof videos === "string") return run(videos, o);
    const out: R[] = [];
    for (const v of videos) out.push(await run(v, o)); // one at a time: each forward uses every core
    return out;
  };
  return Object.assign(call, { dispose: release }) as Pipeline<O, R>;
}

/** The normalisation of a model folder's preprocessor_config.json, when it has one. */
function folderNormalization(model: string): Normalization | undefined {
  if (!existsSync(join(model, "preprocessor_config.json")) || !statSync(model).isDirectory()) return undefined;
  const { imageMean, imageStd } = VideoMAEImageProcessor.fromPretrained(model).options;
  return { mean: imageMean, std: imageStd };
}

async function runnerFor(task: PipelineTask, model: string | VideoMAEForVideoClassification | VideoMAEModel, o: PipelineOptions): Promise<Runner> {
  const labelsOverride = o.labelsFile ? readLabelNames(o.labelsFile) : undefined;
  if (typeof model !== "string") {
    return { model: model.model, labels: labelsOverride ?? model.labels, release: async () => {} };
  }
  if (/\.onnx$/i.test(model)) {
    const engine = await OnnxEngine.load(model);
    return { model: engine, labels: labelsOverride ?? engine.labels, rate: engine.meta.preprocessing.rate, release: () => engine.close() };
  }
  const loaded = task === "video-classification" ? await VideoMAEForVideoClassification.fromPretrained(model, o) : await VideoMAEModel.fromPretrained(model, o);
  return {
    model: loaded.model,
    labels: labelsOverride ?? loaded.labels,
    normalization: folderNormalization(model),
    release: async () => loaded.dispose(),
  };
}

/**
 * A task pipeline over a model (see the module comment for what `model` may be).
 *
 * @example
 *   const classify = await pipeline("video-classification", "runs/demo/finetune-pretrained/checkpoint-best.safetensors");
 *   console.log(await classify("clip.mp4", { topK: 2 }));
 *   // [ { label: 'move_left', score: 0.93 }, { label: 'move_up', score: 0.04 } ]
 *   await classify.dispose();
 */
export async function pipeline(task: "video-classification", model: string | VideoMAEForVideoClassification, options?: PipelineOptions): Promise<VideoClassificationPipeline>;
export async function pipeline(task: "feature-extraction", model: string | VideoMAEModel | VideoMAEForVideoClassification, options?: PipelineOptions): Promise<FeatureExtractionPipeline>;
export async function pipeline(
  task: PipelineTask,
  model: string | VideoMAEForVideoClassification | VideoMAEModel,
  options: PipelineOptions = {},
): Promise<VideoClassificationPipeline | FeatureExtractionPipeline> {
  if (task !== "video-classification" && task !== "feature-extraction") {
    throw new RangeError(`unknown task "${String(task)}"; videomae has "video-classification" and "feature-extraction"`);
  }
  const runner = await runnerFor(task, model, options);
  const reader = createVideoReader();
  const cfg = runner.model.config;
  if (task === "video-classification") {
    return makePipeline<PredictOptions, LabelScore[]>(
      async (video, o = {}) =>
        (await predictVideo(runner.model, runner.labels, reader, video, { rate: runner.rate, normalization: runner.normalization, ...o })).predictions,
      runner.release,
    );
  }
  return makePipeline<FeatureOptions, VideoFeatures>(
    (video, o = {}) =>
      extractFeatures(runner.model, reader, video, { window: cfg.numFrames, stride: o.stride ?? 4, size: cfg.imgSize, normalize: o.normalize ?? "none", batch: o.batch ?? 4 }),
    runner.release,
  );
}

/** The pre-`pipeline` spelling: a checkpoint and how to read it. */
export type ClassifierSpec = Omit<ModelSpec, "kind">;

/** `pipeline("video-classification", spec.checkpoint, spec)`. */
export function videoClassification(spec: ClassifierSpec): Promise<VideoClassificationPipeline> {
  return pipeline("video-classification", spec.checkpoint, spec);
}

/** `pipeline("feature-extraction", spec.checkpoint, spec)`. */
export function featureExtraction(spec: ClassifierSpec): Promise<FeatureExtractionPipeline> {
  return pipeline("feature-extraction", spec.checkpoint, spec);
}
