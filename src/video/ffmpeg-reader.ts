/**
 * FfmpegReader: VideoReader over video files, decoding with the ffmpeg program.
 *
 * readFrames runs one ffmpeg process per call: it decodes the contiguous range covering the
 * requested frames, keeps the wanted ones with a `select` filter, resizes them in ffmpeg
 * (swscale bilinear) and writes RGB24 to stdout; the byte count is checked exactly.
 *
 * Frame accuracy. For constant-rate video, frame i has timestamp start + i/fps, so frames are
 * selected by timestamp (`-copyts`, index = round((t − start)·fps)) after an input `-ss` to half a
 * frame before the first one. Selecting by timestamp (rather than by counting frames after the
 * seek) means a seek that lands *after* the target — MPEG-TS does this — shows up as missing
 * frames instead of silently wrong ones. Missing frames, variable-rate video, or containers
 * without a seek index fall back to decoding from frame 0 and counting frames (`n`), which is
 * exact by definition. `-fps_mode passthrough` is required: without it ffmpeg duplicates frames
 * to fill the gaps `select` leaves.
 */
import { ensureFfmpeg, fileUrl, num, QUIET_ARGS, runToBuffer, type FfmpegCaps, type FfmpegPaths, type RunResult } from "./ffmpeg.ts";
import { VideoDecodeError } from "./errors.ts";
import { checkIndices, checkWindow, distinctSorted, gatherClip, selectExpr, windowStarts } from "./frames.ts";
import { probeVideo, ProbeCache, type FfmpegVideoInfo } from "./probe.ts";
import { resolveOutputSize, type Clip, type ResizeSpec, type VideoReader, type WindowClip, type WindowOptions } from "./reader.ts";
import { decodeWindows } from "./stream.ts";

export interface FfmpegReaderOptions extends FfmpegPaths {
  /** Kill ffprobe/ffmpeg runs of probe() and readFrames() after this long (default 300 s; 0 = never). */
  timeoutMs?: number;
  /** How many probe results to remember, keyed by path, size and mtime (default 1024). */
  probeCacheSize?: number;
}

export class FfmpegReader implements VideoReader {
  private readonly paths: FfmpegPaths;
  private readonly timeoutMs: number;
  private readonly cache: ProbeCache;

  constructor(opts: FfmpegReaderOptions = {}) {
    this.paths = { ffmpegPath: opts.ffmpegPath, ffprobePath: opts.ffprobePath };
    this.timeoutMs = opts.timeoutMs ?? 300_000;
    this.cache = new ProbeCache(opts.probeCacheSize);
  }

  /** Metadata through ffprobe, cached until the file changes. */
  async probe(path: string): Promise<FfmpegVideoInfo> {
    const caps = await ensureFfmpeg(this.paths);
    const { key, info: hit } = await this.cache.lookup(path);
    if (hit) return hit;
    const info = await probeVideo(caps.ffprobe, path, this.timeoutMs);
    this.cache.remember(path, key, info);
    return info;
  }

  async readFrames(path: string, indices: readonly number[], size?: ResizeSpec): Promise<Clip> {
    const caps = await ensureFfmpeg(this.paths);
    const info = await this.probe(path);
    checkIndices(path, indices, info.frameCount);
    const { width, height } = resolveOutputSize(info.width, info.height, size);
    if (indices.length === 0) return { data: new Uint8Array(0), frames: 0, height, width };
    const sorted = distinctSorted(indices);
    const filters = (expr: string) => `select='${expr}',scale=${width}:${height}:flags=bilinear,format=rgb24`;
    const expectedBytes = sorted.length * width * height * 3;

    let result: RunResult | undefined;
    const t = info.timing;
    if (t.constantRate) {
      const [rn, rd] = t.rate;
      const indexExpr = `round((t-(${num(t.streamStartSec)}))*${rn}/${rd})`;
      const seekSec = t.streamStartSec - t.formatStartSec + ((sorted[0]! - 0.5) * rd) / rn;
      const seek = t.indexedSeek && sorted[0]! > 0 && seekSec > 0 ? seekSec : 0;
      result = await this.run(caps, path, t.streamIndex, seek, true, filters(selectExpr(sorted, indexExpr)), sorted.length, expectedBytes);
    }
    if (!result || !complete(result, expectedBytes)) {
      result = await this.run(caps, path, t.streamIndex, 0, false, filters(selectExpr(sorted, "n")), sorted.length, expectedBytes);
    }
    if (!complete(result, expectedBytes)) throw decodeFailure(path, result, sorted.length, width * height * 3, this.timeoutMs);
    return gatherClip(result.stdout, sorted, indices, width, height);
  }

  async *streamWindows(path: string, opts: WindowOptions): AsyncGenerator<WindowClip> {
    checkWindow(opts.window, opts.stride);
    const caps = await ensureFfmpeg(this.paths);
    const info = await this.probe(path);
    const { width, height } = resolveOutputSize(info.width, info.height, opts.size);
    const args = [
      ...QUIET_ARGS,
      "-filter_threads", "1",
      "-threads", "1",
      "-i", fileUrl(path),
      "-map", `0:${info.timing.streamIndex}`,
      "-vf", `scale=${width}:${height}:flags=bilinear,format=rgb24`,
      ...caps.passthrough,
    ];
    const starts = windowStarts(info.frameCount, opts.window, opts.stride);
    yield* decodeWindows({ path, ffmpeg: caps.ffmpeg, args, starts, window: opts.window, width, height });
  }

  /** One ffmpeg run decoding `frames` selected frames (protected so tests can observe the fallback). */
  protected run(
    caps: FfmpegCaps,
    path: string,
    streamIndex: number,
    seekSec: number,
    copyts: boolean,
    filter: string,
    frames: number,
    expectedBytes: number,
  ): Promise<RunResult> {
    const args = [
      ...QUIET_ARGS,
      "-filter_threads", "1",
      "-threads", "1",
      ...(seekSec > 0 ? ["-ss", num(seekSec)] : []),
      ...(copyts ? ["-copyts"] : []),
      "-i", fileUrl(path),
      "-map", `0:${streamIndex}`,
      "-vf", filter,
      ...caps.passthrough,
      "-frames:v", String(frames),
      "-f", "rawvideo",
      "-pix_fmt", "rgb24",
      "pipe:1",
    ];
    return runToBuffer(caps.ffmpeg, args, { expectedBytes, timeoutMs: this.timeoutMs });
  }
}

export function complete(r: RunResult, expectedBytes: number): boolean {
  return r.exitCode === 0 && !r.timedOut && !r.overflow && r.received === expectedBytes;
}

export function decodeFailure(path: string, r: RunResult, frames: number, frameBytes: number, timeoutMs: number): VideoDecodeError {
  let what: string;
  if (r.timedOut) what = `ffmpeg timed out after ${timeoutMs} ms`;
  else if (r.overflow) what = `ffmpeg returned more than the ${frames} frames asked for`;
  else if (r.exitCode !== 0) what = `ffmpeg failed (exit code ${r.exitCode}) after ${Math.floor(r.received / frameBytes)} of ${frames} frames`;
  else what = `ffmpeg returned ${Math.floor(r.received / frameBytes)} of the ${frames} frames asked for (the file has fewer frames than its header says)`;
  return new VideoDecodeError(path, what, r.stderrTail);
}
