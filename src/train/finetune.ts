/**
 * Supervised fine-tuning — and, as the same command run as stages, progressive training:
 * pre-train → post-pre-train on a labelled hybrid (merged label space) → fine-tune on the target
 * with the head row-gathered through the label map (spec §5.3–5.4). The official recipe:
 * layer-wise lr decay 0.75, drop path 0.1, mixup 0.8 / cutmix 1.0 with label smoothing 0.1
 * and soft-target cross-entropy, AdamW (0.9, 0.999) wd 0.05, warm-up 5 epochs + cosine to 1e-6,
 * validation every epoch (one centred clip) and best-checkpoint keeping.
 */
import { DataLoader, readLabelNames, readList, rngFromKeys, VideoClsDataset, type Batch } from "../data/index.ts";
import { Mixup, type MixupResult } from "../data/mixup.ts";
import type { DataParallel } from "../distributed/data_parallel.ts";
import { createConfig, type ModelName, type VitConfig } from "../models/config.ts";
import { createModel, describeLoad, loadCheckpointInto, type VisionTransformer } from "../models/index.ts";
import { AdamW, cosineSchedule, layerDecay, parameterGroups } from "../optim/index.ts";
import { F, Generator, manualSeed, noGrad, tidy, type Tensor } from "../torch/index.ts";
import { readFileSync } from "node:fs";
import { trainLoop, type TrainLoopResult } from "./loop.ts";
import { BACKBONE_OVERRIDES, dropGenerator, loopSettings, modelFields, RUN_DEFAULTS, trainingDevice, type DeviceChoice } from "./options.ts";
import { disposing, labelledInputs } from "../data/collate.ts";
import { batchesOnDevice } from "../data/device_feed.ts";

export const FINETUNE_DEFAULTS = {
  ...RUN_DEFAULTS,
  model: "vit_small_patch16_224",
  ...BACKBONE_OVERRIDES,
  /** Weights to start from: a pre-training or fine-tuned checkpoint (ours or official); none = from scratch. */
  finetune: null as string | null,
  /** JSON list: model class i ← checkpoint head row map[i] (710 → 400 style); else a new head. */
  headLabelMap: null as string | null,
  train: "",
  val: null as string | null,
  /** Class names (one per line); their count is the number of classes. */
  labels: null as string | null,
  numClasses: null as number | null,
  out: "runs/finetune",
  epochs: 30,
  numSample: 2,
  minLr: 1e-6,
  warmupEpochs: 5,
  beta2: 0.999,
  layerDecay: 0.75,
  dropPath: 0.1,
  headDropRate: 0.0,
  mixup: 0.8,
  cutmix: 1.0,
  mixupProb: 1.0,
  smoothing: 0.1,
  randAugment: true,
  flip: true,
  erasing: 0.25,
  /** Smallest area fraction of the random-resized crop (official 0.08). */
  cropScaleMin: 0.08,
};
export type FinetuneOptions = typeof FINETUNE_DEFAULTS & DeviceChoice;

export function finetuneModelConfig(o: FinetuneOptions, numClasses: number): VitConfig {
  const cfg = createConfig(o.model as ModelName, { numClasses, dropPathRate: o.dropPath, headDropRate: o.headDropRate, ...modelFields(o, Object.keys(BACKBONE_OVERRIDES)) });
  if (cfg.kind !== "vit") throw new Error(`--model ${o.model} is not a fine-tune model (use a vit_* name)`);
  return cfg;
}

/**
 * Top-1 of one centred clip per validation video (the official per-epoch validation). With
 * `dist`, each rank scores its shard of the list (the loader's rank/worldSize) and the counts
 * are summed over ranks. With `teacher` (its predicted class per row, e.g. a distillation
 * teacher's), also the teacher's top-1 and the agreement (student's class = teacher's).
 */
export async function validate(
  model: VisionTransformer,
  loader: DataLoader,
  dist: DataParallel | null = null,
  teacher?: (b: Batch) => ArrayLike<number>,
): Promise<{ top1: number; loss: number; clips: number; teacherTop1?: number; agreement?: number }> {
  let correct = 0;
  let n = 0;
  let lossSum = 0;
  let teacherCorrect = 0;
  let agree = 0;
  for await (const b of batchesOnDevice(disposing(loader.epoch(0)), model.device)) {
    noGrad(() =>
      tidy(() => {
        const { video, label, labels } = labelledInputs(b);
        const logits = model.forward(video).float();
        lossSum += F.crossEntropy(logits, label).item() * b.size;
        const pred = logits.argmax(1);
        correct += pred.eq(label).sum().item();
        n += b.size;
        if (teacher) {
          const t = teacher(b);
          const p = pred.toArray();
          for (let i = 0; i < b.size; i++) {
            teacherCorrect += t[i] === labels[i] ? 1 : 0;
            agree += t[i] === p[i] ? 1 : 0;
          }
        }
        return undefined;
      }),
    );
  }
  if (dist) [correct, n, lossSum, teacherCorrect, agree] = dist.sum([correct, n, lossSum, teacherCorrect, agree]) as [number, number, number, number, number];
  const result = { top1: n ? correct / n : 0, loss: n ? lossSum / n : NaN, clips: n };
  return teacher ? { ...result, teacherTop1: n ? teacherCorrect / n : 0, agreement: n ? agree / n : 0 } : result;
}

/**
 * The fine-tuning data (shared with `distill`): class names and count, the model config, the
 * augmented train loader (numSample views per clip, sharded by rank) and the validation loader.
 * Without --labels/--num-classes the class count is `fallbackClasses()` (default: largest list label + 1).
 */
export function finetuneData(o: FinetuneOptions, log: (m: string) => void, dist: DataParallel | null, fallbackClasses?: () => number) {
  const labels = o.labels ? readLabelNames(o.labels) : null;
  const numClasses = o.numClasses ?? labels?.length ?? (fallbackClasses ? fallbackClasses() : Math.max(...readList(o.train, "video-label").map((e) => e.label)) + 1);
  const cfg = finetuneModelConfig(o, numClasses);
  const augment = { flip: o.flip, randAug: o.randAugment, erasing: o.erasing > 0 ? o.erasing : (false as const), scale: [o.cropScaleMin, 1] as [number, number] };
  const train = new VideoClsDataset({ mode: "train", list: o.train, numClasses, numFrames: cfg.numFrames, samplingRate: o.samplingRate, numSample: o.numSample, inputSize: cfg.imgSize, augment, cacheMiB: o.cacheMib });
  const val = o.val ? new VideoClsDataset({ mode: "validation", list: o.val, numClasses, numFrames: cfg.numFrames, samplingRate: o.samplingRate, inputSize: cfg.imgSize, cacheMiB: o.cacheMib }) : null;
  const world = dist?.worldSize ?? 1;
  const shard = { rank: dist?.rank ?? 0, worldSize: world };
  const loader = new DataLoader(train, { batchSize: o.batchSize, numWorkers: o.workers, seed: o.seed, shuffle: true, dropLast: true, persistentWorkers: true, log, maxBadFraction: o.maxBadFraction, ...shard });
  const valLoader = val ? new DataLoader(val, { batchSize: o.batchSize, numWorkers: o.workers, seed: o.seed, shuffle: false, dropLast: false, log, maxBadFraction: o.maxBadFraction, ...shard }) : null;
  const itersPerEpoch = Math.floor(loader.numBatches(0) / o.accumSteps);
  if (itersPerEpoch < 1) throw new Error(`${o.train} gives ${loader.numBatches(0)} batches of ${o.batchSize}: too few for --accum-steps ${o.accumSteps}`);
  const close = async () => {
    await loader.close();
    await valLoader?.close();
  };
  return { labels, numClasses, cfg, train, loader, valLoader, itersPerEpoch, world, close };
}

/** The model to train: the config's ViT, initialised from --finetune (head rows through --head-label-map) or from scratch. */
export async function finetuneModel(o: FinetuneOptions, cfg: VitConfig, gen: Generator, dist: DataParallel | null, log: (m: string) => void): Promise<VisionTransformer> {
  const model = createModel(cfg, {}, { generator: gen, dropGenerator: dropGenerator(gen, o.seed, dist) }) as VisionTransformer;
  if (o.finetune) {
    const labelMap = o.headLabelMap ? (JSON.parse(readFileSync(o.headLabelMap, "utf8")) as number[]) : undefined;
    const report = await loadCheckpointInto(model, o.finetune, { labelMap });
    log(describeLoad(report));
  } else {
    log("no --finetune checkpoint: training from scratch");
  }
  return model;
}

/**
 * AdamW over `named` parameters with layer-wise lr decay (names outside blocks/patch_embed count
 * as the top layer, like the head), the peak lr scaled by the global batch, warm-up + cosine.
 */
export function finetuneOptimizer(o: FinetuneOptions, cfg: VitConfig, named: [string, Tensor][], world: number, itersPerEpoch: number) {
  const totalBatch = o.batchSize * o.accumSteps * world;
  const peak = (o.lr * totalBatch) / 256;
  const ld = o.layerDecay < 1 ? layerDecay(cfg.depth, o.layerDecay) : undefined;
  const groups = parameterGroups(named, { weightDecay: o.weightDecay, skip: ["pos_embed", "cls_token"], ...ld });
  const optimizer = new AdamW(groups, { lr: peak, betas: [o.beta1, o.beta2], eps: 1e-8, weightDecay: o.weightDecay });
  const lrSchedule = cosineSchedule({ base: peak, final: (o.minLr * totalBatch) / 256, epochs: o.epochs, itersPerEpoch, warmupEpochs: o.warmupEpochs });
  return { optimizer, lrSchedule, peak };
}

/** Mixup/CutMix with label smoothing as configured, or null when both are off. */
export function finetuneMixup(o: FinetuneOptions, numClasses: number): Mixup | null {
  return o.mixup > 0 || o.cutmix > 0 ? new Mixup({ numClasses, mixupAlpha: o.mixup, cutmixAlpha: o.cutmix, prob: o.mixupProb, labelSmoothing: o.smoothing }) : null;
}

/** The batch mixed (even batches only, as timm requires), from a per-batch random stream; null = not mixed. */
export function mixBatch(mixup: Mixup | null, b: Batch, seed: number): MixupResult | null {
  if (!mixup || b.size % 2 !== 0) return null;
  const { video, labels } = labelledInputs(b);
  return mixup.apply(video, labels, rngFromKeys(seed, b.epoch, b.index, 0x6d6978));
}

/** The label loss: soft-target cross-entropy (timm SoftTargetCrossEntropy) on mixed targets, else smoothed cross-entropy. */
export function labelLoss(logits: Tensor, b: Batch, mix: MixupResult | null, smoothing: number): Tensor {
  // Mixed targets are made on the host from the labels; they follow the logits.
  return mix ? F.crossEntropy(logits, mix.target.toDevice(logits.device)) : F.crossEntropy(logits, labelledInputs(b).label, smoothing);
}

/** Runs fine-tuning; `dist` as in pretrain() (global batch batchSize × worldSize, sharded validation). */
export async function finetune(
  o: FinetuneOptions,
  log: (m: string) => void = (m) => process.stderr.write(m + "\n"),
  dist: DataParallel | null = null,
): Promise<TrainLoopResult & { runDir: string }> {
  if (!o.train) throw new Error("no data: give --train LIST (`path label` per line)");
  const device = trainingDevice(o.device, dist); // an unusable device fails before any data is read
  manualSeed(o.seed);
  const data = finetuneData(o, log, dist);
  const { cfg, numClasses, loader, valLoader, itersPerEpoch } = data;
  const gen = new Generator(o.seed);
  const model = await finetuneModel(o, cfg, gen, dist, log);
  model.to(device); // before the optimizer: its moments are made beside the parameters
  const { optimizer, lrSchedule, peak } = finetuneOptimizer(o, cfg, model.namedParameters(), data.world, itersPerEpoch);
  const mixup = finetuneMixup(o, numClasses);
  log(`model: ${o.model}, ${numClasses} classes, ${(model.numParameters() / 1e6).toFixed(2)} M parameters; ${loader.epochSize(0)} clips × ${o.numSample} views/epoch, ${itersPerEpoch} updates/epoch, peak lr ${peak.toExponential(3)}`);
  try {
    const result = await trainLoop<Batch>({
      runDir: o.out,
      config: { command: "finetune", ...o, modelConfig: cfg, labels: data.labels },
      ...loopSettings(o, log),
      model,
      optimizer,
      itersPerEpoch,
      lrSchedule,
      generator: gen,
      dist,
      data: loader,
      batches: (epoch, skip) => batchesOnDevice(disposing(loader.epoch(epoch, { startBatch: skip })), device),
      lossOf: (b) => {
        const mix = mixBatch(mixup, b, o.seed);
        const logits = model.forward(mix ? mix.x : labelledInputs(b).video);
        return { loss: labelLoss(logits, b, mix, o.smoothing), items: b.size };
      },
      evaluate: valLoader ? async () => validate(model, valLoader, dist) : undefined,
      primaryMetric: "top1",
    });
    return { ...result, runDir: o.out };
  } finally {
    await data.close();
  }
}
