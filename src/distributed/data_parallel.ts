/**
 * Data-parallel training over a c10d process group, the way DDP does it: every rank holds the
 * whole model, starts from rank 0's parameters, trains on its own shard of each global batch and
 * averages gradients before every optimizer step, so all ranks take identical steps. Rank 0
 * writes checkpoints and logs; numbers shown to the user are reduced over ranks.
 *
 *   const dp = DataParallel.fromEnv();          // null when not launched distributed
 *   dp?.broadcastModule(model);
 *   …backward…; dp?.averageGradients(optimizer.params()); optimizer.step();
 *
 * Overlapped (DDP's default): after `overlapGradients(params)` each bucket's all-reduce starts
 * during backward as soon as its gradients are final; `beforeBackward(last)` before every
 * micro-batch's backward says whether it is the last of the step (only that one communicates);
 * `averageGradients()` then just waits for the buckets and writes back the means.
 */
import type { Module } from "../nn/module.ts";
import { cudaAvailable, distributedAvailable, ncclAvailable, ProcessGroup, setParentDeathSignal, tensor, type Device, type GradientReducer, type ReducerStats, type Tensor } from "../torch/index.ts";
import { distEnvFrom, DistEnvError, type DistEnv } from "./env.ts";

/** Environment variable `videomae launch` sets in its workers (their parent's pid). */
export const LAUNCHER_PID_VAR = "VIDEOMAE_LAUNCHER_PID";

export class DataParallel {
  /** Seconds of gradient all-reduce since the last `takeAllReduceSeconds()`: [all of it, the part not hidden by backward]. */
  private allReduceSec = 0;
  private exposedSec = 0;
  private reducer: GradientReducer | null = null;
  /** The last overlapped step's statistics (buckets, how many backward launched, seconds). */
  lastOverlap: ReducerStats | null = null;

  private constructor(
    readonly pg: ProcessGroup,
    readonly env: DistEnv,
    /** Where the group's tensors must be: "cpu" for gloo, this process's GPU for NCCL. */
    readonly device: Device = "cpu",
  ) {}

  /** "nccl" or "gloo". */
  get backend(): "nccl" | "gloo" {
    return this.device === "cpu" ? "gloo" : "nccl";
  }

  get rank(): number {
    return this.pg.rank;
  }
  get worldSize(): number {
    return this.pg.worldSize;
  }
  /** Rank 0: the one that writes checkpoints, metrics and progress. */
  get isMain(): boolean {
    return this.pg.rank === 0;
  }

  /** Joins the process group described by `env`; null when it describes a single process. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): DataParallel | null {
    const d = distEnvFrom(env);
    if (!d) return null;
    if (!distributedAvailable()) {
      throw new DistEnvError(
        `WORLD_SIZE=${d.worldSize} asks for distributed training, but this build of the native addon has no c10d/gloo ` +
          `(install libgloo-dev and run \`node scripts/build-native.mjs --force\`)`,
      );
    }
    // Started by our launcher: die with it rather than live on as an orphan.
    if (env[LAUNCHER_PID_VAR] && Number(env[LAUNCHER_PID_VAR]) === process.ppid) setParentDeathSignal();
    // auto: NCCL when this build has it and a GPU is usable (one per process), else gloo.
    const backend = d.backend === "auto" ? (ncclAvailable() && cudaAvailable() ? "nccl" : "gloo") : d.backend;
    if (backend === "nccl" && !ncclAvailable()) {
      throw new DistEnvError("--backend nccl: this build of the native addon has no NCCL (build against a CUDA libtorch with nccl.h; see scripts/libtorch-env.sh 2.6-cuda)");
    }
    const pg = ProcessGroup.init({
      masterAddr: d.masterAddr,
      masterPort: d.masterPort,
      rank: d.rank,
      worldSize: d.worldSize,
      timeoutMs: d.timeoutMs,
      backend,
      ...(d.ifname ? { ifname: d.ifname } : {}),
    });
    // NCCL moves CUDA tensors only: the group's own small tensors (loss sums, agreement checks)
    // live on this process's GPU, cuda:LOCAL_RANK.
    return new DataParallel(pg, d, backend === "nccl" ? (`cuda:${d.localRank}` as Device) : "cpu");
  }

  /** Copies rank 0's parameters and persistent buffers into every rank's model. */
  broadcastModule(model: Module): void {
    const ts = [...model.stateDict().values()];
    this.pg.broadcast(ts, 0);
  }

  /**
   * From now on the gradients of `params` (the same list on every rank) are averaged while
   * backward runs, in buckets of ≈ `bucketBytes` (default 25 MiB, DDP's).
   */
  overlapGradients(params: Tensor[], bucketBytes?: number): void {
    this.reducer?.destroy();
    this.reducer = this.pg.gradientReducer(params.filter((p) => p.requiresGrad), bucketBytes); // frozen ones never get a gradient
  }

  get overlapping(): boolean {
    return this.reducer !== null;
  }

  /** Before each micro-batch's backward when overlapping: `last` = the one before the optimizer step. */
  beforeBackward(last: boolean): void {
    if (last) this.reducer?.arm();
  }

  /**
   * Replaces every existing gradient of `params` by its mean over ranks (bucketed). When
   * overlapping, waits for the buckets backward launched (launches any it did not) instead;
   * `params` are then the ones given to overlapGradients().
   */
  averageGradients(params: Tensor[]): void {
    if (this.reducer) {
      const s = this.reducer.finish();
      this.lastOverlap = s;
      this.allReduceSec += s.commSeconds;
      this.exposedSec += s.waitSeconds;
      return;
    }
    const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== undefined);
    try {
      const s = this.pg.allReduceMean(grads);
      this.allReduceSec += s;
      this.exposedSec += s;
    } finally {
      for (const g of grads) g.dispose();
    }
  }

  /** Seconds of gradient all-reduce since the last call (for metrics). */
  takeAllReduceSeconds(): number {
    return this.takeAllReduceStats().seconds;
  }

  /**
   * Since the last call: `seconds` of gradient all-reduce (first launch to last completion when
   * overlapping) and `exposedSeconds`, the part the step waited for (all of it without overlap).
   */
  takeAllReduceStats(): { seconds: number; exposedSeconds: number } {
    const r = { seconds: this.allReduceSec, exposedSeconds: this.exposedSec };
    this.allReduceSec = 0;
    this.exposedSec = 0;
    return r;
  }

  /** Element-wise sums over ranks of a few numbers (float64). */
  sum(values: number[]): number[] {
    const t = tensor(Float64Array.from(values), { device: this.device });
    try {
      this.pg.allReduce([t], "sum");
      return t.toArray();
    } finally {
      t.dispose();
    }
  }

  /**
   * Checks that every rank holds the same `value` (e.g. the step a resume starts from); throws
   * on all ranks with `describe(min, max)` when they differ.
   */
  agree(value: number, describe: (min: number, max: number) => string): void {
    const t = tensor(Float64Array.from([value, -value]), { device: this.device });
    try {
      this.pg.allReduce([t], "max");
      const [max, negMin] = t.toArray() as [number, number];
      if (max !== -negMin) throw new DistEnvError(describe(-negMin, max));
    } finally {
      t.dispose();
    }
  }

  barrier(): void {
    this.pg.barrier();
  }

  /** Leaves the process group. */
  close(): void {
    this.reducer?.destroy();
    this.reducer = null;
    this.pg.destroy();
  }
}
