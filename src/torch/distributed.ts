/**
 * Collectives over libtorch's c10d (native/src/distributed.cc): one gloo process group per
 * process, rendezvous through a TCPStore hosted by rank 0 — the engine under torch.distributed,
 * so the same environment torchrun sets (MASTER_ADDR/PORT, RANK, WORLD_SIZE) works.
 *
 *   const pg = ProcessGroup.init({ masterAddr: "127.0.0.1", masterPort: 29500, rank, worldSize: 2 });
 *   pg.allReduce([t]);               // t ← Σ over ranks, in place
 *   pg.allReduceMean(grads);          // bucketed mean of many tensors
 *   const r = pg.gradientReducer(params); r.arm(); …backward…; r.finish();   // overlapped with backward
 *   pg.destroy();
 *
 * Every call blocks until all ranks took part, a peer's connection closed (it died: reported at
 * once) or `timeoutMs` passed (it hung). Failures become a CollectiveError naming the rank(s)
 * that stopped sending heartbeats.
 */
import { ops } from "./native.ts";
import { Tensor } from "./tensor.ts";

export interface ProcessGroupOptions {
  /** Host of rank 0, which serves the rendezvous store. */
  masterAddr: string;
  masterPort: number;
  rank: number;
  worldSize: number;
  /** How long a collective (and the initial rendezvous) may wait for the slowest rank (default 5 min). */
  timeoutMs?: number;
  /** Network interface for gloo (GLOO_SOCKET_IFNAME); default: loopback for a local master, else this host's name. */
  ifname?: string;
  /** gloo (default; CPU tensors) or nccl (CUDA tensors, one GPU per process). */
  backend?: "gloo" | "nccl";
}

/** A collective failed: a peer died, hung past the timeout, or the network broke. */
export class CollectiveError extends Error {
  constructor(
    readonly op: string,
    readonly rank: number,
    readonly worldSize: number,
    /** Ranks without a recent heartbeat when the failure was seen. */
    readonly deadRanks: number[],
    cause: string,
  ) {
    const who = deadRanks.length
      ? `rank${deadRanks.length > 1 ? "s" : ""} ${deadRanks.join(", ")} stopped responding (died or hung)`
      : "no rank is known dead (network problem, or a rank is stuck in a long step: raise --dist-timeout)";
    super(`${op} failed on rank ${rank} of ${worldSize}: ${who}. gloo said: ${cause.split("\n")[0]}`);
    this.name = "CollectiveError";
  }
}

/** Whether this build of the addon has c10d/gloo (needs the gloo headers at build time). */
export function distributedAvailable(): boolean {
  return ops.distAvailable() as boolean;
}

/** Whether this build has c10d's NCCL backend (a CUDA libtorch with ProcessGroupNCCL and nccl.h). */
export function ncclAvailable(): boolean {
  return ops.distNcclAvailable() as boolean;
}

/**
 * Makes the kernel send `signal` to this process when its parent exits (Linux prctl
 * PR_SET_PDEATHSIG), so workers of a killed launcher do not live on as orphans.
 */
export function setParentDeathSignal(signal = 15): void {
  ops.distParentDeathSignal(signal);
}

/** The overlapped averaging was used in a way it cannot serve (the gradients were still averaged). */
export class GradientReducerError extends Error {
  override name = "GradientReducerError";
}

/** What one overlapped averaging step did (seconds). */
export interface ReducerStats {
  /** Time finish() blocked: the all-reduce time backward did not hide. */
  waitSeconds: number;
  /** From the first bucket's launch to the last one's completion. */
  commSeconds: number;
  buckets: number;
  /** Buckets launched during backward (the rest were launched by finish()). */
  launchedEarly: number;
}

/** See ProcessGroup.gradientReducer. arm() before the backward of a step's last micro-batch, finish() before the optimizer step. */
export class GradientReducer {
  private destroyed = false;
  /** @internal */
  constructor(
    private readonly id: number,
    private readonly run: <T>(op: string, fn: () => T) => T,
  ) {}

  /** The next backward launches buckets as they complete (earlier micro-batches only accumulate). */
  arm(): void {
    ops.distReducerArm(this.id);
  }

  /**
   * Launches the buckets backward did not complete, waits for all, and replaces each parameter's
   * gradient by its mean over ranks.
   */
  finish(): ReducerStats {
    const { error, ...stats } = this.run("gradient all-reduce", () => ops.distReducerFinish(this.id) as ReducerStats & { error: string });
    if (error) throw new GradientReducerError(error);
    return stats;
  }

  /** Unhooks (the hooks stay registered but do nothing) and frees the reducer. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    ops.distReducerDestroy(this.id);
  }
}

let active: ProcessGroup | null = null;

export class ProcessGroup {
  private destroyed = false;

  private constructor(
    readonly rank: number,
    readonly worldSize: number,
    readonly timeoutMs: number,
  ) {}

  /** Joins the group: blocks until all `worldSize` ranks have connected (or the timeout). */
  static init(o: ProcessGroupOptions): ProcessGroup {
    if (active) throw new Error(`a process group is already active (rank ${active.rank} of ${active.worldSize}); destroy() it first`);
    if (!Number.isInteger(o.worldSize) || o.worldSize < 1) throw new RangeError(`worldSize must be a positive integer, got ${o.worldSize}`);
    if (!Number.isInteger(o.rank) || o.rank < 0 || o.rank >= o.worldSize) throw new RangeError(`rank must be in 0..${o.worldSize - 1}, got ${o.rank}`);
    const timeoutMs = o.timeoutMs ?? 300_000;
    try {
      ops.distInit(o.masterAddr, o.masterPort, o.rank, o.worldSize, timeoutMs, o.ifname, o.backend ?? "gloo");
    } catch (e) {
      throw new Error(
        `rank ${o.rank} of ${o.worldSize} could not join the process group at ${o.masterAddr}:${o.masterPort} within ${timeoutMs / 1000} s: ` +
          `${(e as Error).message.split("\n")[0]}. Check that every rank was started with the same MASTER_ADDR/MASTER_PORT/WORLD_SIZE, ` +
          `that rank 0 is running, and that the port is free and reachable.`,
      );
    }
    active = new ProcessGroup(o.rank, o.worldSize, timeoutMs);
    return active;
  }

  /** The group of this process, if one was initialised. */
  static get current(): ProcessGroup | null {
    return active;
  }

  /** In-place reduction over ranks of each tensor (contiguous CPU tensors). */
  allReduce(tensors: Tensor[], op: "sum" | "max" | "min" = "sum"): void {
    this.run("all-reduce", () => ops.distAllReduce(tensors.map((t) => t.handle), op));
  }

  /**
   * Replaces each tensor by its mean over ranks, sending them in flattened buckets of about
   * `bucketBytes` (DDP's default 25 MiB), all in flight at once. Returns the seconds it took.
   */
  allReduceMean(tensors: Tensor[], bucketBytes = 25 << 20): number {
    return this.run("gradient all-reduce", () => ops.distAllReduceMean(tensors.map((t) => t.handle), bucketBytes) as number);
  }

  /**
   * Gradient averaging overlapped with backward (DDP's reducer, native/src/distributed.cc):
   * hooks on every parameter's gradient accumulator launch the all-reduce of each bucket of
   * ≈ `bucketBytes` (reverse parameter order) as soon as backward has produced all its
   * gradients. `params` must be the same list, in the same order, on every rank.
   */
  gradientReducer(params: Tensor[], bucketBytes = 25 << 20): GradientReducer {
    const id = this.run("gradient reducer", () => ops.distReducerCreate(params.map((t) => t.handle), bucketBytes) as number);
    return new GradientReducer(id, (op, fn) => this.run(op, fn));
  }

  /** Copies each tensor of rank `root` into the same tensor on every other rank. */
  broadcast(tensors: Tensor[], root = 0): void {
    this.run("broadcast", () => ops.distBroadcast(tensors.map((t) => t.handle), root));
  }

  /** [worldSize, ...t.shape]: every rank's `t`, in rank order. */
  allGather(t: Tensor): Tensor {
    return this.run("all-gather", () => new Tensor(ops.distAllGather(t.handle)));
  }

  /** Waits for every rank. */
  barrier(): void {
    this.run("barrier", () => ops.distBarrier());
  }

  /** Ranks whose heartbeat (written every second by a background thread) is older than staleMs. */
  deadRanks(staleMs = 5000): number[] {
    try {
      return ops.distDeadRanks(staleMs) as number[];
    } catch {
      return [];
    }
  }

  /** Leaves the group (joins the heartbeat and gloo threads). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    ops.distDestroy();
    if (active === this) active = null;
  }

  private run<T>(op: string, fn: () => T): T {
    if (this.destroyed) throw new Error(`${op}: the process group was destroyed`);
    try {
      return fn();
    } catch (e) {
      throw new CollectiveError(op, this.rank, this.worldSize, this.findDeadRanks(), (e as Error).message);
    }
  }

  /**
   * After a failure: a rank that was just killed still has a fresh heartbeat, so watch for up to
   * four seconds until one goes stale (3 s without a beat; they are written every second).
   */
  private findDeadRanks(): number[] {
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let waited = 0; ; waited += 250) {
      const dead = this.deadRanks(3000);
      if (dead.length || waited >= 4000) return dead;
      Atomics.wait(pause, 0, 0, 250);
    }
  }
}
