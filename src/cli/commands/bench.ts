import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCoreBench, type CoreBenchResult } from "../../bench/core.ts";
import { runDataBench, type DataBenchResult } from "../../bench/data.ts";
import { formatDecodeBench } from "../../bench/decode.ts";
import { formatDistributedBench, runDistributedBench, type DistBenchResult } from "../../bench/distributed.ts";
import { DEFAULT_MEMORY_WORKLOADS, formatTrainMemoryBench, runTrainMemoryBench, TINY_MEMORY_WORKLOADS, type MemoryBenchResult } from "../../bench/train_memory.ts";
import { formatModelBench } from "../../bench/model_table.ts";
import { runModelBench, selectWorkloads, type ModelBenchResult } from "../../bench/models.ts";
import { formatProfile, runProfile } from "../../bench/profile.ts";
import { PyTorchReference, type TorchBlas } from "../../bench/pytorch.ts";
import { getNumThreads, resolveDevice } from "../../torch/index.ts";
import { formatGpuBench, runGpuBench } from "../../bench/gpu.ts";
import { table } from "../../bench/stats.ts";
import { defineCommand, UsageError } from "../command.ts";
import { jsonOutputOption } from "../options/groups.ts";
import { choice, flag, number, pattern, text } from "../options/schema.ts";

export const benchCommand = defineCommand({
  name: "bench",
  usage: `[--quick] [--json] [--no-torch] [--out FILE]
                     [--core-only | --models-only] [--only PATTERN] [--rounds N] [--reps N] [--tiny]
       videomae bench --profile [--only PATTERN] [--reps N] [--no-torch] [--json]
       videomae bench --device cuda[:N] [--batch N] [--reps N] [--no-compile] [--no-torch] [--json]`,
  description: `Runs our implementation and a PyTorch reference (Debian's /usr/bin/python3 with torch, when
importable) on the same shapes and threads, interleaving their repetitions, and reports medians
and the ratio ours/PyTorch. Threads: VIDEOMAE_NUM_THREADS (default: all cores).

Two parts, both by default:
  core     GEMM GFLOP/s and the per-call overhead of a small op
  models   ViT-S/B inference (batch 1, 16×224²) and pre-training iterations (batch 2, tube 0.9 +
           running cell 0.5 "dual", or V1 "v1"; AdamW step included), fp32 and bf16 autocast, against
           the official modules in PyTorch; ms/clip, GFLOP/s, % of GEMM peak, peak memory.
           Each workload runs in a fresh process per side. A full run takes ~20 minutes on
           2 quiet cores; other jobs on the machine distort it (see the load column).
`,
  options: {
    quick: flag("smoke run: small GEMMs; models: ViT-S only, 1 round × 1 rep (~2 min)"),
    coreOnly: flag("only the core part"),
    modelsOnly: flag("only the model part"),
    data: flag("also decoding and the data loader: 16-frame requests decoded in-process vs PyAV vs ffmpeg processes (340p/720p H.264 at typical and high bit rates), then the pretraining loader (2 workers, augmentation + dual masks, real H.264 files) against a ViT-S and a ViT-B pretraining step: does it keep up, and what share of the CPU does it take?"),
    dist: flag("also data-parallel scaling: the ViT-S pretraining step as 1 process × 1 thread vs 2 processes × 1 thread (gloo over loopback): clips/s, speed-up, all-reduce time per step, averaged after backward vs overlapped with it (step time, all-reduce time, fraction hidden)"),
    memory: flag("also training-step memory with and without --grad-checkpoint: peak RSS of a ViT-L fine-tuning step (batch 2, 16×224²; ~10 GiB and minutes per setting) and a ViT-B pre-training step (tube 0.9), each in a fresh process, next to the estimate of `videomae info --batch-size`"),
    only: text({ valueName: "PAT", defaultText: "all; with --profile \"vit-b infer fp32,vit-s pretrain-dual fp32\"", description: 'model workloads whose id matches PAT (comma-separated case-insensitive regexes), e.g. "vit-b infer" or "pretrain-dual fp32"' }),
    rounds: number({ valueName: "N", defaultText: "4; quick 1", description: "interleaved rounds per workload" }),
    reps: number({ valueName: "N", defaultText: "2; quick 1; profile 3", description: "timed repetitions per side per round" }),
    tiny: flag("the tiny test models instead of ViT-S/B (for tests; the numbers mean nothing)"),
    profile: flag("instead of benchmarking: where our time goes, for the workloads picked by --only: step phases, forward time per module, backward and optimizer time per op (libtorch's RecordFunction: ATen ops and autograd nodes, self time), and each block piece (linears, attention, LayerNorm, GELU, patch embedding) alone on the block's shapes, ours vs PyTorch"),
    ...jsonOutputOption("only the JSON result"),
    torch: flag("compare with the PyTorch reference (--no-torch: skip it)", true),
    torchBlas: choice(["ours", "system"], {
      default: "ours",
      description: "the BLAS of the PyTorch side: ours (the library our addon loads, openblas-openmp, so both run the same GEMMs) or system (PyTorch as installed; Debian's default openblas-pthread oversubscribes the cores next to torch's OpenMP pool and slows its fp32 training 1.6–2×)",
    }),
    out: text({ valueName: "FILE", defaultText: ".bench/bench-<timestamp>.json", description: "where to write the JSON result" }),
    // The CPU benchmark stays the default even on a GPU machine: the GPU one is asked for.
    device: pattern(/^(cpu|cuda(:\d+)?)$/, {
      default: "cpu",
      valueName: "cpu|cuda[:N]",
      allowed: "one of cpu, cuda, cuda:N",
      description:
        "cpu: the parts above; cuda[:N]: instead, the GPU benchmark — ViT-B inference and ViT-B dual-masking pre-training at --batch clips, bf16 autocast, ours vs the official modules in PyTorch eager and torch.compile'd (VIDEOMAE_PYTHON names the Python with a CUDA torch): clips/s, peak GPU memory, ratios; needs an addon built against a CUDA libtorch (scripts/gpu-check.sh)",
    }),
    batch: number({ valueName: "N", default: 32, range: { min: 1, integer: true }, description: "clips per step in the GPU benchmark" }),
    compile: flag("also time torch.compile'd PyTorch in the GPU benchmark (--no-compile: skip; compiling ViT-B takes a minute or two)", true),
  },
  epilogue: `Example:
  npm run bench                                   # full run, tables + JSON file
  videomae bench --models-only --only "vit-s"     # ViT-S workloads only
  videomae bench --quick --json`,
  async run(values) {
    const torchBlas = values.torchBlas as TorchBlas;
    if (values.coreOnly && values.modelsOnly) throw new UsageError("--core-only and --models-only exclude each other");
    const { rounds, reps } = values;
    const log = values.json ? undefined : (s: string) => console.error(`  ${s}`);
    const withTorch = values.torch;
    const device = resolveDevice(values.device);
    if (device !== "cpu") {
      const res = await runGpuBench({ device, withTorch, compile: values.compile, batch: values.batch, ...(reps ? { reps } : {}), ...(log ? { log } : {}) });
      const out = values.out ?? join(".bench", `bench-gpu-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
      mkdirSync(join(out, ".."), { recursive: true });
      writeFileSync(out, JSON.stringify(res, null, 2) + "\n");
      console.log(values.json ? JSON.stringify(res) : formatGpuBench(res));
      return 0;
    }
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
    if (!values.modelsOnly) core = await runCoreBench({ quick: values.quick, withTorch, torchBlas, log });
    if (!values.coreOnly) {
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
      if (data.decode) console.log(`\ndecoding, per clip request (16 frames, stride 4):\n${formatDecodeBench(data.decode)}`);
      console.log(
        `\ndata loader (${data.videos} clips from ${data.clips}; ${data.workers} workers, 16×224² stride 4, augmentation + dual masks): ` +
          `${data.coldClipsPerSecond.toFixed(2)} clips/s cold, ${data.warmClipsPerSecond.toFixed(2)} warm, ${data.loaderCpuMsPerClip.toFixed(0)} CPU ms per clip ` +
          `(decode ${data.decodeMsPerClip.toFixed(0)} ms + augment ${data.augmentMsPerClip.toFixed(0)} ms)`,
      );
      console.log(
        table(
          ["pre-training step alone (batch 2)", "clips/s", "loader/model", `loader's share of ${data.cores} cores`],
          data.models.map((m) => [m.model, m.clipsPerSecond, m.loaderRatio, `${(100 * m.cpuShare).toFixed(1)}%`]),
        ),
      );
      console.log(`→ ${data.verdict}`);
    }
    if (dist) console.log(`\n${formatDistributedBench(dist)}`);
    if (memory) console.log(`\n${formatTrainMemoryBench(memory)}`);
    console.log(`\nJSON written to ${out}`);
    return 0;
  },
});

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
