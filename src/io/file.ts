/**
 * Positional reads from a file handle.
 *
 * Official checkpoints reach 4+ GB, beyond what one Buffer should hold, so every reader in
 * `src/io` asks for exactly the byte ranges it needs. Each read lands in a fresh ArrayBuffer
 * (byteOffset 0), so callers may view the bytes through any typed array without alignment
 * worries.
 */
import { open, stat, type FileHandle } from "node:fs/promises";
import { FileAccessError, TruncatedFileError } from "./errors.ts";

export class RandomAccessFile {
  private closed = false;

  private constructor(
    /** The path as given by the caller; used in error messages. */
    readonly path: string,
    private readonly handle: FileHandle,
    /** File size in bytes at open time. */
    readonly size: number,
  ) {}

  /** Open a regular file; anything else is a FileAccessError naming it (checked before opening: a FIFO would block). */
  static async open(path: string): Promise<RandomAccessFile> {
    let kind: string | null = null;
    try {
      const st = await stat(path);
      if (st.isDirectory()) kind = "a directory";
      else if (!st.isFile()) kind = st.isFIFO() ? "a FIFO (named pipe)" : st.isSocket() ? "a socket" : "a device or other special file";
    } catch (err) {
      throw accessError(path, err);
    }
    if (kind) throw new FileAccessError(path, `${path}: is ${kind}, not a file. Give the path of the checkpoint file itself.`);
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (err) {
      throw accessError(path, err);
    }
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

function accessError(path: string, err: unknown): FileAccessError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === "ENOENT" ? "no such file; check the path"
    : code === "EACCES" || code === "EPERM" ? "permission denied; check the file's permissions"
    : code === "ENOTDIR" ? "a part of the path is not a directory; check the path"
    : `cannot open it (${(err as Error).message})`;
  const out = new FileAccessError(path, `${path}: ${why}.`, code);
  (out as { cause?: unknown }).cause = err;
  return out;
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
