/**
 * Allowed ranges of the numeric command-line options, in one table: a number option of the
 * schema (schema.ts) is checked against its row unless it declares its own range. Out-of-range
 * values used to be accepted and fail much later, deep inside ("Invalid typed array length",
 * "warm-up steps exceed the -9 total steps"), or not at all (--lr -1). Keys are camelCase
 * option names.
 */
import { UsageError } from "../usage_error.ts";

export interface Range {
  /** Inclusive bounds unless the matching `…Open` flag says otherwise. */
  min?: number;
  max?: number;
  minOpen?: boolean;
  maxOpen?: boolean;
  integer?: boolean;
  /** What the option means, when the bound alone does not say why. */
  note?: string;
}

export const POSITIVE_INT: Range = { min: 1, integer: true };
export const COUNT: Range = { min: 0, integer: true };
export const FRACTION: Range = { min: 0, max: 1 };
export const PROBABILITY_BELOW_1: Range = { min: 0, max: 1, maxOpen: true };
export const POSITIVE: Range = { min: 0, minOpen: true };
export const NON_NEGATIVE: Range = { min: 0 };
export const PORT: Range = { min: 0, max: 65535, integer: true };
/** Largest frame side we resize to: beyond it a single frame no longer fits a typed array. */
export const MAX_FRAME_SIDE = 16384;

export const RANGES: Readonly<Record<string, Range>> = {
  // training (pretrain, finetune; distill shares them)
  epochs: POSITIVE_INT,
  batchSize: POSITIVE_INT,
  accumSteps: { ...POSITIVE_INT, note: "micro-batches per update" },
  lr: { min: 0, minOpen: true },
  minLr: { min: 0 },
  warmupEpochs: { min: 0 },
  weightDecay: { min: 0 },
  weightDecayEnd: { min: 0 },
  beta1: PROBABILITY_BELOW_1,
  beta2: PROBABILITY_BELOW_1,
  clipGrad: { min: 0, minOpen: true, note: "a gradient-norm limit; leave it unset for no clipping" },
  maxSteps: POSITIVE_INT,
  saveEvery: { ...COUNT, note: "0 saves only checkpoint-last" },
  workers: { ...COUNT, note: "0 loads in the main thread" },
  cacheMib: { min: 0, note: "0 turns the cache off" },
  maxBadFraction: { ...FRACTION, note: "1 never stops" },
  numSample: POSITIVE_INT,
  samplingRate: POSITIVE_INT,
  maskRatio: PROBABILITY_BELOW_1,
  decoderMaskRatio: PROBABILITY_BELOW_1,
  layerDecay: { min: 0, minOpen: true, max: 1 },
  dropPath: PROBABILITY_BELOW_1,
  headDropRate: PROBABILITY_BELOW_1,
  mixup: { min: 0 },
  cutmix: { min: 0 },
  mixupProb: FRACTION,
  smoothing: PROBABILITY_BELOW_1,
  erasing: FRACTION,
  cropScaleMin: { min: 0, minOpen: true, max: 1 },
  seed: { min: 0, integer: true },
  imgSize: { ...POSITIVE_INT, max: MAX_FRAME_SIDE },
  numClasses: POSITIVE_INT,
  // inference and tools
  batch: POSITIVE_INT,
  topK: POSITIVE_INT,
  rate: POSITIVE_INT,
  window: POSITIVE_INT,
  stride: POSITIVE_INT,
  size: { ...POSITIVE_INT, max: MAX_FRAME_SIDE },
  width: { ...POSITIVE_INT, max: MAX_FRAME_SIDE },
  height: { ...POSITIVE_INT, max: MAX_FRAME_SIDE },
  encoderRatio: PROBABILITY_BELOW_1,
  decoderRatio: PROBABILITY_BELOW_1,
  start: COUNT,
  rounds: POSITIVE_INT,
  reps: POSITIVE_INT,
  port: PORT,
};

const camel = (k: string) => k.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());

/** "an integer ≥ 1", "a number in [0, 1)", "a number > 0", … */
export function describeRange(r: Range): string {
  const kind = r.integer ? "an integer" : "a number";
  const lo = r.min !== undefined ? (r.minOpen ? "(" : "[") + r.min : null;
  const hi = r.max !== undefined ? r.max + (r.maxOpen ? ")" : "]") : null;
  if (lo && hi) return `${kind} in ${lo}, ${hi}`;
  if (lo) return `${kind} ${r.minOpen ? ">" : "≥"} ${r.min}`;
  if (hi) return `${kind} ${r.maxOpen ? "<" : "≤"} ${r.max}`;
  return kind;
}

function inRange(v: number, r: Range): boolean {
  if (!Number.isFinite(v) || (r.integer && !Number.isInteger(v))) return false;
  if (r.min !== undefined && (r.minOpen ? v <= r.min : v < r.min)) return false;
  if (r.max !== undefined && (r.maxOpen ? v >= r.max : v > r.max)) return false;
  return true;
}

/** The range of an option in the table (by camelCase or kebab-case name), if it has one. */
export function rangeOf(name: string): Range | undefined {
  return RANGES[camel(name)];
}

/** Throws a UsageError naming `--option`, the value and the allowed range `r`, when `value` is outside it. */
export function assertInRange(name: string, r: Range, value: number): void {
  if (inRange(value, r)) return;
  throw new UsageError(`--${kebab(camel(name))} must be ${describeRange(r)}, got ${value}${r.note ? ` (${r.note})` : ""}`);
}

/** Throws a UsageError naming `--option`, the value and the allowed range, when `name` has a range and `value` is outside it. */
export function checkRange(name: string, value: number): void {
  const r = rangeOf(name);
  if (r) assertInRange(name, r, value);
}

/** The relation between training options the single-option ranges cannot say: warm-up within the run. */
export function checkWarmup(config: { epochs?: unknown; warmupEpochs?: unknown }): void {
  const { epochs, warmupEpochs } = config;
  if (typeof epochs === "number" && typeof warmupEpochs === "number" && warmupEpochs > epochs) {
    throw new UsageError(`--warmup-epochs ${warmupEpochs} is more than --epochs ${epochs}: lower --warmup-epochs (or train longer)`);
  }
}
