/** Labelled top-k for one video: views → logits → softmax mean → top-k {label, score}. */
import { isEngine, type InferenceEngine } from "../engines/engine.ts";
import type { Normalization } from "../data/transforms/normalize.ts";
import { rawToTensor } from "../io/tensors.ts";
import type { VisionTransformer } from "../models/vit.ts";
import { noGrad, tidy } from "../torch/index.ts";
import type { VideoReader } from "../video/reader.ts";
import { topk, ViewAggregator } from "./metrics.ts";
import { videoViews } from "./views.ts";
import { inInferencePrecision, onModelDevice } from "../nn/device.ts";

export interface LabelScore {
  label: string;
  score: number;
}

export interface PredictOptions {
  clips?: number;
  crops?: number;
  /** Frame stride (default 4). */
  rate?: number;
  topK?: number;
  precision?: "fp32" | "bf16";
  /** Mean/std of the model's preprocessing (default ImageNet's). */
  normalization?: Normalization;
}

/** `model`: our libtorch ViT, or an engine (e.g. an exported ONNX model) — same views either way. */
export async function predictVideo(
  model: VisionTransformer | InferenceEngine,
  labels: readonly string[] | null,
  reader: VideoReader,
  video: string,
  o: PredictOptions = {},
): Promise<{ views: number; predictions: LabelScore[] }> {
  const cfg = model.config;
  const engine = isEngine(model) ? model : null;
  const views = await videoViews(reader, video, { numFrames: cfg.numFrames, rate: o.rate ?? 4, size: cfg.imgSize, clips: o.clips ?? 1, crops: o.crops ?? 1, norm: o.normalization });
  const agg = new ViewAggregator(cfg.numClasses);
  if (!engine) (model as VisionTransformer).eval();
  for (const view of views) {
    if (engine) {
      agg.add(video, 0, Array.from(await engine.logits(view.data, 1)));
      continue;
    }
    const vit = model as VisionTransformer;
    const logits = noGrad(() =>
      tidy(() => {
        const x = rawToTensor({ dtype: "float32", shape: [1, view.channels, view.frames, view.height, view.width], data: view.data });
        return inInferencePrecision(vit, o.precision, () => vit.forward(onModelDevice(vit, x))).float().toArray();
      }),
    );
    agg.add(video, 0, logits);
  }
  const probs = agg.predictions()[0]!.probs;
  const predictions = topk(probs, Math.min(o.topK ?? 5, cfg.numClasses)).map((i) => ({ label: labels?.[i] ?? `class ${i}`, score: probs[i]! }));
  return { views: views.length, predictions };
}
