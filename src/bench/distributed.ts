/**
 * Data-parallel scaling on this machine: the ViT pre-training step (dual masking, batch 2 per
 * rank) as 1 process with 1 thread versus N processes with 1 thread each, over gloo on loopback
 * through our launcher. Reports clips/s of the whole job, the speed-up, the parallel efficiency
 * and the gradient all-reduce per step — the overhead data parallelism adds — both averaged
 * after backward (all of it exposed) and overlapped with backward (DDP's way, what training
 * does): step time, all-reduce time and the fraction of it the overlap hid, measured as
 * (step after − step overlapped) / all-reduce after, with steps of both kinds alternating.
 */
import { availableParallelism } from "node:os";
import { launch } from "../distributed/launch.ts";
import { distributedAvailable } from "../torch/index.ts";
import { siblingModule } from "../util/modules.ts";
import { median } from "./stats.ts";
import { modelName } from "./workloads.ts";

const WORKER = siblingModule(import.meta.url, "dist_worker");

export interface DistBenchRow {
  processes: number;
  threadsPerProcess: number;
  batchPerProcess: number;
  /** Median seconds per step (rank 0). */
  stepSeconds: number;
  /** Median seconds of gradient all-reduce per step (0 for one process). */
  allReduceSeconds: number;
  clipsPerSecond: number;
  /** N processes: the same step with the all-reduce overlapped with backward. */
  overlap?: {
    stepSeconds: number;
    /** Median seconds the step waited for the all-reduce after backward. */
    exposedSeconds: number;
    /** Median seconds from the first bucket's launch to the last one's completion. */
    commSeconds: number;
    /** (stepSeconds after − stepSeconds overlapped) / allReduceSeconds after. */
    hiddenFraction: number;
    clipsPerSecond: number;
  };
  /**
   * N processes: median CPU seconds per step, every thread of every rank summed — of the
   * after-backward step, of its all-reduce alone, and of the overlapped step.
   */
  cpu?: { stepSeconds: number; allReduceSeconds: number; overlapStepSeconds: number };
  /**
   * The most of the all-reduce that overlapping could have hidden here: a step cannot take less
   * wall time than its CPU work spread over every core, so the overlapped step is at least
   * cpu.overlapStepSeconds / cores, and at most (step after − that) / all-reduce after of the
   * all-reduce can disappear. It binds when the ranks' compute threads fill the cores (gloo's
   * copies through the loopback socket and its sums then take their CPU from backward); absent
   * when cores are left over or without the CPU numbers.
   */
  hideableFraction?: number;
}

export interface DistBenchResult {
  model: string;
  params: number;
  rows: DistBenchRow[];
  /** clips/s of N processes over clips/s of 1. */
  speedup: number;
  /** speedup / N. */
  efficiency: number;
  /** Logical CPUs of the machine (os.availableParallelism()). */
  cores: number;
  note?: string;
}

export async function runDistributedBench(opts: { quick?: boolean; size?: "s" | "b" | "tiny"; processes?: number; log?: (s: string) => void } = {}): Promise<DistBenchResult | null> {
  const log = opts.log ?? (() => {});
  if (!distributedAvailable()) {
    log("distributed: skipped (this addon build has no c10d/gloo; install libgloo-dev and rebuild)");
    return null;
  }
  const size = opts.size ?? "s";
  const nproc = opts.processes ?? 2;
  const batch = 2;
  const [warmup, reps] = opts.quick ? [1, 2] : [2, 5];
  const rows: DistBenchRow[] = [];
  const cores = availableParallelism();
  let params = 0;
  for (const n of [1, nproc]) {
    let line = "";
    const stderr: string[] = [];
    const r = await launch({
      command: [process.execPath, ...WORKER.execArgv, WORKER.file, size, "fp32", String(batch), String(warmup), String(reps)],
      nprocPerNode: n,
      threadsPerProc: 1,
      stdout: (l) => {
        if (l.startsWith("[rank 0] {")) line = l.slice("[rank 0] ".length);
      },
      stderr: (l) => stderr.push(l),
    });
    if (r.exitCode !== 0 || !line) throw new Error(`distributed bench with ${n} process(es) failed (exit ${r.exitCode}):\n${stderr.slice(-10).join("\n")}`);
    const res = JSON.parse(line) as {
      seconds: number[];
      allReduceSeconds: number[];
      overlapSeconds: number[];
      waitSeconds: number[];
      commSeconds: number[];
      cpuSeconds: { step: number[]; allReduce: number[]; overlapStep: number[] };
      params: number;
    };
    params = res.params;
    const step = median(res.seconds);
    const allReduce = median(res.allReduceSeconds);
    const row: DistBenchRow = { processes: n, threadsPerProcess: 1, batchPerProcess: batch, stepSeconds: step, allReduceSeconds: allReduce, clipsPerSecond: (n * batch) / step };
    if (res.overlapSeconds.length) {
      const o = median(res.overlapSeconds);
      row.overlap = { stepSeconds: o, exposedSeconds: median(res.waitSeconds), commSeconds: median(res.commSeconds), hiddenFraction: allReduce > 0 ? (step - o) / allReduce : 0, clipsPerSecond: (n * batch) / o };
      const c = res.cpuSeconds;
      row.cpu = { stepSeconds: median(c.step), allReduceSeconds: median(c.allReduce), overlapStepSeconds: median(c.overlapStep) };
      if (n >= cores && allReduce > 0) row.hideableFraction = Math.min(1, Math.max(0, (step - row.cpu.overlapStepSeconds / cores) / allReduce));
    }
    rows.push(row);
    log(
      `  distributed: ${n} process${n > 1 ? "es" : ""} × 1 thread: ${((n * batch) / step).toFixed(2)} clips/s, all-reduce ${(allReduce * 1000).toFixed(0)} ms/step` +
        (row.overlap ? `; overlapped: ${(row.overlap.stepSeconds * 1000).toFixed(0)} ms/step, ${(row.overlap.exposedSeconds * 1000).toFixed(0)} ms exposed, ${(100 * row.overlap.hiddenFraction).toFixed(0)} % hidden` : "") +
        (row.hideableFraction !== undefined ? ` (at most ${(100 * row.hideableFraction).toFixed(0)} % hideable on ${cores} cores)` : ""),
    );
  }
  // What training does: the overlapped step when there is one.
  const speedup = (rows[1]!.overlap?.clipsPerSecond ?? rows[1]!.clipsPerSecond) / rows[0]!.clipsPerSecond;
  return { model: `${modelName({ kind: "pretrain", size })} (dual masking, fp32)`, params, rows, speedup, efficiency: speedup / nproc, cores };
}

export function formatDistributedBench(r: DistBenchResult): string {
  const lines = [`data-parallel pre-training, ${r.model}, gloo over loopback, batch ${r.rows[0]!.batchPerProcess} per process:`];
  for (const x of r.rows) {
    lines.push(
      `  ${x.processes} process${x.processes > 1 ? "es" : "  "} × ${x.threadsPerProcess} thread: ${x.clipsPerSecond.toFixed(2)} clips/s, ${(x.stepSeconds * 1000).toFixed(0)} ms/step` +
        (x.processes > 1 ? `, gradient all-reduce after backward ${(x.allReduceSeconds * 1000).toFixed(0)} ms/step (${((100 * x.allReduceSeconds) / x.stepSeconds).toFixed(1)}%)` : ""),
    );
    if (x.overlap) {
      const o = x.overlap;
      lines.push(
        `  ${x.processes} processes, all-reduce overlapped with backward: ${o.clipsPerSecond.toFixed(2)} clips/s, ${(o.stepSeconds * 1000).toFixed(0)} ms/step, ` +
          `all-reduce span ${(o.commSeconds * 1000).toFixed(0)} ms of which ${(o.exposedSeconds * 1000).toFixed(0)} ms waited for; ` +
          `step ${((x.stepSeconds - o.stepSeconds) * 1000).toFixed(0)} ms shorter = ${(100 * o.hiddenFraction).toFixed(0)} % of the all-reduce hidden`,
      );
    }
    if (x.cpu) {
      const c = x.cpu;
      lines.push(
        `  CPU per step, all ranks' threads summed: ${(c.stepSeconds * 1000).toFixed(0)} ms after backward (its all-reduce ${(c.allReduceSeconds * 1000).toFixed(0)} ms), ` +
          `${(c.overlapStepSeconds * 1000).toFixed(0)} ms overlapped` +
          (x.hideableFraction !== undefined
            ? `; with backward filling all ${r.cores} cores the overlapped step takes ≥ ${((c.overlapStepSeconds / r.cores) * 1000).toFixed(0)} ms, so at most ${(100 * x.hideableFraction).toFixed(0)} % of the all-reduce can be hidden here`
            : ""),
      );
    }
  }
  lines.push(`  speed-up ${r.speedup.toFixed(2)}× with ${r.rows[1]!.processes} processes (parallel efficiency ${(100 * r.efficiency).toFixed(0)}%)`);
  return lines.join("\n");
}
