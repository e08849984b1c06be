/**
 * `videomae frames VIDEO --indices 0,4,8 [--size S | --width W --height H] --out frames.npy`:
 * decodes the given frames with the data loaders' reader and saves them as a uint8 NumPy array
 * of shape (T, H, W, 3), RGB — for checking decoding against another tool (decord, PyAV, OpenCV).
 */

import { writeNpy } from "../../io/npy.ts";
import { createVideoReader, type ResizeSpec } from "../../video/index.ts";
import { assertFile } from "../../video/probe.ts";
import { ensureWritableFileDir, writingFile } from "../../util/output.ts";
import { defineCommand, UsageError } from "../command.ts";
import { useDecoder } from "../decoder.ts";
import { decoderOption, jsonOutputOption } from "../options/groups.ts";
import { number, text } from "../options/schema.ts";
import { runFrameRequests } from "./frames_requests.ts";

/** How decoded frames are resized (shared by the single-video and the batch mode). */
export const frameSizeOptions = {
  size: number({ valueName: "S", description: "resize so the short side is S, keeping the aspect ratio (long side truncated, as the official short-side resize)", defaultText: "no resize" }),
  width: number({ valueName: "W", description: "with --height: resize to exactly W×H instead (aspect ratio not kept)", defaultText: "no resize" }),
  height: number({ valueName: "H", description: "with --width: the height of the exact resize", defaultText: "no resize" }),
};

export const framesCommand = defineCommand({
  name: "frames",
  usage: `VIDEO --indices I,J,... --out FILE.npy [--size S | --width W --height H] [--json]
       videomae frames --requests REQ.jsonl --out-dir DIR [--size S | --width W --height H]`,
  description: `Decodes the frames at the given 0-based indices (presentation order, as decord's get_batch;
any order, repeats allowed) and writes them, in that order, as a uint8 RGB array of shape
(T, H, W, 3) to a NumPy .npy file (np.load reads it).

Batch mode (one process for many videos, e.g. to check decoding against another tool):
--requests FILE holds JSON lines {"video": PATH, "indices": [..]} (relative paths resolve against
FILE's folder); line N is decoded into DIR/N.npy (uint8, T×H×W×3); a bad line or video is
reported and skipped, the rest completes; prints a JSON summary {requests, written, failed,
errors: [{line, video, error}]} (exit code 1 when a line failed).`,
  options: {
    indices: text({ valueName: "LIST", description: 'comma-separated frame indices, e.g. 0,4,8 (see "videomae probe" for the frame count)' }),
    out: text({ valueName: "FILE.npy", description: ".npy file to write (missing folders are created)" }),
    ...frameSizeOptions,
    ...jsonOutputOption('{"out", "shape", "dtype", "indices"}'),
    ...decoderOption,
    requests: text({ valueName: "FILE", description: "batch mode: JSON lines of videos and indices" }),
    outDir: text({ valueName: "DIR", description: "batch mode: where the .npy files go (created if missing)" }),
  },
  operands: true,
  epilogue: `Example:
  videomae frames clip.mp4 --indices 0,4,8,12 --size 224 --out frames.npy
  python -c "import numpy as np; print(np.load('frames.npy').shape)"   # (4, 224, 298, 3)`,
  async run(values, positionals) {
    useDecoder(values.decoder);
    if (values.requests !== undefined || values.outDir !== undefined) return runFrameRequests(values, positionals);
    if (positionals.length !== 1) throw new UsageError(`expected one VIDEO, got ${positionals.length === 0 ? "none" : positionals.join(" ")}`);
    if (values.indices === undefined) throw new UsageError("--indices is required, e.g. --indices 0,4,8");
    if (!values.out) throw new UsageError("--out FILE.npy is required");
    const indices = parseIndices(values.indices);
    const size = parseSize(values);
    const path = positionals[0]!;
    await assertFile(path, "check the path on the command line");
    ensureWritableFileDir(values.out); // before decoding

    const clip = await createVideoReader().readFrames(path, indices, size);
    const shape = [clip.frames, clip.height, clip.width, 3];
    const out = values.out;
    await writingFile(out, () => writeNpy(out, { dtype: "uint8", shape, data: clip.data }));
    if (values.json) console.log(JSON.stringify({ out: values.out, shape, dtype: "uint8", indices }));
    else console.log(`wrote ${values.out}: uint8 array (${shape.join(", ")}) — frames ${indices.join(",")} of ${path}`);
    return 0;
  },
});

/** "0,4,8" → [0, 4, 8]; whitespace around entries is allowed, anything else is a usage error. */
export function parseIndices(text: string): number[] {
  const parts = text.split(",").map((p) => p.trim());
  const bad = parts.find((p) => !/^\d+$/.test(p));
  if (bad !== undefined) {
    throw new UsageError(`--indices must be comma-separated frame numbers (integers ≥ 0), e.g. 0,4,8; got '${text}' (bad entry '${bad}')`);
  }
  const out = parts.map(Number);
  const huge = out.find((i) => !Number.isSafeInteger(i));
  if (huge !== undefined) throw new UsageError(`--indices: ${parts[out.indexOf(huge)]} is too large`);
  return out;
}

/** The resize of `frameSizeOptions` (values already checked by the schema): short side, exact size, or none. */
export function parseSize({ size, width, height }: { size?: number; width?: number; height?: number }): ResizeSpec | undefined {
  if (size !== undefined) {
    if (width !== undefined || height !== undefined) throw new UsageError("give either --size (short side) or --width and --height, not both");
    return { shortSide: size };
  }
  if (width === undefined && height === undefined) return undefined;
  if (width === undefined || height === undefined) throw new UsageError("--width and --height go together (or use --size for a short-side resize)");
  return { width, height };
}
