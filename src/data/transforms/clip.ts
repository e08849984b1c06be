/**
 * Clip types shared by the augmentation transforms, plus the cheap layout helpers (crop, flip).
 *
 * Two layouts are used:
 *  - `Clip` (from src/video/reader.ts): decoded RGB uint8, laid out (T, H, W, 3); the pixel
 *    (t, y, x) channel c is at ((t·H + y)·W + x)·3 + c. All uint8 transforms take and return it.
 *  - `FloatClip`: float32 network input, laid out (C, T, H, W) like the official tensors;
 *    element (c, t, y, x) is at ((c·T + t)·H + y)·W + x.
 *
 * Everything here is pure TypeScript (the transforms run inside data-loader worker threads).
 */
import type { Clip } from "../../video/reader.ts";

export type { Clip };

/** A float clip laid out (C, T, H, W). */
export interface FloatClip {
  data: Float32Array;
  channels: number;
  frames: number;
  height: number;
  width: number;
}

/** An axis-aligned pixel box: columns x..x+w−1, rows y..y+h−1. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Bad input to a transform (wrong sizes, bad options). */
export class TransformError extends Error {
  override name = "TransformError";
}

/** Throws TransformError unless `clip` is a consistent (T, H, W, 3) uint8 clip. */
export function checkClip(clip: Clip, what = "clip"): void {
  const { frames, height, width, data } = clip;
  for (const [k, v] of [["frames", frames], ["height", height], ["width", width]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new TransformError(`${what}: ${k} must be a positive integer, got ${v}`);
  }
  if (!(data instanceof Uint8Array)) throw new TransformError(`${what}: data must be a Uint8Array`);
  const n = frames * height * width * 3;
  if (data.length !== n) {
    throw new TransformError(`${what}: data has ${data.length} bytes, expected ${frames}×${height}×${width}×3 = ${n}`);
  }
}

/** Throws TransformError unless `box` has integer coordinates and lies inside a width×height image. */
export function checkBox(box: Box, width: number, height: number, what = "box"): void {
  const { x, y, w, h } = box;
  if (![x, y, w, h].every(Number.isInteger) || w <= 0 || h <= 0 || x < 0 || y < 0 || x + w > width || y + h > height) {
    throw new TransformError(`${what}: (x ${x}, y ${y}, w ${w}, h ${h}) is not inside a ${width}×${height} frame`);
  }
}

/** Bytes of one (H, W, 3) frame. */
export function frameSize(clip: { height: number; width: number }): number {
  return clip.height * clip.width * 3;
}

/** A new uint8 clip with the same frame count. */
export function emptyClip(frames: number, height: number, width: number): Clip {
  return { data: new Uint8Array(frames * height * width * 3), frames, height, width };
}

/** Applies `fn(src, dst, t)` to every frame: `src` is the input frame, `dst` a fresh output frame. */
export function mapFrames(clip: Clip, fn: (src: Uint8Array, dst: Uint8Array, t: number) => void): Clip {
  const out = emptyClip(clip.frames, clip.height, clip.width);
  const n = frameSize(clip);
  for (let t = 0; t < clip.frames; t++) fn(clip.data.subarray(t * n, (t + 1) * n), out.data.subarray(t * n, (t + 1) * n), t);
  return out;
}

/** The same box cut out of every frame (a copy). */
export function cropClip(clip: Clip, box: Box): Clip {
  checkBox(box, clip.width, clip.height, "crop");
  const { x, y, w, h } = box;
  const out = emptyClip(clip.frames, h, w);
  const rowOut = w * 3;
  for (let t = 0; t < clip.frames; t++) {
    for (let r = 0; r < h; r++) {
      const src = ((t * clip.height + y + r) * clip.width + x) * 3;
      out.data.set(clip.data.subarray(src, src + rowOut), (t * h + r) * rowOut);
    }
  }
  return out;
}

/**
 * Like cropClip, but the box may extend past the frame: uncovered pixels are black, as PIL's
 * `Image.crop` does.
 */
export function cropPadded(clip: Clip, box: Box): Clip {
  const { x, y, w, h } = box;
  if (![x, y, w, h].every(Number.isInteger) || w <= 0 || h <= 0) throw new TransformError(`crop: bad box (x ${x}, y ${y}, w ${w}, h ${h})`);
  const out = emptyClip(clip.frames, h, w);
  const x0 = Math.max(0, x);
  const x1 = Math.min(clip.width, x + w);
  if (x1 <= x0) return out;
  for (let t = 0; t < clip.frames; t++) {
    for (let r = Math.max(0, y); r < Math.min(clip.height, y + h); r++) {
      const src = ((t * clip.height + r) * clip.width + x0) * 3;
      out.data.set(clip.data.subarray(src, src + (x1 - x0) * 3), ((t * h + r - y) * w + x0 - x) * 3);
    }
  }
  return out;
}

/** Mirror every frame left–right (a copy). */
export function flipClip(clip: Clip): Clip {
  const { width: W } = clip;
  return mapFrames(clip, (src, dst) => {
    for (let o = 0; o < src.length; o += W * 3) {
      for (let x = 0; x < W; x++) {
        const i = o + x * 3;
        const j = o + (W - 1 - x) * 3;
        dst[j] = src[i]!;
        dst[j + 1] = src[i + 1]!;
        dst[j + 2] = src[i + 2]!;
      }
    }
  });
}

/** Python 3's round() for the values it is used on here: nearest integer, ties to even. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}
