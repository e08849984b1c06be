/**
 * Checkpoints during training: saving the live model and optimizer, restoring them, and picking
 * the checkpoint to resume a run from. The file format itself is io/checkpoint.ts.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { CheckpointError, loadCheckpoint, readCheckpointHeader, writeCheckpoint, type CheckpointContents } from "../io/checkpoint.ts";
import type { Module } from "../nn/module.ts";
import type { AdamW } from "../optim/adamw.ts";
import type { Tensor } from "../torch/tensor.ts";

/** Saves the model's state dict, the optimizer's state (to resume exactly), extra tensors, state and config. */
export async function saveCheckpoint(
  path: string,
  o: { model: Module; optimizer?: AdamW; tensors?: Map<string, Tensor>; state: Record<string, unknown>; config: Record<string, unknown> },
): Promise<void> {
  await writeCheckpoint(path, { ...o, model: o.model.stateDict(), optimizer: o.optimizer?.stateDict() });
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
      const step = Number((await readCheckpointHeader(path)).state.step);
      if (!Number.isSafeInteger(step) || step < 0) throw new Error(`its state holds no valid step (${String(step)})`);
      candidates.push({ name, step });
    } catch (err) {
      notes.push(`${name} is unusable (${reasonOf(err)})`);
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
      notes.push(`${c.name} is unusable (${reasonOf(err)})`);
    }
  }
  return { pick: null, why: names.length ? notes.join("; ") : `no checkpoint-last, -epochN or -best in ${runDir}` };
}

/** The first line of why a checkpoint could not be used (without its path, which the note names). */
function reasonOf(err: unknown): string {
  return (err instanceof CheckpointError ? err.reason : (err as Error).message).split("\n")[0]!;
}
