/** Messages between the loader's worker pool (main thread) and its worker threads. */
import type { DatasetSpec } from "./dataset.ts";
import type { FetchConfig, FetchResult, FetchTask } from "./fetch.ts";

/** workerData of every worker. */
export interface WorkerInit {
  spec: DatasetSpec;
  fetch: FetchConfig;
}

export type ToWorker = { type: "task"; id: number; task: FetchTask };

export type FromWorker =
  /** The worker has built its dataset. */
  | { type: "ready" }
  | { type: "result"; id: number; result: FetchResult }
  /** A fatal error (the fetcher already retried and replaced): the loader stops with it. */
  | { type: "error"; id: number; name: string; message: string };
