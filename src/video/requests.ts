/**
 * Batch decoding of frame requests (`videomae frames --requests REQ.jsonl`): one JSON object
 * `{"video": PATH, "indices": [..]}` per line, all decoded in one process with one reader (so
 * the in-process decoder keeps each video open across its lines). A line that is not a valid
 * request, or whose video cannot be decoded, is reported and skipped; the others complete.
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";

import { VideoError } from "./errors.ts";
import type { Clip, ResizeSpec, VideoReader } from "./reader.ts";

export interface FrameRequest {
  /** 1-based line number in the request file (names the output). */
  line: number;
  video: string;
  indices: number[];
}

export interface RequestOutcome {
  line: number;
  video?: string;
  /** Set when the line was skipped. */
  error?: string;
  shape?: [number, number, number, number];
}

export interface RequestSummary {
  requests: number;
  written: number;
  failed: number;
  /** Failed lines only (every outcome goes to `onOutcome`). */
  errors: RequestOutcome[];
}

/**
 * Parses a request file. Blank lines are ignored; relative video paths resolve against the
 * request file's folder. Lines that are not valid requests come back in `bad`.
 */
export async function readFrameRequests(path: string): Promise<{ requests: FrameRequest[]; bad: RequestOutcome[] }> {
  const text = await readFile(path, "utf8");
  const base = dirname(resolve(path));
  const requests: FrameRequest[] = [];
  const bad: RequestOutcome[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (!raw.trim()) return;
    let o: unknown;
    try {
      o = JSON.parse(raw);
    } catch (e) {
      bad.push({ line, error: `not JSON (${(e as Error).message})` });
      return;
    }
    const r = o as { video?: unknown; indices?: unknown };
    if (typeof o !== "object" || o === null || Array.isArray(o)) return void bad.push({ line, error: 'expected an object {"video": PATH, "indices": [..]}' });
    if (typeof r.video !== "string" || !r.video) return void bad.push({ line, error: '"video" must be a non-empty string' });
    const video = isAbsolute(r.video) ? r.video : resolve(base, r.video);
    if (!Array.isArray(r.indices) || !r.indices.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) {
      return void bad.push({ line, video, error: '"indices" must be a list of integers ≥ 0' });
    }
    requests.push({ line, video, indices: r.indices as number[] });
  });
  return { requests, bad };
}

/**
 * Decodes every request with `reader` (up to `concurrency` at a time; lines of one video are
 * served in file order by its open decoder) and hands each clip to `write`. Errors of the video
 * layer (and of `write`) skip the line; anything else (a bug) is rethrown.
 */
export async function decodeFrameRequests(
  requests: readonly FrameRequest[],
  o: {
    reader: VideoReader;
    size?: ResizeSpec;
    concurrency?: number;
    write: (req: FrameRequest, clip: Clip) => Promise<void>;
    onOutcome?: (r: RequestOutcome) => void;
    /** Errors of `write` that mean "skip this line" (e.g. the output folder's I/O errors); default: none. */
    isWriteError?: (e: unknown) => boolean;
  },
): Promise<RequestSummary> {
  const summary: RequestSummary = { requests: requests.length, written: 0, failed: 0, errors: [] };
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const req = requests[next++]!;
      let outcome: RequestOutcome;
      try {
        const clip = await o.reader.readFrames(req.video, req.indices, o.size);
        await o.write(req, clip);
        outcome = { line: req.line, video: req.video, shape: [clip.frames, clip.height, clip.width, 3] };
        summary.written++;
      } catch (e) {
        if (!(e instanceof VideoError) && !(e instanceof RangeError) && !o.isWriteError?.(e)) throw e;
        outcome = { line: req.line, video: req.video, error: (e as Error).message };
        summary.failed++;
        summary.errors.push(outcome);
      }
      o.onOutcome?.(outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 4, requests.length)) }, worker));
  summary.errors.sort((a, b) => a.line - b.line);
  return summary;
}
