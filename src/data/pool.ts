/**
 * Executors that turn epoch positions into samples: `WorkerPool` (worker_threads) and
 * `InProcessExecutor` (0 workers: the same SampleFetcher on the main thread, one position at a
 * time — for debugging with ordinary stack traces).
 *
 * The pool posts at most `perWorker` tasks to each worker (one running, one waiting, so a
 * worker never idles between tasks); the rest wait on the main thread, where they can be
 * cancelled. A worker that dies (uncaught error, out of memory, native crash) is replaced and its
 * tasks are sent again. Workers process tasks in arrival order, so the first posted task is the
 * one that was running: when the same position kills a worker twice, its item is recorded as a
 * bad sample and the position moves on to its next replacement. Workers are unref'd while idle,
 * so an abandoned loader never keeps the process alive.
 */
import { Worker } from "node:worker_threads";

import { isCompiled } from "../util/modules.ts";
import { DataError } from "./errors.ts";
import { describeError, type Failure, type FetchResult, type FetchTask, type SampleFetcher } from "./fetch.ts";
import type { FromWorker, WorkerInit } from "./protocol.ts";

export type Settled = { ok: true; result: FetchResult } | { ok: false; error: Error };

export interface Executor {
  /** Loads one position. Never rejects: errors come back as `{ ok: false }`. */
  submit(task: FetchTask): Promise<Settled>;
  /** Drops the tasks that have not started; their promises settle with a "cancelled" error. */
  cancelPending(): void;
  close(): Promise<void>;
  /** Workers restarted after a crash so far. */
  readonly restarts: number;
  /** Tasks submitted and not settled yet. */
  readonly inFlight: number;
}

const CANCELLED = (): Settled => ({ ok: false, error: new DataError("cancelled: the epoch iterator was closed") });

export class InProcessExecutor implements Executor {
  readonly restarts = 0;
  inFlight = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private generation = 0;

  constructor(private readonly fetcher: SampleFetcher) {}

  submit(task: FetchTask): Promise<Settled> {
    const gen = this.generation;
    this.inFlight++;
    const p = this.chain.then(async (): Promise<Settled> => {
      try {
        if (gen !== this.generation) return CANCELLED();
        return { ok: true, result: await this.fetcher.fetch(task) };
      } catch (err) {
        return { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
      } finally {
        this.inFlight--;
      }
    });
    this.chain = p;
    return p;
  }

  cancelPending(): void {
    this.generation++;
  }

  async close(): Promise<void> {
    this.cancelPending();
    await this.chain;
  }
}

export interface PoolOptions {
  numWorkers: number;
  /** Tasks posted to one worker at a time (default 2). */
  perWorker?: number;
  /** Worker restarts allowed before the pool gives up with a DataError (default 10). */
  maxRestarts?: number;
  /** The Failure record for the item `task` loads at `attempt` (used when it crashes a worker). */
  describe: (task: FetchTask, error: string) => Failure;
  log: (line: string) => void;
}

interface Job {
  id: number;
  task: FetchTask;
  resolve: (s: Settled) => void;
  crashes: number;
  /** Crash failures to prepend to the result's failures. */
  extra: Failure[];
}

interface Slot {
  index: number;
  worker: Worker;
  posted: Job[];
  exited: boolean;
  /** The worker built its dataset (a worker that dies before that cannot start at all). */
  ready: boolean;
  lastError: unknown;
}

/** The worker's entry: worker.mjs (registers tsx, then imports worker.ts) from the sources; worker.js compiled. */
const WORKER_URL = new URL(isCompiled(import.meta.url) ? "./worker.js" : "./worker.mjs", import.meta.url);

/**
 * Node flags passed on to workers. Inheriting all of process.execArgv breaks workers when the
 * main process was started with flags a worker rejects at start-up (`--input-type`, `--test`,
 * `--inspect`, …); TypeScript support does not need them (worker.mjs registers tsx itself).
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const keep = /^--(enable-source-maps|no-warnings|no-deprecation|conditions|max-old-space-size|stack-size|experimental-vm-modules)(=|$)/;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (keep.test(a)) out.push(a);
    else if ((a === "-C" || a === "--conditions") && argv[i + 1] !== undefined) out.push(a, argv[++i]!);
  }
  return out;
}

export class WorkerPool implements Executor {
  restarts = 0;
  private readonly slots: Slot[] = [];
  private queue: Job[] = [];
  private nextId = 1;
  private closing = false;
  private fatal: Error | null = null;
  private readonly perWorker: number;
  private readonly maxRestarts: number;

  constructor(
    private readonly init: WorkerInit,
    private readonly opts: PoolOptions,
  ) {
    if (!Number.isInteger(opts.numWorkers) || opts.numWorkers < 1) throw new RangeError(`WorkerPool: numWorkers must be ≥ 1, got ${opts.numWorkers}`);
    this.perWorker = opts.perWorker ?? 2;
    this.maxRestarts = opts.maxRestarts ?? 10;
    for (let i = 0; i < opts.numWorkers; i++) this.slots.push(this.spawn(i));
  }

  get inFlight(): number {
    return this.queue.length + this.slots.reduce((n, s) => n + s.posted.length, 0);
  }

  /** Thread ids of the live workers (for tests and diagnostics). */
  get threadIds(): number[] {
    return this.slots.filter((s) => !s.exited).map((s) => s.worker.threadId);
  }

  submit(task: FetchTask): Promise<Settled> {
    return new Promise((resolve) => {
      if (this.fatal || this.closing) return resolve(this.fatal ? { ok: false, error: this.fatal } : CANCELLED());
      this.queue.push({ id: this.nextId++, task, resolve, crashes: 0, extra: [] });
      this.pump();
    });
  }

  cancelPending(): void {
    const q = this.queue;
    this.queue = [];
    for (const j of q) j.resolve(CANCELLED());
    this.refresh();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.cancelPending();
    for (const s of this.slots) for (const j of s.posted.splice(0)) j.resolve(CANCELLED());
    await Promise.all(this.slots.map((s) => (s.exited ? undefined : s.worker.terminate())));
  }

  private spawn(index: number): Slot {
    const worker = new Worker(WORKER_URL, { workerData: this.init, execArgv: workerExecArgv() });
    const slot: Slot = { index, worker, posted: [], exited: false, ready: false, lastError: undefined };
    worker.on("message", (m: FromWorker) => this.onMessage(slot, m));
    worker.on("error", (err) => (slot.lastError = err)); // always followed by "exit"
    worker.on("exit", (code) => this.onExit(slot, code));
    worker.unref();
    return slot;
  }

  /** Posts waiting tasks to the least-loaded live workers. */
  private pump(): void {
    while (this.queue.length > 0) {
      let best: Slot | undefined;
      for (const s of this.slots) if (!s.exited && s.posted.length < this.perWorker && (!best || s.posted.length < best.posted.length)) best = s;
      if (!best) break;
      const job = this.queue.shift()!;
      best.posted.push(job);
      best.worker.postMessage({ type: "task", id: job.id, task: job.task });
    }
    this.refresh();
  }

  /** A worker with work keeps the process alive (the main thread is awaiting it); an idle one does not. */
  private refresh(): void {
    for (const s of this.slots) if (!s.exited) (s.posted.length ? s.worker.ref() : s.worker.unref());
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    if (m.type === "ready") {
      slot.ready = true;
      return;
    }
    const i = slot.posted.findIndex((j) => j.id === m.id);
    if (i < 0) return; // cancelled meanwhile
    const [job] = slot.posted.splice(i, 1);
    if (m.type === "result") {
      m.result.failures.unshift(...job!.extra);
      job!.resolve({ ok: true, result: m.result });
    } else {
      const msg = m.name === "DataError" ? m.message : `${m.name}: ${m.message}`;
      job!.resolve({ ok: false, error: new DataError(`in a data worker: ${msg}`) });
    }
    this.pump();
  }

  private onExit(slot: Slot, code: number): void {
    slot.exited = true;
    if (this.closing || this.fatal) return;
    this.restarts++;
    const why = slot.lastError !== undefined ? describeError(slot.lastError) : `exit code ${code}`;
    const [running, ...waiting] = slot.posted.splice(0);
    if (!slot.ready) {
      // Start-up failures (tsx missing, a bad custom dataset module) repeat on every restart.
      this.fail(new DataError(`a data worker failed to start (${why}). Run with numWorkers 0 to see the error in the main thread.`));
      for (const j of [running, ...waiting]) j?.resolve({ ok: false, error: this.fatal! });
      return;
    }
    if (this.restarts > this.maxRestarts) {
      this.fail(new DataError(`data workers crashed ${this.restarts} times (last: ${why}); giving up. Run with numWorkers 0 to see the error in the main thread.`));
      for (const j of [running, ...waiting]) j?.resolve({ ok: false, error: this.fatal! });
      return;
    }
    let where = "while idle";
    if (running) {
      running.crashes++;
      const f = this.opts.describe(running.task, `worker crashed: ${why}`);
      where = `while loading ${f.path}`;
      if (running.crashes >= 2) {
        // The same item killed two workers: treat it as a bad sample and move to its replacement.
        running.extra.push(f);
        running.task = { ...running.task, startAttempt: running.task.startAttempt + 1 };
        running.crashes = 0;
      }
    }
    this.opts.log(`[data] worker ${slot.index} died ${where} (${why}); restarting it (${this.restarts}/${this.maxRestarts})`);
    this.queue.unshift(...[running, ...waiting].filter((j): j is Job => j !== undefined));
    this.slots[slot.index] = this.spawn(slot.index);
    this.pump();
  }

  private fail(err: Error): void {
    this.fatal = err;
    const jobs = [...this.queue.splice(0), ...this.slots.flatMap((s) => s.posted.splice(0))];
    for (const j of jobs) j.resolve({ ok: false, error: err });
    for (const s of this.slots) if (!s.exited) void s.worker.terminate();
  }
}
