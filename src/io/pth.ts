/**
 * PyTorch `.pth` / `.bin` checkpoints (the zip format `torch.save` writes since PyTorch 1.6).
 *
 * Archive layout: `<root>/data.pkl` (the pickled object), `<root>/data/<key>` (one entry per
 * storage, raw little-endian elements), `<root>/version`, and in newer versions
 * `<root>/byteorder`. `<root>` is `archive` or the file's stem, depending on the writer.
 * Opening a checkpoint reads only the central directory and `data.pkl`; tensor bytes are read
 * on demand, per tensor, by positional reads.
 */
import { DTYPE_BYTES, type DType } from "../torch/dtype.ts";
import { CheckpointFormatError, LegacyCheckpointError } from "./errors.ts";
import { RandomAccessFile } from "./file.ts";
import { OpaqueObject, PickleGlobal } from "./pickle.ts";
import { assertLittleEndianHost, type RawTensor } from "./raw.ts";
import { TorchStorage, TorchTensor, unpickleTorch } from "./torch_pickle.ts";
import { ZipArchive } from "./zip.ts";

/** A tensor inside a checkpoint: metadata now, elements on `read()`. */
export interface PthTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly storageOffset: number;
  read(): Promise<RawTensor>;
}

/** Where a tensor sits in the unpickled object: dict keys / list indices / attribute names. */
export interface PthTensorEntry {
  /** Path segments joined with "." (e.g. `model.blocks.0.attn.qkv.weight`). */
  readonly name: string;
  readonly path: readonly (string | number)[];
  readonly tensor: TorchTensor;
}

export type ValueKind = "tensor" | "dict" | "list" | "object" | "string" | "number" | "bool" | "none" | "bytes" | "set" | "global";

/** One top-level item of a checkpoint, for listings (`videomae inspect`). */
export interface StructureItem {
  readonly key: string;
  readonly kind: ValueKind;
  /** Human-readable one-liner, e.g. `dict, 162 entries, 162 tensors` or `argparse.Namespace`. */
  readonly summary: string;
  /** Number of tensors at or below this item. */
  readonly tensors: number;
}

export class PthFile {
  /** Every tensor reachable from `root`, in pickle order (a tensor shared by two keys appears twice). */
  readonly tensors: readonly PthTensorEntry[];

  constructor(
    readonly path: string,
    /** The archive's root folder (`archive`, or the file stem for older writers). */
    readonly archiveRoot: string,
    /** The unpickled object: Maps, arrays, primitives, `TorchTensor`s and `OpaqueObject`s. */
    readonly root: unknown,
    private readonly zip: ZipArchive,
  ) {
    this.tensors = collectTensors(root);
  }

  /** The top-level items (dict keys, or the single root value under key ""). */
  topLevel(): StructureItem[] {
    if (this.root instanceof Map) return [...this.root].map(([k, v]) => describe(String(k), v));
    return [describe("", this.root)];
  }

  async close(): Promise<void> {
    await this.zip.close();
  }
}

const LEGACY_HINT =
  "Re-save it with PyTorch >= 1.6: `obj = torch.load(path, map_location='cpu'); torch.save(obj, new_path)` " +
  "(the zip format is the default since 1.6; do not pass _use_new_zipfile_serialization=False).";

/** Open a checkpoint and unpickle its structure; no tensor data is read yet. Call `close()` when done. */
export async function openPth(path: string): Promise<PthFile> {
  assertLittleEndianHost();
  const file = await RandomAccessFile.open(path);
  let zip: ZipArchive | undefined;
  try {
    if (file.size === 0) throw new CheckpointFormatError(path, `${path}: the file is empty; it is not a PyTorch checkpoint.`);
    const head = await file.read(0, Math.min(4, file.size), "file header");
    if (head[0] === 0x80) {
      throw new LegacyCheckpointError(
        path,
        `${path}: this is a legacy (pre-1.6, non-zip) PyTorch checkpoint, which is not supported. ${LEGACY_HINT}`,
      );
    }
    if (!(head[0] === 0x50 && head[1] === 0x4b)) {
      const hex = [...head].map((b) => b.toString(16).padStart(2, "0")).join(" ");
      throw new CheckpointFormatError(
        path,
        `${path}: not a PyTorch checkpoint: expected a zip archive written by torch.save, but the file starts with bytes ${hex}.`,
      );
    }
    zip = await ZipArchive.fromFile(file);
    return await readArchive(path, zip);
  } catch (err) {
    await (zip ?? file).close();
    throw err;
  }
}

async function readArchive(path: string, zip: ZipArchive): Promise<PthFile> {
  const pkl = zip.entries.find((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (!pkl) {
    const names = zip.entries.slice(0, 5).map((e) => e.name);
    throw new CheckpointFormatError(
      path,
      `${path}: zip archive has no <root>/data.pkl, so it was not written by torch.save ` +
        `(first entries: ${names.join(", ") || "none"}).`,
    );
  }
  const root = pkl.name.slice(0, pkl.name.indexOf("/"));

  const byteorder = zip.entry(`${root}/byteorder`);
  if (byteorder) {
    const order = new TextDecoder().decode(await zip.read(byteorder)).trim();
    if (order !== "little") {
      throw new CheckpointFormatError(
        path,
        `${path}: tensors are stored in "${order}" byte order; only little-endian checkpoints are supported. ` +
          `Re-save it on a little-endian machine.`,
      );
    }
  }

  const storages = new Map<string, TorchStorage>();
  const storage = (key: string, storageType: string, dtype: DType | null, numel: number, location: string): TorchStorage => {
    const cached = storages.get(key);
    if (cached) return cached;
    const name = `${root}/data/${key}`;
    const entry = zip.entry(name);
    if (!entry) {
      throw new CheckpointFormatError(path, `${path}: corrupt checkpoint: storage "${key}" is referenced but "${name}" is missing. Re-save the checkpoint.`);
    }
    if (dtype !== null && entry.size < numel * DTYPE_BYTES[dtype]) {
      throw new CheckpointFormatError(
        path,
        `${path}: corrupt checkpoint: "${name}" has ${entry.size} bytes but its ${numel}-element ${storageType} needs ` +
          `${numel * DTYPE_BYTES[dtype]}. Re-save the checkpoint.`,
      );
    }
    const s = new TorchStorage(key, storageType, dtype, numel, location, (offset, length) => zip.readRange(entry, offset, length));
    storages.set(key, s);
    return s;
  };

  const value = unpickleTorch(await zip.read(pkl), { file: path, storage });
  return new PthFile(path, root, value, zip);
}

/** Depth-first walk collecting tensors with their paths; guards against reference cycles. */
function collectTensors(root: unknown): PthTensorEntry[] {
  const out: PthTensorEntry[] = [];
  const onPath = new Set<object>();
  const visit = (v: unknown, path: (string | number)[]): void => {
    if (v instanceof TorchTensor) {
      out.push({ name: path.join("."), path: [...path], tensor: v });
      return;
    }
    if (typeof v !== "object" || v === null || onPath.has(v)) return;
    onPath.add(v);
    if (v instanceof Map) {
      for (const [k, x] of v) visit(x, [...path, typeof k === "number" ? k : String(k)]);
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => visit(x, [...path, i]));
    } else if (v instanceof OpaqueObject) {
      for (const [k, x] of v.attributes) visit(x, [...path, k]);
      if (v.dictItems) for (const [k, x] of v.dictItems) visit(x, [...path, typeof k === "number" ? k : String(k)]);
      if (v.listItems) v.listItems.forEach((x, i) => visit(x, [...path, i]));
    }
    onPath.delete(v);
  };
  visit(root, []);
  return out;
}

function describe(key: string, v: unknown): StructureItem {
  const tensors = collectTensors(v).length;
  const item = (kind: ValueKind, summary: string): StructureItem => ({ key, kind, summary, tensors });
  if (v instanceof TorchTensor) {
    const dtype = v.storage.dtype ?? v.storage.storageType;
    return item("tensor", `tensor ${dtype} [${v.shape.join(", ")}]`);
  }
  if (v instanceof Map) return item("dict", `dict, ${v.size} entries, ${tensors} tensors`);
  if (Array.isArray(v)) return item("list", `list, ${v.length} items, ${tensors} tensors`);
  if (v instanceof OpaqueObject) return item("object", v.className);
  if (v instanceof PickleGlobal) return item("global", v.fullName);
  if (v instanceof Uint8Array) return item("bytes", `${v.length} bytes`);
  if (v instanceof Set) return item("set", `set, ${v.size} items`);
  if (v === null || v === undefined) return item("none", "None");
  if (typeof v === "string") return item("string", JSON.stringify(v.length > 60 ? v.slice(0, 57) + "..." : v));
  if (typeof v === "boolean") return item("bool", String(v));
  return item("number", String(v));
}
