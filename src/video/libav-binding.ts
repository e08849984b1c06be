/**
 * The addon's `video` binding table (native/src/video/): FFmpeg's libraries in-process. The addon
 * is loaded through src/torch/native.ts, the one place that knows where it is and how to load it.
 */
import { native } from "../torch/native.ts";

/** What the native probe reads from the container and the video stream (ffprobe's raw fields). */
export interface NativeProbe {
  formatName: string;
  /** Container start/duration in microseconds (AV_TIME_BASE), null when unknown. */
  formatStart: number | null;
  formatDuration: number | null;
  streamIndex: number;
  codec: string;
  width: number;
  height: number;
  rFrameRate: [number, number];
  avgFrameRate: [number, number];
  timeBase: [number, number];
  /** Stream start/duration in time-base units, null when unknown. */
  start: number | null;
  duration: number | null;
  /** Frame count in the header (0 when the container has none). */
  nbFrames: number;
  /** av_display_rotation_get of the display matrix (counter-clockwise degrees), null without one. */
  displayRotation: number | null;
  rotateTag: string | null;
  /** Packets of the stream (when counted). */
  packets: number | null;
  /** Frames the decoder outputs (when counted). */
  frames: number | null;
}

export interface NativeReadSpec {
  /** Distinct, increasing frame indices. */
  indices: Float64Array;
  width: number;
  height: number;
  /** Index = frames output since the start of the file (true), or from timestamps (false). */
  countMode: boolean;
  /** Timestamp mode: seek like `ffmpeg -ss` to this many µs after the container start first. */
  seekUs?: number;
  startSec?: number;
  rateNum?: number;
  rateDen?: number;
}

export interface NativeReadResult {
  /** `found` frames (RGB24, width·height·3 bytes each) in index order. */
  data: Buffer;
  found: number;
  /** Count mode decoded to the end: the frames the decoder output in all; else null. */
  totalFrames: number | null;
}

/** One open video (demuxer + decoder + scaler) in native memory; `close()` frees it (so does GC). */
export interface NativeDecoder {
  probe(countPackets: boolean, countFrames: boolean, timeoutMs: number): Promise<NativeProbe>;
  read(spec: NativeReadSpec, timeoutMs: number): Promise<NativeReadResult>;
  close(): void;
}

export type VideoBinding =
  | {
      available: true;
      versions: Record<"avformat" | "avcodec" | "swscale" | "avutil", string>;
      Decoder: new (path: string, threads: number) => NativeDecoder;
    }
  | { available: false; reason: string };

/** The binding, or why there is none (an addon built without FFmpeg's libraries, or an old build). */
export function videoBinding(): VideoBinding {
  const v = (native as unknown as { video?: VideoBinding }).video;
  if (v) return v;
  return {
    available: false,
    reason: "the native addon was built before the in-process video decoder existed; rebuild it with `node scripts/build-native.mjs --force`",
  };
}
