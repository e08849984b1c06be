/**
 * NumPy `.npy` files: read v1.0/2.0/3.0, write v1.0 (v2.0 only for huge headers), the way
 * `numpy.save` (numpy 1.24) does it.
 *
 * Layout: `\x93NUMPY` | major u8 | minor u8 | header length (u16 LE for v1, u32 LE for v2/v3) |
 * header | data. The header is a Python dict literal such as
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`, padded with spaces and ended
 * by '\n' so that the data starts at a multiple of 64 bytes; the data is the raw elements.
 * Supported element types: little-endian `<f4 <f8 <f2 <i8 <i4`, and `|u1 |b1`; C order only.
 */
import { DTYPE_BYTES, type DType } from "../torch/dtype.ts";
import { writeAll, writeFileAtomic } from "./atomic.ts";
import { asCheckpointError, NpyFormatError, TruncatedFileError } from "./errors.ts";
import { RandomAccessFile, u16le, u32le } from "./file.ts";
import { assertLittleEndianHost, bytesOf, checkRaw, copyBytes, numelOf, rawFromBytes, type RawTensor } from "./raw.ts";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const ALIGN = 64;
/**
 * Longest header this reader accepts. numpy's own reader refuses headers over 10,000 bytes
 * unless told otherwise (`max_header_size`); ours are ~118 bytes.
 */
const MAX_HEADER_BYTES = 1 << 20;
/** Deepest literal nesting in a header (a real one nests 2 levels: the dict and the shape tuple). */
const MAX_LITERAL_DEPTH = 32;
/** numpy ≥ 1.23 leaves room after the dict so the first axis can grow in place. */
const GROWTH_AXIS_MAX_DIGITS = 21;

/** descr (without byte-order char) ↔ dtype. bfloat16 has no numpy type. */
const KIND_TO_DTYPE: Readonly<Record<string, DType>> = {
  f4: "float32",
  f8: "float64",
  f2: "float16",
  i8: "int64",
  i4: "int32",
  u1: "uint8",
  b1: "bool",
};
const DTYPE_TO_DESCR: Readonly<Partial<Record<DType, string>>> = {
  float32: "<f4",
  float64: "<f8",
  float16: "<f2",
  int64: "<i8",
  int32: "<i4",
  uint8: "|u1",
  bool: "|b1",
};

interface NpyHeader {
  dtype: DType;
  shape: number[];
  /** Byte offset of the data. */
  dataOffset: number;
}

/** Read a `.npy` file into a RawTensor. */
export async function readNpy(path: string): Promise<RawTensor> {
  assertLittleEndianHost();
  const file = await RandomAccessFile.open(path);
  try {
    const pre = await file.read(0, Math.min(12, file.size), "npy preamble");
    const { start, headerLen } = parsePreamble(pre, path);
    const head = await file.read(0, start + headerLen, "npy header");
    const h = parseHeader(head, path);
    const bytes = numelOf(h.shape) * DTYPE_BYTES[h.dtype];
    checkDataLength(path, file.size - h.dataOffset, bytes);
    return rawFromBytes(h.dtype, h.shape, await file.read(h.dataOffset, bytes, "npy data"));
  } catch (err) {
    throw asCheckpointError(path, err);
  } finally {
    await file.close();
  }
}

/** Decode an in-memory `.npy` image (the data is copied into an aligned buffer if needed). */
export function decodeNpy(bytes: Uint8Array, file = "<npy buffer>"): RawTensor {
  assertLittleEndianHost();
  try {
    const h = parseHeader(bytes, file);
    const n = numelOf(h.shape) * DTYPE_BYTES[h.dtype];
    checkDataLength(file, bytes.length - h.dataOffset, n);
    return rawFromBytes(h.dtype, h.shape, copyBytes(bytes, h.dataOffset, h.dataOffset + n));
  } catch (err) {
    throw asCheckpointError(file, err);
  }
}

/** The header bytes (magic through '\n') numpy would write for this tensor. */
export function encodeNpyHeader(t: RawTensor): Uint8Array {
  const descr = DTYPE_TO_DESCR[t.dtype];
  if (!descr) throw new TypeError(`npy has no ${t.dtype} type; convert the tensor (e.g. toFloat32) before writing`);
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(", ")})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  if (t.shape.length) dict += " ".repeat(GROWTH_AXIS_MAX_DIGITS - String(t.shape[0]).length);
  const body = new TextEncoder().encode(dict);
  // header = dict + spaces + '\n'; numpy pads by ALIGN - (total % ALIGN), i.e. a full 64 when already aligned.
  for (const [major, lenBytes] of [[1, 2], [2, 4]] as const) {
    const hlen = body.length + 1;
    const pad = ALIGN - ((MAGIC.length + 2 + lenBytes + hlen) % ALIGN);
    const total = hlen + pad;
    if (lenBytes === 2 && total > 0xffff) continue;
    const out = new Uint8Array(MAGIC.length + 2 + lenBytes + total).fill(0x20);
    out.set(MAGIC, 0);
    out[6] = major;
    out[7] = 0;
    const dv = new DataView(out.buffer);
    if (lenBytes === 2) dv.setUint16(8, total, true);
    else dv.setUint32(8, total, true);
    out.set(body, MAGIC.length + 2 + lenBytes);
    out[out.length - 1] = 0x0a;
    return out;
  }
  throw new RangeError("npy header too large");
}

/** A complete `.npy` image (header + data) in memory. */
export function encodeNpy(t: RawTensor): Uint8Array {
  checkRaw(t, "encodeNpy");
  const header = encodeNpyHeader(t);
  const out = new Uint8Array(header.length + t.data.byteLength);
  out.set(header, 0);
  out.set(bytesOf(t), header.length);
  return out;
}

/** Write a `.npy` file atomically (via `path + ".tmp"`, fsync, rename). */
export async function writeNpy(path: string, t: RawTensor): Promise<void> {
  assertLittleEndianHost();
  checkRaw(t, `${path}`);
  const header = encodeNpyHeader(t);
  await writeFileAtomic(path, async (fh) => {
    await writeAll(fh, header);
    await writeAll(fh, bytesOf(t));
  });
}

function truncated(file: string, detail: string): TruncatedFileError {
  return new TruncatedFileError(file, `${file}: npy file is truncated: ${detail}. Re-create the file.`);
}

function formatError(file: string, detail: string): NpyFormatError {
  return new NpyFormatError(file, `${file}: ${detail}`);
}

function checkMagic(b: Uint8Array, file: string): void {
  for (let i = 0; i < MAGIC.length; i++) {
    if (i >= b.length) throw truncated(file, "the file ends inside the magic string");
    if (b[i] !== MAGIC[i]) throw formatError(file, "not a .npy file (missing the \\x93NUMPY magic string)");
  }
}

function checkDataLength(file: string, available: number, needed: number): void {
  if (available < needed) throw truncated(file, `the data needs ${needed} bytes but only ${available} follow the header`);
  if (available > needed) {
    throw formatError(file, `corrupt .npy file: ${available - needed} unexpected bytes after the array data. Re-create the file.`);
  }
}

/** Check magic and version; returns where the header text starts and its length. */
function parsePreamble(b: Uint8Array, file: string): { major: number; start: number; headerLen: number } {
  checkMagic(b, file);
  if (b.length < 8) throw truncated(file, "the file ends inside the preamble");
  const major = b[6]!;
  if (major < 1 || major > 3) throw formatError(file, `unsupported .npy format version ${major}.${b[7]} (supported: 1.0, 2.0, 3.0)`);
  const lenBytes = major === 1 ? 2 : 4;
  if (b.length < 8 + lenBytes) throw truncated(file, "the file ends inside the preamble");
  const headerLen = lenBytes === 2 ? u16le(b, 8) : u32le(b, 8);
  if (headerLen > MAX_HEADER_BYTES) {
    throw formatError(file, `corrupt .npy file: a ${headerLen}-byte header (numpy writes ~128 bytes; the limit is ${MAX_HEADER_BYTES})`);
  }
  return { major, start: 8 + lenBytes, headerLen };
}

function parseHeader(b: Uint8Array, file: string): NpyHeader {
  const { major, start, headerLen } = parsePreamble(b, file);
  if (b.length < start + headerLen) throw truncated(file, "the file ends inside the header");
  // v1/v2 headers are latin1, v3 UTF-8; the keys we need are ASCII either way.
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(b.subarray(start, start + headerLen));
  let dict: unknown;
  try {
    dict = new LiteralParser(text).parseTop();
  } catch (err) {
    throw formatError(file, `corrupt .npy header ${JSON.stringify(text.trim().slice(0, 200))}: ${(err as Error).message}`);
  }
  if (!(dict instanceof Map)) throw formatError(file, "corrupt .npy header: not a dict");
  const descr = dict.get("descr");
  const fortran = dict.get("fortran_order");
  const shape = dict.get("shape");
  if (typeof descr !== "string") {
    throw formatError(file, `unsupported .npy dtype ${JSON.stringify(String(descr))}: structured arrays are not supported`);
  }
  if (typeof fortran !== "boolean") throw formatError(file, "corrupt .npy header: fortran_order is missing");
  if (fortran) {
    throw formatError(file, "Fortran-order (column-major) arrays are not supported; save np.ascontiguousarray(a) instead");
  }
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)) {
    throw formatError(file, "corrupt .npy header: shape is not a tuple of non-negative integers");
  }
  return { dtype: dtypeOfDescr(descr, file), shape: shape as number[], dataOffset: start + headerLen };
}

function dtypeOfDescr(descr: string, file: string): DType {
  const order = descr[0];
  const kind = descr.slice(1);
  const dtype = Object.hasOwn(KIND_TO_DTYPE, kind) ? KIND_TO_DTYPE[kind] : undefined;
  const oneByte = dtype !== undefined && DTYPE_BYTES[dtype] === 1;
  // '<' little-endian, '=' native (we require a little-endian host), '|' not applicable (1-byte types).
  const orderOk = order === "<" || order === "=" || (oneByte && (order === "|" || order === ">"));
  if (!dtype || !orderOk) {
    const hint = order === ">" ? " (big-endian: save a.astype(a.dtype.newbyteorder('<')) instead)" : "";
    throw formatError(
      file,
      `unsupported .npy dtype '${descr}'${hint}; supported: <f4 <f8 <f2 <i8 <i4 |u1 |b1`,
    );
  }
  return dtype;
}

/**
 * Parser for the Python literals an npy header uses: dicts, tuples, lists, quoted strings,
 * integers (with an optional Python 2 `L`), True/False/None. Dicts become Maps, tuples and
 * lists arrays. Recursion is bounded by MAX_LITERAL_DEPTH, and each token is matched in place
 * (a sticky regex), so the cost is linear in the header.
 */
class LiteralParser {
  private i = 0;
  private depth = 0;
  private static readonly ATOM = /(-?\d+)L?|(True|False|None)/y;

  constructor(private readonly s: string) {}

  parseTop(): unknown {
    const v = this.value();
    this.ws();
    if (this.i !== this.s.length) throw new Error(`unexpected "${this.s.slice(this.i, this.i + 10)}"`);
    return v;
  }

  private ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }

  private value(): unknown {
    this.ws();
    const c = this.s[this.i];
    if (c === "{") return this.seq("{", "}", true);
    if (c === "(") return this.seq("(", ")", false);
    if (c === "[") return this.seq("[", "]", false);
    if (c === "'" || c === '"') return this.str(c);
    const re = LiteralParser.ATOM;
    re.lastIndex = this.i;
    const m = re.exec(this.s);
    if (!m) throw new Error(`unexpected "${this.s.slice(this.i, this.i + 10)}"`);
    this.i += m[0].length;
    if (m[1] !== undefined) return Number(m[1]);
    return m[2] === "True" ? true : m[2] === "False" ? false : null;
  }

  private str(q: string): string {
    const parts: string[] = [];
    this.i++;
    while (this.i < this.s.length && this.s[this.i] !== q) {
      if (this.s[this.i] === "\\") this.i++;
      parts.push(this.s[this.i++] ?? "");
    }
    const out = parts.join("");
    if (this.s[this.i] !== q) throw new Error("unterminated string");
    this.i++;
    return out;
  }

  private seq(open: string, close: string, isDict: boolean): unknown {
    if (++this.depth > MAX_LITERAL_DEPTH) throw new Error(`literals nested more than ${MAX_LITERAL_DEPTH} deep`);
    this.i++; // open
    const items: unknown[] = [];
    const map = new Map<unknown, unknown>();
    for (;;) {
      this.ws();
      if (this.s[this.i] === close) {
        this.i++;
        this.depth--;
        return isDict ? map : items;
      }
      const v = this.value();
      if (isDict) {
        this.ws();
        if (this.s[this.i] !== ":") throw new Error(`expected ":" in ${open}${close}`);
        this.i++;
        map.set(v, this.value());
      } else items.push(v);
      this.ws();
      if (this.s[this.i] === ",") this.i++;
      else if (this.s[this.i] !== close) throw new Error(`expected "," or "${close}"`);
    }
  }
}
