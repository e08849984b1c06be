/**
 * `videomae frames --requests REQ.jsonl --out-dir DIR [--size S | --width W --height H]`: the
 * batch mode of `videomae frames` (see src/video/requests.ts): every line's frames decoded in
 * this process into DIR/<line>.npy, bad lines and videos reported and skipped, a JSON summary.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { writeNpy } from "../../io/npy.ts";
import { createVideoReader } from "../../video/index.ts";
import { decodeFrameRequests, readFrameRequests } from "../../video/requests.ts";
import { UsageError } from "../command.ts";
import { parseSize } from "./frames.ts";

export async function runFrameRequests(
  values: { requests?: string; outDir?: string; indices?: string; out?: string; size?: number; width?: number; height?: number },
  positionals: string[],
): Promise<number> {
  if (!values.requests || !values.outDir) throw new UsageError("batch mode needs both --requests REQ.jsonl and --out-dir DIR");
  if (positionals.length || values.indices !== undefined || values.out !== undefined) {
    throw new UsageError("--requests takes the videos and indices from the file: no VIDEO, --indices or --out with it");
  }
  const size = parseSize(values);
  const outDir = values.outDir;
  let parsed;
  try {
    parsed = await readFrameRequests(values.requests);
  } catch (e) {
    throw new UsageError(`cannot read --requests ${values.requests}: ${(e as Error).message}`);
  }
  mkdirSync(outDir, { recursive: true });
  for (const b of parsed.bad) process.stderr.write(`skipped line ${b.line}: ${b.error}\n`);
  const reader = createVideoReader();
  const t0 = performance.now();
  try {
    const s = await decodeFrameRequests(parsed.requests, {
      reader,
      size,
      write: (req, clip) => writeNpy(join(outDir, `${req.line}.npy`), { dtype: "uint8", shape: [clip.frames, clip.height, clip.width, 3], data: clip.data }),
      isWriteError: (e) => typeof (e as NodeJS.ErrnoException)?.code === "string",
      onOutcome: (r) => {
        if (r.error) process.stderr.write(`skipped line ${r.line} (${r.video}): ${r.error}\n`);
      },
    });
    const errors = [...parsed.bad, ...s.errors].sort((a, b) => a.line - b.line);
    const summary = {
      requests: s.requests + parsed.bad.length,
      written: s.written,
      failed: s.failed + parsed.bad.length,
      outDir,
      seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
      errors,
    };
    console.log(JSON.stringify(summary));
    return summary.failed ? 1 : 0;
  } finally {
    if ("close" in reader) await reader.close();
  }
}
