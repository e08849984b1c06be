/**
 * Training checkpoints: one safetensors file holding the model state dict (`model.<key>`), the
 * AdamW moments (`optim.exp_avg.<i>`, `optim.exp_avg_sq.<i>`, in parameter order) and named
 * extra tensors (e.g. libtorch generator states, `rng.<name>`), plus JSON metadata: the
 * training state (step, epoch, optimizer step counts, RNG states, best metric…) and the run
 * configuration. Written atomically (temp file, fsync, rename): a crash never leaves a
 * half-written checkpoint, and the previous one stays valid until the new one is complete.
 */
import { existsSync } from "node:fs";
import type { Tensor } from "../torch/tensor.ts";
import { openSafetensors } from "./safetensors.ts";
import { loadTensors, saveTensors } from "./tensors.ts";

/** The `format` metadata entry of every checkpoint this library writes (the one place it is spelled). */
export const CHECKPOINT_FORMAT = "videomae-checkpoint/1";

export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    /** What is wrong, without the file name. */
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = "CheckpointError";
  }
}

/** AdamW's state (its `stateDict()`): per parameter, in order, the step count and the two moments. */
export interface OptimizerState {
  steps: number[];
  lr: number;
  weightDecay: number;
  expAvg: (Tensor | null)[];
  expAvgSq: (Tensor | null)[];
}

export interface CheckpointContents {
  /** Model state dict (keys without the `model.` prefix). */
  model: Map<string, Tensor>;
  /** Optimizer moments and state, when saved. */
  optimizer?: OptimizerState;
  /** Extra tensors by name. */
  tensors: Map<string, Tensor>;
  /** Training state (JSON). */
  state: Record<string, unknown>;
  /** Run configuration (JSON). */
  config: Record<string, unknown>;
}

/** Writes a checkpoint (atomically): the model's state dict, optionally the optimizer state and extra tensors, JSON state and config. */
export async function writeCheckpoint(
  path: string,
  o: { model: ReadonlyMap<string, Tensor>; optimizer?: OptimizerState; tensors?: ReadonlyMap<string, Tensor>; state: Record<string, unknown>; config: Record<string, unknown> },
): Promise<void> {
  const all = new Map<string, Tensor>();
  for (const [k, t] of o.model) all.set(`model.${k}`, t);
  let optimizerMeta: Record<string, unknown> | undefined;
  if (o.optimizer) {
    const st = o.optimizer;
    st.expAvg.forEach((t, i) => t && all.set(`optim.exp_avg.${i}`, t));
    st.expAvgSq.forEach((t, i) => t && all.set(`optim.exp_avg_sq.${i}`, t));
    optimizerMeta = { steps: st.steps, lr: st.lr, weightDecay: st.weightDecay, count: st.steps.length };
  }
  for (const [k, t] of o.tensors ?? []) all.set(`extra.${k}`, t);
  await saveTensors(path, all, {
    format: CHECKPOINT_FORMAT,
    state: JSON.stringify(o.state),
    config: JSON.stringify(o.config),
    ...(optimizerMeta ? { optimizer: JSON.stringify(optimizerMeta) } : {}),
  });
}

/** The JSON parts of a checkpoint, read from the header alone (no tensor data). */
export interface CheckpointHeader {
  state: Record<string, unknown>;
  config: Record<string, unknown>;
}

/** Whether `path` is a checkpoint this library wrote (its header says so). */
export async function isCheckpointFile(path: string): Promise<boolean> {
  if (!/\.safetensors$/i.test(path)) return false;
  const st = await openSafetensors(path);
  try {
    return st.metadata.format === CHECKPOINT_FORMAT;
  } finally {
    await st.close();
  }
}

/**
 * Training state and run configuration (model config, class names, …) from the header only:
 * the model, optimizer and extra tensors are not read.
 */
export async function readCheckpointHeader(path: string): Promise<CheckpointHeader> {
  if (!existsSync(path)) throw new CheckpointError(path, "no such checkpoint file");
  const st = await openSafetensors(path);
  try {
    checkFormat(path, st.metadata);
    return parseHeader(st.metadata);
  } finally {
    await st.close();
  }
}

function checkFormat(path: string, metadata: Readonly<Record<string, string>>): void {
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(path, `not a videomae training checkpoint (format '${metadata.format ?? "none"}'); use it as pretrained weights instead`);
  }
}

function parseHeader(metadata: Readonly<Record<string, string>>): CheckpointHeader {
  return {
    state: JSON.parse(metadata.state ?? "{}") as Record<string, unknown>,
    config: JSON.parse(metadata.config ?? "{}") as Record<string, unknown>,
  };
}

/** Reads a whole checkpoint (every tensor) into libtorch tensors. */
export async function loadCheckpoint(path: string): Promise<CheckpointContents> {
  if (!existsSync(path)) throw new CheckpointError(path, "no such checkpoint file");
  const { tensors, metadata } = await loadTensors(path);
  checkFormat(path, metadata);
  const model = new Map<string, Tensor>();
  const extra = new Map<string, Tensor>();
  for (const [k, t] of tensors) {
    if (k.startsWith("model.")) model.set(k.slice(6), t);
    else if (k.startsWith("extra.")) extra.set(k.slice(6), t);
  }
  let optimizer: CheckpointContents["optimizer"];
  if (metadata.optimizer) {
    const meta = JSON.parse(metadata.optimizer) as { steps: number[]; lr: number; weightDecay: number; count: number };
    optimizer = {
      steps: meta.steps,
      lr: meta.lr,
      weightDecay: meta.weightDecay,
      expAvg: meta.steps.map((_, i) => tensors.get(`optim.exp_avg.${i}`) ?? null),
      expAvgSq: meta.steps.map((_, i) => tensors.get(`optim.exp_avg_sq.${i}`) ?? null),
    };
  }
  return { model, optimizer, tensors: extra, ...parseHeader(metadata) };
}

