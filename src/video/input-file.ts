/**
 * The one check every video reader (and so every data path) makes before handing a path to a
 * decoder: the path must be a regular file (a video) or a directory (a frame folder), as the
 * caller expects. Anything else is refused at once with its own message, because a decoder
 * opening it misbehaves: a FIFO blocks until a writer appears (the loader stalled until ffprobe's
 * timeout), a device streams forever, a directory is reported as "corrupt".
 *
 * stat() does not open the file, so the check itself can never block on a FIFO.
 */
import type { Stats } from "node:fs";
import { stat } from "node:fs/promises";

import { VideoError, VideoFileNotFoundError } from "./errors.ts";

export type InputKind = "file" | "directory";

/** The path exists but is not what a reader can decode (a directory where a video is expected, a FIFO, a device, …). */
export class NotAVideoFileError extends VideoError {
  readonly path: string;
  /** What the path is: "directory", "regular file", "FIFO", "character device", "block device", "socket", "unknown". */
  readonly found: string;

  constructor(path: string, found: string, expected: InputKind) {
    super(`${path}: ${explain(found, expected)}`);
    this.path = path;
    this.found = found;
  }
}

function explain(found: string, expected: InputKind): string {
  const want = expected === "file" ? "a video file" : "a folder of frames";
  switch (found) {
    case "directory":
      return `is a directory, not a video file. Give the video file inside it, or, for a folder of extracted frames, a frames list line \`folder start_index total_frames\``;
    case "regular file":
      return `is a file, not a folder of frames. Give the folder that holds the frame images (img_00001.jpg, …), or list the video file as a video line \`path 0 -1\``;
    case "FIFO":
      return `is a named pipe (FIFO), not ${want}: decoding it would wait for a writer forever. Replace it with the file it stands for, or drop it from the list`;
    case "character device":
    case "block device":
      return `is a ${found}, not ${want}. Check the path (a list line may point into /dev), or drop it from the list`;
    case "socket":
      return `is a socket, not ${want}. Check the path, or drop it from the list`;
    default:
      return `is not a regular file or directory, so it is not ${want}. Check the path, or drop it from the list`;
  }
}

export function describeFileType(st: Stats): string {
  if (st.isFile()) return "regular file";
  if (st.isDirectory()) return "directory";
  if (st.isFIFO()) return "FIFO";
  if (st.isCharacterDevice()) return "character device";
  if (st.isBlockDevice()) return "block device";
  if (st.isSocket()) return "socket";
  return "unknown";
}

/**
 * Stats `path` (following symlinks) and checks it is a regular file (`expected` "file") or a
 * directory ("directory"). Missing: VideoFileNotFoundError (with `hint`); anything else:
 * NotAVideoFileError naming the path and what it is.
 */
export async function checkInputPath(path: string, expected: InputKind = "file", hint?: string): Promise<Stats> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new VideoFileNotFoundError(path, hint);
    throw err;
  }
  const found = describeFileType(st);
  if (found !== (expected === "file" ? "regular file" : "directory")) throw new NotAVideoFileError(path, found, expected);
  return st;
}
