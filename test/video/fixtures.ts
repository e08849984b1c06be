/**
 * Test fixtures: tiny videos whose frames show their own index, so every decoded frame can be
 * checked. Frame i is 64×48 (by default) with 8 full-height vertical bars; bar b is white when
 * bit (7 − b) of i is set (bar 0 = most significant bit), black otherwise.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { FfmpegReader } from "../../src/video/ffmpeg-reader.ts";
import { LibavReader, libavAvailable } from "../../src/video/libav-reader.ts";
import { frameView, type Clip } from "../../src/video/reader.ts";

/**
 * The readers every shared video test runs against: the ffmpeg programs and, when this build of
 * the addon has it, the in-process decoder.
 */
export const READERS: [string, FfmpegReader | LibavReader][] = [
  ["ffmpeg-cli", new FfmpegReader()],
  ...(libavAvailable() ? ([["libav", new LibavReader()]] as [string, LibavReader][]) : []),
];

export const W = 64;
export const H = 48;

/** Raw RGB24 frames 0..n-1 (n ≤ 256), back to back. */
export function indexFrames(n: number, width = W, height = H): Buffer {
  const frameBytes = width * height * 3;
  const buf = Buffer.alloc(n * frameBytes);
  for (let i = 0; i < n; i++) {
    for (let x = 0; x < width; x++) {
      const bar = Math.floor((x * 8) / width);
      if (((i >> (7 - bar)) & 1) === 0) continue;
      for (let y = 0; y < height; y++) buf.fill(255, i * frameBytes + (y * width + x) * 3, i * frameBytes + (y * width + x) * 3 + 3);
    }
  }
  return buf;
}

/** Runs ffmpeg with `input` on stdin; rejects with its stderr on failure. */
/**
 * The ffmpeg arguments that copy `input` to `output` with a display matrix rotating it `clockwise`
 * degrees (what phones write). ffmpeg ≤ 5 turned the `rotate` metadata tag into one; from 6 on
 * the tag is only text and the input option -display_rotation (counter-clockwise) sets it.
 */
export function rotatedCopyArgs(input: string, output: string, clockwise: number, codec: string[] = ["-c", "copy"]): string[] {
  const major = Number(/ffmpeg version n?(\d+)/.exec(spawnSync("ffmpeg", ["-version"], { encoding: "utf8" }).stdout ?? "")?.[1] ?? 0);
  return major >= 6
    ? ["-display_rotation", String(-clockwise), "-i", input, ...codec, output]
    : ["-i", input, ...codec, "-metadata:s:v", `rotate=${clockwise}`, output];
}

export function ffmpeg(args: string[], input?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn("ffmpeg", ["-nostdin", "-v", "error", "-y", ...args], { stdio: [input ? "pipe" : "ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg ${args.join(" ")} failed: ${err}`))));
    if (input) p.stdin!.end(input);
  });
}

/** Encodes `n` index frames to `path` at `rate` (e.g. "25", "30000/1001") with the given output options. */
export function encodeIndexVideo(path: string, n: number, rate: string, outputArgs: string[], preInput: string[] = []): Promise<void> {
  return ffmpeg(
    ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", `${W}x${H}`, "-r", rate, ...preInput, "-i", "pipe:0", ...outputArgs, path],
    indexFrames(n),
  );
}

/** H.264 with a keyframe every 12 frames and 2 B-frames between references, so seeks cross GOPs. */
export const X264 = ["-c:v", "libx264", "-g", "12", "-keyint_min", "12", "-sc_threshold", "0", "-bf", "2", "-x264-params", "b-adapt=0", "-pix_fmt", "yuv420p"];
export const MJPEG = ["-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p"];

/**
 * Reads the index shown by frame t. `orientation` says where the bars are: "columns" (as
 * encoded), "rows-down" (bar 0 at the top: frames rotated 90° clockwise), "rows-up" (bar 0 at the
 * bottom: rotated 90° counter-clockwise).
 */
export function frameIndex(clip: Clip, t: number, orientation: "columns" | "rows-down" | "rows-up" = "columns"): number {
  const f = frameView(clip, t);
  const { width, height } = clip;
  let v = 0;
  for (let b = 0; b < 8; b++) {
    let x: number;
    let y: number;
    if (orientation === "columns") {
      x = Math.floor(((b + 0.5) * width) / 8);
      y = height >> 1;
    } else {
      x = width >> 1;
      const r = Math.floor(((b + 0.5) * height) / 8);
      y = orientation === "rows-down" ? r : height - 1 - r;
    }
    const o = (y * width + x) * 3;
    const lum = (f[o]! + f[o + 1]! + f[o + 2]!) / 3;
    v = v * 2 + (lum > 127 ? 1 : 0);
  }
  return v;
}

/** All indices shown by a clip. */
export function clipIndices(clip: Clip, orientation?: "columns" | "rows-down" | "rows-up"): number[] {
  return Array.from({ length: clip.frames }, (_, t) => frameIndex(clip, t, orientation));
}

/** A fresh temp dir and its cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `videomae-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
