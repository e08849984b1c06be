/**
 * Output files and folders: checked before work starts, and write failures reported with the
 * file's name and what to do. Node's own errors ("ENOSPC: no space left on device, write",
 * "ENOENT … mkdir" for a read-only parent) name neither the file nor the fix, and a long run
 * that only finds out when it first writes has wasted its time.
 */
import { accessSync, constants, existsSync, mkdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** An output file or folder cannot be written. `path` is the file or folder concerned. */
export class OutputError extends Error {
  override name = "OutputError";
  constructor(
    readonly path: string,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

const REASONS: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is exhausted",
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOTDIR: "a part of the path is a file, not a folder",
  EISDIR: "it is a folder",
  ENAMETOOLONG: "the name is too long",
  EEXIST: "a file of that name is in the way",
};

const FIXES: Record<string, string> = {
  ENOSPC: "free some space there, or write elsewhere (--out)",
  EDQUOT: "free some space there, or write elsewhere (--out)",
  EROFS: "choose an output folder on a writable file system (--out)",
  EACCES: "choose a folder you may write to (--out), or change its permissions",
  EPERM: "choose a folder you may write to (--out), or change its permissions",
};

/**
 * The error to throw for a failed write of `path`: an OutputError naming the file, the reason in
 * words and the fix. Errors without an errno code pass through unchanged.
 */
export function outputError(err: unknown, path: string, what = "writing"): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (!code || err instanceof OutputError) return err;
  const reason = REASONS[code] ?? (err as Error).message;
  const fix = FIXES[code] ?? "check the path, or choose another output location (--out)";
  return new OutputError(path, `cannot write ${path} (${what}): ${reason} [${code}]; ${fix}`, code);
}

/** Runs a write of `path`, turning errno failures into OutputErrors that name the file. */
export async function writingFile<T>(path: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    throw outputError(err, path);
  }
}

/**
 * Creates `dir` (with its parents) when missing and proves it writable by creating and removing
 * a small file in it, so a run fails at start-up, not at its first checkpoint. `option` names the
 * command-line option for the message ("--out").
 */
export function ensureWritableDir(dir: string, option = "--out"): void {
  let st;
  try {
    st = statSync(dir);
  } catch {
    st = null;
  }
  if (st && !st.isDirectory()) throw new OutputError(dir, `${option} ${dir} is a file, not a folder; give a folder path`);
  if (!st) makeDirs(dir, option);
  const probe = join(dir, `.videomae-write-test-${process.pid}`);
  try {
    writeFileSync(probe, "");
    unlinkSync(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    const why = REASONS[code] ?? "a test file could not be created in it";
    throw new OutputError(dir, `the output folder ${dir} is not writable: ${why} [${code}]; ${FIXES[code] ?? `choose another folder (${option})`}`, code);
  }
}

/**
 * Checks, without creating anything, that `dir` could be created and written: it is a writable
 * folder, or its nearest existing ancestor is. For command-line checks before work starts
 * (the run itself creates the folder later with ensureWritableDir).
 */
export function checkWritableDir(dir: string, option = "--out"): void {
  const target = resolve(dir);
  if (existsSync(target)) return ensureWritableDir(dir, option); // creates nothing: it exists
  const base = existingAncestor(target);
  if (!base) throw new OutputError(dir, `cannot create the output folder ${dir}: no part of its path exists; choose another folder (${option})`);
  const probe = join(base, `.videomae-write-test-${process.pid}`);
  try {
    writeFileSync(probe, "");
    unlinkSync(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    throw new OutputError(dir, `cannot create the output folder ${dir}: ${base} does not allow creating anything (read-only, virtual or not yours) [${code}]; choose a folder you may write to (${option})`, code);
  }
}

/** Checks that the folder of an output file exists (creating it) and is writable. */
export function ensureWritableFileDir(file: string, option = "--out"): void {
  ensureWritableDir(dirname(resolve(file)), option);
}

/**
 * mkdir -p, one level at a time from the nearest existing ancestor. Not mkdirSync(recursive):
 * that reports a read-only parent as ENOENT, and under /proc it never returns (Node 20).
 */
function makeDirs(dir: string, option: string): void {
  const target = resolve(dir);
  const parent = existingAncestor(target);
  const missing: string[] = [];
  for (let d = target; d !== parent; d = dirname(d)) missing.unshift(d);
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "";
      if (code === "EEXIST") continue;
      const where = dirname(d);
      const why = code === "ENOENT" || code === "EROFS" || code === "EPERM" || code === "EACCES" || !writable(where)
        ? `${where} does not allow creating folders (read-only, virtual or not yours)`
        : (REASONS[code] ?? (err as Error).message);
      throw new OutputError(dir, `cannot create the output folder ${dir}: ${why} [${code}]; choose a folder you may write to (${option})`, code);
    }
  }
}

function existingAncestor(dir: string): string | null {
  let d = resolve(dir);
  for (;;) {
    let st;
    try {
      st = statSync(d);
    } catch {
      st = null; // missing: keep climbing
    }
    if (st?.isDirectory()) return d;
    if (st && d !== resolve(dir)) throw new OutputError(dir, `cannot create the output folder ${dir}: ${d} is a file, not a folder; choose another path`);
    const up = dirname(d);
    if (up === d) return null;
    d = up;
  }
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
