/**
 * Tiny datasets for the dataset and loader tests: square videos / frame folders whose frames show
 * their own index as 8 vertical bars (test/video/fixtures.ts), plus list files.
 */
import { writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";

import { ffmpeg, indexFrames } from "../video/fixtures.ts";

export const SIZE = 32;

/** An H.264 mp4 of frames 0..n−1, size×size. */
export function indexVideo(path: string, n: number, size = SIZE): Promise<void> {
  return ffmpeg(
    ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", `${size}x${size}`, "-r", "25", "-i", "pipe:0", "-c:v", "libx264", "-g", "8", "-pix_fmt", "yuv444p", "-crf", "12", path],
    indexFrames(n, size, size),
  );
}

/** A folder of JPEG frames img_00001.jpg … (file number = index + 1). */
export async function indexFrameFolder(dir: string, n: number, size = SIZE): Promise<void> {
  await mkdir(dir, { recursive: true });
  await ffmpeg(
    ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", `${size}x${size}`, "-r", "25", "-i", "pipe:0", "-q:v", "2", "-start_number", "1", join(dir, "img_%05d.jpg")],
    indexFrames(n, size, size),
  );
}

/** Index shown in frame t of a float (C, T, H, W) view that was normalised with norm "none" (values in [0, 1]). */
export function floatFrameIndex(view: Float32Array, frames: number, height: number, width: number, t: number): number {
  let v = 0;
  const y = height >> 1;
  for (let b = 0; b < 8; b++) {
    const x = Math.floor(((b + 0.5) * width) / 8);
    v = v * 2 + (view[(t * height + y) * width + x]! > 0.5 ? 1 : 0); // channel 0
  }
  return v;
}

/** Frame indices shown by every frame of view `v` of a packed (V, C, T, H, W) array. */
export function viewIndices(video: Float32Array, v: number, shape: readonly number[]): number[] {
  const [c, t, h, w] = shape as [number, number, number, number];
  const view = video.subarray(v * c * t * h * w, (v + 1) * c * t * h * w);
  return Array.from({ length: t }, (_, k) => floatFrameIndex(view, t, h, w, k));
}

/** Writes the list file `name` in `dir` with `lines`. */
export function writeList(dir: string, name: string, lines: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

/** Collects log lines. */
export function logSink(): { lines: string[]; log: (l: string) => void } {
  const lines: string[] = [];
  return { lines, log: (l) => lines.push(l) };
}
