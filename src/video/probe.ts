/**
 * ffprobe: video metadata as VideoInfo, plus the timing facts FfmpegReader needs to seek
 * frame-accurately (stream/format start times, the exact frame rate, whether the rate is
 * constant, whether the container seeks by index).
 */
import { VideoDecodeError } from "./errors.ts";
import { checkInputPath, type InputKind } from "./input-file.ts";
import { fileUrl, runToText } from "./ffmpeg.ts";
import type { VideoInfo } from "./reader.ts";

export interface FfmpegVideoInfo extends VideoInfo {
  timing: {
    /** Frame rate as the exact rational ffprobe gives, e.g. [30000, 1001]. */
    rate: [number, number];
    /** First video timestamp, seconds (what frame 0's `t` is in ffmpeg filters under -copyts). */
    streamStartSec: number;
    /** Container start time, seconds; ffmpeg's `-ss` is relative to it. */
    formatStartSec: number;
    /**
     * Constant frame rate, so frame i is at streamStart + i/fps. False for variable-rate video;
     * the reader then counts decoded frames from the start instead of using timestamps.
     */
    constantRate: boolean;
    /** The container has a seek index (mp4/mov, mkv/webm, avi): `-ss` lands on or before the target. */
    indexedSeek: boolean;
    /** Container index of the video stream decoded (`-map 0:<index>`); cover art is skipped. */
    streamIndex: number;
  };
}

/** The subset of ffprobe's JSON this module reads. */
interface ProbeJson {
  streams?: Array<{
    index?: number;
    codec_type?: string;
    disposition?: { attached_pic?: number };
    codec_name?: string;
    width?: number;
    height?: number;
    r_frame_rate?: string;
    avg_frame_rate?: string;
    start_time?: string;
    duration?: string;
    nb_frames?: string;
    nb_read_packets?: string;
    tags?: Record<string, string>;
    side_data_list?: Array<{ side_data_type?: string; rotation?: number | string }>;
  }>;
  format?: { format_name?: string; start_time?: string; duration?: string };
}

/** Runs ffprobe on a video file (missing file: VideoFileNotFoundError; unreadable: VideoDecodeError). */
export async function probeVideo(ffprobe: string, path: string, timeoutMs: number): Promise<FfmpegVideoInfo> {
  await assertFile(path);
  const args = ["-v", "error", "-show_streams", "-show_format", "-of", "json", fileUrl(path)];
  const r = await runToText(ffprobe, args, timeoutMs);
  if (r.timedOut) throw new VideoDecodeError(path, `ffprobe timed out after ${timeoutMs} ms`, r.stderrTail);
  if (r.exitCode !== 0) throw new VideoDecodeError(path, `ffprobe failed (exit code ${r.exitCode})`, r.stderrTail);
  let json: ProbeJson;
  try {
    json = JSON.parse(r.stdout) as ProbeJson;
  } catch {
    throw new VideoDecodeError(path, "ffprobe printed invalid JSON", r.stderrTail);
  }
  const stream = videoStream(json);
  if (!stream) throw new VideoDecodeError(path, "no video stream found", r.stderrTail);

  let packets: number | undefined;
  if (!(Number(stream.nb_frames) > 0)) {
    // No frame count in the header (mkv/webm, mpeg-ts): count packets, which demuxes the whole
    // file without decoding it. One packet is one frame for the codecs used in practice.
    const c = await runToText(
      ffprobe,
      ["-v", "error", "-select_streams", String(stream.index ?? "v:0"), "-count_packets", "-show_entries", "stream=nb_read_packets", "-of", "json", fileUrl(path)],
      timeoutMs,
    );
    if (c.exitCode !== 0) throw new VideoDecodeError(path, `ffprobe -count_packets failed (exit code ${c.exitCode})`, c.stderrTail);
    try {
      packets = Number((JSON.parse(c.stdout) as ProbeJson).streams?.[0]?.nb_read_packets);
    } catch {
      throw new VideoDecodeError(path, "ffprobe -count_packets printed invalid JSON", c.stderrTail);
    }
  }
  return parseProbe(path, json, packets);
}

/** Turns ffprobe's JSON (and a packet count, when the header has no frame count) into FfmpegVideoInfo. */
export function parseProbe(path: string, json: ProbeJson, packetCount?: number): FfmpegVideoInfo {
  const s = videoStream(json);
  if (!s) throw new VideoDecodeError(path, "no video stream found");
  const codedW = s.width ?? 0;
  const codedH = s.height ?? 0;
  if (!(codedW > 0 && codedH > 0)) throw new VideoDecodeError(path, `ffprobe reports no frame size (${codedW}×${codedH})`);

  const nbFrames = Number(s.nb_frames);
  const frameCount = nbFrames > 0 ? nbFrames : packetCount !== undefined && packetCount > 0 ? packetCount : 0;
  if (!(frameCount > 0)) throw new VideoDecodeError(path, "the video stream has no frames");

  const rRate = parseRational(s.r_frame_rate);
  const avgRate = parseRational(s.avg_frame_rate);
  const durationSec = positive(Number(s.duration)) ?? positive(Number(json.format?.duration)) ?? 0;
  const r = rRate[0] / rRate[1];
  const avg = avgRate[0] / avgRate[1];

  // Constant rate needs a nominal rate that (a) agrees with the average rate and (b) explains
  // the frame count over the duration. Matroska reports r == avg even for variable-rate video
  // (from the track's default duration), so (b) is what catches it there. A false "variable"
  // only costs speed (decode from the start); a false "constant" would cost correctness.
  const rateOk = r > 0 && Number.isFinite(r);
  const avgAgrees = !(avg > 0 && Number.isFinite(avg)) || Math.abs(avg - r) / r < 1e-3;
  const countAgrees = durationSec === 0 || Math.abs(frameCount - durationSec * r) <= Math.max(2, 0.02 * frameCount);
  const formatName = json.format?.format_name ?? "";
  // AVI timestamps count container chunks, and empty chunks (dropped frames) shift every later
  // frame's timestamp: select AVI frames by decode order instead (measured on a VP9 AVI whose
  // 5 empty chunks after frame 0 made timestamp selection return the wrong frames).
  const chunkTimed = /(^|,)avi(,|$)/.test(formatName);
  const constantRate = rateOk && avgAgrees && countAgrees && !chunkTimed;
  const fps = constantRate ? r : avg > 0 && Number.isFinite(avg) ? avg : durationSec > 0 ? frameCount / durationSec : rateOk ? r : 0;

  const rotation = rotationOf(s);
  const swap = rotation === 90 || rotation === 270;
  const formatStartSec = finiteOr(Number(json.format?.start_time), 0);

  return {
    path,
    width: swap ? codedH : codedW,
    height: swap ? codedW : codedH,
    fps,
    frameCount,
    durationSec,
    rotation,
    codec: s.codec_name ?? "unknown",
    timing: {
      rate: rateOk ? rRate : [0, 1],
      streamStartSec: finiteOr(Number(s.start_time), formatStartSec),
      formatStartSec,
      constantRate,
      indexedSeek: /(^|,)(mov|mp4|matroska|webm|avi)(,|$)/.test(formatName),
      streamIndex: s.index ?? 0,
    },
  };
}

/** The first video stream that is not cover art (an `attached_pic` MJPEG/PNG stream). */
function videoStream(json: ProbeJson): NonNullable<ProbeJson["streams"]>[number] | undefined {
  return json.streams?.find((s) => s.codec_type === "video" && s.disposition?.attached_pic !== 1);
}

/**
 * Clockwise display rotation, as ffmpeg's autorotate applies it: the legacy `rotate` tag
 * (clockwise degrees, ffmpeg ≤ 4.x) or the display matrix side data, whose `rotation` is
 * counter-clockwise (so the clockwise angle is its negation).
 */
function rotationOf(s: NonNullable<ProbeJson["streams"]>[number]): number {
  const tag = Number(s.tags?.rotate);
  let deg = 0;
  if (Number.isFinite(tag) && tag !== 0) deg = tag;
  else {
    const m = s.side_data_list?.find((d) => d.side_data_type === "Display Matrix" && d.rotation !== undefined);
    if (m) deg = -Number(m.rotation);
  }
  if (!Number.isFinite(deg)) return 0;
  return (((Math.round(deg / 90) * 90) % 360) + 360) % 360;
}

function parseRational(text: string | undefined): [number, number] {
  const m = /^(\d+)(?:\/(\d+))?$/.exec(text ?? "");
  if (!m) return [0, 1];
  const den = m[2] === undefined ? 1 : Number(m[2]);
  return den > 0 ? [Number(m[1]), den] : [0, 1];
}

function positive(x: number): number | undefined {
  return Number.isFinite(x) && x > 0 ? x : undefined;
}

function finiteOr(x: number, fallback: number): number {
  return Number.isFinite(x) ? x : fallback;
}

/**
 * Throws VideoFileNotFoundError for a missing path (clearer than ffprobe's message, and faster),
 * and NotAVideoFileError for a directory, FIFO or device where a video file is expected (or a
 * non-directory where a frame folder is): the shared check of src/video/input-file.ts.
 */
export async function assertFile(path: string, hint?: string, expected: InputKind = "file"): Promise<{ mtimeMs: number; size: number }> {
  const st = await checkInputPath(path, expected, hint);
  return { mtimeMs: st.mtimeMs, size: st.size };
}

/**
 * Probe results per path, valid until the file changes (size and mtime), least recently used
 * dropped first beyond `capacity`. Both readers keep one.
 */
export class ProbeCache {
  private readonly entries = new Map<string, { key: string; info: FfmpegVideoInfo }>();
  constructor(private readonly capacity = 1024) {}

  /** Checks `path` is a regular file (assertFile); its change key, and its info if still valid. */
  async lookup(path: string): Promise<{ key: string; info?: FfmpegVideoInfo }> {
    const st = await assertFile(path);
    const key = `${st.size}:${st.mtimeMs}`;
    const hit = this.entries.get(path);
    if (!hit || hit.key !== key) return { key };
    this.entries.delete(path); // re-insert: Map order doubles as LRU order
    this.entries.set(path, hit);
    return { key, info: hit.info };
  }

  /** The change key `path` was last probed under ("" when it was not). */
  keyOf(path: string): string {
    return this.entries.get(path)?.key ?? "";
  }

  remember(path: string, key: string, info: FfmpegVideoInfo): void {
    this.entries.set(path, { key, info });
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Replaces the remembered info of `path` when it is still `old` (e.g. a corrected frame count). */
  replace(path: string, old: FfmpegVideoInfo, info: FfmpegVideoInfo): void {
    const hit = this.entries.get(path);
    if (hit && hit.info === old) hit.info = info;
  }
}
