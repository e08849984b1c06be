import { blasInfo, cudaInfo, getNumThreads, native } from "../../torch/index.ts";
import { describeChoices, ensureKernelChoices, machineId } from "../../torch/tune.ts";
import { defineCommand } from "../command.ts";
import { jsonOutputOption } from "../options/groups.ts";
import { flag } from "../options/schema.ts";
import { spawnSync } from "node:child_process";

export const doctorCommand = defineCommand({
  name: "doctor",
  usage: "[--tune] [--json]",
  description: `Prints what the native core loaded: libtorch version and parallel settings, the number of
threads, which OpenBLAS build (the OpenMP one shares torch's thread pool; the pthreads one
oversubscribes the cores), whether ffmpeg/ffprobe are on PATH, and the GPUs: each one the NVIDIA
driver sees (name, memory, compute capability) and whether this addon's libtorch can use them
(CUDA, cuDNN and NCCL versions as libtorch reports them).

Also the CPU kernel choices and the rates they were chosen by: the float32 linear (OpenBLAS, or
oneDNN's sgemm), the bf16 linear (float32 GEMMs on bf16-rounded operands, or oneDNN's bf16 GEMMs
through ATen or its gemm API), the attention kernels (ISA, tile GEMM, bf16 dot products or
float32), the thread count, and whether bf16 inference beats fp32 at all (if not, --precision
bf16 says so once and runs fp32). They are measured once per machine (CPU
model and flags, OpenBLAS core type, libtorch, addon build) by the first command that runs a
model, in under 5 s, and cached in $XDG_CACHE_HOME/videomae/kernels.json (default ~/.cache).
--tune measures them again now (do it on a quiet machine: other jobs skew the timings).
VIDEOMAE_FP32_LINEAR, VIDEOMAE_BF16_LINEAR, VIDEOMAE_ATTN_ISA, VIDEOMAE_ATTN_GEMM,
VIDEOMAE_ATTN_BF16 and VIDEOMAE_NUM_THREADS fix a choice; VIDEOMAE_TUNE=0 keeps the built-in
defaults.

Example (AMD Zen 5, 2 vCPUs, OPENBLAS_CORETYPE=Haswell):
  videomae doctor --tune
    …
    kernels (measured now): linear fp32 dnnl / bf16 dnnl, attention avx512/micro (bf16: dpbf16), 2 threads
      attentionIsa    avx512 289.7  avx2 164.7 GFLOP/s
      attentionGemm   micro 241.1  blas 96.2  aten 89.1 GFLOP/s
      attentionBf16   dpbf16 464.4  fp32 203.6 GFLOP/s
      fp32Linear      blas 176.9  dnnl 263.6 GFLOP/s
      bf16Linear      sgemm 124.6  aten 507.2  dnnl 595.5 GFLOP/s
      bf16Inference   bf16 472  fp32 293.2 GFLOP/s`,
  options: {
    tune: flag("measure the kernel choices again now and cache them (≈ 5 s)"),
    ...jsonOutputOption("the report"),
  },
  async run(values) {
    const tuned = ensureKernelChoices({ force: values.tune, cacheOnly: !values.tune, log: (s) => process.stderr.write(`${s}\n`) });
    const info = native.buildInfo();
    const ffmpeg = spawnSync("ffmpeg", ["-version"], { encoding: "utf8" });
    const report = {
      torchVersion: info.torchVersion,
      threads: getNumThreads(),
      blas: blasInfo(),
      ffmpeg: ffmpeg.status === 0 ? ffmpeg.stdout.split("\n")[0] : null,
      parallelInfo: info.parallelInfo.trim().split("\n"),
      heapReuse: info.heapReuse,
      cuda: cudaInfo(),
      machine: machineId(),
      kernels: { choices: tuned.choices, source: tuned.source, overridden: tuned.overridden, rates: tuned.record?.rates ?? null, tunedAt: tuned.record?.tunedAt ?? null, cacheFile: tuned.cacheFile },
    };
    if (values.json) {
      console.log(JSON.stringify(report, null, 2));
      return 0;
    }
    console.log(`libtorch ${report.torchVersion}, ${report.threads} threads`);
    console.log(
      report.heapReuse
        ? "heap: freed tensor memory is kept for reuse (VIDEOMAE_HEAP=default: glibc's defaults)"
        : "heap: glibc's defaults (VIDEOMAE_HEAP=default, malloc settings in GLIBC_TUNABLES / MALLOC_*, or a libtorch 2.x build)",
    );
    console.log(`BLAS: ${report.blas.threading}, kernels ${report.blas.coretype ?? "auto-detected"} (${report.blas.libraries.join(", ") || "not loaded yet"})`);
    if (report.blas.threading === "pthreads") {
      console.log("  warning: the pthreads OpenBLAS fights torch's OpenMP pool; apt-get install libopenblas0-openmp");
    }
    console.log(`ffmpeg: ${report.ffmpeg ?? "NOT FOUND (apt-get install ffmpeg)"}`);
    const c = report.cuda;
    const versions = [c.cudaRuntime && `CUDA ${c.cudaRuntime}`, c.cudnn && `cuDNN ${c.cudnn}`, c.nccl && `NCCL ${c.nccl}`].filter(Boolean).join(", ");
    console.log(
      `CUDA: ${c.available ? `${c.deviceCount} device(s) usable` : c.built ? "libtorch has CUDA but sees no GPU" : "this libtorch is CPU-only"}` +
        (versions ? ` (${versions})` : ""),
    );
    for (const g of c.gpus) {
      console.log(`  GPU ${g.index}: ${g.name}, ${(g.memoryBytes / 2 ** 30).toFixed(1)} GiB, compute capability ${g.computeCapability}`);
    }
    if (c.gpus.length && !c.built) console.log("  (to use them, build against a CUDA libtorch: scripts/gpu-check.sh shows how)");
    const k = report.kernels;
    console.log(`CPU: ${report.machine.cpuModel} [${report.machine.flags.join(" ")}]`);
    const from = k.source === "defaults" ? "built-in defaults: not tuned on this machine yet (videomae doctor --tune)" : k.source === "cache" ? `cached ${k.tunedAt}` : "measured now";
    console.log(`kernels (${from}): ${describeChoices(k.choices)}`);
    for (const [choice, v] of Object.entries(k.overridden)) console.log(`  ${choice}: fixed by ${v}=${process.env[v]}`);
    for (const [choice, rates] of Object.entries(k.rates ?? {})) {
      const cands = Object.entries(rates);
      if (cands.length < 2) continue;
      console.log(`  ${choice.padEnd(15)} ${cands.map(([c, r]) => `${c} ${r}`).join("  ")} GFLOP/s`);
    }
    console.log(report.parallelInfo.map((l) => `  ${l}`).join("\n"));
    return 0;
  },
});
