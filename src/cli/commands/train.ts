/** `videomae pretrain` and `videomae finetune`: options from defaults ← --config JSON ← flags. */
import { DataParallel } from "../../distributed/data_parallel.ts";
import { resolveConfig } from "../../train/config.ts";
import { FINETUNE_DEFAULTS, finetune } from "../../train/finetune.ts";
import { PRETRAIN_DEFAULTS, pretrain } from "../../train/pretrain.ts";
import { checkWritableDir } from "../../util/output.ts";
import { UsageError, type Command } from "../command.ts";
import { checkRanges } from "../options/ranges.ts";
import { DECODER_HELP, takeDecoder } from "../decoder.ts";

export function optionTable(defaults: Record<string, unknown>): string {
  return Object.entries(defaults)
    .map(([k, v]) => `  --${k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}`.padEnd(26) + ` ${Array.isArray(v) ? (v.length ? v.join(",") : "(none)") : v === null ? "(unset)" : String(v)}`)
    .join("\n");
}

function summary(r: { steps: number; stoppedBy: string; lastCheckpoint: string | null; bestCheckpoint: string | null; best: number | null; runDir: string; badFiles?: string[]; primaryMetric?: string }, json: boolean): void {
  if (json) console.log(JSON.stringify(r));
  else {
    console.log(`${r.stoppedBy === "done" ? "finished" : `stopped (${r.stoppedBy})`} after ${r.steps} updates; run folder ${r.runDir}`);
    if (r.lastCheckpoint) console.log(`  last checkpoint ${r.lastCheckpoint}`);
    if (r.bestCheckpoint) console.log(`  best checkpoint ${r.bestCheckpoint} (${r.primaryMetric ?? "top-1"} ${r.best?.toFixed(4)})`);
    console.log(`  metrics ${r.runDir}/metrics.jsonl, curves ${r.runDir}/curves.svg`);
    const bad = r.badFiles ?? [];
    if (bad.length) {
      const shown = bad.slice(0, 10).map((p) => `\n    ${p}`).join("");
      console.log(`  unreadable files skipped (replaced by others): ${bad.length}${shown}${bad.length > 10 ? `\n    … (${bad.length - 10} more in the [data] log lines)` : ""}`);
    }
  }
}

export function parse<T extends Record<string, unknown>>(defaults: T, argv: string[]): { config: T; json: boolean } {
  argv = takeDecoder(argv); // --decoder libav|ffmpeg-cli: the process's (and its loader workers') video reader
  const json = argv.includes("--json");
  const { config, rest } = (() => {
    try {
      return resolveConfig(defaults as never, argv.filter((a) => a !== "--json"));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  })();
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}' (options are --key value)`);
  checkRanges(config as Record<string, unknown>);
  // Before any data is read or model built: a run that cannot write its folder must fail now.
  const out = (config as Record<string, unknown>).out;
  if (typeof out === "string") checkWritableDir(out);
  return { config: config as T, json };
}

type RunResult = Parameters<typeof summary>[0];

/**
 * Runs one training command alone, or as one rank of a data-parallel group when the
 * environment says so (`videomae launch`, torchrun): then only rank 0 logs and prints.
 */
export async function runMaybeDistributed(json: boolean, train: (log: (m: string) => void, dist: DataParallel | null) => Promise<RunResult>): Promise<number> {
  const dist = DataParallel.fromEnv();
  const log = dist && !dist.isMain ? () => {} : (m: string) => process.stderr.write(m + "\n");
  if (dist) log(`data-parallel: ${dist.worldSize} ranks (gloo, master ${dist.env.masterAddr}:${dist.env.masterPort}, timeout ${dist.env.timeoutMs / 1000} s)`);
  // On failure the group is left as is (no destroy): peers may be gone, and exiting ends it.
  const result = await train(log, dist);
  if (!dist || dist.isMain) summary(result, json);
  dist?.close();
  return 0;
}

export const DISTRIBUTED_HELP = `
Data-parallel: run under \`videomae launch --nproc-per-node N -- <this command> …\` (or torchrun's
environment): each rank trains on its shard of every global batch of batch-size × ranks clips,
the lr scales with that global batch, rank 0 writes the run folder.`;

export const pretrainCommand: Command = {
  name: "pretrain",
  help: `Usage: videomae pretrain --lists A.csv[,B.csv…] [--model NAME] [--out DIR] [options] [--config FILE.json] [--json]

Pre-trains a VideoMAE V2 encoder-decoder on unlabelled videos: tube masking for the encoder
(--mask-ratio 0.9), running-cell masking for the decoder (--decoder-mask run_cell, ratio 0.5;
'none' = V1), loss = MSE of per-patch normalised pixels on decoder-kept ∩ encoder-masked tokens.
Several list files (\`path 0 -1\` per line) are mixed into one stream (UnlabeledHybrid), each
repeated --weights times per epoch. The run folder gets config.json, metrics.jsonl, curves.svg
and checkpoints (written atomically); Ctrl-C saves and stops; --resume continues exactly.

Options (defaults; a JSON --config file may set any of them, flags win):
${optionTable(PRETRAIN_DEFAULTS)}
${DECODER_HELP}

Example:
  videomae pretrain --lists k400_unlabelled.csv,ssv2_unlabelled.csv --model pretrain_videomae_base_patch16_224 \\
                    --epochs 200 --batch-size 32 --num-sample 4 --out runs/pt_b --precision bf16
${DISTRIBUTED_HELP}`,
  async run(argv) {
    const { config, json } = parse(PRETRAIN_DEFAULTS, argv);
    return runMaybeDistributed(json, (log, dist) => pretrain(config, log, dist));
  },
};

export const finetuneCommand: Command = {
  name: "finetune",
  help: `Usage: videomae finetune --train TRAIN.csv [--val VAL.csv] [--labels LABELS.txt] [--finetune CKPT]
                         [--model NAME] [--out DIR] [options] [--config FILE.json] [--json]

Fine-tunes a ViT classifier on \`path label\` lists with the official recipe (layer-wise lr decay,
drop path, mixup/cutmix + label smoothing with soft-target cross-entropy, warm-up + cosine),
validating each epoch (one centred clip per video) and keeping checkpoint-best. --finetune takes
a pre-training checkpoint (encoder weights; fc_norm and head start fresh), or a fine-tuned one
(our own, or official .pth, fp32/fp16). Progressive training is this command run in stages:
  1. videomae pretrain … --out runs/pt
  2. videomae finetune --train hybrid_710.csv --labels k710.txt --finetune runs/pt/checkpoint-last.safetensors --out runs/k710
  3. videomae finetune --train k400.csv --val k400_val.csv --labels k400.txt \\
        --finetune runs/k710/checkpoint-best.safetensors --head-label-map label_map_k400.json --out runs/k400
(--head-label-map: a JSON list giving, for each target class, its row in the checkpoint's head.)

Options (defaults; a JSON --config file may set any of them, flags win):
${optionTable(FINETUNE_DEFAULTS)}
${DECODER_HELP}
${DISTRIBUTED_HELP}`,
  async run(argv) {
    const { config, json } = parse(FINETUNE_DEFAULTS, argv);
    return runMaybeDistributed(json, (log, dist) => finetune(config, log, dist));
  },
};
