/**
 * Training checkpoints: one safetensors file holding the model state dict (`model.<key>`), the
 * AdamW moments (`optim.exp_avg.<i>`, `optim.exp_avg_sq.<i>`, in parameter order) and named
 * extra tensors (e.g. libtorch generator states, `rng.<name>`), plus JSON metadata: the
 * training state (step, epoch, optimizer step counts, RNG states, best metric…) and the run
 * configuration. Written atomically (temp file, fsync, rename): a crash never leaves a
 * half-written checkpoint, and the previous one stays valid until the new one is complete.
 */
import { existsSync } from "node:fs";
import { loadTensors, saveTensors } from "../io/tensors.ts";
import type { Module } from "../nn/module.ts";
import type { AdamW } from "../optim/adamw.ts";
import type { Tensor } from "../torch/tensor.ts";

export const CHECKPOINT_FORMAT = "videomae-checkpoint/1";

export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = "CheckpointError";
  }
}

export interface CheckpointContents {
  /** Model state dict (keys without the `model.` prefix). */
  model: Map<string, Tensor>;
  /** Optimizer moments and state, when saved. */
  optimizer?: { steps: number[]; lr: number; weightDecay: number; expAvg: (Tensor | null)[]; expAvgSq: (Tensor | null)[] };
  /** Extra tensors by name. */
  tensors: Map<string, Tensor>;
  /** Training state (JSON). */
  state: Record<string, unknown>;
  /** Run configuration (JSON). */
  config: Record<string, unknown>;
}

export async function saveCheckpoint(
  path: string,
  o: { model: Module; optimizer?: AdamW; tensors?: Map<string, Tensor>; state: Record<string, unknown>; config: Record<string, unknown> },
): Promise<void> {
  const all = new Map<string, Tensor>();
  for (const [k, t] of o.model.stateDict()) all.set(`model.${k}`, t);
  let optimizerMeta: Record<string, unknown> | undefined;
  if (o.optimizer) {
    const st = o.optimizer.stateDict();
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

export async function loadCheckpoint(path: string): Promise<CheckpointContents> {
  if (!existsSync(path)) throw new CheckpointError(path, "no such checkpoint file");
  const { tensors, metadata } = await loadTensors(path);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(path, `not a videomae training checkpoint (format '${metadata.format ?? "none"}'); use it as pretrained weights instead`);
  }
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
  return {
    model,
    optimizer,
    tensors: extra,
    state: JSON.parse(metadata.state ?? "{}") as Record<string, unknown>,
    config: JSON.parse(metadata.config ?? "{}") as Record<string, unknown>,
  };
}

/** Loads model weights (strict) and optimizer state from a checkpoint into live objects. */
export function restoreCheckpoint(ckpt: CheckpointContents, model: Module, optimizer?: AdamW): void {
  model.loadStateDict(ckpt.model);
  if (optimizer) {
    if (!ckpt.optimizer) throw new Error("the checkpoint holds no optimizer state; it cannot be resumed exactly");
    optimizer.loadStateDict(ckpt.optimizer);
  }
}
