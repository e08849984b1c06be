/**
 * Feeding a GPU: batches from the loader moved to the training device one step ahead.
 *
 * On the CPU this is a pass-through (the batch's own tensors). On a GPU each batch's tensors are
 * copied into page-locked host memory and sent with asynchronous copies on a side stream; the
 * copy of batch k+1 is launched before batch k is handed out, so it runs while the GPU computes
 * step k (the compute stream waits for the copy only when it first uses the tensors).
 *
 *   for await (const { batch, video, label } of feedDevice(loader.epoch(e), device)) { … }
 *
 * `waitSeconds` on each item is how long the step waited for the loader (starvation shows there).
 */
import { toDeviceAll, type Device, type Tensor } from "../torch/index.ts";
import type { Batch } from "./collate.ts";

export interface DeviceBatch {
  batch: Batch;
  /** float32 (B·V, C, T, H, W) on the device. */
  video: Tensor;
  /** int64 (B·V) on the device; null for unlabelled data. */
  label: Tensor | null;
  /** Seconds spent waiting for the loader to produce this batch. */
  waitSeconds: number;
  /** Frees the device copies and the batch. */
  dispose(): void;
}

function toDevice(batch: Batch, device: Device): Omit<DeviceBatch, "waitSeconds"> {
  if (!batch.video) throw new TypeError("feedDevice needs batches with tensors (a loader built with tensors: true)");
  if (device === "cpu") return { batch, video: batch.video, label: batch.label, dispose: () => batch.dispose() };
  const host = [batch.video, ...(batch.label ? [batch.label] : [])].map((t) => t.pinMemory());
  const moved = toDeviceAll(host, device, { nonBlocking: true });
  // The pinned copies must outlive the asynchronous copies: the side stream finished reading them
  // once the moved tensors are used (the compute stream waits for it), so they are freed then.
  const [video, label] = moved as [Tensor, Tensor | undefined];
  let disposed = false;
  return {
    batch,
    video,
    label: label ?? null,
    dispose: () => {
      if (disposed) return; // the stream and its consumer may both free a batch
      disposed = true;
      for (const t of [...moved, ...host]) t.dispose();
      batch.dispose();
    },
  };
}

/** The batches of `source` on `device`, one copy in flight ahead of the step. */
export async function* feedDevice(source: AsyncIterable<Batch>, device: Device): AsyncGenerator<DeviceBatch, void, undefined> {
  const it = source[Symbol.asyncIterator]();
  const pull = async (): Promise<DeviceBatch | null> => {
    const t0 = performance.now();
    const r = await it.next();
    const waitSeconds = (performance.now() - t0) / 1000;
    return r.done ? null : { ...toDevice(r.value, device), waitSeconds };
  };
  let next = await pull();
  try {
    while (next) {
      const current = next;
      // Launch the following batch's copy before handing out this one (on the CPU: just fetch).
      next = device === "cpu" ? null : await pull();
      yield current;
      if (device === "cpu") next = await pull();
    }
  } finally {
    next?.dispose();
    await it.return?.();
  }
}

/**
 * The batches of `source` with their tensors on `device` (the same Batch shape, `video` and
 * `label` replaced), one copy in flight ahead, each batch's device copies freed when the next is
 * asked for. On the CPU, `source` itself.
 */
export function batchesOnDevice(source: AsyncIterable<Batch>, device: Device): AsyncIterable<Batch> {
  if (device === "cpu") return source;
  return (async function* () {
    for await (const d of feedDevice(source, device)) {
      const moved = { ...d.batch, video: d.video, label: d.label, dispose: d.dispose } as Batch;
      try {
        yield moved;
      } finally {
        d.dispose();
      }
    }
  })();
}
