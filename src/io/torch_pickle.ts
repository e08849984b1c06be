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
import { CheckpointFormatError } from "./errors.ts";
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
    private readonly file: string,
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

  /** Read the elements into a new contiguous row-major RawTensor (only the bytes the view touches are read). */
  async read(): Promise<RawTensor> {
    const dtype = this.dtype;
    const es = DTYPE_BYTES[dtype];
    const { first, end } = storageSpan(this.shape, this.strides, this.storageOffset);
    if (first < 0 || end > this.storage.numel) {
      throw new CheckpointFormatError(
        this.file,
        `${this.file}: corrupt checkpoint: a tensor of shape [${this.shape.join(", ")}] views elements ${first}..${end} ` +
          `of storage "${this.storage.key}", which holds only ${this.storage.numel}. Re-save the checkpoint.`,
      );
    }
    const bytes = first === end ? new Uint8Array(0) : await this.storage.readBytes(first * es, (end - first) * es);
    const contiguous = gatherStrided(bytes, es, this.shape, this.strides, this.storageOffset - first);
    return rawFromBytes(dtype, [...this.shape], contiguous);
  }
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
    return v.map((x) => toInt(x, what));
  };

  const rebuild = (args: unknown[], isParameter: boolean): TorchTensor => {
    const [storage, offset, size, stride, requiresGrad] = args;
    if (!(storage instanceof TorchStorage)) throw bad("tensor rebuild without a storage");
    const shape = toInts(size, "tensor size");
    const strides = toInts(stride, "tensor stride");
    if (shape.length !== strides.length || shape.some((d) => d < 0)) throw bad("tensor size and stride disagree");
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
    if (!Array.isArray(pid) || pid[0] !== "storage") throw bad(`unknown persistent id ${JSON.stringify(String(pid))}`);
    const [, type, key, location, numel] = pid;
    if (!(type instanceof PickleGlobal) || typeof key !== "string") throw bad("malformed storage persistent id");
    const dtype = type.module === "torch" && Object.hasOwn(STORAGE_DTYPES, type.name) ? STORAGE_DTYPES[type.name]! : null;
    return opts.storage(key, type.fullName, dtype, toInt(numel, "storage numel"), String(location));
  };

  return unpickle(data, { file, globals, persistentLoad });
}
