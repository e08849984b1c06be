/** `videomae eval`: multi-view testing of a fine-tuned model on a labelled list. */
import { writeFileSync } from "node:fs";
import { evaluateList } from "../../eval/evaluate.ts";
import { loadModelForInference } from "../../eval/load_model.ts";
import { parseViews } from "../../eval/views.ts";
import type { VisionTransformer } from "../../models/vit.ts";
import { ensureWritableFileDir, outputError } from "../../util/output.ts";
import { defineCommand, UsageError } from "../command.ts";
import { useDecoder } from "../decoder.ts";
import { classifierOptions, dataLoadingOptions, decoderOption, deviceOption, jsonOutputOption, precisionOption } from "../options/groups.ts";
import { choice, number, text } from "../options/schema.ts";

const PRESETS: Record<string, string> = { kinetics: "5x3", ssv2: "2x3", quick: "1x1" };

export const evalCommand = defineCommand({
  name: "eval",
  usage: `--test LIST --checkpoint FILE [--model NAME | --model-config FILE.json] [--labels FILE]
                     [--views 5x3|2x3|CxK|kinetics|ssv2] [--rate R] [--sampling dense|segment]
                     [--predictions OUT.jsonl] [--batch-size B] [--workers W] [--precision fp32|bf16] [--json]`,
  description: `Tests every video of a \`path label\` list with the official protocol: --views clips × crops
(5x3 for Kinetics/UCF/HMDB, 2x3 for SSv2; clips at an exact stride, 3 crops along the long side
after resizing the short side to the model size), softmax per view, mean over views, then
top-1/top-5. Prints per-class accuracy and the confusion matrix (for up to 20 classes), and
writes one JSON line per video with its top-5 to --predictions.`,
  options: {
    test: text({ valueName: "LIST", description: "the test list, `path label` per line" }),
    ...classifierOptions,
    views: text({ valueName: "CxK", default: "5x3", description: `clips × crops, or a preset: ${Object.entries(PRESETS).map(([k, x]) => `${k} (${x})`).join(", ")}` }),
    rate: number({ valueName: "R", default: 4, description: "frame stride of a clip" }),
    sampling: choice(["dense", "segment"], { default: "dense", description: "frame sampling: dense (clips of consecutive frames at --rate, Kinetics) or segment (one frame per equal segment, Something-Something V2)" }),
    predictions: text({ valueName: "OUT.jsonl", description: "write one JSON line per video with its top-5" }),
    ...dataLoadingOptions({ batchSize: 4, workers: 2 }),
    ...precisionOption,
    ...jsonOutputOption("the report"),
    ...decoderOption,
    ...deviceOption,
  },
  epilogue: `Example:
  videomae eval --test k400_val.csv --checkpoint runs/k400/checkpoint-best.safetensors --views 5x3`,
  async run(v) {
    useDecoder(v.decoder);
    if (!v.test || !v.checkpoint) throw new UsageError("--test LIST and --checkpoint FILE are required");
    if (v.predictions) ensureWritableFileDir(v.predictions, "--predictions"); // before the whole test set runs
    const { clips, crops } = parseViews(PRESETS[v.views] ?? v.views);
    const loaded = await loadModelForInference<VisionTransformer>({ checkpoint: v.checkpoint, model: v.model, configFile: v.modelConfig, labelsFile: v.labels, kind: "vit", device: v.device });
    const { report, videos, unreadable } = await evaluateList(loaded.model, {
      list: v.test,
      clips,
      crops,
      sampling: v.sampling as "dense" | "segment",
      samplingRate: v.rate,
      batchSize: v.batchSize,
      workers: v.workers,
      precision: v.precision as "fp32" | "bf16",
    });
    const name = (i: number) => loaded.labels?.[i] ?? String(i);
    if (v.predictions) {
      const text = videos.map((x) => JSON.stringify({ ...x, labelName: name(x.label), top5: x.top5.map((t) => ({ label: name(t.index), ...t })) })).join("\n") + "\n";
      try {
        writeFileSync(v.predictions, text);
      } catch (e) {
        throw outputError(e, v.predictions);
      }
    }
    if (v.json) {
      console.log(JSON.stringify({ views: `${clips}x${crops}`, ...report, unreadable }));
      return reportUnreadable(unreadable);
    }
    console.log(`${report.videos} videos, ${clips}×${crops} views: top-1 ${(report.top1 * 100).toFixed(2)}%, top-5 ${(report.top5 * 100).toFixed(2)}%, mean class accuracy ${(report.meanClassAccuracy * 100).toFixed(2)}%`);
    if (report.confusion.length <= 20) {
      console.log("per class (accuracy, then the confusion row: true class → predicted counts):");
      report.confusion.forEach((row, c) => {
        const acc = report.perClassAccuracy[c];
        console.log(`  ${name(c).padEnd(16)} ${acc === null ? "   —  " : `${(acc * 100).toFixed(1).padStart(5)}%`}  ${row.join(" ")}`);
      });
    }
    if (v.predictions) console.log(`predictions: ${v.predictions}`);
    return reportUnreadable(unreadable);
  },
});

/** Unreadable test videos are not in the scores: say which, and fail the run (exit 1) so scripts notice. */
function reportUnreadable(unreadable: string[]): number {
  if (!unreadable.length) return 0;
  process.stderr.write(`${unreadable.length} video${unreadable.length > 1 ? "s" : ""} could not be read and ${unreadable.length > 1 ? "are" : "is"} not in the scores: ${unreadable.join(", ")}\n`);
  return 1;
}
