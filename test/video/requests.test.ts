// `videomae frames --requests REQ.jsonl --out-dir DIR`: a 1,000-line batch in one process, with
// bad lines and a broken video counted and skipped while the rest completes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { decodeNpy } from "../../src/io/npy.ts";
import { readFrameRequests } from "../../src/video/requests.ts";
import { clipIndices, encodeIndexVideo, MJPEG, tempDir, X264 } from "./fixtures.ts";

const { dir, cleanup } = tempDir("requests");
const file = (name: string) => join(dir, name);
const BIN = join(import.meta.dirname, "../../bin/videomae.mjs");

before(async () => {
  await Promise.all([encodeIndexVideo(file("a.mp4"), 40, "25", X264), encodeIndexVideo(file("b.avi"), 30, "25", MJPEG)]);
  writeFileSync(file("broken.mp4"), readFileSync(file("a.mp4")).subarray(0, 2000));
});
after(cleanup);

test("request lines: relative paths resolve against the file's folder; malformed lines are reported", async () => {
  writeFileSync(file("r.jsonl"), ['{"video": "a.mp4", "indices": [1, 2]}', "", "{oops", '{"video": "a.mp4", "indices": [1.5]}', "[1]"].join("\n"));
  const { requests, bad } = await readFrameRequests(file("r.jsonl"));
  assert.deepEqual(requests, [{ line: 1, video: file("a.mp4"), indices: [1, 2] }]);
  assert.deepEqual(bad.map((b) => b.line), [3, 4, 5]);
});

test("1,000 requests in one process: every good line written, bad lines and videos skipped", () => {
  const lines: string[] = [];
  const expect = new Map<number, number[]>();
  for (let k = 0; k < 1000; k++) {
    const line = k + 1;
    if (k === 500) lines.push('{"video": "broken.mp4", "indices": [0, 30]}');
    else if (k === 700) lines.push('{"video": "missing.mp4", "indices": [0]}');
    else if (k === 800) lines.push("not json");
    else if (k === 900) lines.push('{"video": "a.mp4", "indices": [40]}'); // out of range
    else {
      const [name, n] = k % 2 ? ["b.avi", 30] : ["a.mp4", 40];
      const idx = [(k * 7) % n, (k * 3) % n, (k * 7) % n];
      lines.push(JSON.stringify({ video: name, indices: idx }));
      expect.set(line, idx);
    }
  }
  writeFileSync(file("req.jsonl"), lines.join("\n") + "\n");
  const r = spawnSync(process.execPath, [BIN, "frames", "--requests", file("req.jsonl"), "--out-dir", file("out"), "--size", "32"], { encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 1, r.stderr); // some lines failed
  const summary = JSON.parse(r.stdout.trim().split("\n").pop()!) as { requests: number; written: number; failed: number; errors: { line: number }[] };
  assert.deepEqual([summary.requests, summary.written, summary.failed], [1000, 996, 4]);
  assert.deepEqual(summary.errors.map((e) => e.line), [501, 701, 801, 901]);
  for (const line of [1, 2, 3, 500, 999, 1000]) {
    const t = decodeNpy(readFileSync(file(`out/${line}.npy`)));
    assert.deepEqual(t.shape, [3, 32, 42, 3]);
    assert.equal(t.dtype, "uint8");
    const clip = { data: t.data as Uint8Array, frames: 3, height: 32, width: 42 };
    assert.deepEqual(clipIndices(clip), expect.get(line), `line ${line}`);
  }
  assert.equal(existsSync(file("out/501.npy")), false);
});
