/**
 * Multi-view testing of a classifier on a labelled list (spec §4.3): every video as
 * clips × crops views, softmax per view averaged per video, top-1/top-5, per-class accuracy,
 * confusion matrix, and per-video predictions.
 */
import { DataLoader, VideoClsDataset } from "../data/index.ts";
import type { VisionTransformer } from "../models/vit.ts";
import { noGrad, tidy } from "../torch/index.ts";
import { disposing, labelledInputs } from "../data/collate.ts";
import { Progress } from "../util/progress.ts";
import { evaluatePredictions, topk, ViewAggregator, type EvalReport } from "./metrics.ts";
import { inInferencePrecision, onModelDevice } from "../nn/device.ts";

export interface EvaluateOptions {
  list: string;
  clips: number;
  crops: number;
  samplingRate: number;
  batchSize: number;
  workers: number;
  precision?: "fp32" | "bf16";
  sampling?: "dense" | "segment";
}

export interface VideoResult {
  path: string;
  label: number;
  top5: { index: number; score: number }[];
  views: number;
}

/**
 * `unreadable`: videos the loader could not read. The loader fills their positions with other
 * clips (as in training), so they are missing from the scores: callers must say so.
 */
export async function evaluateList(model: VisionTransformer, o: EvaluateOptions): Promise<{ report: EvalReport; videos: VideoResult[]; unreadable: string[] }> {
  const cfg = model.config;
  const ds = new VideoClsDataset({
    mode: "test",
    list: o.list,
    sampling: o.sampling ?? "dense",
    numClasses: cfg.numClasses,
    numFrames: cfg.numFrames,
    samplingRate: o.samplingRate,
    inputSize: cfg.imgSize,
    testNumClips: o.clips,
    testNumCrops: o.crops,
  });
  const loader = new DataLoader(ds, { batchSize: o.batchSize, numWorkers: o.workers, shuffle: false, dropLast: false });
  const agg = new ViewAggregator(cfg.numClasses);
  const paths = new Map<string, string>();
  const progress = new Progress({ total: loader.numBatches(0), label: "eval", unit: "batches" });
  model.eval();
  try {
    for await (const b of disposing(loader.epoch(0))) {
      const { video, labels } = labelledInputs(b);
      const logits = noGrad(() => tidy(() => inInferencePrecision(model, o.precision, () => model.forward(onModelDevice(model, video))).float().toFloat32Array()));
      const K = cfg.numClasses;
      for (let r = 0; r < b.size; r++) {
        const id = String(b.entries[r]);
        agg.add(id, labels[r]!, logits.subarray(r * K, (r + 1) * K));
        paths.set(id, b.paths[Math.floor(r / b.viewsPerSample)]!);
      }
      progress.tick(1);
    }
  } finally {
    progress.done();
    await loader.close();
  }
  const preds = agg.predictions();
  const videos = preds.map((p) => ({
    path: paths.get(p.id)!,
    label: p.label,
    views: p.views,
    top5: topk(p.probs, Math.min(5, cfg.numClasses)).map((index) => ({ index, score: p.probs[index]! })),
  }));
  return { report: evaluatePredictions(preds, cfg.numClasses), videos, unreadable: loader.badFiles };
}
