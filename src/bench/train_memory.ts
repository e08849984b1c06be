/**
 * Training memory with and without activation checkpointing (`bench --memory`): for each
 * workload, one training step in a fresh process per setting (src/bench/train_memory_worker.ts),
 * its peak RSS above the process's RSS before the model was built — weights, gradients, AdamW
 * state and activations — next to the estimate of `videomae info --batch-size` (src/models/
 * memory.ts). CPU RSS for now; on a CUDA device the same table would read the allocator's peak.
 *
 * Default workloads: a ViT-L fine-tuning step (batch 2, 16×224², where activations dominate) and
 * a ViT-B pre-training step (90 % tube masking: weights and AdamW state dominate). ViT-L takes a
 * few minutes per setting on 2 cores and ~10 GiB without checkpointing.
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { modelReport, trainingMemory, type ModelName } from "../models/index.ts";

const WORKER = join(dirname(fileURLToPath(import.meta.url)), "train_memory_worker.ts");

export interface MemoryWorkload {
  kind: "finetune" | "pretrain";
  model: ModelName;
  batch: number;
}

export interface MemorySide {
  /** Peak RSS over the step minus RSS before the model was built (bytes). */
  peakBytes: number;
  /** The estimate of src/models/memory.ts for the same setting (bytes). */
  estimateBytes: number;
  seconds: number;
  /** The step's loss (seeded: the same in both settings, a check that checkpointing changed nothing). */
  loss: number;
}

export interface MemoryRow extends MemoryWorkload {
  plain: MemorySide;
  checkpointed: MemorySide;
  /** checkpointed.peakBytes / plain.peakBytes. */
  ratio: number;
}

export interface MemoryBenchResult {
  device: "cpu";
  measure: "peak RSS − RSS before the model";
  rows: MemoryRow[];
}

export const DEFAULT_MEMORY_WORKLOADS: MemoryWorkload[] = [
  { kind: "finetune", model: "vit_large_patch16_224", batch: 2 },
  { kind: "pretrain", model: "pretrain_videomae_base_patch16_224", batch: 2 },
];
export const TINY_MEMORY_WORKLOADS: MemoryWorkload[] = [
  { kind: "finetune", model: "tiny_test_vit", batch: 2 },
  { kind: "pretrain", model: "tiny_test_pretrain", batch: 2 },
];

function measure(w: MemoryWorkload, checkpointed: boolean): Promise<{ base: number; peak: number; peakExact: boolean; seconds: number; loss: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), WORKER, w.kind, w.model, String(w.batch), checkpointed ? "1" : "0"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err = (err + d).slice(-4000)));
    child.on("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || !line.startsWith("{")) reject(new Error(`memory bench ${w.model} (checkpoint ${checkpointed}) failed with code ${code}:\n${err}`));
      else resolve(JSON.parse(line));
    });
  });
}

export async function runTrainMemoryBench(opts: { workloads?: MemoryWorkload[]; log?: (s: string) => void } = {}): Promise<MemoryBenchResult> {
  const rows: MemoryRow[] = [];
  for (const w of opts.workloads ?? DEFAULT_MEMORY_WORKLOADS) {
    const est = trainingMemory(modelReport(w.model), w.batch);
    const side = async (ckpt: boolean): Promise<MemorySide> => {
      const m = await measure(w, ckpt);
      if (!m.peakExact) throw new Error("peak RSS is not measurable here (/proc/self/clear_refs is not writable)");
      return { peakBytes: m.peak - m.base, estimateBytes: ckpt ? est.total.checkpointed : est.total.plain, seconds: m.seconds, loss: m.loss };
    };
    const plain = await side(false);
    const checkpointed = await side(true);
    const row = { ...w, plain, checkpointed, ratio: checkpointed.peakBytes / plain.peakBytes };
    rows.push(row);
    opts.log?.(`memory: ${w.model} ${w.kind} batch ${w.batch}: ${gib(plain.peakBytes)} plain, ${gib(checkpointed.peakBytes)} checkpointed (${(100 * row.ratio).toFixed(0)} %)`);
  }
  return { device: "cpu", measure: "peak RSS − RSS before the model", rows };
}

const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;

export function formatTrainMemoryBench(r: MemoryBenchResult): string {
  const lines = [`training-step memory (${r.device}, ${r.measure}; estimate of \`videomae info --batch-size\` in brackets):`];
  for (const x of r.rows) {
    lines.push(
      `  ${x.model} ${x.kind} batch ${x.batch}: plain ${gib(x.plain.peakBytes)} [${gib(x.plain.estimateBytes)}], ${x.plain.seconds.toFixed(1)} s/step; ` +
        `--grad-checkpoint ${gib(x.checkpointed.peakBytes)} [${gib(x.checkpointed.estimateBytes)}], ${x.checkpointed.seconds.toFixed(1)} s/step; ` +
        `ratio ${(100 * x.ratio).toFixed(0)} %; loss ${x.plain.loss === x.checkpointed.loss ? "identical" : `${x.plain.loss} vs ${x.checkpointed.loss}`}`,
    );
  }
  return lines.join("\n");
}
