/**
 * Spatio-temporal action detection (AVA): `videomae detect-train`, `detect-eval`,
 * `detect VIDEO --boxes …` and `detect-synth` (the synthetic detection set). The options come from
 * the library's defaults tables (options/detection.ts); the work is in src/train/detect.ts and
 * src/eval/detect.ts.
 */
import { generateSynthDetection } from "../../data/synth/detection.ts";
import { formatAvaMap } from "../../eval/ava_map.ts";
import { detectEval, detectTrainValidated, detectVideo } from "../../eval/detect.ts";
import { defineCommand, UsageError } from "../command.ts";
import { decoderOption, jsonOutputOption } from "../options/groups.ts";
import { detectEvalOptions, detectSynthOptions, detectTrainOptions, detectVideoOptions } from "../options/detection.ts";
import { DISTRIBUTED_HELP, runMaybeDistributed, runOptions } from "./train.ts";

const FILES_HELP = `Files (AVA v2.2 formats; boxes normalised to [0, 1]):
  ground truth  video_id,timestamp,x1,y1,x2,y2,action_id,person_id
  proposals     video_id,timestamp,x1,y1,x2,y2,score         (person detector; kept if score ≥ --proposal-score)
  excluded      video_id,timestamp
  label map     pbtxt with item { name: "…" id: N } (the evaluated classes: 60 for AVA)
  videos        --videos DIR holding whole videos <video_id>.<video-ext>; keyframe t is frame round(t·fps)`;

export const detectTrainCommand = defineCommand({
  name: "detect-train",
  usage: `--train GT.csv --videos DIR [--finetune CKPT] [--model NAME]
                             [--val GT.csv --val-proposals P.csv --label-map L.pbtxt] [--out DIR] [options]`,
  description: `Fine-tunes an action detector (ViT → norm → mean over time → ROIAlign 7×7 → max → Linear 80) on
ground-truth person boxes (jittered) of clips of --num-frames × --sampling-rate frames around each
keyframe: BCE over the 80 classes, AdamW + layer decay + drop path, warm-up + cosine, as the
VideoMAE AVA recipe. --finetune takes any of our pre-trained or fine-tuned backbones (or an official
one). With --val, --val-proposals and --label-map, frame-mAP@0.5 after each epoch keeps
checkpoint-best. --shuffle-labels permutes the labels over boxes (the control experiment).

${FILES_HELP}`,
  // No --device yet: ROIAlign is a CPU kernel (detection runs on the CPU).
  options: { ...detectTrainOptions, ...decoderOption, ...jsonOutputOption("the run summary") },
  epilogue: DISTRIBUTED_HELP.trimStart(),
  async run(options) {
    const run = runOptions(options);
    return runMaybeDistributed(options.json, (log, dist) => detectTrainValidated(run, log, dist));
  },
});

export const detectEvalCommand = defineCommand({
  name: "detect-eval",
  usage: `--checkpoint CKPT --proposals P.csv --videos DIR
                            [--gt GT.csv --label-map L.pbtxt [--excluded E.csv] [--capacity 50]] [--out DIR]`,
  description: `Scores every person proposal of every keyframe (one clip, full frame padded to the patch grid):
sigmoid of the 80 logits × the detector score, written to OUT/detections.csv (all 80 classes per
box, the reference's format). With --gt and --label-map also frame-mAP@0.5 as ActivityNet's
evaluator computes it (per-class VOC AP, nanmean over the label map's classes), per-class AP in
OUT/report.txt and report.json. --capacity 50 keeps ActivityNet's top-50 rows per keyframe
(VideoMAE's own evaluation: no cap, 0). A reference-layout .pth needs --model (its backbone, e.g.
vit_giant_patch14_224 for the released ViT-g AVA-Kinetics file).

${FILES_HELP}`,
  options: { ...detectEvalOptions, ...jsonOutputOption("mAP, keyframes and files") },
  async run(v) {
    const { json, config: _file, ...config } = v as typeof v & { config?: string }; // --config FILE.json was merged already
    const r = await detectEval(config);
    if (json) console.log(JSON.stringify({ mAP: r.map?.mAP ?? null, keyframes: r.keyframes, files: r.files }));
    else {
      console.log(`${r.keyframes} keyframes scored; detections ${r.files.detections}`);
      if (r.map) console.log(formatAvaMap(r.map) + `\nreport ${r.files.report}`);
    }
    return 0;
  },
});

export const detectCommand = defineCommand({
  name: "detect",
  usage: `VIDEO --checkpoint CKPT --boxes "x1,y1,x2,y2[,score];…"|PROPOSALS.csv
                       [--time SECONDS] [--label-map L.pbtxt] [--png detect.png]`,
  description: `Says who does what at one keyframe of VIDEO: the detector scores each given person box (normalised
coordinates, or the proposals CSV rows of that keyframe) and draws the keyframe with the boxes and
each box's --top actions into a PNG.`,
  options: { ...detectVideoOptions, ...jsonOutputOption("the people and their actions") },
  operands: true,
  async run(v, operands) {
    if (operands.length !== 1) throw new UsageError("give the VIDEO first: videomae detect VIDEO --checkpoint CKPT --boxes …");
    const { json, config: _file, ...config } = v as typeof v & { config?: string }; // --config FILE.json was merged already
    const r = await detectVideo(operands[0]!, { ...config, videos: "", videoExt: "" });
    if (json) console.log(JSON.stringify(r));
    else {
      r.people.forEach((p, i) => console.log(`person ${i + 1} [${p.box.map((x) => x.toFixed(3)).join(", ")}]: ${p.actions.map((a) => `${a.name} ${(100 * a.score).toFixed(1)}%`).join(", ")}`));
      console.log(`picture ${r.png}`);
    }
    return 0;
  },
});

export const detectSynthCommand = defineCommand({
  name: "detect-synth",
  usage: "--out DIR [options]",
  description: `Writes a synthetic action-detection set in AVA's formats: videos of several moving shapes, each
shape a "person" whose action is its kind of motion (move up/down, grow, swing), ground-truth CSVs,
noisy proposals with scores (plus spurious ones), a label map and an excluded keyframe.`,
  options: { ...detectSynthOptions, ...jsonOutputOption("the set's folder and classes") },
  async run(v) {
    const { json, config: _file, ...config } = v as typeof v & { config?: string }; // --config FILE.json was merged already
    const r = await generateSynthDetection({ ...config, log: json ? undefined : (m: string) => process.stderr.write(m + "\n") });
    console.log(json ? JSON.stringify(r) : `synthetic detection set in ${r.dir}: ${r.classes.map((c) => `${c.id} ${c.name}`).join(", ")}`);
    return 0;
  },
});
