/**
 * One rank of the data-parallel benchmark (src/bench/distributed.ts), started by the launcher:
 * a pre-training workload (random clips, fixed dual masks) whose gradients are averaged over the
 * ranks before every AdamW step, in two ways that alternate step by step (so machine noise hits
 * both alike): "after" — one bucketed all-reduce once backward is done (all of it exposed) — and
 * "overlap" — buckets launched from gradient hooks during backward (DDP's way), waited for before
 * the optimizer. Rank 0 prints one JSON line: per-rep seconds of the whole step and of the
 * all-reduce (after), of the whole step, the wait and the communication span (overlap), and the
 * CPU seconds (all threads, summed over ranks) of each step and of the after-backward all-reduce:
 * what the communication costs the machine's cores, which bounds what overlapping can hide.
 * Run under `videomae launch`; alone it runs unsynchronised with no all-reduce.
 *   node --import tsx src/bench/dist_worker.ts SIZE DTYPE BATCH WARMUP REPS
 */
import { DataParallel } from "../distributed/data_parallel.ts";
import type { GradientReducer } from "../torch/index.ts";
import { makeWorkload, buildOurs, type BenchDtype, type ModelSize, type PhaseFn } from "./workloads.ts";

const [size = "s", dtype = "fp32", batch = "2", warmup = "2", reps = "5"] = process.argv.slice(2);
const dp = DataParallel.fromEnv();
const w = { ...makeWorkload("pretrain", size as ModelSize, dtype as BenchDtype, "run_cell"), batch: Number(batch) };

type Mode = "after" | "overlap";
let mode: Mode = "after";
let reducer: GradientReducer | null = null;
let allReduce = 0;
let allReduceCpu = 0;
let wait = 0;
let comm = 0;
const work = buildOurs(
  w,
  dp
    ? {
        beforeOptimizer: (model) => {
          if (mode === "overlap") {
            const s = reducer!.finish();
            wait = s.waitSeconds;
            comm = s.commSeconds;
            return;
          }
          const grads = model.parameters().map((p) => p.grad!);
          const c = process.cpuUsage();
          allReduce = dp.pg.allReduceMean(grads);
          allReduceCpu = cpuSecondsSince(c);
          for (const g of grads) g.dispose();
        },
      }
    : {},
);
if (dp) {
  dp.broadcastModule(work.model);
  reducer = dp.pg.gradientReducer(work.model.parameters());
}
const timed: PhaseFn = (_name, fn) => fn();

/** CPU seconds of this whole process (every thread: ours, libtorch's, gloo's) since `from`. */
function cpuSecondsSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
}

let stepCpu = 0;
function step(m: Mode): number {
  mode = m;
  if (dp && m === "overlap") reducer!.arm();
  const c = process.cpuUsage();
  const t = performance.now();
  work.step(timed);
  const s = (performance.now() - t) / 1000;
  stepCpu = cpuSecondsSince(c);
  return s;
}

const modes: Mode[] = dp ? ["after", "overlap"] : ["after"];
for (let i = 0; i < Number(warmup); i++) for (const m of modes) step(m);
const seconds: number[] = [];
const allReduceSeconds: number[] = [];
const overlapSeconds: number[] = [];
const waitSeconds: number[] = [];
const commSeconds: number[] = [];
const cpu = { step: [] as number[], allReduce: [] as number[], overlapStep: [] as number[] };
for (let i = 0; i < Number(reps); i++) {
  // Alternate which mode goes first, so a slow spell of the machine does not favour one.
  for (const m of i % 2 ? [...modes].reverse() : modes) {
    const s = step(m);
    if (m === "after") {
      seconds.push(s);
      allReduceSeconds.push(dp ? allReduce : 0);
      cpu.step.push(stepCpu);
      cpu.allReduce.push(dp ? allReduceCpu : 0);
    } else {
      overlapSeconds.push(s);
      cpu.overlapStep.push(stepCpu);
      waitSeconds.push(wait);
      commSeconds.push(comm);
    }
  }
}
reducer?.destroy();
work.dispose();
// Per rep, summed over ranks (a collective: every rank calls it).
const sumOverRanks = (xs: number[]) => (dp ? dp.sum(xs) : xs);
const cpuSeconds = { step: sumOverRanks(cpu.step), allReduce: sumOverRanks(cpu.allReduce), overlapStep: sumOverRanks(cpu.overlapStep) };
if (!dp || dp.isMain) process.stdout.write(JSON.stringify({ seconds, allReduceSeconds, overlapSeconds, waitSeconds, commSeconds, cpuSeconds, worldSize: dp?.worldSize ?? 1, params: work.info.params }) + "\n");
dp?.close();
