/**
 * The bridge between the IO layer's plain `RawTensor`s and libtorch `Tensor`s, and tensor-level
 * save/load of safetensors files (our own checkpoints).
 */
import { tensor } from "../torch/creation.ts";
import type { Tensor } from "../torch/tensor.ts";
import type { RawTensor } from "./raw.ts";
import { readSafetensors, writeSafetensors } from "./safetensors.ts";
import { TorchTensor } from "./torch_pickle.ts";

/** One copy into a new libtorch tensor of the same dtype and shape. */
export function rawToTensor(raw: RawTensor): Tensor {
  return tensor(raw.data, { shape: raw.shape, dtype: raw.dtype });
}

/**
 * A checkpoint tensor as a libtorch tensor. A `.pth` view that broadcasts its storage (zero
 * strides, as `expand` saves them) stays a view: only the stored part is read and copied, and
 * libtorch's `expand` restores the shape without materialising it. Everything else is read
 * contiguous (one copy). Shape [2^20, 2^20] expanded from one stored float costs 4 bytes here.
 */
export async function lazyToTensor(lazy: { read(): Promise<RawTensor> }): Promise<Tensor> {
  if (!(lazy instanceof TorchTensor)) return rawToTensor(await lazy.read());
  const { raw, expandTo } = await lazy.readCompact();
  const compact = rawToTensor(raw);
  if (!expandTo) return compact;
  const view = compact.expand(expandTo);
  compact.dispose(); // the view keeps the storage alive
  return view;
}

/** One copy out of a tensor (any layout) into a RawTensor. */
export function tensorToRaw(t: Tensor): RawTensor {
  return { dtype: t.dtype, shape: t.shape, data: t.data() };
}

/** Writes tensors (and string metadata) to a safetensors file atomically. */
export async function saveTensors(path: string, tensors: ReadonlyMap<string, Tensor>, metadata?: Record<string, string>): Promise<void> {
  const raw = new Map<string, RawTensor>();
  for (const [k, t] of tensors) raw.set(k, tensorToRaw(t));
  await writeSafetensors(path, raw, { metadata });
}

/** Reads every tensor of a safetensors file into libtorch tensors. */
export async function loadTensors(path: string): Promise<{ tensors: Map<string, Tensor>; metadata: Record<string, string> }> {
  const { tensors, metadata } = await readSafetensors(path);
  const out = new Map<string, Tensor>();
  for (const [k, raw] of tensors) out.set(k, rawToTensor(raw));
  return { tensors: out, metadata };
}
