/**
 * One rank of the data-parallel benchmark (src/bench/distributed.ts), started by the launcher:
 * a pre-training workload (random clips, fixed dual masks) whose gradients are averaged over the
 * ranks before every AdamW step. Rank 0 prints one JSON line: per-rep seconds of the whole step
 * and of the gradient all-reduce alone. Run under `videomae launch`; alone it runs unsynchronised.
 *   node --import tsx src/bench/dist_worker.ts SIZE DTYPE BATCH WARMUP REPS
 */
import { DataParallel } from "../distributed/data_parallel.ts";
import { makeWorkload, buildOurs, type BenchDtype, type ModelSize, type PhaseFn } from "./workloads.ts";

const [size = "s", dtype = "fp32", batch = "2", warmup = "2", reps = "5"] = process.argv.slice(2);
const dp = DataParallel.fromEnv();
const w = { ...makeWorkload("pretrain", size as ModelSize, dtype as BenchDtype, "run_cell"), batch: Number(batch) };
const work = buildOurs(w, dp ? { beforeOptimizer: (model) => dp.averageGradients(model.parameters()) } : {});
if (dp) dp.broadcastModule(work.model);
let allReduce = 0;
const timed: PhaseFn = (name, fn) => {
  if (name !== "all_reduce") return fn();
  const t = performance.now();
  const r = fn();
  allReduce += (performance.now() - t) / 1000;
  return r;
};
for (let i = 0; i < Number(warmup); i++) work.step(timed);
const seconds: number[] = [];
const allReduceSeconds: number[] = [];
for (let i = 0; i < Number(reps); i++) {
  allReduce = 0;
  const t = performance.now();
  work.step(timed);
  seconds.push((performance.now() - t) / 1000);
  allReduceSeconds.push(allReduce);
}
work.dispose();
if (!dp || dp.isMain) process.stdout.write(JSON.stringify({ seconds, allReduceSeconds, worldSize: dp?.worldSize ?? 1, params: work.info.params }) + "\n");
dp?.close();
