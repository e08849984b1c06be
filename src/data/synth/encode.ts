/**
 * Encoding rendered clips to H.264 .mp4 with the ffmpeg program, through the spawning helpers of
 * src/video/ffmpeg.ts. The file is written under a temporary name and renamed when ffmpeg has
 * succeeded, so an interrupted run never leaves a truncated video under its final name (which a
 * resumed run would otherwise skip as done).
 */
import { rename, unlink } from "node:fs/promises";

import { ensureFfmpeg, fileUrl, QUIET_ARGS, runToBuffer, type FfmpegPaths } from "../../video/ffmpeg.ts";
import type { Clip } from "../../video/reader.ts";
import { SynthEncodeError } from "./errors.ts";

export interface EncodeOptions extends FfmpegPaths {
  fps: number;
  /** x264 constant rate factor (lower = better quality, bigger files). */
  crf: number;
  /** Maximum distance between keyframes, frames. Small, so random access stays cheap. */
  gop: number;
  /** Kill ffmpeg after this long (default 120 s). */
  timeoutMs?: number;
}

/** Writes `clip` to `path` as H.264 (yuv420p) in mp4. Width and height must be even. */
export async function encodeMp4(clip: Clip, path: string, opts: EncodeOptions): Promise<void> {
  const caps = await ensureFfmpeg(opts);
  const tmp = `${path}.part`;
  const args = [
    ...QUIET_ARGS,
    "-y",
    "-f", "rawvideo",
    "-pix_fmt", "rgb24",
    "-s", `${clip.width}x${clip.height}`,
    "-r", String(opts.fps),
    "-i", "pipe:0",
    "-an",
    "-c:v", "libx264",
    "-preset", "fast",
    "-crf", String(opts.crf),
    "-g", String(opts.gop),
    "-pix_fmt", "yuv420p",
    // One thread: the generator already runs several encoders side by side, and a single-threaded
    // x264 produces the same bytes on every machine.
    "-threads", "1",
    "-movflags", "+faststart",
    "-f", "mp4",
    fileUrl(tmp),
  ];
  const r = await runToBuffer(caps.ffmpeg, args, { expectedBytes: 0, timeoutMs: opts.timeoutMs ?? 120_000, stdin: clip.data });
  if (r.timedOut || r.exitCode !== 0) {
    await unlink(tmp).catch(() => undefined);
    throw new SynthEncodeError(path, r.timedOut ? `ffmpeg timed out after ${opts.timeoutMs ?? 120_000} ms` : `ffmpeg failed (exit code ${r.exitCode})`, r.stderrTail);
  }
  await rename(tmp, path);
}
