/**
 * The options of `pretrain`, `finetune` and `distill`: one spec per key of the library's
 * defaults (PRETRAIN_DEFAULTS, FINETUNE_DEFAULTS, DISTILL_DEFAULTS in src/train/), whose values
 * stay the defaults; this table adds what the command line needs: description, value name,
 * allowed values. Kinds follow the defaults (number, flag, list, text), or `kind` where the
 * default is null (unset).
 */
import { DISTILL_DEFAULTS } from "../../train/distill.ts";
import { FINETUNE_DEFAULTS } from "../../train/finetune.ts";
import { PRETRAIN_DEFAULTS } from "../../train/pretrain.ts";
import { RUN_DEFAULTS } from "../../train/options.ts";
import { dataLoadingOptions } from "./groups.ts";
import { NON_NEGATIVE, POSITIVE, POSITIVE_INT, type Range } from "./ranges.ts";
import { choice, flag, list, number, text, type OptionSpec } from "./schema.ts";

export interface About {
  description: string;
  valueName?: string;
  /** For options whose default is null (unset): what a value is. */
  kind?: "number" | "text";
  choices?: readonly string[];
  /** For numbers not in the range table (ranges.ts). */
  range?: Range;
}

type TrainingKey = keyof typeof PRETRAIN_DEFAULTS | keyof typeof DISTILL_DEFAULTS;

const backbone = (what: string): About => ({ kind: "number", range: POSITIVE_INT, description: `override the registry model's ${what}` });

/**
 * What every training option means: its description; or that and its value name, kind, choices;
 * or the option of a shared group (groups.ts), with the training default.
 */
const ABOUT: Record<TrainingKey, string | About | OptionSpec<unknown>> = {
  // the run
  epochs: "passes over the data",
  batchSize: "clips per micro-batch (per rank when data-parallel)",
  accumSteps: "micro-batches accumulated per optimiser update",
  samplingRate: "frame stride of a clip",
  lr: "base learning rate; the peak is lr × global batch / 256",
  minLr: "final learning rate of the cosine schedule (also scaled by global batch / 256)",
  warmupEpochs: "epochs of linear warm-up before the cosine decay",
  weightDecay: "AdamW weight decay",
  weightDecayEnd: { kind: "number", valueName: "WD", description: "final weight decay of a cosine schedule (unset: constant)" },
  beta1: "AdamW β1",
  beta2: "AdamW β2",
  clipGrad: { kind: "number", valueName: "NORM", description: "clip the gradient norm to NORM (unset: no clipping)" },
  gradCheckpoint: "activation checkpointing: each transformer block keeps only its input and is recomputed in backward (same gradients; activation memory ~ one block instead of all; ~30 % more compute)",
  precision: choice(["fp32", "bf16", "fp16"], {
    default: "fp32",
    description: "compute precision: fp32; bf16 autocast (CPU or GPU); fp16 autocast with dynamic loss scaling (GPU only)",
  }),
  seed: "seed of data order, augmentation, masks and initialisation",
  workers: dataLoadingOptions(RUN_DEFAULTS).workers,
  cacheMib: { valueName: "MIB", description: "MiB of whole decoded videos each loader worker keeps (small datasets: decode once)" },
  maxBadFraction: "stop (after saving a checkpoint) when more than this fraction of an epoch's files cannot be read",
  saveEvery: "also keep checkpoint-<epoch> every N epochs",
  resume: "continue from the run folder's checkpoint-last (exactly: data order, lr, generators)",
  maxSteps: { kind: "number", valueName: "N", description: "stop after N updates (unset: train all epochs)" },
  out: { valueName: "DIR", description: "run folder: config.json, metrics.jsonl, curves.svg, checkpoints" },
  numSample: "repeated augmentation: views per decoded clip",
  // the model
  model: { valueName: "NAME", description: "registry architecture (videomae info --list)" },
  imgSize: backbone("frame size"),
  numFrames: backbone("frames per clip"),
  patchSize: backbone("patch size"),
  embedDim: backbone("width"),
  depth: backbone("number of blocks"),
  numHeads: backbone("attention heads"),
  decoderEmbedDim: backbone("decoder width"),
  decoderDepth: backbone("decoder blocks"),
  decoderNumHeads: backbone("decoder attention heads"),
  // pre-training
  lists: "pre-training list files (`path 0 -1` per line), mixed into one stream",
  weights: "per-list repeat weights per epoch (default 1 each)",
  maskRatio: "encoder tube-masking ratio",
  decoderMask: { choices: ["run_cell", "none"], description: "decoder masking: run_cell (V2 dual masking) or none (V1)" },
  decoderMaskRatio: "share of tokens the running-cell mask hides from the decoder",
  // fine-tuning
  finetune: { kind: "text", valueName: "CKPT", description: "start from a pre-training checkpoint (encoder weights) or a fine-tuned one, ours or official (unset: from scratch)" },
  headLabelMap: { kind: "text", valueName: "FILE.json", description: "JSON list: model class i ← checkpoint head row map[i] (else a new head)" },
  train: { valueName: "LIST", description: "training list (`path label` per line)" },
  val: { kind: "text", valueName: "LIST", description: "validation list, one centred clip per video each epoch (keeps checkpoint-best)" },
  labels: { kind: "text", valueName: "FILE", description: "class names, one per line; their count is the number of classes" },
  numClasses: { kind: "number", valueName: "K", description: "number of classes when there is no --labels file (unset: from the labels)" },
  layerDecay: "layer-wise lr decay",
  dropPath: "stochastic depth rate",
  headDropRate: "dropout before the classifier head",
  mixup: "mixup α (0: off)",
  cutmix: "cutmix α (0: off)",
  mixupProb: "probability of applying mixup or cutmix to a batch",
  smoothing: "label smoothing",
  randAugment: "RandAugment (rand-m7-n4-mstd0.5-inc1)",
  flip: "random horizontal flip",
  erasing: "random-erasing probability",
  cropScaleMin: "smallest area fraction of the random-resized crop",
  // distillation
  teacher: { valueName: "CKPT", description: "the fine-tuned teacher (ours, or official .pth with --teacher-model)" },
  teacherModel: { kind: "text", valueName: "NAME", description: "registry architecture of an official teacher checkpoint" },
  teacherPrecision: { choices: ["fp32", "bf16"], description: "the teacher's forward: fp32, or bf16 autocast" },
  teacherLabelMap: { kind: "text", valueName: "FILE.json", description: "JSON list: student class i ← teacher class map[i] (else the same label space)" },
  temperature: { range: POSITIVE, description: "softmax temperature τ of teacher and student" },
  alpha: { range: NON_NEGATIVE, description: "weight α of the cross-entropy on the labels (0: pure distillation)" },
  featureWeight: { range: NON_NEGATIVE, description: "weight β of the MSE between projected student and teacher features" },
  cacheTeacher: { kind: "text", valueName: "DIR", description: "cache of the teacher's outputs per (clip, augmentation draw), reused by later runs" },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function specOf(key: TrainingKey, dflt: any): OptionSpec<unknown> {
  const entry = ABOUT[key];
  if (typeof entry === "string") return specOfAbout({ description: entry }, dflt, key);
  if ("parse" in entry) return { ...entry, default: dflt }; // a shared group's option
  return specOfAbout(entry, dflt, key);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function specOfAbout(about: About, dflt: any, key: string): OptionSpec<unknown> {
  const common = { description: about.description, ...(about.valueName ? { valueName: about.valueName } : {}), ...(about.range ? { range: about.range } : {}) };
  if (about.choices) return choice(about.choices, { ...common, default: dflt });
  if (typeof dflt === "boolean") return flag(about.description, dflt);
  if (Array.isArray(dflt)) return list({ ...common, default: dflt });
  if (typeof dflt === "number" || (dflt === null && about.kind === "number")) return number({ ...common, default: dflt });
  if (typeof dflt === "string" || (dflt === null && about.kind === "text")) return text({ ...common, default: dflt, ...(dflt === "" ? { required: true } : {}) });
  throw new Error(`training option ${key}: give its kind (default ${JSON.stringify(dflt)})`);
}

/**
 * The option schema of another defaults table (detection, its synthetic set): each key described
 * by `about`, or by the training table when it is a training option (epochs, lr, model…).
 */
export function optionsOf<D extends Record<string, unknown>>(defaults: D, about: Partial<Record<keyof D, string | About | OptionSpec<unknown>>>): { [K in keyof D]: OptionSpec<D[K]> } {
  return Object.fromEntries(
    Object.entries(defaults).map(([k, v]) => {
      const own = about[k as keyof D];
      if (own === undefined) {
        if (!(k in ABOUT)) throw new Error(`option ${k}: no description (add it to the command's table)`);
        return [k, specOf(k as TrainingKey, v)];
      }
      if (typeof own === "string") return [k, specOfAbout({ description: own }, v, k)];
      const entry = own as About | OptionSpec<unknown>;
      if ("parse" in entry) return [k, { ...entry, default: v }];
      return [k, specOfAbout(entry, v, k)];
    }),
  ) as { [K in keyof D]: OptionSpec<D[K]> };
}

/** The option schema of a training command: one spec per key of its defaults, typed as they are. */
function trainingOptions<D extends Partial<Record<TrainingKey, unknown>>>(defaults: D): { [K in keyof D]: OptionSpec<D[K]> } {
  return Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, specOf(k as TrainingKey, v)])) as { [K in keyof D]: OptionSpec<D[K]> };
}

export const pretrainOptions = trainingOptions(PRETRAIN_DEFAULTS);
export const finetuneOptions = trainingOptions(FINETUNE_DEFAULTS);
export const distillOptions = trainingOptions(DISTILL_DEFAULTS);
