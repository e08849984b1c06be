/**
 * Fine-tuning the AVA action detector (spec §3): BCE over the 80 action logits of every
 * ground-truth person box (jittered), AdamW with layer-wise lr decay, drop path, warm-up + cosine
 * per step — the classification fine-tuning recipe of finetune.ts, with detection data. Resume,
 * data parallelism and checkpoints come from the shared training loop.
 *
 * Per-epoch validation (frame-mAP) lives above this floor (src/eval/detect.ts) and comes in as
 * the `validate` hook.
 */
import { parseAvaCsv, readLabelMap } from "../data/ava/csv.ts";
import { groundTruthKeyframes, type AvaBatch, type AvaKeyframe } from "../data/ava/clips.ts";
import { AvaLoader } from "../data/ava/loader.ts";
import type { DataParallel } from "../distributed/data_parallel.ts";
import { createConfig, type ModelName, type VitConfig } from "../models/config.ts";
import { ActionDetector, AVA_NUM_CLASSES, detectionConfig, detectionLoss } from "../models/detection.ts";
import { describeLoad, loadCheckpointInto } from "../models/index.ts";
import { Generator, manualSeed, tensor, tidy, type Tensor } from "../torch/index.ts";
import { Rng } from "../util/rng.ts";
import { createVideoReader } from "../video/select.ts";
import { CachedReader } from "../video/cached-reader.ts";
import type { VideoReader } from "../video/reader.ts";
import { finetuneOptimizer, FINETUNE_DEFAULTS } from "./finetune.ts";
import { trainLoop, type TrainLoopResult } from "./loop.ts";
import { BACKBONE_OVERRIDES, dropGenerator, loopSettings, modelFields, RUN_DEFAULTS } from "./options.ts";

/** Data options shared by detect-train and detect-eval. */
export const AVA_DATA_DEFAULTS = {
  /** Folder of whole videos `<video_id>.<videoExt>`. */
  videos: "",
  videoExt: "mp4",
  /** Frame rate of the keyframe timestamps' frame indices (the reference data: 25 fps); 0 = each video's own. */
  fps: 25,
  /** Short side of the decoded frames (the reference: 256). */
  shortSide: 256,
  /** The pbtxt label map (evaluated classes); needed for evaluation. */
  labelMap: null as string | null,
};

export const DETECT_TRAIN_DEFAULTS = {
  ...RUN_DEFAULTS,
  model: "vit_base_patch16_224",
  ...BACKBONE_OVERRIDES,
  ...AVA_DATA_DEFAULTS,
  /** Backbone weights: a pre-training or fine-tuned checkpoint (ours or official); none = from scratch. */
  finetune: null as string | null,
  /** Ground-truth CSV of the training keyframes. */
  train: "",
  /** Validation ground truth + proposals (frame-mAP each epoch when both are given). */
  val: null as string | null,
  valProposals: null as string | null,
  valExcluded: null as string | null,
  proposalScore: 0.8,
  numClasses: AVA_NUM_CLASSES,
  out: "runs/detect",
  epochs: 30,
  warmupEpochs: 5,
  lr: 2.5e-4,
  minLr: 1e-6,
  beta2: 0.999,
  layerDecay: 0.75,
  dropPath: 0.2,
  cropSize: 224,
  flip: true,
  colorJitter: true,
  boxJitter: true,
  /** At most this many boxes per training clip (the reference: 100). */
  maxBoxes: 100,
  /** Control experiment: permute the action sets among all training boxes (a fixed permutation). */
  shuffleLabels: false,
  /** MiB of decoded whole videos kept in memory (small datasets: decode each video once). */
  cacheMib: 0,
};
export type DetectTrainOptions = typeof DETECT_TRAIN_DEFAULTS;

export function detectorConfig(o: { model: string; numClasses: number } & Record<string, unknown>, dropPath = 0): VitConfig {
  const cfg = createConfig(o.model as ModelName, { dropPathRate: dropPath, ...modelFields(o, Object.keys(BACKBONE_OVERRIDES)) } as never);
  if (cfg.kind !== "vit") throw new Error(`--model ${o.model} is not a ViT backbone (use a vit_* name)`);
  return detectionConfig(cfg, o.numClasses);
}

/** The process's video reader, behind an in-memory cache of whole videos when asked for. */
export function avaReader(cacheMib: number): VideoReader {
  const r = createVideoReader();
  return cacheMib > 0 ? new CachedReader(r, cacheMib * 2 ** 20) : r;
}

/**
 * Ground-truth keyframes for training: at most `maxBoxes` people each; with `shuffle`, the action
 * sets are permuted over all boxes (boxes stay, labels move), the control that shows what the
 * detector learns from the pixels rather than from label statistics.
 */
export function trainingKeyframes(file: string, maxBoxes: number, shuffle: boolean, seed: number): AvaKeyframe[] {
  const kfs = groundTruthKeyframes(parseAvaCsv(file)).map((k) => ({ ...k, boxes: k.boxes.slice(0, maxBoxes), actions: k.actions.slice(0, maxBoxes), scores: k.scores.slice(0, maxBoxes) }));
  if (!shuffle) return kfs;
  const all = kfs.flatMap((k) => k.actions);
  new Rng(seed ^ 0x5eed).shuffle(all);
  let i = 0;
  return kfs.map((k) => ({ ...k, actions: k.actions.map(() => all[i++]!) }));
}

/** Multi-hot targets [K, numClasses] of a batch's kept boxes (action a → column a − 1). */
export function batchTargets(b: AvaBatch, numClasses: number): Tensor {
  const rows: number[][] = [];
  for (const s of b.samples) {
    for (const i of s.kept) {
      const r = new Array<number>(numClasses).fill(0);
      for (const a of s.keyframe.actions[i]!) if (a <= numClasses) r[a - 1] = 1;
      rows.push(r);
    }
  }
  return tensor(rows.length ? rows : [[]], { shape: [rows.length, numClasses] });
}

/** Tensors of a batch: clips (B, 3, T, H, W) and rois [K, 5]. */
export function batchTensors(b: AvaBatch): { video: Tensor; rois: Tensor } {
  return { video: tensor(b.video, { shape: b.shape }), rois: tensor(b.rois, { shape: [b.rois.length / 5, 5] }) };
}

export type DetectValidate = (model: ActionDetector, epoch: number) => Promise<Record<string, number>>;

/** Runs detection fine-tuning; `validate` (optional) scores the model after each epoch. */
export async function detectTrain(
  o: DetectTrainOptions,
  log: (m: string) => void = (m) => process.stderr.write(m + "\n"),
  dist: DataParallel | null = null,
  validate?: DetectValidate,
): Promise<TrainLoopResult & { runDir: string; primaryMetric: string }> {
  if (!o.train) throw new Error("no data: give --train GT.csv (video_id,timestamp,x1,y1,x2,y2,action_id,person_id) and --videos DIR");
  if (!o.videos) throw new Error("give --videos DIR: the folder of whole videos named <video_id>.<video-ext>");
  if (o.labelMap) readLabelMap(o.labelMap); // a bad label map fails now, not after the first epoch
  manualSeed(o.seed);
  const cfg = detectorConfig(o, o.dropPath);
  const keyframes = trainingKeyframes(o.train, o.maxBoxes, o.shuffleLabels, o.seed);
  const world = dist?.worldSize ?? 1;
  const loader = new AvaLoader(keyframes, {
    reader: avaReader(o.cacheMib),
    videoDir: o.videos,
    videoExt: o.videoExt,
    clip: { numFrames: cfg.numFrames, samplingRate: o.samplingRate, fps: o.fps > 0 ? o.fps : null, shortSide: o.shortSide },
    augment: { cropSize: o.cropSize, flip: o.flip, colorJitter: o.colorJitter, boxJitter: o.boxJitter },
    batchSize: o.batchSize,
    multiple: cfg.patchSize,
    seed: o.seed,
    shuffle: true,
    dropLast: true,
    rank: dist?.rank ?? 0,
    worldSize: world,
  });
  const itersPerEpoch = Math.floor(loader.numBatches(0) / o.accumSteps);
  if (itersPerEpoch < 1) throw new Error(`${o.train}: ${keyframes.length} keyframes give no full batch of ${o.batchSize} (× ${world} ranks × --accum-steps ${o.accumSteps})`);
  const gen = new Generator(o.seed);
  const model = new ActionDetector(cfg, { generator: gen, dropGenerator: dropGenerator(gen, o.seed, dist) });
  if (o.finetune) log(describeLoad(await loadCheckpointInto(model, o.finetune)));
  else log("no --finetune checkpoint: training the detector from scratch");
  const { optimizer, lrSchedule, peak } = finetuneOptimizer({ ...FINETUNE_DEFAULTS, ...o }, cfg, model.namedParameters(), world, itersPerEpoch);
  const boxes = keyframes.reduce((n, k) => n + k.boxes.length, 0);
  log(`detector: ${o.model} backbone, ${cfg.numClasses} classes, ${(model.numParameters() / 1e6).toFixed(2)} M parameters; ${keyframes.length} keyframes / ${boxes} boxes${o.shuffleLabels ? " (labels shuffled: control run)" : ""}, ${itersPerEpoch} updates/epoch, peak lr ${peak.toExponential(3)}`);
  const result = await trainLoop<AvaBatch>({
    runDir: o.out,
    config: { command: "detect-train", ...o, modelConfig: cfg },
    ...loopSettings(o, log),
    model,
    optimizer,
    itersPerEpoch,
    lrSchedule,
    generator: gen,
    dist,
    batches: (epoch, skip) => loader.epoch(epoch, skip),
    lossOf: (b) =>
      tidy(() => {
        const { video, rois } = batchTensors(b);
        // A batch whose boxes were all cropped away still takes part (zero loss, zero gradient).
        if (rois.shape[0] === 0) return { loss: model.head!.weight.sum().mul(0), items: b.samples.length };
        const logits = model.detect(video, rois);
        return { loss: detectionLoss(logits.float(), batchTargets(b, cfg.numClasses)), items: b.samples.length, metrics: { boxes: rois.shape[0]! } };
      }),
    evaluate: validate ? (epoch) => validate(model, epoch) : undefined,
    primaryMetric: "mAP",
  });
  return { ...result, runDir: o.out, primaryMetric: "mAP" };
}
