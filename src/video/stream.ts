/**
 * Sequential window decoding shared by both readers: one ffmpeg process decodes frames
 * 0 … lastStart+window−1 in order to rawvideo on stdout; frames are cut into windows as they
 * arrive. Reading is pulled by the consumer (stdout is paused while the consumer works), so
 * memory stays at about one window however long the video is.
 */
import { FfmpegNotFoundError, VideoDecodeError } from "./errors.ts";
import { spawnStreaming } from "./ffmpeg.ts";
import { frameStream, windowsFromFrames } from "./frames.ts";
import type { WindowClip } from "./reader.ts";

export interface WindowDecodeJob {
  /** The video (or frame folder) named in error messages. */
  path: string;
  ffmpeg: string;
  /** ffmpeg arguments up to (not including) `-frames:v`, `-f rawvideo` and the output. */
  args: string[];
  starts: readonly number[];
  window: number;
  width: number;
  height: number;
}

export async function* decodeWindows(job: WindowDecodeJob): AsyncGenerator<WindowClip> {
  const { starts, window, width, height } = job;
  if (starts.length === 0) return;
  const needed = starts[starts.length - 1]! + window;
  const args = [...job.args, "-frames:v", String(needed), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"];
  const { child, stderrTail } = spawnStreaming(job.ffmpeg, args);
  let spawnError: Error | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once("close", (code) => resolve(code));
    child.once("error", (err) => {
      spawnError = err;
      resolve(null);
    });
  });
  const counted = { frames: 0 };
  let emitted = 0;
  try {
    const frames = frameStream(child.stdout!, width * height * 3);
    for await (const w of windowsFromFrames(frames, starts, window, width, height, counted)) {
      emitted++;
      yield w;
    }
    if (emitted < starts.length) {
      const code = await exited;
      if (spawnError) {
        const enoent = (spawnError as NodeJS.ErrnoException).code === "ENOENT";
        throw enoent ? new FfmpegNotFoundError(job.ffmpeg, "not found on PATH") : spawnError;
      }
      throw new VideoDecodeError(
        job.path,
        `the decoder stopped after ${counted.frames} frames but the windows need ${needed} ` +
          `(${emitted} of ${starts.length} windows produced, ffmpeg exit code ${code})`,
        stderrTail(),
      );
    }
  } finally {
    // Early `break` by the consumer, an error, or simply done: never leave ffmpeg running.
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}
