import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCoreBench, type CoreBenchResult } from "../../bench/core.ts";
import { runDataBench, type DataBenchResult } from "../../bench/data.ts";
import { formatDistributedBench, runDistributedBench, type DistBenchResult } from "../../bench/distributed.ts";
import { DEFAULT_MEMORY_WORKLOADS, formatTrainMemoryBench, runTrainMemoryBench, TINY_MEMORY_WORKLOADS, type MemoryBenchResult } from "../../bench/train_memory.ts";
import { formatModelBench } from "../../bench/model_table.ts";
import { runModelBench, selectWorkloads, type ModelBenchResult } from "../../bench/models.ts";
import { formatProfile, runProfile } from "../../bench/profile.ts";
import { PyTorchReference, type TorchBlas } from "../../bench/pytorch.ts";
import { getNumThreads } from "../../torch/index.ts";
import { table } from "../../bench/stats.ts";
import { num, parseOptions, UsageError, type Command } from "../command.ts";

export const benchCommand: Command = {
  name: "bench",
  help: `Usage: videomae bench [--quick] [--json] [--no-torch] [--out FILE]
                     [--core-only | --models-only] [--only PATTERN] [--rounds N] [--reps N] [--tiny]
       videomae bench --profile [--only PATTERN] [--reps N] [--no-torch] [--json]

Runs our implementation and a PyTorch reference (Debian's /usr/bin/python3 with torch, when
importable) on the same shapes and threads, interleaving their repetitions, and reports medians
and the ratio ours/PyTorch. Threads: VIDEOMAE_NUM_THREADS (default: all cores).

Two parts, both by default:
  core     GEMM GFLOP/s and the per-call overhead of a small op
  models   ViT-S/B inference (batch 1, 16×224²) and pre-training iterations (batch 2, tube 0.9 +
           running cell 0.5 "dual", or V1 "v1"; AdamW step included), fp32 and bf16 autocast, against
           the official modules in PyTorch; ms/clip, GFLOP/s, % of GEMM peak, peak memory.
           Each workload runs in a fresh process per side. A full run takes ~20 minutes on
           2 quiet cores; other jobs on the machine distort it (see the load column).

Options:
  --quick        smoke run: small GEMMs; models: ViT-S only, 1 round × 1 rep (~2 min)
  --core-only    only the core part
  --models-only  only the model part
  --data         also the data loader: decode + augment + masks of 16×224² pretraining clips
                 (2 workers) against a ViT-S pretraining step — does the loader keep up?
  --dist         also data-parallel scaling: the ViT-S pretraining step as 1 process × 1 thread
                 vs 2 processes × 1 thread (gloo over loopback): clips/s, speed-up, all-reduce
                 time per step, averaged after backward vs overlapped with it (step time,
                 all-reduce time, fraction hidden)
  --memory       also training-step memory with and without --grad-checkpoint: peak RSS of a
                 ViT-L fine-tuning step (batch 2, 16×224²; ~10 GiB and minutes per setting) and
                 a ViT-B pre-training step (tube 0.9), each in a fresh process, next to the
                 estimate of \`videomae info --batch-size\`
  --only PAT     model workloads whose id matches PAT (comma-separated case-insensitive regexes),
                 e.g. --only "vit-b infer" or --only "pretrain-dual fp32"
  --rounds N     interleaved rounds per workload (default 4; quick 1)
  --reps N       timed repetitions per side per round (default 2; quick 1)
  --tiny         the tiny test models instead of ViT-S/B (for tests; the numbers mean nothing)
  --profile      instead of benchmarking: where our time goes, for the workloads picked by --only
                 (default "vit-b infer fp32,vit-s pretrain-dual fp32"): step phases, forward time
                 per module, and each block piece (linears, attention, LayerNorm, GELU, patch
                 embedding) alone on the block's shapes, ours vs PyTorch
  --json         print only the JSON result
  --no-torch     skip the PyTorch reference
  --torch-blas B the BLAS of the PyTorch side: "ours" (default: the library our addon loads,
                 openblas-openmp, so both run the same GEMMs) or "system" (PyTorch as installed;
                 Debian's default openblas-pthread oversubscribes the cores next to torch's OpenMP
                 pool and slows its fp32 training 1.6–2×)
  --out FILE     where to write the JSON result (default: .bench/bench-<timestamp>.json)

Example:
  npm run bench                                   # full run, tables + JSON file
  videomae bench --models-only --only "vit-s"     # ViT-S workloads only
  videomae bench --quick --json`,
  async run(argv) {
    const { values } = parseOptions(argv, {
      quick: { type: "boolean" },
      json: { type: "boolean" },
      "no-torch": { type: "boolean" },
      out: { type: "string" },
      "core-only": { type: "boolean" },
      "models-only": { type: "boolean" },
      data: { type: "boolean" },
      dist: { type: "boolean" },
      memory: { type: "boolean" },
      only: { type: "string" },
      rounds: { type: "string" },
      reps: { type: "string" },
      tiny: { type: "boolean" },
      profile: { type: "boolean" },
      "torch-blas": { type: "string" },
    });
    const torchBlas = (values["torch-blas"] ?? "ours") as TorchBlas;
    if (torchBlas !== "ours" && torchBlas !== "system") throw new UsageError(`--torch-blas must be "ours" or "system", got '${torchBlas}'`);
    if (values["core-only"] && values["models-only"]) throw new UsageError("--core-only and --models-only exclude each other");
    const positive = (v: string | undefined, name: string): number | undefined => {
      if (v === undefined) return undefined;
      const n = num(v, 0, name);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got '${v}'`);
      return n;
    };
    const rounds = positive(values.rounds, "rounds");
    const reps = positive(values.reps, "reps");
    const log = values.json ? undefined : (s: string) => console.error(`  ${s}`);
    const withTorch = !values["no-torch"];
    if (values.profile) {
      const list = selectWorkloads({ tiny: values.tiny, only: values.only ?? (values.tiny ? "infer fp32,pretrain-dual fp32" : "vit-b infer fp32,vit-s pretrain-dual fp32") });
      if (list.length === 0) throw new UsageError(`--only ${values.only}: no workload matches`);
      const { ref } = withTorch ? await PyTorchReference.start(getNumThreads(), { blas: torchBlas }) : { ref: null };
      try {
        const prof = await runProfile(list, { reps: reps ?? 3, torch: ref, ...(log ? { log } : {}) });
        console.log(values.json ? JSON.stringify(prof) : formatProfile(prof));
      } finally {
        await ref?.close();
      }
      return 0;
    }

    const out = values.out ?? join(".bench", `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    mkdirSync(join(out, ".."), { recursive: true });
    // The core result's fields stay at the top level (the earlier format); models and data go
    // under their own keys. Saved after every model workload too, so a long run keeps partial data.
    const save = (c?: CoreBenchResult, m?: ModelBenchResult, d?: DataBenchResult, p?: DistBenchResult | null, mem?: MemoryBenchResult | null) => {
      const res = { ...(c ?? {}), ...(m ? { models: m } : {}), ...(d ? { data: d } : {}), ...(p ? { distributed: p } : {}), ...(mem ? { memory: mem } : {}) };
      writeFileSync(out, JSON.stringify(res, null, 2) + "\n");
      return res;
    };
    let core: CoreBenchResult | undefined;
    let models: ModelBenchResult | undefined;
    if (!values["models-only"]) core = await runCoreBench({ quick: values.quick, withTorch, torchBlas, log });
    if (!values["core-only"]) {
      models = await runModelBench({
        quick: values.quick,
        tiny: values.tiny,
        withTorch,
        torchBlas,
        ...(values.only !== undefined ? { only: values.only } : {}),
        ...(rounds ? { rounds } : {}),
        ...(reps ? { reps } : {}),
        ...(log ? { log } : {}),
        onProgress: (partial) => save(core, partial),
      });
    }
    let data: DataBenchResult | undefined;
    if (values.data) data = await runDataBench({ quick: values.quick, log });
    const dist = values.dist ? await runDistributedBench({ quick: values.quick, size: values.tiny ? "tiny" : "s", log }) : null;
    const memory = values.memory ? await runTrainMemoryBench({ workloads: values.tiny ? TINY_MEMORY_WORKLOADS : DEFAULT_MEMORY_WORKLOADS, ...(log ? { log } : {}) }) : null;
    const res = save(core, models, data, dist, memory);
    if (values.json) {
      console.log(JSON.stringify(res));
      return 0;
    }
    if (core) printCore(core);
    if (models) console.log(`\n${formatModelBench(models)}`);
    if (data) {
      console.log(`\ndata loader (${data.videos} clips, ${data.workers} workers, 16×224² stride 4 + masks): ${data.coldClipsPerSecond.toFixed(2)} clips/s cold, ${data.warmClipsPerSecond.toFixed(2)} warm; decode ${data.decodeMsPerClip.toFixed(0)} ms + augment ${data.augmentMsPerClip.toFixed(0)} ms per clip`);
      console.log(`ViT-S pretraining step alone: ${data.modelClipsPerSecond.toFixed(2)} clips/s → ${data.verdict}`);
    }
    if (dist) console.log(`\n${formatDistributedBench(dist)}`);
    if (memory) console.log(`\n${formatTrainMemoryBench(memory)}`);
    console.log(`\nJSON written to ${out}`);
    return 0;
  },
};

function printCore(res: CoreBenchResult): void {
  console.log(`\nthreads ${res.threads}, BLAS ${res.blas}, PyTorch ${res.torchVersion ?? "—"}${res.torchNote ? ` (${res.torchNote})` : ""}\n`);
  console.log(
    table(
      ["GEMM n×n×n", "dtype", "ours GFLOP/s", "PyTorch GFLOP/s", "ours/PyTorch"],
      res.gemm.map((g) => [String(g.n), g.dtype, g.oursGflops, g.torchGflops ?? NaN, g.ratio ?? NaN]),
    ),
  );
  console.log(
    `\nsmall op (add of two 4-element tensors): ours ${res.smallOp.oursNsPerCall.toFixed(0)} ns/call` +
      (res.smallOp.torchNsPerCall ? `, PyTorch (from Python) ${res.smallOp.torchNsPerCall.toFixed(0)} ns/call` : ""),
  );
}
