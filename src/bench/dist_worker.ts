/**
 * One rank of the data-parallel benchmark (src/bench/distributed.ts), started by the launcher:
 * a pre-training workload (random clips, fixed dual masks) whose gradients are averaged over the
 * ranks before every AdamW step, in two ways that alternate step by step (so machine noise hits
 * both alike): "after" — one bucketed all-reduce once backward is done (all of it exposed) — and
 * "overlap" — buckets launched from gradient hooks during backward (DDP's way), waited for before
 * the optimizer. Rank 0 prints one JSON line: per-rep seconds of the whole step and of the
 * all-reduce (after), of the whole step, the wait and the communication span (overlap).
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
          allReduce = dp.pg.allReduceMean(grads);
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

function step(m: Mode): number {
  mode = m;
  if (dp && m === "overlap") reducer!.arm();
  const t = performance.now();
  work.step(timed);
  return (performance.now() - t) / 1000;
}

const modes: Mode[] = dp ? ["after", "overlap"] : ["after"];
for (let i = 0; i < Number(warmup); i++) for (const m of modes) step(m);
const seconds: number[] = [];
const allReduceSeconds: number[] = [];
const overlapSeconds: number[] = [];
const waitSeconds: number[] = [];
const commSeconds: number[] = [];
for (let i = 0; i < Number(reps); i++) {
  // Alternate which mode goes first, so a slow spell of the machine does not favour one.
  for (const m of i % 2 ? [...modes].reverse() : modes) {
    const s = step(m);
    if (m === "after") {
      seconds.push(s);
      allReduceSeconds.push(dp ? allReduce : 0);
    } else {
      overlapSeconds.push(s);
      waitSeconds.push(wait);
      commSeconds.push(comm);
    }
  }
}
reducer?.destroy();
work.dispose();
if (!dp || dp.isMain) process.stdout.write(JSON.stringify({ seconds, allReduceSeconds, overlapSeconds, waitSeconds, commSeconds, worldSize: dp?.worldSize ?? 1, params: work.info.params }) + "\n");
dp?.close();
