/**
 * The addon's `video` binding table (native/src/video/): FFmpeg's libraries in-process. The addon
 * is loaded on first use (not at import), from the same file src/torch/native.ts loads (Node loads
 * a native module once per file), so commands that only decode video work without the tensor
 * layer, and a missing or old addon only means "not available" (the ffmpeg-CLI reader remains).
 */
import { ADDON_PATH, requireAddon } from "../util/addon.ts";

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

let binding: VideoBinding | undefined;

/** The binding, or why there is none (no addon, an addon built without FFmpeg's libraries, an old build). */
export function videoBinding(): VideoBinding {
  if (binding) return binding;
  try {
    const addon = requireAddon() as { video?: VideoBinding };
    binding = addon.video ?? {
      available: false,
      reason: "the native addon was built before the in-process video decoder existed; rebuild it with `node scripts/build-native.mjs`",
    };
  } catch (e) {
    binding = { available: false, reason: `the native addon could not be loaded (${ADDON_PATH}: ${(e as Error).message.split("\n")[0]}); run \`npm run setup\`` };
  }
  return binding;
}
