/**
 * Batch assembly on the main thread. With repeated augmentation every sample carries V views;
 * the batch flattens them sample-major, as the official collate
 * (`multiple_pretrain_samples_collate` / `multiple_samples_collate`) does: view j of sample i is
 * row i·V + j. So a batch of B samples holds B·V rows.
 *
 *   video        float32 tensor (B·V, C, T, H, W)        — `videoData` is the same values in JS
 *   label        int64 tensor (B·V), each sample's label repeated per view (labelled batches)
 *   encoderMask  Uint8Array (B·V, N) row-major, 1 = removed (what PretrainVisionTransformer takes);
 *   decoderMask  the same for the decoder; `maskTensors(batch)` gives bool tensors (B·V, N)
 *   ids          per row: epoch position, item, list entry (video), temporal clip, view (= test crop)
 *
 * A batch is either labelled (fine-tuning, distillation, evaluation: labels, no masks) or
 * unlabelled (pre-training: masks, no labels); `labelledInputs` / `pretrainingInputs` give a
 * step its tensors, or say plainly why the batch cannot feed it.
 */
import type { Tensor } from "../torch/index.ts";
import type { Sample } from "./dataset.ts";
import { DataError } from "./errors.ts";

/** What every batch has: the clips, their shape and where each row came from. */
interface BatchRows {
  epoch: number;
  /** Batch index within the epoch. */
  index: number;
  /** Samples (decoded clips) B. */
  numSamples: number;
  /** Rows B·V. */
  size: number;
  viewsPerSample: number;
  /** [C, T, H, W] of one row. */
  viewShape: [number, number, number, number];
  videoData: Float32Array;
  /** float32 (B·V, C, T, H, W); null when the loader was built with `tensors: false`. */
  video: Tensor | null;
  /** Tokens per mask row N (0 without masks). */
  numTokens: number;
  positions: Int32Array;
  items: Int32Array;
  entries: Int32Array;
  clips: Int32Array;
  views: Int32Array;
  /** Path of each sample (length B). */
  paths: string[];
  /** Frees the tensors now (otherwise the garbage collector does). */
  dispose(): void;
}

/** Clips with class labels. */
export interface LabelledBatch extends BatchRows {
  readonly kind: "labelled";
  /** Per-row class index. */
  labels: Int32Array;
  /** int64 (B·V); null when the loader was built with `tensors: false`. */
  label: Tensor | null;
  encoderMask: null;
  decoderMask: null;
}

/** Clips without labels: pre-training data, with its masks when the dataset masks. */
export interface UnlabelledBatch extends BatchRows {
  readonly kind: "unlabelled";
  labels: null;
  label: null;
  encoderMask: Uint8Array | null;
  decoderMask: Uint8Array | null;
}

export type Batch = LabelledBatch | UnlabelledBatch;

/** A batch that cannot feed the step it was given to (wrong kind of data, or a loader without tensors). */
export class BatchKindError extends DataError {
  override name = "BatchKindError";
}

/** The clips tensor (B·V, C, T, H, W) of any batch, for a step that needs no labels or masks. */
export function clipsOf(b: Batch, step = "this step"): Tensor {
  if (!b.video) throw new BatchKindError(`${step} needs tensors, but the loader was built with tensors: false`);
  return b.video;
}

/** A pre-training step's inputs: the clips and both masks. */
export function pretrainingInputs(b: Batch): { video: Tensor; encoderMask: Uint8Array; decoderMask: Uint8Array } {
  if (b.kind !== "unlabelled" || !b.encoderMask || !b.decoderMask) {
    throw new BatchKindError(`pre-training needs masked, unlabelled clips; batch ${b.index} of epoch ${b.epoch} is ${b.kind}${b.kind === "unlabelled" ? " without masks" : ""}`);
  }
  return { video: clipsOf(b, "pre-training"), encoderMask: b.encoderMask, decoderMask: b.decoderMask };
}

/** A supervised step's inputs: the clips and their labels (tensor and per-row indices). */
export function labelledInputs(b: Batch): { video: Tensor; label: Tensor; labels: Int32Array } {
  if (b.kind !== "labelled") throw new BatchKindError(`this step needs labelled clips; batch ${b.index} of epoch ${b.epoch} has no labels`);
  if (!b.label) throw new BatchKindError("a labelled step needs tensors, but the loader was built with tensors: false");
  return { video: clipsOf(b, "a labelled step"), label: b.label, labels: b.labels };
}

type TorchModule = typeof import("../torch/index.ts");

/** Builds a batch from samples in epoch order; `torch` = null keeps everything in typed arrays. */
export function collate(samples: readonly Sample[], positions: readonly number[], epoch: number, index: number, torch: TorchModule | null): Batch {
  const s0 = samples[0]!;
  const V = s0.numViews;
  const shape = s0.shape;
  const per = shape[0] * shape[1] * shape[2] * shape[3];
  const rows = samples.length * V;
  const labelled = s0.label >= 0;
  const n = s0.encoderMask ? s0.encoderMask.length / V : 0;

  const videoData = samples.length === 1 ? s0.video : new Float32Array(rows * per);
  const labels = labelled ? new Int32Array(rows) : null;
  const encoderMask = n ? new Uint8Array(rows * n) : null;
  const decoderMask = n ? new Uint8Array(rows * n) : null;
  const ids = { positions: new Int32Array(rows), items: new Int32Array(rows), entries: new Int32Array(rows), clips: new Int32Array(rows), views: new Int32Array(rows) };
  samples.forEach((s, i) => {
    if (s.numViews !== V || s.shape.some((d, k) => d !== shape[k]) || (s.encoderMask?.length ?? 0) !== n * V) {
      throw new RangeError(`collate: sample ${positions[i]} (${s.path}) has ${s.numViews} views of ${s.shape.join("×")}, expected ${V} of ${shape.join("×")}`);
    }
    if (videoData !== s.video) videoData.set(s.video, i * V * per);
    if (encoderMask) encoderMask.set(s.encoderMask!, i * V * n);
    if (decoderMask) decoderMask.set(s.decoderMask!, i * V * n);
    for (let v = 0; v < V; v++) {
      const r = i * V + v;
      if (labels) labels[r] = s.label;
      ids.positions[r] = positions[i]!;
      ids.items[r] = s.item;
      ids.entries[r] = s.entry;
      ids.clips[r] = s.clip;
      ids.views[r] = v;
    }
  });

  const video = torch ? torch.tensor(videoData, { shape: [rows, ...shape], dtype: "float32" }) : null;
  const label = torch && labels ? torch.tensor(BigInt64Array.from(labels, (l) => BigInt(l)), { shape: [rows], dtype: "int64" }) : null;
  const rowsOf: BatchRows = {
    epoch, index, numSamples: samples.length, size: rows, viewsPerSample: V, viewShape: [...shape],
    videoData, video, numTokens: n, ...ids,
    paths: samples.map((s) => s.path),
    dispose() {
      video?.dispose();
      label?.dispose();
    },
  };
  if (labels && encoderMask) throw new RangeError(`collate: sample ${positions[0]} (${s0.path}) has both a label and masks; a batch is labelled or masked`);
  return labels
    ? { ...rowsOf, kind: "labelled", labels, label, encoderMask: null, decoderMask: null }
    : { ...rowsOf, kind: "unlabelled", labels: null, label: null, encoderMask, decoderMask };
}

/** Frees each batch's tensors once the consumer has moved on to the next one (and the last at the end). */
export async function* disposing<B extends Batch>(it: AsyncIterable<B>): AsyncGenerator<B> {
  let prev: B | null = null;
  for await (const b of it) {
    prev?.dispose();
    prev = b;
    yield b;
  }
  prev?.dispose();
}

/** The batch masks as bool tensors (B·V, N), 1/true = removed. The caller disposes them. */
export async function maskTensors(batch: Batch): Promise<{ encoder: Tensor; decoder: Tensor } | null> {
  if (!batch.encoderMask || !batch.decoderMask) return null;
  const { tensor } = await import("../torch/index.ts");
  const shape = [batch.size, batch.numTokens];
  return { encoder: tensor(batch.encoderMask, { shape, dtype: "bool" }), decoder: tensor(batch.decoderMask, { shape, dtype: "bool" }) };
}
