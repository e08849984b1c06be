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
import { asCheckpointError, CheckpointFormatError, LegacyCheckpointError, LimitExceededError } from "./errors.ts";
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
  /**
   * Every tensor reachable from `root`, in walk order (depth-first, keys in order). A tensor
   * referenced by two keys appears twice; a container reached twice (a shared sub-dict) is
   * walked once, under the first path that reaches it.
   */
  readonly tensors: readonly PthTensorEntry[];
  private readonly perTopLevel: Map<string, number>;

  constructor(
    readonly path: string,
    /** The archive's root folder (`archive`, or the file stem for older writers). */
    readonly archiveRoot: string,
    /** The unpickled object: Maps, arrays, primitives, `TorchTensor`s and `OpaqueObject`s. */
    readonly root: unknown,
    private readonly zip: ZipArchive,
  ) {
    this.tensors = collectTensors(root, path);
    this.perTopLevel = new Map();
    if (root instanceof Map) {
      for (const e of this.tensors) {
        const k = String(e.path[0]);
        this.perTopLevel.set(k, (this.perTopLevel.get(k) ?? 0) + 1);
      }
    }
  }

  /**
   * The top-level items (dict keys, or the single root value under key ""). Tensor counts
   * come from `tensors`, so a container shared by two items counts under the first.
   */
  topLevel(): StructureItem[] {
    if (this.root instanceof Map) {
      return [...this.root].map(([k, v]) => {
        const key = keyName(k);
        return describe(key, v, this.perTopLevel.get(String(key)) ?? 0);
      });
    }
    return [describe("", this.root, this.tensors.length)];
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
    throw asCheckpointError(path, err);
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

/**
 * Deepest nesting the tensor walk follows. Python's pickler recurses per level (its default
 * recursion limit is 1000), so deeper pickles were not written by `torch.save`.
 */
const MAX_NESTING = 1000;
/** Deepest path at which a tensor may sit (real checkpoints: `optimizer.state.3.exp_avg`, depth 4). */
const MAX_TENSOR_DEPTH = 64;

/** A path as a linked list to its parent, so pushing a child costs O(1) whatever the depth. */
interface PathNode {
  readonly parent: PathNode | null;
  readonly key: string | number;
  readonly depth: number;
}

/** A dict key as a path segment: numbers stay numbers, other scalars become strings, containers a tag. */
export function keyName(k: unknown): string | number {
  if (typeof k === "number") return k;
  if (typeof k === "string") return k;
  if (typeof k === "bigint" || typeof k === "boolean") return String(k);
  if (k === null || k === undefined) return "None";
  // (String() of a nested tuple would recurse through it.)
  if (Array.isArray(k)) return `<tuple of ${k.length}>`;
  if (k instanceof OpaqueObject) return `<${k.className}>`;
  return `<${typeof k}>`;
}

/**
 * Iterative depth-first walk collecting tensors with their paths. Each container is entered
 * once (a DAG of shared references costs its size, not the number of paths through it; a
 * cycle ends), nesting deeper than MAX_NESTING is an error, and paths are built only for the
 * tensors found.
 */
function collectTensors(root: unknown, file: string): PthTensorEntry[] {
  const out: PthTensorEntry[] = [];
  const seen = new Set<object>();
  // Explicit stack of (value, path); children are pushed in reverse so they pop in order.
  const stack: { v: unknown; path: PathNode | null }[] = [{ v: root, path: null }];
  const tooDeep = (what: string) =>
    new LimitExceededError(file, `${file}: refusing to load: ${what}; torch.save never writes that. The file is corrupt or hostile.`);
  while (stack.length) {
    const { v, path } = stack.pop()!;
    const depth = path ? path.depth : 0;
    if (v instanceof TorchTensor) {
      if (depth > MAX_TENSOR_DEPTH) throw tooDeep(`a tensor sits ${depth} levels deep (the limit is ${MAX_TENSOR_DEPTH})`);
      const segs = new Array<string | number>(depth);
      for (let p = path; p; p = p.parent) segs[p.depth - 1] = p.key;
      out.push({ name: segs.join("."), path: segs, tensor: v });
      continue;
    }
    if (typeof v !== "object" || v === null || seen.has(v)) continue;
    if (!(v instanceof Map || Array.isArray(v) || v instanceof OpaqueObject)) continue;
    seen.add(v);
    if (depth >= MAX_NESTING) throw tooDeep(`values are nested more than ${MAX_NESTING} levels deep`);
    const children: { v: unknown; path: PathNode }[] = [];
    const child = (key: string | number, x: unknown) => {
      // Only containers and tensors can lead to tensors.
      if (typeof x === "object" && x !== null) children.push({ v: x, path: { parent: path, key, depth: depth + 1 } });
    };
    if (v instanceof Map) {
      for (const [k, x] of v) child(keyName(k), x);
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) child(i, v[i]);
    } else {
      for (const [k, x] of v.attributes) child(k, x);
      if (v.dictItems) for (const [k, x] of v.dictItems) child(keyName(k), x);
      if (v.listItems) for (let i = 0; i < v.listItems.length; i++) child(i, v.listItems[i]);
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return out;
}

function describe(key: string | number, v: unknown, tensors: number): StructureItem {
  key = String(key);
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
