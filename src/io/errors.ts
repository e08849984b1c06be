/**
 * Typed errors for the checkpoint IO layer.
 *
 * Every error names the file it is about (`file`) and its message says what went wrong and
 * what the user can do about it, so a CLI can print `err.message` as is.
 */

/** Base class of every error raised by `src/io`. */
export class CheckpointIoError extends Error {
  /** The file the error is about (as given by the caller). */
  readonly file: string;

  constructor(file: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.file = file;
  }
}

/**
 * The file cannot be opened for reading: missing, unreadable, a directory, or not a regular
 * file (a FIFO would block the open forever). `code` keeps the system error code when there is
 * one (`ENOENT`, `EACCES`, ...), so callers that test `err.code` still can.
 */
export class FileAccessError extends CheckpointIoError {
  constructor(
    file: string,
    message: string,
    readonly code?: string,
  ) {
    super(file, message);
  }
}

/** The file ends before a structure it declares (cut download, interrupted copy). */
export class TruncatedFileError extends CheckpointIoError {}

/** The file is not a zip archive, or its zip structures are corrupt or use unsupported features. */
export class ZipFormatError extends CheckpointIoError {}

/** The pickle stream is malformed or uses an opcode this reader does not implement. */
export class PickleError extends CheckpointIoError {}

/**
 * The container is readable but its contents are not a checkpoint we can use: no `data.pkl`,
 * a storage entry is missing or too small, a tensor has an unsupported dtype, two keys collide
 * after prefix stripping, and so on.
 */
export class CheckpointFormatError extends CheckpointIoError {}

/** A pre-1.6 (non-zip, `_use_new_zipfile_serialization=False`) PyTorch checkpoint. */
export class LegacyCheckpointError extends CheckpointFormatError {}

/** A safetensors file whose header is not valid JSON or whose offsets/dtypes/shapes disagree. */
export class SafetensorsFormatError extends CheckpointIoError {}

/** A `.npy` file with a bad magic/header, or a dtype/layout this reader does not support. */
export class NpyFormatError extends CheckpointIoError {}

/**
 * The pickle names a global (class or function) that is not on the allow-list of what
 * PyTorch/VideoMAE checkpoints contain. `codeExecution` is true for callables that would run
 * code or reach the system if the file were loaded with plain `torch.load` (`os.system`,
 * `builtins.eval`, `subprocess.Popen`, ...): such a file is a payload, not a checkpoint.
 */
export class ForbiddenGlobalError extends PickleError {
  constructor(
    file: string,
    message: string,
    /** The global as `module.name`. */
    readonly global: string,
    readonly codeExecution: boolean,
  ) {
    super(file, message);
  }
}

/**
 * Reading the file would cost time or memory out of proportion to its content: a view that
 * expands a tiny storage, a deflate stream that inflates far beyond its compressed size, nesting
 * deeper than any pickler writes, and so on.
 */
export class LimitExceededError extends CheckpointIoError {}

/**
 * Every failure while reading a checkpoint is a CheckpointIoError naming the file; anything
 * else reaching here is a reader bug met on odd input, reported as a corrupt file rather than
 * a bare RangeError/TypeError.
 */
export function asCheckpointError(path: string, err: unknown): unknown {
  if (err instanceof CheckpointIoError) return err;
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === "string" && typeof e.syscall === "string") return err; // fs errors keep their code (ENOENT, EACCES, ...)
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const out = new UnexpectedContentError(path, `${path}: cannot read the file (corrupt or unsupported content: ${detail.slice(0, 300)}).`);
  (out as { cause?: unknown }).cause = err;
  return out;
}

/**
 * A reader met content it did not anticipate and failed with an untyped exception (kept as
 * `cause`); reported as a corrupt file. The fuzz tests count these as findings.
 */
export class UnexpectedContentError extends CheckpointFormatError {}
