/**
 * Crash-safe file writes: write `<path>.tmp`, fsync it, rename it over `path`, fsync the
 * directory. A crash at any point leaves either the old file or the complete new one, never a
 * half-written `path` (at worst a stale `.tmp`, which the next write replaces).
 */
import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";

/** Run `write` against a fresh `<path>.tmp` handle, then atomically move it to `path`. */
export async function writeFileAtomic(path: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, "w");
  let ok = false;
  try {
    await write(fh);
    await fh.sync();
    ok = true;
  } finally {
    await fh.close();
    if (!ok) await unlink(tmp).catch(() => undefined);
  }
  await rename(tmp, path);
  await syncDirectory(dirname(path));
}

/** Persist the rename itself. Directories cannot be opened for fsync on every platform (Windows); that is not an error. */
async function syncDirectory(dir: string): Promise<void> {
  let dh: FileHandle | undefined;
  try {
    dh = await open(dir, "r");
    await dh.sync();
  } catch {
    // best effort
  } finally {
    await dh?.close();
  }
}

/** Write all of `data` at the handle's current position (loops over short writes). */
export async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    const { bytesWritten } = await fh.write(data, done, Math.min(data.byteLength - done, 1 << 30));
    done += bytesWritten;
  }
}
