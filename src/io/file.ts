/**
 * Positional reads from a file handle.
 *
 * Official checkpoints reach 4+ GB, beyond what one Buffer should hold, so every reader in
 * `src/io` asks for exactly the byte ranges it needs. Each read lands in a fresh ArrayBuffer
 * (byteOffset 0), so callers may view the bytes through any typed array without alignment
 * worries.
 */
import { open, type FileHandle } from "node:fs/promises";
import { TruncatedFileError } from "./errors.ts";

export class RandomAccessFile {
  private closed = false;

  private constructor(
    /** The path as given by the caller; used in error messages. */
    readonly path: string,
    private readonly handle: FileHandle,
    /** File size in bytes at open time. */
    readonly size: number,
  ) {}

  static async open(path: string): Promise<RandomAccessFile> {
    const handle = await open(path, "r");
    try {
      const st = await handle.stat();
      return new RandomAccessFile(path, handle, st.size);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /**
   * Read exactly `length` bytes starting at `offset`. `what` describes the bytes for the
   * truncation message (e.g. "zip central directory").
   */
  async read(offset: number, length: number, what: string): Promise<Uint8Array> {
    if (this.closed) throw new Error(`${this.path}: read after close`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new RangeError(`${this.path}: invalid read of ${length} bytes at offset ${offset} (${what})`);
    }
    if (offset + length > this.size) {
      throw new TruncatedFileError(
        this.path,
        `${this.path}: file is truncated: ${what} needs bytes ${offset}..${offset + length} ` +
          `but the file is only ${this.size} bytes long. Re-download or re-save the file.`,
      );
    }
    const out = new Uint8Array(new ArrayBuffer(length));
    let done = 0;
    while (done < length) {
      // A single read returns at most ~2 GB, so loop until the range is filled.
      const chunk = Math.min(length - done, 1 << 30);
      const { bytesRead } = await this.handle.read(out, done, chunk, offset + done);
      if (bytesRead === 0) {
        throw new TruncatedFileError(
          this.path,
          `${this.path}: file is truncated: unexpected end of file at offset ${offset + done} ` +
            `while reading ${what}. Re-download or re-save the file.`,
        );
      }
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

/** Little-endian integer readers over a byte array (u64 checked to stay a safe JS integer). */
export function u16le(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

export function u32le(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/** A u64 as a JS number, or `undefined` if it exceeds 2^53 - 1. */
export function u64le(b: Uint8Array, at: number): number | undefined {
  const lo = u32le(b, at);
  const hi = u32le(b, at + 4);
  if (hi > 0x1fffff) return undefined;
  return hi * 0x1_0000_0000 + lo;
}
