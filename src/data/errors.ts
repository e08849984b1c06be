/**
 * Typed errors of the dataset layer. Messages name the file (and line) involved and say what
 * to change, so a run that stops at start-up can be fixed from the message alone.
 */

/** A list file (train.csv, pretrain.csv, …) has a line that does not match its format. */
export class ListFileError extends Error {
  override name = "ListFileError";
  readonly file: string;
  /** 1-based line number, or 0 when the problem is the whole file (missing, empty). */
  readonly line: number;

  constructor(file: string, line: number, message: string) {
    super(line > 0 ? `${file}:${line}: ${message}` : `${file}: ${message}`);
    this.file = file;
    this.line = line;
  }
}

/** A label-name file or a label index map is malformed or inconsistent. */
export class LabelMapError extends Error {
  override name = "LabelMapError";
  readonly file: string;

  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.file = file;
  }
}

/**
 * The data pipeline cannot continue: too many unreadable samples, workers that keep crashing,
 * or a configuration problem found while loading (e.g. ffmpeg missing inside a worker).
 */
export class DataError extends Error {
  override name = "DataError";
}
