/**
 * FrameFolderReader: VideoReader over folders of extracted frames (SSv2, AVA, and the raw-frame
 * lines `frame_folder start_index total_frames` of pre-training lists).
 *
 * Naming follows the official code: frame index i (0-based, as the samplers produce) is the
 * file `template.format(i + startIndex)`, with Python-style templates such as `img_{:05}.jpg`
 * and startIndex 1 by default (`RawFrameClsDataset(start_idx=1)`; frames extracted with
 * `ffmpeg -i v.mp4 img_%05d.jpg` start at 00001). So index 0 → img_00001.jpg.
 *
 * Decoding goes through ffmpeg as well, one process per call: readFrames pipes exactly the
 * needed files (each distinct one once) into `-f image2pipe`; streamWindows reads the folder in
 * order through the image2 demuxer. (The official code decodes with OpenCV; JPEG decoders can
 * differ by ±1–2 in a few pixel values.)
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

import { VideoDecodeError, VideoFileNotFoundError } from "./errors.ts";
import { ensureFfmpeg, fileUrl, QUIET_ARGS, runToBuffer, runToText, type FfmpegPaths } from "./ffmpeg.ts";
import { complete, decodeFailure } from "./ffmpeg-reader.ts";
import { checkIndices, checkWindow, distinctSorted, gatherClip, windowStarts } from "./frames.ts";
import { assertFile } from "./probe.ts";
import { resolveOutputSize, type Clip, type ResizeSpec, type VideoInfo, type VideoReader, type WindowClip, type WindowOptions } from "./reader.ts";
import { decodeWindows } from "./stream.ts";

export interface FrameFolderReaderOptions extends FfmpegPaths {
  /** Python-format file name template with one integer field: `{}`, `{:05}`, `{:06d}`, … (default `img_{:05}.jpg`). */
  template?: string;
  /** File number of frame index 0 (default 1, as in the official datasets). */
  startIndex?: number;
  /** Frame rate to report in VideoInfo (frame folders do not record one; default 0 = unknown). */
  fps?: number;
  /** Kill ffmpeg/ffprobe runs after this long (default 300 s; 0 = never). */
  timeoutMs?: number;
}

/** A parsed file name template. */
export interface FrameTemplate {
  /** The file name for a file number, like Python's `template.format(n)`. */
  format(n: number): string;
  /** The same pattern for ffmpeg's image2 demuxer (`%05d`, literal `%` doubled). */
  printf: string;
}

/**
 * Parses a Python-format template with exactly one integer field: `{}`, `{0}`, `{:d}`, `{:05}`,
 * `{:05d}`, `{:5}` (space padded); `{{` and `}}` are literal braces.
 *   parseFrameTemplate("img_{:05}.jpg").format(12) === "img_00012.jpg"
 */
export function parseFrameTemplate(template: string): FrameTemplate {
  const parts: string[] = []; // literal text before and after the field
  let field: { zero: boolean; width: number } | undefined;
  let lit = "";
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if ((c === "{" || c === "}") && template[i + 1] === c) {
      lit += c;
      i++;
    } else if (c === "{") {
      const close = template.indexOf("}", i);
      const spec = close < 0 ? null : /^0?(?::(0?)(\d*)d?)?$/.exec(template.slice(i + 1, close));
      if (!spec || field) {
        throw new RangeError(
          `frame template "${template}": expected exactly one integer field such as {}, {:05} or {:06d}`,
        );
      }
      field = { zero: spec[1] === "0", width: spec[2] ? Number(spec[2]) : 0 };
      parts.push(lit);
      lit = "";
      i = close;
    } else if (c === "}") {
      throw new RangeError(`frame template "${template}": single "}" (write "}}" for a literal brace)`);
    } else lit += c;
  }
  if (!field) throw new RangeError(`frame template "${template}" has no {} field for the frame number (e.g. img_{:05}.jpg)`);
  parts.push(lit);
  const { zero, width } = field;
  const [before, after] = [parts[0]!, parts[1]!];
  const esc = (s: string) => s.replace(/%/g, "%%");
  return {
    format: (n: number) => before + String(n).padStart(width, zero ? "0" : " ") + after,
    printf: `${esc(before)}%${zero ? "0" : ""}${width || ""}d${esc(after)}`,
  };
}

export class FrameFolderReader implements VideoReader {
  private readonly paths: FfmpegPaths;
  private readonly template: string;
  private readonly names: FrameTemplate;
  private readonly startIndex: number;
  private readonly fps: number;
  private readonly timeoutMs: number;
  private readonly codec: string;
  private readonly cache = new Map<string, { key: number; info: VideoInfo }>();

  constructor(opts: FrameFolderReaderOptions = {}) {
    this.paths = { ffmpegPath: opts.ffmpegPath, ffprobePath: opts.ffprobePath };
    this.template = opts.template ?? "img_{:05}.jpg";
    this.names = parseFrameTemplate(this.template);
    this.startIndex = opts.startIndex ?? 1;
    if (!Number.isInteger(this.startIndex) || this.startIndex < 0) {
      throw new RangeError(`FrameFolderReader: startIndex must be a non-negative integer, got ${this.startIndex}`);
    }
    this.fps = opts.fps ?? 0;
    this.timeoutMs = opts.timeoutMs ?? 300_000;
    const ext = /\.([a-z0-9]+)$/i.exec(this.template)?.[1]?.toLowerCase() ?? "";
    const codec = { jpg: "mjpeg", jpeg: "mjpeg", png: "png" }[ext];
    if (!codec) throw new RangeError(`FrameFolderReader: template "${this.template}" must end in .jpg, .jpeg or .png`);
    this.codec = codec;
  }

  /** The path of frame `index` (0-based) in `folder`. */
  framePath(folder: string, index: number): string {
    return join(folder, this.names.format(index + this.startIndex));
  }

  /**
   * Counts the frames (consecutive file numbers from startIndex) and reads the size of the first
   * with ffprobe. Cached until the folder's mtime changes.
   */
  async probe(folder: string): Promise<VideoInfo> {
    const caps = await ensureFfmpeg(this.paths);
    const st = await assertFile(folder, "check the frame folder path in your list file", "directory");
    const hit = this.cache.get(folder);
    if (hit && hit.key === st.mtimeMs) return hit.info;

    const present = new Set(await readdir(folder));
    let count = 0;
    while (present.has(this.names.format(this.startIndex + count))) count++;
    const first = this.framePath(folder, 0);
    if (count === 0) throw new VideoFileNotFoundError(first, this.missingHint());

    // `-pattern_type none`: the image2 demuxer would otherwise read a "%" in the path as a pattern.
    const r = await runToText(
      caps.ffprobe,
      ["-v", "error", "-f", "image2", "-pattern_type", "none", "-show_entries", "stream=width,height,codec_name", "-of", "json", fileUrl(first)],
      this.timeoutMs,
    );
    let s: { width?: number; height?: number; codec_name?: string } | undefined;
    try {
      s = (JSON.parse(r.stdout) as { streams?: Array<typeof s> }).streams?.[0];
    } catch {
      s = undefined;
    }
    if (r.exitCode !== 0 || !s || !(s.width! > 0 && s.height! > 0)) {
      throw new VideoDecodeError(first, "ffprobe cannot read the first frame", r.stderrTail);
    }
    const info: VideoInfo = {
      path: folder,
      width: s.width!,
      height: s.height!,
      fps: this.fps,
      frameCount: count,
      durationSec: this.fps > 0 ? count / this.fps : 0,
      rotation: 0,
      codec: s.codec_name ?? this.codec,
    };
    this.cache.set(folder, { key: st.mtimeMs, info });
    if (this.cache.size > 1024) this.cache.delete(this.cache.keys().next().value!);
    return info;
  }

  async readFrames(folder: string, indices: readonly number[], size?: ResizeSpec): Promise<Clip> {
    const caps = await ensureFfmpeg(this.paths);
    const info = await this.probe(folder);
    checkIndices(folder, indices, info.frameCount);
    const { width, height } = resolveOutputSize(info.width, info.height, size);
    if (indices.length === 0) return { data: new Uint8Array(0), frames: 0, height, width };
    const sorted = distinctSorted(indices);

    const files = await Promise.all(
      sorted.map(async (i) => {
        const file = this.framePath(folder, i);
        try {
          return await readFile(file);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new VideoFileNotFoundError(file, this.missingHint());
          throw err;
        }
      }),
    );
    const args = [
      ...QUIET_ARGS,
      "-filter_threads", "1",
      "-threads", "1",
      "-f", "image2pipe",
      "-c:v", this.codec,
      "-i", "pipe:0",
      "-map", "0:v:0",
      "-vf", `scale=${width}:${height}:flags=bilinear,format=rgb24`,
      ...caps.passthrough,
      "-frames:v", String(sorted.length),
      "-f", "rawvideo",
      "-pix_fmt", "rgb24",
      "pipe:1",
    ];
    const expectedBytes = sorted.length * width * height * 3;
    const result = await runToBuffer(caps.ffmpeg, args, { expectedBytes, timeoutMs: this.timeoutMs, stdin: Buffer.concat(files) });
    if (!complete(result, expectedBytes)) throw decodeFailure(folder, result, sorted.length, width * height * 3, this.timeoutMs);
    return gatherClip(result.stdout, sorted, indices, width, height);
  }

  async *streamWindows(folder: string, opts: WindowOptions): AsyncGenerator<WindowClip> {
    checkWindow(opts.window, opts.stride);
    const caps = await ensureFfmpeg(this.paths);
    const info = await this.probe(folder);
    const { width, height } = resolveOutputSize(info.width, info.height, opts.size);
    const args = [
      ...QUIET_ARGS,
      "-filter_threads", "1",
      "-threads", "1",
      "-f", "image2",
      "-pattern_type", "sequence",
      "-start_number", String(this.startIndex),
      "-i", fileUrl(join(folder.replace(/%/g, "%%"), this.names.printf)),
      "-map", "0:v:0",
      "-vf", `scale=${width}:${height}:flags=bilinear,format=rgb24`,
      ...caps.passthrough,
    ];
    const starts = windowStarts(info.frameCount, opts.window, opts.stride);
    yield* decodeWindows({ path: folder, ffmpeg: caps.ffmpeg, args, starts, window: opts.window, width, height });
  }

  private missingHint(): string {
    return (
      `frame files are named with the template "${this.template}" numbered from ${this.startIndex} ` +
      `(frame index 0 = ${this.names.format(this.startIndex)}); check the template and startIndex options`
    );
  }
}
