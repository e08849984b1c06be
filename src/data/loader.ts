/**
 * The data loader: decodes, augments and masks samples in worker threads (or in-process with
 * numWorkers 0), prefetches a bounded number of them, and assembles batches in epoch order on
 * the main thread (layout: collate.ts).
 *
 *   const loader = new DataLoader(dataset, { batchSize: 8, seed: 0 });
 *   for await (const batch of loader.epoch(3)) { …; batch.dispose(); }
 *   await loader.close();
 *
 * Determinism: a sample depends only on (seed, epoch, position, view) (seeds.ts), so batches are
 * identical for any numWorkers. Back-pressure: at most `prefetchBatches · batchSize` positions
 * are dispatched ahead of the batch the consumer holds. Bad input: fetch.ts retries and replaces
 * bad items; the loader logs each one (`badSamples`), keeps the distinct unreadable files
 * (`badFiles`), and stops with a DataError when more than `maxBadFraction` of an epoch's files
 * were unreadable, or `maxConsecutiveBad` positions in a row were bad. Files are counted once
 * each, however often retries and replacements meet them, so the abort measures the data, not
 * the luck of the replacement draws.
 */
import { availableParallelism } from "node:os";

import { collate, type Batch } from "./collate.ts";
import type { Dataset } from "./dataset.ts";
import { DataError } from "./errors.ts";
import { SampleFetcher, type Failure, type FetchTask } from "./fetch.ts";
import { InProcessExecutor, WorkerPool, type Executor } from "./pool.ts";

export interface LoaderOptions {
  /** Samples (decoded clips) per batch; the batch holds batchSize · viewsPerSample rows. */
  batchSize: number;
  /** Worker threads (default min(2, cores)); 0 = load in the main thread (debugging). */
  numWorkers?: number;
  /** Run seed (default 0). */
  seed?: number;
  /** Shuffle each epoch (default: the dataset's training default). */
  shuffle?: boolean;
  /** Drop the last incomplete batch (default: same as shuffle — on for training). */
  dropLast?: boolean;
  /** Batches prepared ahead of the one being consumed (default 2). */
  prefetchBatches?: number;
  /** Keep workers between epochs (default false: started per epoch, stopped when it ends). */
  persistentWorkers?: boolean;
  /** Stop when more than this fraction of an epoch's distinct files turned out unreadable (default 0.5). */
  maxBadFraction?: number;
  /** Stop after this many consecutive positions whose item was bad (default 50). */
  maxConsecutiveBad?: number;
  /** Replacements tried for one position (default 10). */
  maxReplacements?: number;
  /** Worker restarts after crashes before giving up (default 10 per pool). */
  maxWorkerRestarts?: number;
  /**
   * Data-parallel sharding: this process is `rank` of `worldSize` (default 0 of 1). Global batch b
   * is positions [b·B·W, (b+1)·B·W) of the epoch's (identically seeded) order; rank r takes the
   * r-th run of B of them, so W ranks together see exactly the batches one process with batch
   * B·W would — and every sample's augmentation and masks, keyed by its position, are identical.
   */
  rank?: number;
  worldSize?: number;
  /** Build torch tensors (default true); false keeps batches as typed arrays (no libtorch needed). */
  tensors?: boolean;
  /** Where warnings go (default console.warn). */
  log?: (line: string) => void;
}

/** Throughput and health of the current (or last) epoch. */
export interface LoaderStats {
  epoch: number;
  batches: number;
  samples: number;
  /** Rows = samples · views. */
  views: number;
  /** Seconds since the epoch's first batch was requested. */
  elapsedSec: number;
  samplesPerSec: number;
  viewsPerSec: number;
  /** Mean per-sample decode (probe + ffmpeg) and augment + mask time inside the workers (ms). */
  decodeMsMean: number;
  transformMsMean: number;
  /** Mean time the consumer waited for a batch (ms): near 0 when the loader keeps up. */
  waitMsMean: number;
  /** Bad items met this epoch (every failed attempt) and worker restarts (pool lifetime). */
  badSamples: number;
  /** Distinct unreadable files this epoch, and since the loader started (or was restored). */
  badFiles: number;
  badFilesTotal: number;
  workerRestarts: number;
  /** Positions dispatched but not yet handed out in a batch: now, and the maximum seen. */
  outstanding: number;
  maxOutstanding: number;
  /** The bound on outstanding (prefetchBatches · batchSize, at least batchSize). */
  outstandingLimit: number;
}

export class DataLoader {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly numWorkers: number;
  readonly seed: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly rank: number;
  readonly worldSize: number;
  /** Every bad item met so far (all epochs), in the order batches were assembled. */
  readonly badSamples: Failure[] = [];
  /** Distinct unreadable files so far (all epochs), in the order met. */
  private readonly badFileSet = new Set<string>();
  private filesIn: { epoch: number; count: number } | undefined;
  private readonly opts: LoaderOptions;
  private readonly fetcher: SampleFetcher;
  private executor: Executor | null = null;
  private active = false;
  private stats_: LoaderStats;
  private decodeMs = 0;
  private transformMs = 0;
  private waitMs = 0;
  private t0 = 0;
  private torch: typeof import("../torch/index.ts") | null | undefined;

  constructor(dataset: Dataset, opts: LoaderOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new RangeError(`DataLoader: batchSize must be a positive integer, got ${opts.batchSize}`);
    const numWorkers = opts.numWorkers ?? Math.min(2, availableParallelism());
    if (!Number.isInteger(numWorkers) || numWorkers < 0) throw new RangeError(`DataLoader: numWorkers must be an integer ≥ 0, got ${numWorkers}`);
    const prefetch = opts.prefetchBatches ?? 2;
    if (!Number.isInteger(prefetch) || prefetch < 1) throw new RangeError(`DataLoader: prefetchBatches must be an integer ≥ 1, got ${prefetch}`);
    const frac = opts.maxBadFraction ?? 0.5;
    if (!(frac >= 0 && frac <= 1)) throw new RangeError(`DataLoader: maxBadFraction must be in [0, 1] (a fraction of the epoch's files), got ${opts.maxBadFraction}`);
    this.dataset = dataset;
    this.opts = opts;
    this.batchSize = opts.batchSize;
    this.numWorkers = numWorkers;
    this.seed = opts.seed ?? 0;
    this.shuffle = opts.shuffle ?? dataset.shuffleByDefault;
    this.dropLast = opts.dropLast ?? this.shuffle;
    this.worldSize = opts.worldSize ?? 1;
    this.rank = opts.rank ?? 0;
    if (!Number.isInteger(this.worldSize) || this.worldSize < 1) throw new RangeError(`DataLoader: worldSize must be a positive integer, got ${opts.worldSize}`);
    if (!Number.isInteger(this.rank) || this.rank < 0 || this.rank >= this.worldSize) throw new RangeError(`DataLoader: rank must be in 0..${this.worldSize - 1}, got ${opts.rank}`);
    this.fetcher = new SampleFetcher(dataset, this.fetchConfig());
    this.stats_ = this.freshStats(0);
  }

  /** Samples in an epoch (the hybrid mix can make it differ from dataset.numItems). */
  epochSize(epoch = 0): number {
    return this.fetcher.order(epoch).length;
  }

  /** Batches per epoch (of this rank; every rank has the same count, the last ones may be empty without dropLast). */
  numBatches(epoch = 0): number {
    const n = this.epochSize(epoch);
    const global = this.batchSize * this.worldSize;
    return this.dropLast ? Math.floor(n / global) : Math.ceil(n / global);
  }

  /** Epoch positions of this rank's batch b: [lo, hi) (empty past the end of the data). */
  private batchRange(b: number, end: number): [number, number] {
    const lo = Math.min(end, (b * this.worldSize + this.rank) * this.batchSize);
    return [lo, Math.min(lo + this.batchSize, end)];
  }

  get stats(): LoaderStats {
    const s = this.stats_;
    const elapsedSec = this.t0 ? (performance.now() - this.t0) / 1000 : 0;
    return {
      ...s,
      elapsedSec,
      samplesPerSec: elapsedSec > 0 ? s.samples / elapsedSec : 0,
      viewsPerSec: elapsedSec > 0 ? s.views / elapsedSec : 0,
      decodeMsMean: s.samples ? this.decodeMs / s.samples : 0,
      transformMsMean: s.samples ? this.transformMs / s.samples : 0,
      waitMsMean: s.batches ? this.waitMs / s.batches : 0,
      workerRestarts: this.executor?.restarts ?? s.workerRestarts,
    };
  }

  /** The distinct unreadable files met so far (all epochs, and those restored). */
  get badFiles(): string[] {
    return [...this.badFileSet];
  }

  /** Adds files known to be unreadable from an earlier part of the run (resume), so totals stay run-wide. */
  restoreBadFiles(paths: Iterable<string>): void {
    for (const p of paths) this.badFileSet.add(p);
  }

  /** Distinct files (paths) in an epoch's order: the base of the maxBadFraction check. */
  private filesInEpoch(epoch: number): number {
    if (this.filesIn?.epoch !== epoch) {
      const paths = new Set<string>();
      for (const item of this.fetcher.order(epoch)) paths.add(this.dataset.describe(item).path);
      this.filesIn = { epoch, count: paths.size };
    }
    return this.filesIn.count;
  }

  /** Thread ids of live worker threads (empty with 0 workers or when stopped). */
  get workerThreadIds(): number[] {
    return this.executor instanceof WorkerPool ? this.executor.threadIds : [];
  }

  /**
   * The batches of one epoch, in order. `startBatch` resumes in the middle of an epoch with the
   * same batches an uninterrupted run would have produced. One epoch at a time per loader.
   */
  async *epoch(epoch: number, opts: { startBatch?: number } = {}): AsyncGenerator<Batch, void, undefined> {
    if (this.active) throw new DataError("DataLoader: an epoch is already being iterated; finish or break out of it first");
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`DataLoader.epoch: epoch must be a non-negative integer, got ${epoch}`);
    const startBatch = opts.startBatch ?? 0;
    if (!Number.isInteger(startBatch) || startBatch < 0) throw new RangeError(`DataLoader.epoch: startBatch must be an integer ≥ 0, got ${startBatch}`);
    this.active = true;
    const B = this.batchSize;
    const n = this.epochSize(epoch);
    const numBatches = this.numBatches(epoch);
    const end = Math.min(n, numBatches * B * this.worldSize);
    const limit = Math.max(B, (this.opts.prefetchBatches ?? 2) * B);
    const pending = new Map<number, ReturnType<Executor["submit"]>>();
    this.stats_ = this.freshStats(epoch, limit);
    [this.decodeMs, this.transformMs, this.waitMs, this.t0] = [0, 0, 0, performance.now()];
    // This rank's positions in batch order; `next` indexes the first one not yet dispatched.
    const mine: number[] = [];
    for (let b = startBatch; b < numBatches; b++) {
      const [lo, hi] = this.batchRange(b, end);
      for (let p = lo; p < hi; p++) mine.push(p);
    }
    let next = 0;
    let consumed = 0;
    let epochBad = 0;
    const epochBadFiles = new Set<string>();
    let consecutive = 0;
    // Each rank meets about 1/worldSize of the epoch's files (replacements may come from anywhere).
    const files = this.filesInEpoch(epoch) / this.worldSize;
    const maxBad = (this.opts.maxBadFraction ?? 0.5) * files;
    const maxConsecutive = this.opts.maxConsecutiveBad ?? 50;
    try {
      if (this.torch === undefined) this.torch = this.opts.tensors === false ? null : await import("../torch/index.ts");
      const exec = (this.executor ??= this.makeExecutor());
      const topUp = () => {
        while (next < mine.length && next - consumed < limit) {
          const position = mine[next]!;
          pending.set(position, exec.submit({ epoch, position, startAttempt: 0 }));
          next++;
        }
        this.stats_.outstanding = next - consumed;
        this.stats_.maxOutstanding = Math.max(this.stats_.maxOutstanding, next - consumed);
      };
      for (let b = startBatch; b < numBatches; b++) {
        const [lo, hi] = this.batchRange(b, end);
        if (hi <= lo) continue; // this rank's share of the last, partial global batch is empty
        topUp();
        const tWait = performance.now();
        const samples = [];
        const positions = [];
        for (let p = lo; p < hi; p++) {
          const r = await pending.get(p)!;
          pending.delete(p);
          if (!r.ok) throw r.error instanceof DataError ? r.error : new DataError(`loading sample ${p} of epoch ${epoch}: ${r.error.message}`);
          const { sample, failures } = r.result;
          for (const f of failures) {
            this.recordBad(f, sample.path);
            epochBadFiles.add(f.path);
            this.badFileSet.add(f.path);
          }
          epochBad += failures.length;
          this.stats_.badSamples = epochBad;
          [this.stats_.badFiles, this.stats_.badFilesTotal] = [epochBadFiles.size, this.badFileSet.size];
          consecutive = failures.some((f) => f.attempt === 0) ? consecutive + 1 : 0;
          if (epochBadFiles.size > maxBad || consecutive > maxConsecutive) throw this.tooManyBad(epoch, Math.round(files), epochBadFiles.size, consecutive);
          this.decodeMs += sample.decodeMs;
          this.transformMs += sample.transformMs;
          samples.push(sample);
          positions.push(p);
        }
        this.waitMs += performance.now() - tWait;
        consumed += hi - lo;
        topUp(); // keep the workers busy while the consumer uses this batch
        const batch = collate(samples, positions, epoch, b, this.torch);
        const s = this.stats_;
        [s.batches, s.samples, s.views] = [s.batches + 1, s.samples + samples.length, s.views + batch.size];
        yield batch;
      }
    } finally {
      this.active = false;
      this.stats_.outstanding = 0;
      this.executor?.cancelPending();
      if (!this.opts.persistentWorkers) await this.stopWorkers();
    }
  }

  /** Stops the workers (the next epoch starts new ones). Safe to call more than once. */
  async close(): Promise<void> {
    await this.stopWorkers();
  }

  private async stopWorkers(): Promise<void> {
    const e = this.executor;
    this.executor = null;
    if (e) {
      this.stats_.workerRestarts = e.restarts;
      await e.close();
    }
  }

  private makeExecutor(): Executor {
    if (this.numWorkers === 0) return new InProcessExecutor(new SampleFetcher(this.dataset, this.fetchConfig()));
    return new WorkerPool(
      { spec: this.dataset.toSpec(), fetch: this.fetchConfig() },
      {
        numWorkers: this.numWorkers,
        maxRestarts: this.opts.maxWorkerRestarts,
        log: this.log,
        describe: (task: FetchTask, error: string) => {
          const item = this.fetcher.itemFor(task.epoch, task.position, task.startAttempt);
          return { ...task, attempt: task.startAttempt, item, ...this.dataset.describe(item), error };
        },
      },
    );
  }

  private fetchConfig() {
    return { seed: this.seed, shuffle: this.shuffle, maxReplacements: this.opts.maxReplacements };
  }

  private readonly log = (line: string): void => (this.opts.log ?? console.warn)(line);

  private recordBad(f: Failure, usedPath: string): void {
    this.badSamples.push(f);
    this.log(`[data] skipped unreadable sample ${f.path} (${f.source}:${f.line}), epoch ${f.epoch} position ${f.position}: ${f.error}; using ${usedPath}`);
  }

  private tooManyBad(epoch: number, files: number, bad: number, consecutive: number): DataError {
    const recent = this.badSamples.slice(-5).map((f) => `  ${f.path}: ${f.error}`).join("\n");
    const fraction = this.opts.maxBadFraction ?? 0.5;
    const byRow = consecutive > (this.opts.maxConsecutiveBad ?? 50);
    const why = byRow
      ? `${consecutive} positions in a row were unreadable`
      : `${bad} distinct unreadable files in epoch ${epoch} (more than ${(fraction * 100).toFixed(0)}% of its ${files} files${this.worldSize > 1 ? " on this rank" : ""})`;
    const fix = byRow ? "raise the loader's maxConsecutiveBad" : `raise --max-bad-fraction (now ${fraction}; 1 never stops)`;
    return new DataError(
      `${why}. Last ones:\n${recent}\nCheck the list paths and data root, and that ffmpeg decodes the files (videomae doctor); ` +
        `${fix} to go on anyway.`,
    );
  }

  private freshStats(epoch: number, limit = 0): LoaderStats {
    return {
      epoch, batches: 0, samples: 0, views: 0, elapsedSec: 0, samplesPerSec: 0, viewsPerSec: 0, decodeMsMean: 0, transformMsMean: 0,
      waitMsMean: 0, badSamples: 0, badFiles: 0, badFilesTotal: this.badFileSet.size, workerRestarts: this.executor?.restarts ?? 0, outstanding: 0, maxOutstanding: 0, outstandingLimit: limit,
    };
  }
}
