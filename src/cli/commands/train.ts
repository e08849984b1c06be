/** `videomae pretrain` and `videomae finetune`: options from defaults ← --config JSON ← flags. */
import { DataParallel } from "../../distributed/data_parallel.ts";
import { finetune } from "../../train/finetune.ts";
import { pretrain } from "../../train/pretrain.ts";
import { checkWritableDir } from "../../util/output.ts";
import { defineCommand } from "../command.ts";
import { useDecoder } from "../decoder.ts";
import { decoderOption, deviceOption, jsonOutputOption } from "../options/groups.ts";
import { checkWarmup } from "../options/ranges.ts";
import { finetuneOptions, pretrainOptions } from "../options/training.ts";

/** What every training command takes besides its run options: decoder, device, JSON summary. */
export const trainingCommandOptions = { ...decoderOption, ...deviceOption, ...jsonOutputOption("the run summary") };

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

/**
 * The run options of a parsed training command line, checked before any data is read or model
 * built: the warm-up fits the run, the run folder can be written. The decoder becomes this
 * process's (and its loader workers') video reader. The device goes on to the trainer.
 */
export function runOptions<O extends { decoder?: string; device?: string; json: boolean; config?: string; epochs: number; warmupEpochs: number; out: string }>(
  options: O,
): Omit<O, "decoder" | "json" | "config"> {
  const { decoder, json: _json, config: _config, ...run } = options;
  useDecoder(decoder);
  checkWarmup(run);
  checkWritableDir(run.out);
  return run;
}

type RunResult = Parameters<typeof summary>[0];

/**
 * Runs one training command alone, or as one rank of a data-parallel group when the
 * environment says so (`videomae launch`, torchrun): then only rank 0 logs and prints.
 */
export async function runMaybeDistributed(json: boolean, train: (log: (m: string) => void, dist: DataParallel | null) => Promise<RunResult>): Promise<number> {
  const dist = DataParallel.fromEnv();
  const log = dist && !dist.isMain ? () => {} : (m: string) => process.stderr.write(m + "\n");
  if (dist) log(`data-parallel: ${dist.worldSize} ranks (${dist.backend}, master ${dist.env.masterAddr}:${dist.env.masterPort}, timeout ${dist.env.timeoutMs / 1000} s)`);
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

export const pretrainCommand = defineCommand({
  name: "pretrain",
  usage: "--lists A.csv[,B.csv…] [--model NAME] [--out DIR] [options] [--config FILE.json] [--json]",
  description: `Pre-trains a VideoMAE V2 encoder-decoder on unlabelled videos: tube masking for the encoder
(--mask-ratio 0.9), running-cell masking for the decoder (--decoder-mask run_cell, ratio 0.5;
'none' = V1), loss = MSE of per-patch normalised pixels on decoder-kept ∩ encoder-masked tokens.
Several list files (\`path 0 -1\` per line) are mixed into one stream (UnlabeledHybrid), each
repeated --weights times per epoch. The run folder gets config.json, metrics.jsonl, curves.svg
and checkpoints (written atomically); Ctrl-C saves and stops; --resume continues exactly.`,
  options: { ...pretrainOptions, ...trainingCommandOptions },
  epilogue: `Example:
  videomae pretrain --lists k400_unlabelled.csv,ssv2_unlabelled.csv --model pretrain_videomae_base_patch16_224 \\
                    --epochs 200 --batch-size 32 --num-sample 4 --out runs/pt_b --precision bf16
${DISTRIBUTED_HELP}`,
  async run(options) {
    const run = runOptions(options);
    return runMaybeDistributed(options.json, (log, dist) => pretrain(run, log, dist));
  },
});

export const finetuneCommand = defineCommand({
  name: "finetune",
  usage: `--train TRAIN.csv [--val VAL.csv] [--labels LABELS.txt] [--finetune CKPT]
                         [--model NAME] [--out DIR] [options] [--config FILE.json] [--json]`,
  description: `Fine-tunes a ViT classifier on \`path label\` lists with the official recipe (layer-wise lr decay,
drop path, mixup/cutmix + label smoothing with soft-target cross-entropy, warm-up + cosine),
validating each epoch (one centred clip per video) and keeping checkpoint-best. --finetune takes
a pre-training checkpoint (encoder weights; fc_norm and head start fresh), or a fine-tuned one
(our own, or official .pth, fp32/fp16). Progressive training is this command run in stages:
  1. videomae pretrain … --out runs/pt
  2. videomae finetune --train hybrid_710.csv --labels k710.txt --finetune runs/pt/checkpoint-last.safetensors --out runs/k710
  3. videomae finetune --train k400.csv --val k400_val.csv --labels k400.txt \\
        --finetune runs/k710/checkpoint-best.safetensors --head-label-map label_map_k400.json --out runs/k400
(--head-label-map: a JSON list giving, for each target class, its row in the checkpoint's head.)`,
  options: { ...finetuneOptions, ...trainingCommandOptions },
  epilogue: DISTRIBUTED_HELP.trimStart(),
  async run(options) {
    const run = runOptions(options);
    return runMaybeDistributed(options.json, (log, dist) => finetune(run, log, dist));
  },
});
