/**
 * The video reader interface. Two implementations live next to this file: FfmpegReader (video
 * files, through the ffmpeg/ffprobe programs) and FrameFolderReader (folders of JPEG frames).
 * A faster in-process decoder can be added later behind the same interface.
 *
 * Frame indices are 0-based positions in presentation order: index i is the (i+1)-th frame
 * the decoder outputs, which is what decord's `vr[i]` / `get_batch` return in the official code.
 */

/** What a reader knows about a video before decoding it. */
export interface VideoInfo {
  path: string;
  /** Displayed size: already rotated when the file carries rotation metadata. */
  width: number;
  height: number;
  /** Frames per second (nominal for constant-rate video, average for variable-rate video). */
  fps: number;
  /** Number of frames; valid indices are 0..frameCount-1. */
  frameCount: number;
  durationSec: number;
  /** Clockwise rotation (0, 90, 180 or 270 degrees) applied to decoded frames for display. */
  rotation: number;
  /** Codec name as ffprobe reports it ("h264", "mjpeg", "vp9", ...). */
  codec: string;
}

/** Frames as RGB uint8, laid out (T, H, W, 3): frame t, row y, column x, channel c at ((t·H + y)·W + x)·3 + c. */
export interface Clip {
  data: Uint8Array;
  frames: number;
  height: number;
  width: number;
}

/**
 * Resize in the decoder. `shortSide` keeps the aspect ratio like the official
 * `video_transforms.Resize(short_side_size)`: the short side becomes `shortSide` and the long
 * side is int-truncated, `int(shortSide · long / short)` (e.g. 64×48 → shortSide 32 → 42×32).
 * `{ width, height }` resizes to exactly that size (aspect not preserved).
 */
export type ResizeSpec = { shortSide: number } | { width: number; height: number };

export interface WindowOptions {
  /** Frames per window (16 for the TAD extractor). */
  window: number;
  /** Distance between window starts (4 for THUMOS14, 16 for FineAction). */
  stride: number;
  size?: ResizeSpec;
}

/** One window of consecutive frames, `clip.frames === window`, covering frames start..start+window-1. */
export interface WindowClip {
  start: number;
  clip: Clip;
}

export interface VideoReader {
  probe(path: string): Promise<VideoInfo>;
  /**
   * Decodes the frames at `indices` (any order, repeats allowed; each distinct frame is decoded
   * once) and returns them in the order of `indices`. Indices outside 0..frameCount-1 throw
   * FrameIndexError; the samplers in src/data/samplers.ts only produce valid ones.
   */
  readFrames(path: string, indices: readonly number[], size?: ResizeSpec): Promise<Clip>;
  /**
   * Decodes the video once, sequentially, and yields windows starting at 0, stride, 2·stride, …
   * for every start ≤ frameCount − window (spec §7), keeping only the frames still needed.
   */
  streamWindows(path: string, opts: WindowOptions): AsyncIterable<WindowClip>;
}

/** Output size for a source of `width`×`height` under `size` (see ResizeSpec). */
export function resolveOutputSize(width: number, height: number, size?: ResizeSpec): { width: number; height: number } {
  if (!size) return { width, height };
  if ("shortSide" in size) {
    const s = size.shortSide;
    if (!Number.isInteger(s) || s <= 0) throw new RangeError(`resize: shortSide must be a positive integer, got ${s}`);
    // Same branch and truncation as the official get_resize_sizes (width wins ties).
    if (width < height) return { width: s, height: Math.floor((s * height) / width) };
    return { width: Math.floor((s * width) / height), height: s };
  }
  const { width: w, height: h } = size;
  if (!Number.isInteger(w) || !Number.isInteger(h) || w <= 0 || h <= 0) {
    throw new RangeError(`resize: width and height must be positive integers, got ${w}×${h}`);
  }
  return { width: w, height: h };
}

/** The bytes of frame t of a clip (a view, not a copy), laid out (H, W, 3). */
export function frameView(clip: Clip, t: number): Uint8Array {
  if (!Number.isInteger(t) || t < 0 || t >= clip.frames) throw new RangeError(`frame ${t} out of range 0..${clip.frames - 1}`);
  const n = clip.height * clip.width * 3;
  return clip.data.subarray(t * n, (t + 1) * n);
}
