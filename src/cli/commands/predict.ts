/** `videomae predict VIDEO...`: labelled top-k for video files. */
import { readLabelNames } from "../../data/labels.ts";
import { OnnxEngine } from "../../engines/onnx.ts";
import { loadModelForInference } from "../../eval/load_model.ts";
import { predictVideo } from "../../eval/predict.ts";
import { parseViews } from "../../eval/views.ts";
import type { VisionTransformer } from "../../models/vit.ts";
import { createVideoReader, VideoError } from "../../video/index.ts";
import { useDecoder } from "../decoder.ts";
import { defineCommand, UsageError } from "../command.ts";
import { classifierOptions, decoderOption, deviceOption, engineOption, jsonOutputOption, precisionOption } from "../options/groups.ts";
import { number, text } from "../options/schema.ts";

export const predictCommand = defineCommand({
  name: "predict",
  usage: `VIDEO... --checkpoint FILE [--model NAME | --model-config FILE.json] [--labels FILE]
                        [--top-k K] [--views CLIPSxCROPS] [--rate R] [--precision fp32|bf16] [--json]
       videomae predict VIDEO... --engine onnx --model FILE.onnx [--labels FILE] [--top-k K] [--views CxK] [--json]`,
  description: `Classifies each video with a fine-tuned model: one centred clip with a centre crop by default,
or multi-view testing (--views 5x3: 5 clips × 3 crops, softmax averaged over views, as the
official test protocol). Prints the top-k labels with their probabilities. A video that cannot
be read is reported and skipped, the others are still classified; the exit code is then 1.
With --engine onnx the frames go through the same sampling, resize, crop and normalisation.`,
  options: {
    ...classifierOptions,
    topK: number({ valueName: "K", default: 5, description: "how many labels" }),
    views: text({ valueName: "CxK", default: "1x1", description: "clips × crops (official Kinetics testing is 5x3, SSv2 2x3)" }),
    rate: number({ valueName: "R", defaultText: "4; with --engine onnx, the exported one", description: "frame stride of the clip" }),
    ...engineOption,
    ...precisionOption,
    ...decoderOption,
    ...deviceOption,
    ...jsonOutputOption(`one object per video: {"video": ..., "predictions": [{"label", "score"}]}`),
  },
  operands: true,
  epilogue: `Example:
  videomae predict dance.mp4 --checkpoint vit_b_k710_dl_from_giant.pth --model vit_base_patch16_224 \\
                   --labels k710_labels.txt --views 5x3`,
  async run(v, videos) {
    useDecoder(v.decoder);
    if (!videos.length) throw new UsageError("give at least one VIDEO");
    const k = v.topK;
    const { clips, crops } = parseViews(v.views);
    if (v.engine === "onnx") {
      if (!v.model || !/\.onnx$/i.test(v.model)) throw new UsageError("--engine onnx needs --model FILE.onnx (from videomae export)");
      if (v.checkpoint || v.modelConfig) throw new UsageError("--engine onnx takes the model from --model FILE.onnx, not --checkpoint/--model-config");
      const engine = await OnnxEngine.load(v.model);
      try {
        const labels = v.labels ? readLabelNames(v.labels) : engine.labels;
        if (labels && labels.length !== engine.config.numClasses) throw new UsageError(`the label file has ${labels.length} names but the model has ${engine.config.numClasses} classes`);
        const reader = createVideoReader();
        const rate = v.rate ?? engine.meta.preprocessing.rate;
        return await classifyAll(videos, (video) => predictVideo(engine, labels, reader, video, { clips, crops, rate, topK: k }), v.json);
      } finally {
        await engine.close();
      }
    }
    if (!v.checkpoint) throw new UsageError("--checkpoint is required");
    const loaded = await loadModelForInference<VisionTransformer>({ checkpoint: v.checkpoint, model: v.model, configFile: v.modelConfig, labelsFile: v.labels, kind: "vit", device: v.device });
    const cfg = loaded.config;
    if (loaded.labels && loaded.labels.length !== cfg.numClasses) {
      throw new UsageError(`the label file has ${loaded.labels.length} names but the model has ${cfg.numClasses} classes`);
    }
    const reader = createVideoReader();
    const rate = v.rate ?? 4;
    const precision = v.precision as "fp32" | "bf16";
    return classifyAll(videos, (video) => predictVideo(loaded.model, loaded.labels, reader, video, { clips, crops, rate, topK: k, precision }), v.json);
  },
});

/**
 * Classifies every video, going on past one that cannot be read (reported on stderr, and as
 * {"video", "error"} with --json): one bad file must not cost the others their predictions, but
 * the run still fails at the end (exit code 1) so scripts notice.
 */
async function classifyAll(
  videos: string[],
  one: (video: string) => Promise<{ views: number; predictions: { label: string; score: number }[] }>,
  json?: boolean,
): Promise<number> {
  const failed: string[] = [];
  for (const video of videos) {
    let r;
    try {
      r = await one(video);
    } catch (e) {
      if (!(e instanceof VideoError)) throw e;
      failed.push(video);
      if (json) console.log(JSON.stringify({ video, error: e.message }));
      process.stderr.write(`skipped ${video}: ${e.message}\n`);
      continue;
    }
    print(video, r.views, r.predictions, json);
  }
  if (!failed.length) return 0;
  process.stderr.write(`${failed.length} of ${videos.length} videos could not be classified: ${failed.join(", ")}\n`);
  return 1;
}

function print(video: string, views: number, predictions: { label: string; score: number }[], json?: boolean): void {
  if (json) console.log(JSON.stringify({ video, views, predictions }));
  else {
    console.log(`${video} (${views} view${views > 1 ? "s" : ""}):`);
    for (const p of predictions) console.log(`  ${(p.score * 100).toFixed(1).padStart(5)}%  ${p.label}`);
  }
}
