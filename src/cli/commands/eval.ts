/** `videomae eval`: multi-view testing of a fine-tuned model on a labelled list. */
import { writeFileSync } from "node:fs";
import { evaluateList } from "../../eval/evaluate.ts";
import { loadModelForInference } from "../../eval/load_model.ts";
import { parseViews } from "../../eval/views.ts";
import type { VisionTransformer } from "../../models/vit.ts";
import { ensureWritableFileDir, outputError } from "../../util/output.ts";
import { UsageError, num, parseOptions, type Command } from "../command.ts";
import { DECODER_HELP, decoderOption, useDecoder } from "../decoder.ts";

const PRESETS: Record<string, string> = { kinetics: "5x3", ssv2: "2x3", quick: "1x1" };

export const evalCommand: Command = {
  name: "eval",
  help: `Usage: videomae eval --test LIST --checkpoint FILE [--model NAME | --config FILE] [--labels FILE]
                     [--views 5x3|2x3|CxK|kinetics|ssv2] [--rate R] [--sampling dense|segment]
                     [--predictions OUT.jsonl] [--batch-size B] [--workers W] [--precision fp32|bf16] [--json]

Tests every video of a \`path label\` list with the official protocol: --views clips × crops
(5x3 for Kinetics/UCF/HMDB, 2x3 for SSv2; clips at an exact stride, 3 crops along the long side
after resizing the short side to the model size), softmax per view, mean over views, then
top-1/top-5. Prints per-class accuracy and the confusion matrix (for up to 20 classes), and
writes one JSON line per video with its top-5 to --predictions.

Options:
${DECODER_HELP}

Example:
  videomae eval --test k400_val.csv --checkpoint runs/k400/checkpoint-best.safetensors --views 5x3`,
  async run(argv) {
    const { values: v } = parseOptions(argv, {
      test: { type: "string" },
      checkpoint: { type: "string" },
      model: { type: "string" },
      config: { type: "string" },
      labels: { type: "string" },
      views: { type: "string" },
      rate: { type: "string" },
      sampling: { type: "string" },
      predictions: { type: "string" },
      "batch-size": { type: "string" },
      workers: { type: "string" },
      precision: { type: "string" },
      json: { type: "boolean" },
      ...decoderOption,
    });
    useDecoder(v.decoder);
    if (!v.test || !v.checkpoint) throw new UsageError("--test LIST and --checkpoint FILE are required");
    if (v.predictions) ensureWritableFileDir(v.predictions, "--predictions"); // before the whole test set runs
    const { clips, crops } = parseViews(PRESETS[v.views ?? ""] ?? v.views ?? "5x3");
    const sampling = (v.sampling ?? "dense") as "dense" | "segment";
    if (sampling !== "dense" && sampling !== "segment") throw new UsageError("--sampling must be dense or segment");
    const loaded = await loadModelForInference<VisionTransformer>({ checkpoint: v.checkpoint, model: v.model, configFile: v.config, labelsFile: v.labels, kind: "vit" });
    const { report, videos, unreadable } = await evaluateList(loaded.model, {
      list: v.test,
      clips,
      crops,
      sampling,
      samplingRate: num(v.rate, 4, "rate"),
      batchSize: num(v["batch-size"], 4, "batch-size"),
      workers: num(v.workers, 2, "workers"),
      precision: v.precision === "bf16" ? "bf16" : "fp32",
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
};

/** Unreadable test videos are not in the scores: say which, and fail the run (exit 1) so scripts notice. */
function reportUnreadable(unreadable: string[]): number {
  if (!unreadable.length) return 0;
  process.stderr.write(`${unreadable.length} video${unreadable.length > 1 ? "s" : ""} could not be read and ${unreadable.length > 1 ? "are" : "is"} not in the scores: ${unreadable.join(", ")}\n`);
  return 1;
}
