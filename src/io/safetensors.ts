/**
 * safetensors files (https://huggingface.co/docs/safetensors): read and crash-safe write.
 *
 * Layout: u64 little-endian N | N bytes of UTF-8 JSON header | data. The header maps each
 * tensor name to `{ "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }` (offsets
 * relative to the start of the data, end exclusive) and may hold `"__metadata__"`, a
 * string→string map. Tensors must tile the data exactly: no gaps, no overlaps, no trailing bytes.
 */
import { DTYPE_BYTES, type DType } from "../torch/dtype.ts";
import { writeAll, writeFileAtomic } from "./atomic.ts";
import { asCheckpointError, SafetensorsFormatError, TruncatedFileError } from "./errors.ts";
import { RandomAccessFile, u64le } from "./file.ts";
import { assertLittleEndianHost, bytesOf, checkRaw, numelOf, rawFromBytes, type RawTensor } from "./raw.ts";

const CODE_TO_DTYPE: Readonly<Record<string, DType>> = {
  F32: "float32",
  F16: "float16",
  BF16: "bfloat16",
  F64: "float64",
  I64: "int64",
  I32: "int32",
  U8: "uint8",
  BOOL: "bool",
};

const DTYPE_TO_CODE: Readonly<Record<DType, string>> = {
  float32: "F32",
  float16: "F16",
  bfloat16: "BF16",
  float64: "F64",
  int64: "I64",
  int32: "I32",
  uint8: "U8",
  bool: "BOOL",
};

/** Same limit as the reference implementation; larger headers mean a corrupt length field. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = "__metadata__";

export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** [begin, end) byte offsets relative to the start of the data section. */
  readonly dataOffsets: readonly [number, number];
  read(): Promise<RawTensor>;
}

export class SafetensorsFile {
  constructor(
    readonly path: string,
    /** The `__metadata__` map (empty when absent). */
    readonly metadata: Readonly<Record<string, string>>,
    /** Entries in header order. */
    readonly tensors: ReadonlyMap<string, SafetensorsEntry>,
    private readonly file: RandomAccessFile,
  ) {}

  async close(): Promise<void> {
    await this.file.close();
  }
}

/** Open a safetensors file and validate its header; tensor data is read on demand. */
export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  assertLittleEndianHost();
  const file = await RandomAccessFile.open(path);
  try {
    return await parse(file);
  } catch (err) {
    await file.close();
    throw asCheckpointError(path, err);
  }
}

/** Read every tensor of a safetensors file. */
export async function readSafetensors(
  path: string,
): Promise<{ tensors: Map<string, RawTensor>; metadata: Record<string, string> }> {
  const f = await openSafetensors(path);
  try {
    const tensors = new Map<string, RawTensor>();
    for (const [name, e] of f.tensors) tensors.set(name, await e.read());
    return { tensors, metadata: { ...f.metadata } };
  } finally {
    await f.close();
  }
}

async function parse(file: RandomAccessFile): Promise<SafetensorsFile> {
  const path = file.path;
  const corrupt = (detail: string) =>
    new SafetensorsFormatError(path, `${path}: corrupt safetensors file: ${detail}. Re-download or re-save the file.`);
  const truncated = (detail: string) =>
    new TruncatedFileError(path, `${path}: safetensors file is truncated: ${detail}. Re-download or re-save the file.`);

  if (file.size < 8) throw truncated(`only ${file.size} bytes, less than the 8-byte header length`);
  const n = u64le(await file.read(0, 8, "safetensors header length"), 0);
  if (n === undefined || n > MAX_HEADER_BYTES) throw corrupt(`header length ${n ?? "> 2^53"} is implausible (not a safetensors file?)`);
  if (8 + n > file.size) throw truncated(`the header needs ${n} bytes but only ${file.size - 8} follow`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(await file.read(8, n, "safetensors header")));
  } catch (err) {
    throw corrupt(`the header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(header)) throw corrupt("the header is not a JSON object");

  const dataStart = 8 + n;
  const dataLength = file.size - dataStart;
  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, spec] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      if (!isPlainObject(spec) || !Object.values(spec).every((v) => typeof v === "string")) {
        throw corrupt(`"${METADATA_KEY}" must map strings to strings`);
      }
      metadata = spec as Record<string, string>;
      continue;
    }
    if (!isPlainObject(spec)) throw corrupt(`entry "${name}" is not an object`);
    const { dtype: code, shape, data_offsets: offsets } = spec;
    if (typeof code !== "string") throw corrupt(`entry "${name}" has no dtype`);
    if (!Object.hasOwn(CODE_TO_DTYPE, code)) {
      throw new SafetensorsFormatError(
        path,
        `${path}: tensor "${name}" has dtype ${code}, which is not supported (supported: ${Object.keys(CODE_TO_DTYPE).join(", ")}).`,
      );
    }
    const dtype = CODE_TO_DTYPE[code]!;
    if (!Array.isArray(shape) || !shape.every(isCount)) throw corrupt(`entry "${name}" has an invalid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
      throw corrupt(`entry "${name}" has invalid data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    const shp = shape as number[];
    const need = numelOf(shp) * DTYPE_BYTES[dtype];
    if (end - begin !== need) {
      throw corrupt(`entry "${name}" spans ${end - begin} bytes but ${code} [${shp.join(", ")}] needs ${need}`);
    }
    entries.push({
      name,
      dtype,
      shape: shp,
      dataOffsets: [begin, end],
      read: async () => {
        try {
          return rawFromBytes(dtype, [...shp], await file.read(dataStart + begin, end - begin, `data of tensor "${name}"`));
        } catch (err) {
          throw asCheckpointError(path, err);
        }
      },
    });
  }

  // The tensors must tile [0, dataLength) exactly.
  const sorted = [...entries].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  const maxEnd = sorted.reduce((m, e) => Math.max(m, e.dataOffsets[1]), 0);
  if (maxEnd > dataLength) throw truncated(`tensor data needs ${maxEnd} bytes but only ${dataLength} follow the header`);
  let at = 0;
  for (const e of sorted) {
    if (e.dataOffsets[0] !== at) {
      throw corrupt(`tensor "${e.name}" starts at byte ${e.dataOffsets[0]} of the data, expected ${at} (gap or overlap)`);
    }
    at = e.dataOffsets[1];
  }
  if (at !== dataLength) throw corrupt(`${dataLength - at} trailing bytes after the last tensor`);

  return new SafetensorsFile(path, metadata, new Map(entries.map((e) => [e.name, e])), file);
}

export interface WriteSafetensorsOptions {
  /** Stored as `__metadata__` (string values only). */
  metadata?: Readonly<Record<string, string>>;
}

/**
 * Write tensors to `path` atomically (via `path + ".tmp"`, fsync, rename).
 *
 * The output is deterministic: tensors are laid out by element size (largest first, so every
 * tensor's data stays aligned to its element size) and then by name, header keys follow the
 * same order with `__metadata__` first, and the header is padded with spaces to a multiple of 8
 * bytes so the data section starts 8-byte aligned.
 */
export async function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, RawTensor> | Readonly<Record<string, RawTensor>>,
  opts: WriteSafetensorsOptions = {},
): Promise<void> {
  assertLittleEndianHost();
  const list = [...(tensors instanceof Map ? tensors : Object.entries(tensors))] as [string, RawTensor][];
  for (const [name, t] of list) {
    if (name === METADATA_KEY) throw new RangeError(`${path}: "${METADATA_KEY}" cannot be used as a tensor name`);
    checkRaw(t, `${path}: tensor "${name}"`);
  }
  list.sort(([a, ta], [b, tb]) => DTYPE_BYTES[tb.dtype] - DTYPE_BYTES[ta.dtype] || (a < b ? -1 : a > b ? 1 : 0));

  const header: Record<string, unknown> = {};
  if (opts.metadata && Object.keys(opts.metadata).length) {
    const meta: Record<string, string> = {};
    for (const k of Object.keys(opts.metadata).sort()) {
      const v = opts.metadata[k];
      if (typeof v !== "string") throw new TypeError(`${path}: metadata value for "${k}" must be a string`);
      meta[k] = v;
    }
    header[METADATA_KEY] = meta;
  }
  let offset = 0;
  for (const [name, t] of list) {
    const size = t.data.byteLength;
    header[name] = { dtype: DTYPE_TO_CODE[t.dtype], shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  padded.set(json);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(padded.length), true);

  await writeFileAtomic(path, async (fh) => {
    await writeAll(fh, prefix);
    await writeAll(fh, padded);
    for (const [, t] of list) await writeAll(fh, bytesOf(t));
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
