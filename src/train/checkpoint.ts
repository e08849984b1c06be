/**
 * Training checkpoints: one safetensors file holding the model state dict (`model.<key>`), the
 * AdamW moments (`optim.exp_avg.<i>`, `optim.exp_avg_sq.<i>`, in parameter order) and named
 * extra tensors (e.g. libtorch generator states, `rng.<name>`), plus JSON metadata: the
 * training state (step, epoch, optimizer step counts, RNG states, best metric…) and the run
 * configuration. Written atomically (temp file, fsync, rename): a crash never leaves a
 * half-written checkpoint, and the previous one stays valid until the new one is complete.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { openSafetensors } from "../io/safetensors.ts";
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

/** The checkpoints a run folder may hold, in the order preferred among equal steps. */
const RUN_CHECKPOINT = /^checkpoint-(last|epoch(\d+)|best)\.safetensors$/;

export interface ResumeChoice {
  /** The checkpoint to resume from (null: none of the run's checkpoints is usable). */
  pick: { path: string; step: number; ckpt: CheckpointContents } | null;
  /** Why this one (or none): which files were missing, unreadable or older. */
  why: string;
}

/**
 * The newest *valid* checkpoint of a run folder: checkpoint-last, checkpoint-best and every
 * checkpoint-epochN are candidates, ordered by the update they hold (state.step; among equals,
 * last, then epoch-N, then best: they hold the same state). Each is loaded in full in that order
 * until one loads, so a missing, truncated or foreign checkpoint-last falls back to the next
 * newest instead of silently restarting the run from update 0.
 */
export async function findResumeCheckpoint(runDir: string): Promise<ResumeChoice> {
  const names = existsSync(runDir) ? readdirSync(runDir).filter((n) => RUN_CHECKPOINT.test(n)) : [];
  const notes: string[] = [];
  if (!names.includes("checkpoint-last.safetensors")) notes.push("checkpoint-last.safetensors is missing");
  const rank = (n: string) => (n.startsWith("checkpoint-last") ? 0 : n.startsWith("checkpoint-epoch") ? 1 : 2);
  // Cheap first pass: the step from the header's metadata, to try the newest first.
  const candidates: { name: string; step: number }[] = [];
  for (const name of names) {
    const path = join(runDir, name);
    try {
      const f = await openSafetensors(path);
      const meta = f.metadata;
      await f.close();
      if (meta.format !== CHECKPOINT_FORMAT) throw new Error(`not a videomae training checkpoint (format '${meta.format ?? "none"}')`);
      const step = Number((JSON.parse(meta.state ?? "{}") as { step?: unknown }).step);
      if (!Number.isSafeInteger(step) || step < 0) throw new Error(`its state holds no valid step (${String(step)})`);
      candidates.push({ name, step });
    } catch (err) {
      notes.push(`${name} is unusable (${(err as Error).message.split("\n")[0]})`);
    }
  }
  candidates.sort((a, b) => b.step - a.step || rank(a.name) - rank(b.name));
  for (const c of candidates) {
    const path = join(runDir, c.name);
    try {
      const ckpt = await loadCheckpoint(path);
      const older = candidates.filter((o) => o.step < c.step).length;
      const why = [`the newest valid checkpoint (update ${c.step})`, ...notes].join("; ") + (older ? `; ${older} older one(s) not needed` : "");
      return { pick: { path, step: c.step, ckpt }, why };
    } catch (err) {
      notes.push(`${c.name} is unusable (${(err as Error).message.split("\n")[0]})`);
    }
  }
  return { pick: null, why: names.length ? notes.join("; ") : `no checkpoint-last, -epochN or -best in ${runDir}` };
}
