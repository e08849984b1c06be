/**
 * The torch-specific half of unpickling `data.pkl`: storages (persistent ids) and the tensor
 * rebuild functions, turned into lazy `TorchTensor` references.
 *
 * `torch.save` writes each tensor as `torch._utils._rebuild_tensor_v2(storage, offset, size,
 * stride, requires_grad, backward_hooks)` where `storage` is the persistent id
 * `('storage', torch.<Type>Storage, key, location, numel)`; the storage's bytes live in the
 * archive entry `<root>/data/<key>`, little-endian, `numel` elements of the storage's dtype.
 * Several tensors may view one storage at different offsets and strides.
 */
import { DTYPE_BYTES, type DType } from "../torch/dtype.ts";
import { asCheckpointError, CheckpointFormatError, LimitExceededError } from "./errors.ts";
import { OpaqueObject, PickleGlobal, unpickle, type PickleCallable } from "./pickle.ts";
import { numelOf, rawFromBytes, type RawTensor } from "./raw.ts";
import { gatherStrided, storageSpan } from "./strided.ts";

/** Storage classes named in persistent ids, and the element type of their bytes. */
export const STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  FloatStorage: "float32",
  DoubleStorage: "float64",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  LongStorage: "int64",
  IntStorage: "int32",
  ByteStorage: "uint8",
  BoolStorage: "bool",
  UntypedStorage: "uint8",
};

/**
 * Storage classes that may appear in a persistent id. The ones missing from STORAGE_DTYPES
 * load as storages without a dtype, so a tensor on them fails only when it is read, with a
 * message naming its type.
 */
const STORAGE_CLASSES = [
  ...Object.keys(STORAGE_DTYPES),
  "ShortStorage", "CharStorage", "ComplexFloatStorage", "ComplexDoubleStorage", "QInt8Storage", "QUInt8Storage",
  "QInt32Storage", "QUInt4x2Storage", "QUInt2x4Storage", "TypedStorage",
];

/** torch dtypes, which checkpoints may hold as values (e.g. `torch.float16` in a config). */
const TORCH_DTYPES = [
  "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool", "complex64",
  "complex128", "float", "double", "half", "long", "int", "short", "cfloat", "cdouble",
];

/**
 * Torch globals that are plain data (storage types, dtypes, devices, layouts, and the tensor
 * classes named by `_rebuild_from_type_v2`); the rebuild functions are the callables below.
 */
export const TORCH_DATA_GLOBALS: ReadonlySet<string> = new Set([
  ...STORAGE_CLASSES.map((c) => `torch.${c}`),
  ...TORCH_DTYPES.map((d) => `torch.${d}`),
  "torch.storage.UntypedStorage",
  "torch.storage.TypedStorage",
  "torch.device",
  "torch.strided",
  "torch.serialization._get_layout",
  "torch.Tensor",
  "torch._tensor.Tensor",
  "torch.nn.parameter.Parameter",
  "torch.nn.parameter.Buffer",
]);

/**
 * How many bytes a view may materialise beyond the storage bytes it covers. A view whose
 * elements overlap in the storage (a zero stride from `expand`, or overlapping strides from
 * `as_strided`) holds more elements than the file does; copying it out in full would let a
 * 500-byte file ask for gigabytes. Up to this much is fine (a legitimate small broadcast);
 * beyond it `read()` refuses, and `readCompact()` + libtorch's `expand` keeps it a view.
 */
export const MAX_VIEW_EXPANSION_BYTES = 64 * 1024 * 1024;

/** libtorch's limit on tensor dimensions; a deeper shape is corrupt. */
const MAX_DIMS = 64;

/** Reads bytes of one storage; `byteOffset`/`byteLength` are relative to the storage start. */
export type StorageBytesReader = (byteOffset: number, byteLength: number) => Promise<Uint8Array>;

export class TorchStorage {
  constructor(
    /** The archive key: bytes live in `<root>/data/<key>`. */
    readonly key: string,
    /** Class name from the persistent id, e.g. `torch.HalfStorage`. */
    readonly storageType: string,
    /** Element type, or null for storage types this reader cannot decode (e.g. int16, complex). */
    readonly dtype: DType | null,
    /** Number of elements. */
    readonly numel: number,
    /** Device tag recorded at save time, e.g. `cpu` or `cuda:0` (informational only). */
    readonly location: string,
    readonly readBytes: StorageBytesReader,
  ) {}
}

/** A tensor found in a checkpoint; nothing is read from disk until `read()`. */
export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    /** Offset of element [0, 0, ...] in the storage, in elements. */
    readonly storageOffset: number,
    readonly shape: readonly number[],
    /** Strides in elements (torch convention), not necessarily contiguous. */
    readonly strides: readonly number[],
    readonly requiresGrad: boolean,
    /** True when saved as an `nn.Parameter` (`_rebuild_parameter`). */
    readonly isParameter: boolean,
    /** The checkpoint file, for error messages. */
    readonly file: string,
  ) {}

  /** Element type; throws `CheckpointFormatError` for storages this reader cannot decode. */
  get dtype(): DType {
    const d = this.storage.dtype;
    if (d === null) {
      throw new CheckpointFormatError(
        this.file,
        `${this.file}: a tensor uses ${this.storage.storageType}, which this reader does not support ` +
          `(supported: ${Object.keys(STORAGE_DTYPES).join(", ")}). Convert it in PyTorch (e.g. .float()) and re-save.`,
      );
    }
    return d;
  }

  get numel(): number {
    return numelOf(this.shape);
  }

  /**
   * Read the elements into a new contiguous row-major RawTensor (only the bytes the view
   * touches are read). A view that would materialise more than `MAX_VIEW_EXPANSION_BYTES`
   * beyond the storage bytes it covers is a `LimitExceededError`; see `readCompact`.
   */
  async read(): Promise<RawTensor> {
    try {
      return await readView(this, this.shape, this.strides);
    } catch (err) {
      throw asCheckpointError(this.file, err);
    }
  }

  /**
   * The tensor with every zero-stride dimension (a broadcast made by `expand`) collapsed to
   * size 1, and the shape to `expand` it back to (null when nothing was collapsed). Creating
   * the result in libtorch and expanding it there (`io/tensors.ts: lazyToTensor`) keeps a
   * zero-stride view a view: memory is what the file stores, not the full shape.
   */
  async readCompact(): Promise<{ raw: RawTensor; expandTo: number[] | null }> {
    const collapse = this.shape.some((n, i) => n > 1 && this.strides[i] === 0);
    if (!collapse) return { raw: await this.read(), expandTo: null };
    const shape = this.shape.map((n, i) => (this.strides[i] === 0 ? Math.min(n, 1) : n));
    try {
      return { raw: await readView(this, shape, this.strides), expandTo: [...this.shape] };
    } catch (err) {
      throw asCheckpointError(this.file, err);
    }
  }
}

/** Copy the view `shape`/`strides` at `t`'s storage offset out of its storage, within the expansion limit. */
async function readView(t: TorchTensor, shape: readonly number[], strides: readonly number[]): Promise<RawTensor> {
  const file = t.file;
  const dtype = t.dtype;
  const es = DTYPE_BYTES[dtype];
  const { first, end } = storageSpan(shape, strides, t.storageOffset);
  const describeView = () =>
    `a tensor of shape [${shape.join(", ")}] with strides [${strides.join(", ")}] at offset ${t.storageOffset}`;
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(end) || first < 0 || end > t.storage.numel) {
    throw new CheckpointFormatError(
      file,
      `${file}: corrupt checkpoint: ${describeView()} views elements ${first}..${end} ` +
        `of storage "${t.storage.key}", which holds only ${t.storage.numel}. Re-save the checkpoint.`,
    );
  }
  const numel = numelOf(shape);
  const extra = (numel - (end - first)) * es;
  if (extra > MAX_VIEW_EXPANSION_BYTES) {
    throw new LimitExceededError(
      file,
      `${file}: refusing to materialise ${describeView()} of storage "${t.storage.key}": it repeats ` +
        `${(end - first) * es} stored bytes into ${numel * es} bytes (more than ${MAX_VIEW_EXPANSION_BYTES} bytes beyond ` +
        `what the file holds). Load it as a view (lazyToTensor), or re-save it with .clone() if it is really meant to be that big.`,
    );
  }
  const bytes = first === end ? new Uint8Array(0) : await t.storage.readBytes(first * es, (end - first) * es);
  const contiguous = gatherStrided(bytes, es, shape, strides, t.storageOffset - first);
  return rawFromBytes(dtype, [...shape], contiguous);
}

export interface UnpickleTorchOptions {
  file: string;
  /** Create (or return the cached) storage for a persistent id. */
  storage(key: string, storageType: string, dtype: DType | null, numel: number, location: string): TorchStorage;
}

/** Unpickle a torch `data.pkl`, binding storages through `opts.storage`. */
export function unpickleTorch(data: Uint8Array, opts: UnpickleTorchOptions): unknown {
  const file = opts.file;
  const bad = (detail: string) =>
    new CheckpointFormatError(file, `${file}: not a valid PyTorch checkpoint: ${detail}. Re-save it with torch.save.`);

  const toInt = (v: unknown, what: string): number => {
    if (typeof v === "number" && Number.isSafeInteger(v)) return v;
    throw bad(`${what} is not an integer`);
  };
  const toInts = (v: unknown, what: string): number[] => {
    if (!Array.isArray(v)) throw bad(`${what} is not a tuple`);
    if (v.length > MAX_DIMS) throw bad(`${what} has ${v.length} dimensions (libtorch allows at most ${MAX_DIMS})`);
    return v.map((x) => toInt(x, what));
  };

  const rebuild = (args: unknown[], isParameter: boolean): TorchTensor => {
    const [storage, offset, size, stride, requiresGrad] = args;
    if (!(storage instanceof TorchStorage)) throw bad("tensor rebuild without a storage");
    const shape = toInts(size, "tensor size");
    const strides = toInts(stride, "tensor stride");
    if (shape.length !== strides.length || shape.some((d) => d < 0)) throw bad("tensor size and stride disagree");
    if (!Number.isSafeInteger(numelOf(shape))) throw bad(`tensor size [${shape.join(", ")}] has more than 2^53 elements`);
    return new TorchTensor(storage, toInt(offset, "storage offset"), shape, strides, requiresGrad === true, isParameter, file);
  };

  const asParameter = (args: unknown[]): unknown => {
    const [data, requiresGrad] = args;
    if (!(data instanceof TorchTensor)) return new OpaqueObject("torch._utils._rebuild_parameter", args);
    return new TorchTensor(data.storage, data.storageOffset, data.shape, data.strides, requiresGrad === true, true, file);
  };

  const globals = new Map<string, PickleCallable>([
    ["torch._utils._rebuild_tensor_v2", (args) => rebuild(args, false)],
    ["torch._utils._rebuild_tensor", (args) => rebuild(args, false)],
    ["torch._utils._rebuild_parameter", asParameter],
    ["torch._utils._rebuild_parameter_with_state", asParameter],
    // Tensor subclasses: _rebuild_from_type_v2(func, new_type, args, state) → func(*args).
    ["torch._tensor._rebuild_from_type_v2", (args, ctx) => ctx.call(args[0], Array.isArray(args[2]) ? args[2] : [])],
    ["torch._tensor._rebuild_from_type", (args, ctx) => ctx.call(args[0], Array.isArray(args[2]) ? args[2] : [])],
    ["torch.Size", (args) => (Array.isArray(args[0]) ? [...args[0]] : [])],
  ]);

  const persistentLoad = (pid: unknown): unknown => {
    if (!Array.isArray(pid) || pid[0] !== "storage") {
      // (String() of a nested array recurses, so only name the first field.)
      const tag = Array.isArray(pid) ? pid[0] : pid;
      throw bad(`unknown persistent id ${typeof tag === "string" ? JSON.stringify(tag.slice(0, 40)) : typeof tag}`);
    }
    const [, type, key, location, numel] = pid;
    if (!(type instanceof PickleGlobal) || typeof key !== "string") throw bad("malformed storage persistent id");
    const dtype = type.module === "torch" && Object.hasOwn(STORAGE_DTYPES, type.name) ? STORAGE_DTYPES[type.name]! : null;
    const n = toInt(numel, "storage numel");
    if (n < 0) throw bad("storage numel is negative");
    return opts.storage(key, type.fullName, dtype, n, typeof location === "string" ? location : "?");
  };

  return unpickle(data, { file, globals, persistentLoad, allowGlobals: TORCH_DATA_GLOBALS });
}
