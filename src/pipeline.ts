/**
 * Task API, in the spirit of transformers.js pipelines: build once from a checkpoint, call on
 * video files.
 *
 *   import { videoClassification } from "videomae";
 *   const classify = await videoClassification({ checkpoint: "runs/ft/checkpoint-best.safetensors" });
 *   await classify("clip.mp4", { topK: 2 });
 *   // → [ { label: "move_left", score: 0.93 }, { label: "move_up", score: 0.04 } ]   (demo model)
 *
 *   const features = await featureExtraction({ checkpoint: "vit_g_k710_ft.pth", model: "vit_giant_patch14_224" });

 *   const f = await features("video.mp4", { stride: 4 });  // { data: Float32Array, windows, dim }
 *
 * A `.onnx` checkpoint (from `videomae export`, its .json beside it; `--features` for
 * featureExtraction) runs through onnxruntime-node with the same preprocessing.
 */
import { readLabelNames } from "./data/labels.ts";
import { OnnxEngine } from "./engines/onnx.ts";
import { extractFeatures } from "./eval/extract.ts";
import { loadModelForInference, type ModelSpec } from "./eval/load_model.ts";
import { predictVideo, type LabelScore, type PredictOptions } from "./eval/predict.ts";
import type { VisionTransformer } from "./models/vit.ts";
import { createVideoReader } from "./video/index.ts";

export type ClassifierSpec = Omit<ModelSpec, "kind">;

export async function videoClassification(spec: ClassifierSpec): Promise<(video: string, o?: PredictOptions) => Promise<LabelScore[]>> {
  if (/\.onnx$/i.test(spec.checkpoint)) {
    const engine = await OnnxEngine.load(spec.checkpoint);
    const labels = spec.labelsFile ? readLabelNames(spec.labelsFile) : engine.labels;
    const reader = createVideoReader();
    return async (video, o = {}) => (await predictVideo(engine, labels, reader, video, { rate: engine.meta.preprocessing.rate, ...o })).predictions;
  }
  const loaded = await loadModelForInference<VisionTransformer>({ ...spec, kind: "vit" });
  const reader = createVideoReader();
  return async (video, o = {}) => (await predictVideo(loaded.model, loaded.labels, reader, video, o)).predictions;
}

export async function featureExtraction(
  spec: ClassifierSpec,
): Promise<(video: string, o?: { stride?: number; normalize?: "none" | "imagenet"; batch?: number }) => Promise<{ data: Float32Array; windows: number; dim: number }>> {
  const onnx = /\.onnx$/i.test(spec.checkpoint);
  const loaded = onnx ? { model: await OnnxEngine.load(spec.checkpoint) } : await loadModelForInference<VisionTransformer>({ ...spec, kind: "vit" });
  const reader = createVideoReader();
  const cfg = loaded.model.config;
  return (video, o = {}) =>
    extractFeatures(loaded.model, reader, video, { window: cfg.numFrames, stride: o.stride ?? 4, size: cfg.imgSize, normalize: o.normalize ?? "none", batch: o.batch ?? 4 });
}
