/**
 * Loading one epoch position with the "bad input never kills a run" policy, shared by the
 * worker threads and the in-process (0 workers) path so both behave identically:
 *
 *   attempt 0   the item the epoch order puts at this position; on failure, retried once;
 *   attempt k   a replacement: the item at another position of the same epoch order, chosen
 *               by the (seed, epoch, position, k) replace stream — deterministic, and it follows
 *               the hybrid mix because it is drawn from the order; also retried once.
 * Every failed item is reported (with its path and list line) so the loader can count and log
 * it. Errors that no other sample would fix (ffmpeg missing, a DataError) are not retried.
 */
import { FfmpegNotFoundError } from "../video/index.ts";
import type { Dataset, Sample } from "./dataset.ts";
import { DataError, LabelMapError, ListFileError } from "./errors.ts";
import { sampleRng, Stream, type SampleKey } from "./seeds.ts";

export interface FetchConfig {
  seed: number;
  shuffle: boolean;
  /** Replacements tried for one position before giving up with a DataError (default 10). */
  maxReplacements?: number;
}

export interface FetchTask {
  epoch: number;
  position: number;
  /** First attempt to make (> 0 after the item at this position crashed a worker twice). */
  startAttempt: number;
}

/** One failed item. */
export interface Failure {
  epoch: number;
  position: number;
  attempt: number;
  item: number;
  path: string;
  source: string;
  line: number;
  /** Error name and first message line. */
  error: string;
}

export interface FetchResult {
  sample: Sample;
  failures: Failure[];
}

/** True for errors that another sample would not fix: stop instead of replacing. */
export function isFatal(err: unknown): boolean {
  return err instanceof FfmpegNotFoundError || err instanceof DataError || err instanceof ListFileError || err instanceof LabelMapError;
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message.split("\n")[0]}`;
  return String(err);
}

export class SampleFetcher {
  private cached: { epoch: number; order: Int32Array } | undefined;
  private readonly maxReplacements: number;

  constructor(
    readonly dataset: Dataset,
    private readonly cfg: FetchConfig,
  ) {
    this.maxReplacements = cfg.maxReplacements ?? 10;
  }

  /** The epoch order (cached for the current epoch). */
  order(epoch: number): Int32Array {
    if (this.cached?.epoch !== epoch) this.cached = { epoch, order: this.dataset.epochOrder(epoch, this.cfg.seed, this.cfg.shuffle) };
    return this.cached.order;
  }

  /** The item loaded by `attempt` at `position` (attempt 0 = the epoch order's item). */
  itemFor(epoch: number, position: number, attempt: number): number {
    const order = this.order(epoch);
    if (attempt === 0 || order.length === 1) return order[position]!;
    const key: SampleKey = { seed: this.cfg.seed, epoch, position, attempt };
    let r = sampleRng(key, Stream.replace).int(0, order.length - 2);
    if (r >= position) r++; // any position but this one
    return order[r]!;
  }

  async fetch(task: FetchTask): Promise<FetchResult> {
    const { epoch, position } = task;
    const order = this.order(epoch);
    if (!Number.isInteger(position) || position < 0 || position >= order.length) {
      throw new DataError(`position ${position} is outside epoch ${epoch} (${order.length} samples)`);
    }
    const failures: Failure[] = [];
    for (let attempt = task.startAttempt; attempt <= this.maxReplacements; attempt++) {
      const item = this.itemFor(epoch, position, attempt);
      const key: SampleKey = { seed: this.cfg.seed, epoch, position, attempt };
      let lastErr: unknown;
      for (let tries = 0; tries < 2; tries++) {
        try {
          return { sample: await this.dataset.load(item, key), failures };
        } catch (err) {
          if (isFatal(err)) throw err;
          lastErr = err;
        }
      }
      const info = this.dataset.describe(item);
      failures.push({ epoch, position, attempt, item, ...info, error: describeError(lastErr) });
    }
    const list = failures.map((f) => `  ${f.path}: ${f.error}`).join("\n");
    throw new DataError(
      `epoch ${epoch} position ${position}: the item and ${this.maxReplacements} replacements all failed to load:\n${list}\n` +
        `Most of the data seems unreadable: check the list paths, the data root and that ffmpeg can decode the files (videomae doctor).`,
    );
  }
}
