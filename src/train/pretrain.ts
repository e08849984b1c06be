/**
 * Self-supervised pre-training with dual masking (VideoMAE V2) or tube masking only (V1):
 * data → encoder on the visible 10 % → decoder on visible + decoder-kept mask tokens →
 * normalised-pixel MSE on decoder-kept ∩ encoder-masked tokens, with the official optimiser
 * recipe (spec §5.1–5.2): AdamW β (0.9, 0.95), wd 0.05 except 1-D params and the mask token,
 * lr = base × total batch / 256, per-iteration warm-up + cosine.
 */
import { DataLoader, HybridDataset, type Batch } from "../data/index.ts";
import type { DataParallel } from "../distributed/data_parallel.ts";
import { createConfig, gridSize, type ModelName, type PretrainConfig } from "../models/config.ts";
import { createModel, pretrainLoss, targetOptions, type PretrainVisionTransformer } from "../models/index.ts";
import { AdamW, cosineSchedule, parameterGroups } from "../optim/index.ts";
import { Generator, manualSeed } from "../torch/index.ts";
import { trainLoop, type TrainLoopResult } from "./loop.ts";
import { disposing, pretrainingInputs } from "../data/collate.ts";
import { batchesOnDevice } from "../data/device_feed.ts";
import { BACKBONE_OVERRIDES, dropGenerator, loopSettings, modelFields, RUN_DEFAULTS, trainingDevice, type DeviceChoice } from "./options.ts";

/** Every option of `videomae pretrain` (camelCase; the CLI also takes kebab-case). */
export const PRETRAIN_DEFAULTS = {
  ...RUN_DEFAULTS,
  model: "pretrain_videomae_small_patch16_224",
  ...BACKBONE_OVERRIDES,
  decoderEmbedDim: null as number | null,
  decoderDepth: null as number | null,
  decoderNumHeads: null as number | null,
  /** List files (`path 0 -1` per line); several are mixed into one UnlabeledHybrid stream. */
  lists: [] as string[],
  /** Per-list repeat weights (default 1 each). */
  weights: [] as string[],
  out: "runs/pretrain",
  /** Repeated augmentation: views per decoded clip (official V2: 4). */
  numSample: 1,
  maskRatio: 0.9,
  decoderMask: "run_cell",
  decoderMaskRatio: 0.5,
  minLr: 1e-5,
  weightDecayEnd: null as number | null,
  beta2: 0.95,
};
export type PretrainOptions = typeof PRETRAIN_DEFAULTS & DeviceChoice;

const MODEL_KEYS = [...Object.keys(BACKBONE_OVERRIDES), "decoderEmbedDim", "decoderDepth", "decoderNumHeads"];

export function pretrainModelConfig(o: PretrainOptions): PretrainConfig {
  const cfg = createConfig(o.model as ModelName, modelFields(o, MODEL_KEYS));
  if (cfg.kind !== "pretrain") throw new Error(`--model ${o.model} is not a pre-training model (use a pretrain_videomae_* name)`);
  return cfg;
}

/**
 * Runs pre-training. With `dist` (data-parallel, see src/distributed) each rank trains on its
 * shard of every global batch of batchSize × worldSize clips; lr scales with that global batch.
 */
export async function pretrain(
  o: PretrainOptions,
  log: (m: string) => void = (m) => process.stderr.write(m + "\n"),
  dist: DataParallel | null = null,
): Promise<TrainLoopResult & { runDir: string }> {
  if (!o.lists.length) throw new Error("no data: give --lists FILE[,FILE…] (pre-training list files, `path 0 -1` per line)");
  if (o.decoderMask !== "run_cell" && o.decoderMask !== "none") throw new Error(`--decoder-mask must be run_cell or none, got ${o.decoderMask}`);
  const device = trainingDevice(o.device, dist); // an unusable device fails before any data is read
  manualSeed(o.seed);
  const cfg = pretrainModelConfig(o);
  const enc = cfg.encoder;
  const dataset = new HybridDataset({
    sources: o.lists.map((list, i) => ({ list, weight: o.weights[i] !== undefined ? Number(o.weights[i]) : 1 })),
    numFrames: enc.numFrames,
    samplingRate: o.samplingRate,
    inputSize: enc.imgSize,
    numSample: o.numSample,
    cacheMiB: o.cacheMib,
    masking: {
      patchSize: enc.patchSize,
      tubeletSize: enc.tubeletSize,
      encoder: "tube",
      encoderRatio: o.maskRatio,
      decoder: o.decoderMask as "run_cell" | "none",
      decoderRatio: o.decoderMask === "none" ? 0 : o.decoderMaskRatio,
    },
  });
  const world = dist?.worldSize ?? 1;
  const loader = new DataLoader(dataset, {
    batchSize: o.batchSize, numWorkers: o.workers, seed: o.seed, shuffle: true, dropLast: true, persistentWorkers: true, log, maxBadFraction: o.maxBadFraction,
    rank: dist?.rank ?? 0, worldSize: world,
  });
  const batches = loader.numBatches(0);
  const itersPerEpoch = Math.floor(batches / o.accumSteps);
  if (itersPerEpoch < 1) throw new Error(`the data gives ${batches} batches of ${o.batchSize}${world > 1 ? ` × ${world} ranks` : ""} per epoch: fewer than --accum-steps ${o.accumSteps}; lower --batch-size`);
  log(`data: ${dataset.mix().map((m) => `${m.name} ${m.entries}×${m.weight}`).join(", ")} → ${loader.epochSize(0)} clips/epoch, ${itersPerEpoch} updates/epoch`);

  const gen = new Generator(o.seed);
  const model = createModel(cfg, {}, { generator: gen, dropGenerator: dropGenerator(gen, o.seed, dist) }) as PretrainVisionTransformer;
  model.to(device); // before the optimizer: its moments are made beside the parameters
  const totalBatch = o.batchSize * o.accumSteps * world;
  const peak = (o.lr * totalBatch) / 256;
  const groups = parameterGroups(model.namedParameters(), { weightDecay: o.weightDecay, skip: ["mask_token", "pos_embed", "cls_token"] });
  const optimizer = new AdamW(groups, { lr: peak, betas: [o.beta1, o.beta2], eps: 1e-8, weightDecay: o.weightDecay });
  const sched = { epochs: o.epochs, itersPerEpoch, warmupEpochs: o.warmupEpochs };
  const lrSchedule = cosineSchedule({ base: peak, final: (o.minLr * totalBatch) / 256, ...sched });
  const wdSchedule = cosineSchedule({ base: o.weightDecay, final: o.weightDecayEnd ?? o.weightDecay, epochs: o.epochs, itersPerEpoch });
  log(`model: ${o.model} (${(model.numParameters() / 1e6).toFixed(2)} M parameters, grid ${gridSize(cfg).join("×")}), peak lr ${peak.toExponential(3)} for a global batch of ${totalBatch}, ${o.precision}`);
  const topts = targetOptions(cfg);
  const decoderOn = o.decoderMask === "run_cell";
  try {
    const result = await trainLoop<Batch>({
      runDir: o.out,
      config: { command: "pretrain", ...o, modelConfig: cfg },
      ...loopSettings(o, log),
      model,
      optimizer,
      itersPerEpoch,
      lrSchedule,
      wdSchedule,
      generator: gen,
      dist,
      data: loader,
      batches: (epoch, skip) => batchesOnDevice(disposing(loader.epoch(epoch, { startBatch: skip })), device),
      lossOf: (b) => {
        const { video, encoderMask, decoderMask } = pretrainingInputs(b);
        const pred = model.forward(video, encoderMask, decoderOn ? decoderMask : undefined);
        const { loss } = pretrainLoss(video, pred, encoderMask, decoderOn ? decoderMask : undefined, topts);
        return { loss, items: b.size };
      },
    });
    return { ...result, runDir: o.out };
  } finally {
    await loader.close();
  }
}
