import { blasInfo, cudaInfo, getNumThreads, native } from "../../torch/index.ts";
import { defineCommand } from "../command.ts";
import { jsonOutputOption } from "../options/groups.ts";
import { spawnSync } from "node:child_process";

export const doctorCommand = defineCommand({
  name: "doctor",
  usage: "[--json]",
  description: `Prints what the native core loaded: libtorch version and parallel settings, the number of
threads, which OpenBLAS build (the OpenMP one shares torch's thread pool; the pthreads one
oversubscribes the cores), whether ffmpeg/ffprobe are on PATH, and the GPUs: each one the NVIDIA
driver sees (name, memory, compute capability) and whether this addon's libtorch can use them
(CUDA, cuDNN and NCCL versions as libtorch reports them).`,
  options: jsonOutputOption("the report"),
  async run(values) {
    const info = native.buildInfo();
    const ffmpeg = spawnSync("ffmpeg", ["-version"], { encoding: "utf8" });
    const report = {
      torchVersion: info.torchVersion,
      threads: getNumThreads(),
      blas: blasInfo(),
      ffmpeg: ffmpeg.status === 0 ? ffmpeg.stdout.split("\n")[0] : null,
      parallelInfo: info.parallelInfo.trim().split("\n"),
      cuda: cudaInfo(),
    };
    if (values.json) {
      console.log(JSON.stringify(report, null, 2));
      return 0;
    }
    console.log(`libtorch ${report.torchVersion}, ${report.threads} threads`);
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
    console.log(report.parallelInfo.map((l) => `  ${l}`).join("\n"));
    return 0;
  },
});
