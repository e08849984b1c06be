import { blasInfo, getNumThreads, native } from "../../torch/index.ts";
import { defineCommand } from "../command.ts";
import { jsonOutputOption } from "../options/groups.ts";
import { spawnSync } from "node:child_process";

export const doctorCommand = defineCommand({
  name: "doctor",
  usage: "[--json]",
  description: `Prints what the native core loaded: libtorch version and parallel settings, the number of
threads, which OpenBLAS build (the OpenMP one shares torch's thread pool; the pthreads one
oversubscribes the cores), and whether ffmpeg/ffprobe are on PATH.`,
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
    console.log(report.parallelInfo.map((l) => `  ${l}`).join("\n"));
    return 0;
  },
});
