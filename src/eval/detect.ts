/**
 * Testing the AVA detector (spec §3 test, §4): one clip per keyframe, the full frame padded to the
 * patch grid, the person detector's boxes (score ≥ threshold, extended for ROIAlign), and for
 * every box all classes' scores sigmoid(logit) × detector score, written as the detections CSV
 * with the detector's unextended boxes. Then frame-mAP@0.5 against the ground truth.
 * Also: detection fine-tuning with that evaluation after each epoch, and `detect` on one video.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { csvRow, readExcluded, readLabelMap, readProposals, type Box, type LabelMapEntry } from "../data/ava/csv.ts";
import { proposalKeyframes, type AvaKeyframe } from "../data/ava/clips.ts";
import { AvaLoader } from "../data/ava/loader.ts";
import type { DataParallel } from "../distributed/data_parallel.ts";
import { writePng } from "../io/png.ts";
import { createConfig, isModelName, type VitConfig } from "../models/config.ts";
import { ActionDetector, AVA_NUM_CLASSES, detectionConfig } from "../models/detection.ts";
import { describeLoad, isTrainingCheckpoint, loadCheckpointInto } from "../models/index.ts";
import { noGrad, tidy } from "../torch/index.ts";
import { loadCheckpoint } from "../io/checkpoint.ts";
import { AVA_DATA_DEFAULTS, avaReader, batchTensors, detectTrain, type DetectTrainOptions } from "../train/detect.ts";
import { frameView } from "../video/reader.ts";
import { avaFrameMap, formatAvaMap, type AvaMapResult } from "./ava_map.ts";
import { parseAvaCsv } from "../data/ava/csv.ts";
import { detectionPicture } from "./detect_picture.ts";

/** One output row: a box and one class's score. */
export interface DetectionRow {
  videoId: string;
  timestamp: number;
  box: Box;
  actionId: number;
  score: number;
}

/**
 * The detector from a checkpoint: ours (safetensors from detect-train: the config is inside) or
 * a reference-layout .pth (then `model` names the backbone architecture, e.g.
 * vit_giant_patch14_224 for the released ViT-g file, and `overrides` may change its input size).
 */
export async function loadDetector(checkpoint: string, model: string | null, overrides: Record<string, unknown> = {}, log: (m: string) => void = () => {}): Promise<ActionDetector> {
  let cfg: VitConfig;
  if (await isTrainingCheckpoint(checkpoint)) {
    const meta = await loadCheckpoint(checkpoint);
    for (const t of meta.model.values()) t.dispose();
    const c = (meta.config as { modelConfig?: VitConfig }).modelConfig;
    if (!c || c.useMeanPooling) throw new Error(`${checkpoint}: not a detection checkpoint (no detector modelConfig); train one with videomae detect-train`);
    cfg = c;
  } else {
    if (!model || !isModelName(model)) throw new Error(`${checkpoint} is a reference-layout checkpoint: say which backbone with --model NAME (e.g. vit_giant_patch14_224)`);
    const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== null && v !== undefined));
    const base = createConfig(model as never, { ...defined, dropPathRate: 0 } as never) as VitConfig;
    if (base.kind !== "vit") throw new Error(`--model ${model} is not a ViT backbone`);
    cfg = detectionConfig(base, AVA_NUM_CLASSES);
  }
  const det = new ActionDetector(cfg);
  log(describeLoad(await loadCheckpointInto(det, checkpoint)));
  det.eval();
  return det;
}

/** Scores of every box of every keyframe the loader yields: sigmoid(logits) × detector score, all classes. */
export async function detectKeyframes(model: ActionDetector, loader: AvaLoader, onBatch?: (done: number) => void): Promise<DetectionRow[]> {
  const rows: DetectionRow[] = [];
  let done = 0;
  for await (const b of loader.epoch(0)) {
    const probs = noGrad(() =>
      tidy(() => {
        const { video, rois } = batchTensors(b);
        return model.detect(video, rois).float().sigmoid().toArray();
      }),
    );
    const C = model.config.numClasses;
    let k = 0;
    for (const s of b.samples) {
      for (const i of s.kept) {
        const kf = s.keyframe;
        for (let c = 0; c < C; c++) rows.push({ videoId: kf.videoId, timestamp: kf.timestamp, box: kf.boxes[i]!, actionId: c + 1, score: probs[k * C + c]! * kf.scores[i]! });
        k++;
      }
    }
    onBatch?.((done += b.samples.length));
  }
  return rows;
}

export function detectionsCsv(rows: readonly DetectionRow[]): string {
  return rows.map((r) => csvRow(r.videoId, r.timestamp, r.box, String(r.actionId), r.score.toFixed(6))).join("\n") + "\n";
}

export const DETECT_EVAL_DEFAULTS = {
  ...AVA_DATA_DEFAULTS,
  checkpoint: "",
  /** Backbone of a reference-layout .pth (ours carry their config). */
  model: null as string | null,
  imgSize: null as number | null,
  numFrames: null as number | null,
  samplingRate: 4,
  /** Person proposals CSV (video_id,timestamp,x1,y1,x2,y2,score). */
  proposals: "",
  proposalScore: 0.8,
  /** Ground truth for the mAP (optional: without it only the detections CSV is written). */
  gt: null as string | null,
  excluded: null as string | null,
  /** Top detections kept per keyframe by the evaluator (ActivityNet: 50; VideoMAE's own code: 0 = all). */
  capacity: 0,
  batchSize: 4,
  cacheMib: 0,
  out: "runs/detect-eval",
};
export type DetectEvalOptions = typeof DETECT_EVAL_DEFAULTS;

/** A test loader over proposal keyframes. */
function testLoader(keyframes: AvaKeyframe[], o: { videos: string; videoExt: string; fps: number; shortSide: number; samplingRate: number; batchSize: number; cacheMib: number }, cfg: VitConfig): AvaLoader {
  return new AvaLoader(keyframes, {
    reader: avaReader(o.cacheMib),
    videoDir: o.videos,
    videoExt: o.videoExt,
    clip: { numFrames: cfg.numFrames, samplingRate: o.samplingRate, fps: o.fps > 0 ? o.fps : null, shortSide: o.shortSide },
    augment: null,
    batchSize: o.batchSize,
    multiple: cfg.patchSize,
    seed: 0,
    shuffle: false,
    dropLast: false,
  });
}

/** Detections for the proposals, then (with ground truth and a label map) frame-mAP. */
export async function evaluateDetector(
  model: ActionDetector,
  o: { videos: string; videoExt: string; fps: number; shortSide: number; samplingRate: number; batchSize: number; cacheMib: number; proposals: string; proposalScore: number; gt: string | null; excluded: string | null; labelMap: string | null; capacity: number },
): Promise<{ rows: DetectionRow[]; map: AvaMapResult | null; keyframes: number }> {
  const excluded = readExcluded(o.excluded);
  const keyframes = proposalKeyframes(readProposals(o.proposals, o.proposalScore), excluded);
  const rows = await detectKeyframes(model, testLoader(keyframes, o, model.config));
  const map = o.gt && o.labelMap ? avaFrameMap(parseAvaCsv(o.gt), rows.map((r) => ({ ...r, last: r.score })), readLabelMap(o.labelMap), excluded, { capacity: o.capacity }) : null;
  return { rows, map, keyframes: keyframes.length };
}

/** `detect-eval`: writes OUT/detections.csv and, with --gt and --label-map, OUT/report.{txt,json}. */
export async function detectEval(o: DetectEvalOptions, log: (m: string) => void = (m) => process.stderr.write(m + "\n")) {
  if (!o.checkpoint || !o.proposals || !o.videos) throw new Error("give --checkpoint, --proposals and --videos");
  if (o.gt && !o.labelMap) throw new Error("--gt needs --label-map (the pbtxt of the evaluated classes)");
  const model = await loadDetector(o.checkpoint, o.model, { imgSize: o.imgSize, numFrames: o.numFrames }, log);
  const r = await evaluateDetector(model, o);
  mkdirSync(o.out, { recursive: true });
  const files = { detections: join(o.out, "detections.csv"), report: r.map ? join(o.out, "report.txt") : null, json: r.map ? join(o.out, "report.json") : null };
  writeFileSync(files.detections, detectionsCsv(r.rows));
  if (r.map) {
    writeFileSync(files.report!, formatAvaMap(r.map) + "\n");
    writeFileSync(files.json!, JSON.stringify({ mAP: r.map.mAP, perClass: r.map.perClass.map((p) => ({ ...p, ap: Number.isNaN(p.ap) ? null : p.ap })), keyframes: r.keyframes, capacity: o.capacity }, null, 1) + "\n");
  }
  return { ...r, files };
}

/** detect-train with frame-mAP on --val/--val-proposals after every epoch (each rank scores all of it). */
export async function detectTrainValidated(o: DetectTrainOptions, log: (m: string) => void = (m) => process.stderr.write(m + "\n"), dist: DataParallel | null = null) {
  if ((o.val || o.valProposals) && !(o.val && o.valProposals && o.labelMap)) throw new Error("validation needs --val GT.csv, --val-proposals P.csv and --label-map L.pbtxt together");
  const validate =
    o.val && o.valProposals
      ? async (model: ActionDetector) => {
          model.eval();
          try {
            const { map } = await evaluateDetector(model, { ...o, batchSize: Math.max(1, Math.ceil(o.batchSize * 1.5)), proposals: o.valProposals!, gt: o.val, excluded: o.valExcluded, capacity: 0 });
            return { mAP: map!.mAP };
          } finally {
            model.train();
          }
        }
      : undefined;
  return detectTrain(o, log, dist, validate);
}

export const DETECT_VIDEO_DEFAULTS = {
  ...AVA_DATA_DEFAULTS,
  checkpoint: "",
  model: null as string | null,
  samplingRate: 4,
  /** Keyframe time in seconds. */
  time: 1,
  /** Boxes: "x1,y1,x2,y2[,score];…" normalised to [0, 1], or a proposals CSV (its rows at --time). */
  boxes: "",
  top: 3,
  png: "detect.png",
  scale: 4,
};

/** Parses `--boxes`: inline "x1,y1,x2,y2[,score];…" or a proposals CSV (rows of the keyframe). */
export function parseBoxes(spec: string, videoId: string, time: number): { box: Box; score: number }[] {
  if (/^[\d.,;\s-]+$/.test(spec)) {
    return spec.split(";").filter((s) => s.trim()).map((s) => {
      const v = s.split(",").map(Number);
      if ((v.length !== 4 && v.length !== 5) || v.some((x) => !Number.isFinite(x))) throw new Error(`--boxes: '${s}' is not x1,y1,x2,y2[,score] (normalised to 0..1)`);
      return { box: v.slice(0, 4) as Box, score: v[4] ?? 1 };
    });
  }
  return readProposals(spec, 0).get(`${videoId},${String(Math.trunc(time)).padStart(4, "0")}`) ?? [];
}

/** `detect VIDEO --boxes …`: actions of the given people at one keyframe, as a PNG picture. */
export async function detectVideo(video: string, o: typeof DETECT_VIDEO_DEFAULTS, log: (m: string) => void = () => {}) {
  const model = await loadDetector(o.checkpoint, o.model, {}, log);
  const videoId = video.replace(/^.*\//, "").replace(/\.[^.]+$/, "");
  const people = parseBoxes(o.boxes, videoId, o.time);
  if (!people.length) throw new Error(`no boxes for ${videoId} at second ${o.time}: give --boxes x1,y1,x2,y2;… or a proposals CSV with rows for that keyframe`);
  const names: LabelMapEntry[] = o.labelMap ? readLabelMap(o.labelMap) : Array.from({ length: model.config.numClasses }, (_, i) => ({ id: i + 1, name: `action ${i + 1}` }));
  const kf: AvaKeyframe = { videoId, timestamp: o.time, key: `${videoId},${o.time}`, boxes: people.map((p) => p.box), actions: people.map(() => []), scores: people.map((p) => p.score) };
  const dir = video.slice(0, Math.max(0, video.lastIndexOf("/"))) || ".";
  const ext = video.slice(video.lastIndexOf(".") + 1);
  const rows = await detectKeyframes(model, testLoader([kf], { ...o, videos: dir, videoExt: ext, batchSize: 1, cacheMib: 0 }, model.config));
  const evaluated = new Set(names.map((n) => n.id));
  const detections = people.map((p, i) => ({
    box: p.box,
    actions: rows
      .slice(i * model.config.numClasses, (i + 1) * model.config.numClasses)
      .filter((r) => evaluated.has(r.actionId))
      .sort((a, b) => b.score - a.score)
      .slice(0, o.top)
      .map((r) => ({ name: names.find((n) => n.id === r.actionId)!.name, score: r.score })),
  }));
  // The keyframe itself at the decoded size, for the picture.
  const reader = avaReader(0);
  const info = await reader.probe(video);
  const k = Math.min(info.frameCount - 1, Math.round(o.time * (o.fps > 0 ? o.fps : info.fps)));
  const clip = await reader.readFrames(video, [k], { shortSide: o.shortSide });
  const pic = detectionPicture(frameView(clip, 0), clip.width, clip.height, detections, o.scale);
  writePng(o.png, pic.rgb, pic.width, pic.height);
  return { png: o.png, people: detections };
}
