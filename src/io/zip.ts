/**
 * Read-only zip archive access with positional reads (PyTorch `.pth` files are zip archives).
 *
 * Layout (APPNOTE.TXT): [local header + data]... [central directory] [zip64 EOCD record]
 * [zip64 EOCD locator] [EOCD record + comment]. We locate the EOCD record by scanning the
 * file's tail, follow the zip64 locator when present, then read the whole central directory in
 * one positional read (it is small: one ~100-byte record per entry). Entry data is never
 * loaded until asked for, and stored entries can be read by byte range, so multi-GB archives
 * cost only the bytes actually used.
 *
 * Supported: stored (method 0) and deflate (method 8) entries; ZIP64 (EOCD record + locator,
 * zip64 extra fields in central and local headers). Not supported: encryption, multi-disk
 * archives, other compression methods — these raise `ZipFormatError`.
 *
 * Deflated entries (torch.save never writes them; re-packed archives may) are inflated as a
 * stream, chunk by chunk, keeping only the bytes asked for: output beyond the declared size
 * stops the stream at once, and the size and CRC-32 are checked at its end. A declared size
 * far beyond what the compressed bytes plausibly hold (a zip bomb) is refused before
 * inflating, and the total inflated per archive is budgeted in proportion to the file's size.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import { LimitExceededError, TruncatedFileError, ZipFormatError } from "./errors.ts";
import { RandomAccessFile, u16le, u32le, u64le } from "./file.ts";
import { copyBytes } from "./raw.ts";

/**
 * Any deflated entry may inflate to this many bytes, whatever its compressed size. Small, as a
 * pickle's objects take ~40x its bytes in memory: a 32 MiB data.pkl of EMPTY_LIST opcodes
 * deflates to 32 KB but unpickles into a gigabyte of arrays.
 */
const INFLATE_ALLOWANCE = 1024 * 1024;
/**
 * Beyond the allowance, an entry may declare at most this many bytes per compressed byte.
 * Tensor data deflates ~1.1x and pickles ~5x; deflate's physical limit is ~1032x, reached
 * only by long runs of one byte, which is what bombs are made of.
 */
const MAX_INFLATE_RATIO = 16;
/** Inflated entries up to this size are kept after their first read (tensors sharing a storage). */
const CACHE_ENTRY_MAX = 8 * 1024 * 1024;
const CACHE_TOTAL_MAX = 32 * 1024 * 1024;
/** Compressed bytes read from the file per step of a streamed inflation. */
const INFLATE_READ_CHUNK = 1 << 20;

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_MIN_SIZE = 56;
const CENTRAL_HEADER_SIZE = 46;
const LOCAL_HEADER_SIZE = 30;
const ZIP64_EXTRA_ID = 0x0001;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;

export const METHOD_STORED = 0;
export const METHOD_DEFLATE = 8;

/** One file inside the archive, as described by the central directory. */
export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  readonly flags: number;
  /** Uncompressed size in bytes. */
  readonly size: number;
  readonly compressedSize: number;
  readonly crc32: number;
  readonly localHeaderOffset: number;
}

interface Eocd {
  entries: number;
  cdSize: number;
  cdOffset: number;
  /** Where the structures after the central directory begin (zip64 record or EOCD). */
  cdLimit: number;
}

const utf8 = new TextDecoder("utf-8");

export class ZipArchive {
  private readonly byName = new Map<string, ZipEntry>();
  private readonly dataOffsets = new Map<ZipEntry, number>();
  /** Fully inflated (and CRC-checked) small entries. */
  private readonly inflated = new Map<ZipEntry, Uint8Array>();
  private cachedBytes = 0;
  /** Bytes inflated so far, against `inflateBudget`. */
  private inflatedTotal = 0;
  private readonly inflateBudget: number;

  private constructor(
    private readonly file: RandomAccessFile,
    readonly entries: readonly ZipEntry[],
  ) {
    for (const e of entries) if (!this.byName.has(e.name)) this.byName.set(e.name, e);
    // Legitimate archives inflate each entry about once: at most the allowance plus the ratio.
    this.inflateBudget = INFLATE_ALLOWANCE + MAX_INFLATE_RATIO * file.size;
  }

  get path(): string {
    return this.file.path;
  }

  /** Open `path` and read its central directory. */
  static async open(path: string): Promise<ZipArchive> {
    const file = await RandomAccessFile.open(path);
    try {
      return await ZipArchive.fromFile(file);
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  /** Read the central directory of an already opened file; the archive takes ownership of it. */
  static async fromFile(file: RandomAccessFile): Promise<ZipArchive> {
    const eocd = await findEocd(file);
    const cd = await file.read(eocd.cdOffset, eocd.cdSize, "zip central directory");
    const entries = parseCentralDirectory(file.path, cd, eocd.entries, eocd.cdOffset);
    return new ZipArchive(file, entries);
  }

  entry(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /** The whole (decompressed) content of an entry; the CRC-32 is checked unless disabled. */
  async read(entry: ZipEntry, opts: { verifyCrc?: boolean } = {}): Promise<Uint8Array> {
    const start = await this.dataOffset(entry);
    if (entry.method !== METHOD_STORED) return this.inflateRange(entry, start, 0, entry.size);
    const data = await this.file.read(start, entry.compressedSize, `data of zip entry "${entry.name}"`);
    if (opts.verifyCrc ?? true) this.checkCrc(entry, crc32(data));
    return data;
  }

  /**
   * `length` bytes of an entry's decompressed content starting at `start`. Stored entries are
   * read positionally (only those bytes); a deflated entry is inflated as a stream that keeps
   * only those bytes (and checks the entry's size and CRC-32 on the way).
   */
  async readRange(entry: ZipEntry, start: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0 || start + length > entry.size) {
      // A caller's mistake, not the file's: readers check views against the entry size first.
      throw new RangeError(
        `${this.path}: byte range ${start}..${start + length} is outside zip entry "${entry.name}" (${entry.size} bytes)`,
      );
    }
    const base = await this.dataOffset(entry);
    if (entry.method === METHOD_STORED) return this.file.read(base + start, length, `data of zip entry "${entry.name}"`);
    return this.inflateRange(entry, base, start, length);
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  /** Offset of an entry's data: after its local header, whose extra field may differ from the central one. */
  private async dataOffset(entry: ZipEntry): Promise<number> {
    const cached = this.dataOffsets.get(entry);
    if (cached !== undefined) return cached;
    if (entry.flags & 0x1) {
      throw new ZipFormatError(this.path, `${this.path}: zip entry "${entry.name}" is encrypted; encrypted archives are not supported.`);
    }
    if (entry.method !== METHOD_STORED && entry.method !== METHOD_DEFLATE) {
      throw new ZipFormatError(
        this.path,
        `${this.path}: zip entry "${entry.name}" uses compression method ${entry.method}; only stored (0) and deflate (8) ` +
          `are supported. Re-pack the archive without compression (e.g. re-save it with torch.save).`,
      );
    }
    const what = `local header of zip entry "${entry.name}"`;
    const head = await this.file.read(entry.localHeaderOffset, LOCAL_HEADER_SIZE, what);
    if (u32le(head, 0) !== SIG_LOCAL) {
      throw this.corrupt(`the local header of entry "${entry.name}" at offset ${entry.localHeaderOffset} has a bad signature`);
    }
    const nameLen = u16le(head, 26);
    const extraLen = u16le(head, 28);
    const rest = await this.file.read(entry.localHeaderOffset + LOCAL_HEADER_SIZE, nameLen + extraLen, what);
    const localName = utf8.decode(rest.subarray(0, nameLen));
    if (localName !== entry.name) {
      throw this.corrupt(`the local header at offset ${entry.localHeaderOffset} names "${localName}" but the central directory says "${entry.name}"`);
    }
    this.checkLocalSizes(entry, head, rest.subarray(nameLen));
    const offset = entry.localHeaderOffset + LOCAL_HEADER_SIZE + nameLen + extraLen;
    if (offset + entry.compressedSize > this.file.size) {
      throw new TruncatedFileError(
        this.path,
        `${this.path}: file is truncated: zip entry "${entry.name}" needs bytes up to ${offset + entry.compressedSize} ` +
          `but the file is only ${this.file.size} bytes long. Re-download or re-save the file.`,
      );
    }
    this.dataOffsets.set(entry, offset);
    return offset;
  }

  /**
   * Cross-check the local header's sizes against the central directory, reading them from the
   * zip64 extra field when the 32-bit fields are saturated. Entries written with a trailing
   * data descriptor (flag bit 3) may leave the local sizes zero, so they are skipped.
   */
  private checkLocalSizes(entry: ZipEntry, head: Uint8Array, extra: Uint8Array): void {
    if (entry.flags & 0x8) return;
    let compressed = u32le(head, 18);
    let size = u32le(head, 22);
    if (compressed === U32_MAX || size === U32_MAX) {
      const z64 = findExtra(extra, ZIP64_EXTRA_ID);
      // APPNOTE 4.5.3: a local zip64 field holds both sizes, uncompressed first.
      if (!z64 || z64.length < 16) throw this.corrupt(`entry "${entry.name}" has saturated local sizes but no zip64 extra field`);
      size = this.u64(z64, 0, entry.name);
      compressed = this.u64(z64, 8, entry.name);
    }
    if (compressed !== entry.compressedSize || size !== entry.size || u16le(head, 8) !== entry.method) {
      throw this.corrupt(`the local header of entry "${entry.name}" disagrees with the central directory`);
    }
  }

  private checkCrc(entry: ZipEntry, crc: number): void {
    if (crc !== entry.crc32) {
      throw new ZipFormatError(
        this.path,
        `${this.path}: zip entry "${entry.name}" is corrupt (CRC-32 ${hex32(crc)} != recorded ${hex32(entry.crc32)}). ` +
          `Re-download or re-save the file.`,
      );
    }
  }

  /**
   * Bytes [start, start + length) of a deflated entry whose compressed data begins at `base`,
   * into a fresh ArrayBuffer. Small entries are inflated whole once and cached; otherwise the
   * stream is inflated to its end (for the size and CRC checks), keeping only the range.
   */
  private async inflateRange(entry: ZipEntry, base: number, start: number, length: number): Promise<Uint8Array> {
    const cached = this.inflated.get(entry);
    if (cached) return copyBytes(cached, start, start + length);
    if (entry.size > INFLATE_ALLOWANCE && entry.size > MAX_INFLATE_RATIO * entry.compressedSize) {
      throw new LimitExceededError(
        this.path,
        `${this.path}: refusing to inflate zip entry "${entry.name}": it declares ${entry.size} bytes from ` +
          `${entry.compressedSize} compressed bytes (more than ${MAX_INFLATE_RATIO}x, a zip bomb or a corrupt size). ` +
          `torch.save never compresses; re-pack the archive without compression (zip -0) or re-save it with torch.save.`,
      );
    }
    if (this.inflatedTotal + entry.size > this.inflateBudget) {
      throw new LimitExceededError(
        this.path,
        `${this.path}: refusing to inflate zip entry "${entry.name}" again: this archive has already inflated ` +
          `${this.inflatedTotal} bytes, more than ${this.inflateBudget} for a ${this.file.size}-byte file (many views of ` +
          `one compressed storage). Re-pack the archive without compression (zip -0) or re-save it with torch.save.`,
      );
    }
    this.inflatedTotal += entry.size;
    const keepWhole = entry.size <= CACHE_ENTRY_MAX && this.cachedBytes + entry.size <= CACHE_TOTAL_MAX;
    const [from, to] = keepWhole ? [0, entry.size] : [start, start + length];
    const out = new Uint8Array(new ArrayBuffer(to - from));
    let produced = 0;
    let crc = 0;
    const file = this.file;
    const what = `data of zip entry "${entry.name}"`;
    async function* compressed(): AsyncGenerator<Uint8Array> {
      for (let at = 0; at < entry.compressedSize; at += INFLATE_READ_CHUNK) {
        yield await file.read(base + at, Math.min(INFLATE_READ_CHUNK, entry.compressedSize - at), what);
      }
    }
    // The error thrown inside the pipeline may reach us as an AbortError, so remember it here.
    let overflowed = false;
    try {
      await pipeline(Readable.from(compressed()), zlib.createInflateRaw({ chunkSize: 256 * 1024 }), async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) {
          const end = produced + chunk.length;
          if (end > entry.size) {
            overflowed = true;
            throw new Error("inflates past its declared size");
          }
          crc = crc32(chunk, crc);
          // Copy the part of [produced, end) that falls in [from, to).
          const lo = Math.max(produced, from);
          const hi = Math.min(end, to);
          if (lo < hi) out.set(chunk.subarray(lo - produced, hi - produced), lo - from);
          produced = end;
        }
      });
    } catch (err) {
      if (err instanceof TruncatedFileError) throw err;
      if (overflowed) throw this.corrupt(`entry "${entry.name}" inflates to more than its declared ${entry.size} bytes`);
      throw this.corrupt(`deflate data of entry "${entry.name}" is invalid (${(err as Error).message})`);
    }
    if (produced !== entry.size) {
      throw this.corrupt(`entry "${entry.name}" inflates to ${produced} bytes, expected ${entry.size}`);
    }
    this.checkCrc(entry, crc);
    if (!keepWhole) return out;
    this.inflated.set(entry, out);
    this.cachedBytes += out.length;
    return start === 0 && length === out.length ? copyBytes(out) : copyBytes(out, start, start + length);
  }

  private u64(b: Uint8Array, at: number, name: string): number {
    const v = u64le(b, at);
    if (v === undefined) throw this.corrupt(`a zip64 field of entry "${name}" exceeds 2^53 bytes`);
    return v;
  }

  private corrupt(detail: string): ZipFormatError {
    return new ZipFormatError(this.path, `${this.path}: corrupt zip archive: ${detail}. Re-download or re-save the file.`);
  }
}

/** Locate and decode the end-of-central-directory record, following the zip64 locator. */
async function findEocd(file: RandomAccessFile): Promise<Eocd> {
  const path = file.path;
  const tailLen = Math.min(file.size, EOCD_SIZE + U16_MAX + ZIP64_LOCATOR_SIZE);
  const tailStart = file.size - tailLen;
  const tail = await file.read(tailStart, tailLen, "zip end-of-central-directory record");
  // Scan backwards; a candidate counts only if its comment ends exactly at end of file, which
  // rules out stray signature bytes inside entry data.
  for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
    if (u32le(tail, i) !== SIG_EOCD) continue;
    if (i + EOCD_SIZE + u16le(tail, i + 20) !== tailLen) continue;
    const eocdPos = tailStart + i;
    if (u16le(tail, i + 4) !== 0 || u16le(tail, i + 6) !== 0) {
      throw new ZipFormatError(path, `${path}: multi-disk (spanned) zip archives are not supported. Re-pack it as a single file.`);
    }
    let entries = u16le(tail, i + 10);
    let cdSize = u32le(tail, i + 12);
    let cdOffset = u32le(tail, i + 16);
    let cdLimit = eocdPos;
    const locPos = i - ZIP64_LOCATOR_SIZE;
    if (locPos >= 0 && u32le(tail, locPos) === SIG_ZIP64_LOCATOR) {
      const recPos = u64le(tail, locPos + 8);
      if (recPos === undefined || recPos + ZIP64_EOCD_MIN_SIZE > eocdPos - ZIP64_LOCATOR_SIZE) {
        throw new ZipFormatError(path, `${path}: corrupt zip archive: bad zip64 end-of-central-directory locator. Re-download or re-save the file.`);
      }
      const rec = await file.read(recPos, ZIP64_EOCD_MIN_SIZE, "zip64 end-of-central-directory record");
      if (u32le(rec, 0) !== SIG_ZIP64_EOCD) {
        throw new ZipFormatError(path, `${path}: corrupt zip archive: zip64 end-of-central-directory record not found where the locator points. Re-download or re-save the file.`);
      }
      const e64 = u64le(rec, 32);
      const size64 = u64le(rec, 40);
      const off64 = u64le(rec, 48);
      if (e64 === undefined || size64 === undefined || off64 === undefined) {
        throw new ZipFormatError(path, `${path}: corrupt zip archive: zip64 sizes exceed 2^53. Re-download or re-save the file.`);
      }
      entries = e64;
      cdSize = size64;
      cdOffset = off64;
      cdLimit = recPos;
    } else if (entries === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
      throw new ZipFormatError(path, `${path}: corrupt zip archive: saturated end-of-central-directory fields without a zip64 locator. Re-download or re-save the file.`);
    }
    if (cdOffset + cdSize > cdLimit) {
      throw new ZipFormatError(path, `${path}: corrupt zip archive: central directory (${cdOffset}+${cdSize}) overlaps the end records. Re-download or re-save the file.`);
    }
    return { entries, cdSize, cdOffset, cdLimit };
  }
  const head = await file.read(0, Math.min(4, file.size), "file header");
  if (head.length === 4 && u32le(head, 0) === SIG_LOCAL) {
    throw new TruncatedFileError(
      path,
      `${path}: file is truncated or corrupt: it starts like a zip archive but has no end-of-central-directory record. ` +
        `Re-download or re-save the file.`,
    );
  }
  throw new ZipFormatError(path, `${path}: not a zip archive (no end-of-central-directory record found).`);
}

function parseCentralDirectory(path: string, cd: Uint8Array, count: number, cdOffset: number): ZipEntry[] {
  const corrupt = (detail: string) =>
    new ZipFormatError(path, `${path}: corrupt zip central directory: ${detail}. Re-download or re-save the file.`);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + CENTRAL_HEADER_SIZE > cd.length) throw corrupt(`record ${n} of ${count} runs past its end`);
    if (u32le(cd, p) !== SIG_CENTRAL) throw corrupt(`bad signature at offset ${cdOffset + p}`);
    const flags = u16le(cd, p + 8);
    const method = u16le(cd, p + 10);
    const crc = u32le(cd, p + 16);
    let compressedSize = u32le(cd, p + 20);
    let size = u32le(cd, p + 24);
    const nameLen = u16le(cd, p + 28);
    const extraLen = u16le(cd, p + 30);
    const commentLen = u16le(cd, p + 32);
    const disk = u16le(cd, p + 34);
    let localHeaderOffset = u32le(cd, p + 42);
    const end = p + CENTRAL_HEADER_SIZE + nameLen + extraLen + commentLen;
    if (end > cd.length) throw corrupt(`record ${n} of ${count} runs past its end`);
    const name = utf8.decode(cd.subarray(p + CENTRAL_HEADER_SIZE, p + CENTRAL_HEADER_SIZE + nameLen));
    const extra = cd.subarray(p + CENTRAL_HEADER_SIZE + nameLen, p + CENTRAL_HEADER_SIZE + nameLen + extraLen);
    if (size === U32_MAX || compressedSize === U32_MAX || localHeaderOffset === U32_MAX || disk === U16_MAX) {
      // APPNOTE 4.5.3: the zip64 field holds, in this order, only the values saturated above.
      const z64 = findExtra(extra, ZIP64_EXTRA_ID);
      if (!z64) throw corrupt(`entry "${name}" has saturated sizes but no zip64 extra field`);
      let q = 0;
      const next = (): number => {
        const v = q + 8 <= z64.length ? u64le(z64, q) : undefined;
        if (v === undefined) throw corrupt(`zip64 extra field of entry "${name}" is too short or out of range`);
        q += 8;
        return v;
      };
      if (size === U32_MAX) size = next();
      if (compressedSize === U32_MAX) compressedSize = next();
      if (localHeaderOffset === U32_MAX) localHeaderOffset = next();
    }
    if (disk !== 0 && disk !== U16_MAX) {
      throw new ZipFormatError(path, `${path}: multi-disk (spanned) zip archives are not supported. Re-pack it as a single file.`);
    }
    if (method === METHOD_STORED && size !== compressedSize) {
      throw corrupt(`stored entry "${name}" has size ${size} but compressed size ${compressedSize}`);
    }
    entries.push({ name, method, flags, size, compressedSize, crc32: crc, localHeaderOffset });
    p = end;
  }
  return entries;
}

/** The data of the first extra-field block with the given header id. */
function findExtra(extra: Uint8Array, id: number): Uint8Array | undefined {
  let p = 0;
  while (p + 4 <= extra.length) {
    const tag = u16le(extra, p);
    const len = u16le(extra, p + 2);
    if (p + 4 + len > extra.length) return undefined;
    if (tag === id) return extra.subarray(p + 4, p + 4 + len);
    p += 4 + len;
  }
  return undefined;
}

let crcTable: Uint32Array | undefined;

/** Node's native CRC-32 (zlib.crc32, Node >= 20.15 / 22.2), when this Node has it. */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 (IEEE 802.3, the zip polynomial); `prev` continues the CRC of preceding bytes. */
export function crc32(data: Uint8Array, prev = 0): number {
  if (typeof nativeCrc32 === "function") return nativeCrc32(data, prev) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const t = crcTable;
  let c = (prev ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function hex32(v: number): string {
  return "0x" + v.toString(16).padStart(8, "0");
}

