/**
 * Decoder-independent helpers shared by the readers: index validation, the ffmpeg `select`
 * expression for a set of frames, reordering decoded frames into the requested order, and
 * cutting a sequential frame stream into windows.
 */
import type { Readable } from "node:stream";

import { FrameIndexError } from "./errors.ts";
import type { Clip, WindowClip } from "./reader.ts";

/** Throws FrameIndexError unless every index is an integer in 0..frameCount-1. */
export function checkIndices(path: string, indices: readonly number[], frameCount: number): void {
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= frameCount) throw new FrameIndexError(path, i, frameCount);
  }
}

/** The distinct indices in increasing order: the order frames come out of a decoder. */
export function distinctSorted(indices: readonly number[]): number[] {
  return [...new Set(indices)].sort((a, b) => a - b);
}

/**
 * An ffmpeg expression that is 1 for the frames in `sorted` (distinct, increasing) and 0
 * otherwise. `indexExpr` computes a frame's index: `n` (count of frames seen) or a timestamp
 * formula. It is evaluated once into register 0, then runs of equally spaced indices become one
 * `between(...)·not(mod(...))` term each, so every-4th-frame lists over a long video stay short.
 *   [3, 5, 7, 9, 20] -> "st(0,n);between(ld(0),3,9)*not(mod(ld(0)-3,2))+eq(ld(0),20)"
 */
export function selectExpr(sorted: readonly number[], indexExpr: string): string {
  const terms: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const a = sorted[i]!;
    let j = i;
    if (i + 2 < sorted.length) {
      const d = sorted[i + 1]! - a;
      while (j + 1 < sorted.length && sorted[j + 1]! - sorted[j]! === d) j++;
      if (j - i < 2) j = i; // runs shorter than 3 are cheaper as single terms
    }
    if (j === i) {
      terms.push(`eq(ld(0),${a})`);
      i++;
      continue;
    }
    const b = sorted[j]!;
    const d = sorted[i + 1]! - a;
    terms.push(d === 1 ? `between(ld(0),${a},${b})` : `between(ld(0),${a},${b})*not(mod(ld(0)-${a},${d}))`);
    i = j + 1;
  }
  return `st(0,${indexExpr});${terms.join("+")}`;
}

/**
 * Builds the clip in request order from frames decoded in `sorted` order (one frame of
 * `frameBytes` each, back to back in `decoded`).
 */
export function gatherClip(
  decoded: Uint8Array,
  sorted: readonly number[],
  indices: readonly number[],
  width: number,
  height: number,
): Clip {
  const frameBytes = width * height * 3;
  const sameOrder = indices.length === sorted.length && indices.every((v, k) => v === sorted[k]);
  if (sameOrder) return { data: decoded, frames: indices.length, height, width };
  const slot = new Map<number, number>();
  sorted.forEach((v, k) => slot.set(v, k));
  const data = new Uint8Array(indices.length * frameBytes);
  indices.forEach((v, t) => {
    const k = slot.get(v)!;
    data.set(decoded.subarray(k * frameBytes, (k + 1) * frameBytes), t * frameBytes);
  });
  return { data, frames: indices.length, height, width };
}

/** Window starts 0, stride, 2·stride, … while start ≤ frameCount − window (spec §7: range(0, F−window+1, stride)). */
export function windowStarts(frameCount: number, window: number, stride: number): number[] {
  checkWindow(window, stride);
  const starts: number[] = [];
  for (let s = 0; s <= frameCount - window; s += stride) starts.push(s);
  return starts;
}

export function checkWindow(window: number, stride: number): void {
  if (!Number.isInteger(window) || window <= 0) throw new RangeError(`streamWindows: window must be a positive integer, got ${window}`);
  if (!Number.isInteger(stride) || stride <= 0) throw new RangeError(`streamWindows: stride must be a positive integer, got ${stride}`);
}

/** Re-chunks a byte stream (ffmpeg's rawvideo stdout) into whole frames of `frameBytes`. */
export async function* frameStream(stream: Readable, frameBytes: number): AsyncGenerator<Uint8Array> {
  let frame = new Uint8Array(frameBytes);
  let filled = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(frameBytes - filled, chunk.length - off);
      frame.set(chunk.subarray(off, off + n), filled);
      filled += n;
      off += n;
      if (filled === frameBytes) {
        yield frame;
        frame = new Uint8Array(frameBytes);
        filled = 0;
      }
    }
  }
  // A trailing partial frame means the decoder died mid-frame; the caller sees it as a short count.
}

/**
 * Cuts a sequential stream of frames 0, 1, 2, … into windows at `starts` (increasing). Only the
 * frames of the current window are kept; frames no window needs are dropped as they arrive.
 * Returns (through `counted.frames`) how many frames the stream delivered before it stopped.
 */
export async function* windowsFromFrames(
  frames: AsyncIterable<Uint8Array>,
  starts: readonly number[],
  window: number,
  width: number,
  height: number,
  counted: { frames: number },
): AsyncGenerator<WindowClip> {
  const frameBytes = width * height * 3;
  let next = 0; // position in `starts` of the next window to emit
  let held: Uint8Array[] = []; // frames starts[next] .. starts[next]+held.length-1
  let index = 0;
  counted.frames = 0;
  if (starts.length === 0) return;
  for await (const frame of frames) {
    counted.frames = ++index;
    const i = index - 1;
    const start = starts[next]!;
    if (i < start) continue;
    held.push(frame);
    if (held.length < window) continue;
    const data = new Uint8Array(window * frameBytes);
    held.forEach((f, t) => data.set(f, t * frameBytes));
    yield { start, clip: { data, frames: window, height, width } };
    next++;
    if (next === starts.length) return;
    // Keep the frames the next window shares with this one (stride < window).
    held = held.slice(Math.min(starts[next]! - start, held.length));
  }
}
