/**
 * Typed errors of the synthetic-dataset generator. Each message names the file or folder and
 * says what to do.
 */

/** Base class: `instanceof SynthError` catches every failure of src/data/synth. */
export class SynthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** An option is out of range (e.g. an odd frame size, which yuv420p cannot encode). */
export class SynthOptionsError extends SynthError {}

/**
 * The output folder already holds something else: a dataset made with other settings (the
 * videos on disk would not match the new lists), or files that are not a synthetic dataset.
 */
export class SynthOutputConflictError extends SynthError {
  readonly dir: string;

  constructor(dir: string, reason: string) {
    super(`${dir}: ${reason}. Choose another output folder, or pass --force (force: true) to regenerate every video there.`);
    this.dir = dir;
  }
}

/** ffmpeg failed to encode one video. */
export class SynthEncodeError extends SynthError {
  readonly path: string;
  readonly stderrTail: string;

  constructor(path: string, what: string, stderrTail = "") {
    const tail = stderrTail.trim();
    const noX264 = /Unknown encoder|libx264/.test(tail);
    super(
      `cannot encode ${path}: ${what}. ` +
        (noX264
          ? `This ffmpeg has no libx264 encoder: install a full build (Debian/Ubuntu: apt-get install ffmpeg).`
          : `Check that the folder is writable and the disk is not full, then run again (finished videos are kept).`) +
        (tail ? `\nffmpeg said:\n${tail}` : ""),
    );
    this.path = path;
    this.stderrTail = tail;
  }
}
