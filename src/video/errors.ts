/**
 * Typed errors of the video layer. Every message names the file involved and what to do about
 * it, so a failing data loader can be diagnosed from the message alone.
 */

/** Base class: `instanceof VideoError` catches every failure of src/video. */
export class VideoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The ffmpeg or ffprobe program could not be started. */
export class FfmpegNotFoundError extends VideoError {
  readonly binary: string;

  constructor(binary: string, detail?: string) {
    super(
      `could not run "${binary}"${detail ? ` (${detail})` : ""}. Video decoding needs the ffmpeg and ffprobe ` +
        `programs: install them with "apt-get install ffmpeg" (Debian/Ubuntu), or run "npm run setup", ` +
        `or pass their location with { ffmpegPath, ffprobePath }.`,
    );
    this.binary = binary;
  }
}

/** The video file (or frame folder, or one frame file of it) does not exist. */
export class VideoFileNotFoundError extends VideoError {
  readonly path: string;

  constructor(path: string, hint = "check the path in your list file (relative paths resolve against the working directory)") {
    super(`video not found: ${path}; ${hint}`);
    this.path = path;
  }
}

/** ffprobe/ffmpeg failed, or returned fewer (or more) frames than asked for. */
export class VideoDecodeError extends VideoError {
  readonly path: string;
  /** The last lines ffmpeg/ffprobe wrote to stderr ("" if none). */
  readonly stderrTail: string;

  constructor(path: string, what: string, stderrTail = "") {
    const tail = stderrTail.trim();
    super(
      `cannot decode ${path}: ${what}. The file is probably truncated or corrupt; re-download or ` +
        `re-encode it (e.g. ffmpeg -i in.mp4 -c:v libx264 out.mp4), or drop it from the list.` +
        (tail ? `\nffmpeg said:\n${tail}` : ""),
    );
    this.path = path;
    this.stderrTail = tail;
  }
}

/** A requested frame index is negative, fractional, or past the end of the video. */
export class FrameIndexError extends VideoError {
  readonly path: string;
  readonly index: number;
  readonly frameCount: number;

  constructor(path: string, index: number, frameCount: number) {
    super(
      `frame index ${index} is out of range for ${path} (${frameCount} frames, valid 0..${frameCount - 1}); ` +
        `indices must be integers in range: clamp them, or use the samplers in src/data/samplers.ts, which do.`,
    );
    this.path = path;
    this.index = index;
    this.frameCount = frameCount;
  }
}
