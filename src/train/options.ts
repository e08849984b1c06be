/**
 * Options shared by `pretrain` and `finetune`: backbone overrides of the registry model, and the
 * run machinery (batching, optimiser, precision, data loading, checkpoints).
 */
import type { DataParallel } from "../distributed/data_parallel.ts";
import { Generator, resolveDevice, type Device } from "../torch/index.ts";

/** Backbone fields a run may override (null = the registry's value). */
export const BACKBONE_OVERRIDES = {
  imgSize: null as number | null,
  numFrames: null as number | null,
  patchSize: null as number | null,
  embedDim: null as number | null,
  depth: null as number | null,
  numHeads: null as number | null,
};

export const RUN_DEFAULTS = {
  epochs: 10,
  batchSize: 8,
  accumSteps: 1,
  samplingRate: 4,
  /** Base lr; the peak is lr × batchSize·accumSteps / 256 (numSample not counted, as officially). */
  lr: 1e-3,
  warmupEpochs: 1,
  weightDecay: 0.05,
  beta1: 0.9,
  clipGrad: null as number | null,
  precision: "fp32",
  seed: 0,
  workers: 2,
  /** MiB of whole decoded videos each loader worker keeps in memory (small datasets: decode once). */
  cacheMib: 0,
  /** Stop (after saving a checkpoint) when more than this fraction of an epoch's distinct files cannot be read. */
  maxBadFraction: 0.5,
  saveEvery: 0,
  resume: false,
  maxSteps: null as number | null,
  /** Activation checkpointing: recompute each transformer block in backward (less memory, ~⅓ more compute). */
  gradCheckpoint: false,
};

/** The run's model fields among `keys` (null = the registry's value), as overrides for `createConfig`. */
export function modelFields(o: Readonly<Record<string, unknown>>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}

/** The trainLoop settings that come straight from the run options. */
export function loopSettings(o: typeof RUN_DEFAULTS, log: (m: string) => void) {
  return {
    epochs: o.epochs,
    accumSteps: o.accumSteps,
    clipGrad: o.clipGrad,
    precision: o.precision as "fp32" | "bf16" | "fp16",
    resume: o.resume,
    saveEvery: o.saveEvery,
    maxSteps: o.maxSteps ?? undefined,
    gradCheckpoint: o.gradCheckpoint,
    log,
  };
}

/**
 * The generator of dropout/drop path: the run's own generator for a single process and rank 0
 * (so one process behaves exactly as before), a stream of its own for every other rank, so ranks
 * do not drop the same paths. (Resume restores rank 0's stream exactly; the others restart theirs.)
 */
export function dropGenerator(gen: Generator, seed: number, dist: DataParallel | null): Generator {
  return dist && dist.rank > 0 ? new Generator(seed + 7919 * dist.rank) : gen;
}

/**
 * Where a training run computes: "auto" (a GPU when usable), "cpu" or "cuda[:N]"; "cpu" when
 * absent. Not a run option of the defaults tables: the CLI's shared device group supplies it.
 */
export type DeviceChoice = {
  device?: string;
};

/**
 * The device a training process runs on. Data-parallel with one process per GPU (`videomae launch`,
 * torchrun), "auto" and "cuda" mean this node's GPU LOCAL_RANK; an explicit "cuda:N" is kept.
 */
export function trainingDevice(spec: string | undefined, dist: DataParallel | null): Device {
  const device = resolveDevice(spec ?? "cpu");
  if (device !== "cpu" && dist && (spec === "auto" || spec === "cuda")) return resolveDevice(`cuda:${dist.env.localRank}`);
  return device;
}
