// streamWindows: one sequential decode cut into windows (TAD feature extraction, spec §7).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { VideoDecodeError } from "../../src/video/errors.ts";
import { windowStarts } from "../../src/video/frames.ts";
import type { WindowClip } from "../../src/video/reader.ts";
import { clipIndices, encodeIndexVideo, MJPEG, READERS, tempDir, X264 } from "./fixtures.ts";

const { dir, cleanup } = tempDir("windows");
const file = (name: string) => join(dir, name);
const range = (a: number, n: number) => Array.from({ length: n }, (_, k) => a + k);

async function collect(it: AsyncIterable<WindowClip>): Promise<WindowClip[]> {
  const out: WindowClip[] = [];
  for await (const w of it) out.push(w);
  return out;
}

before(async () => {
  await Promise.all([
    encodeIndexVideo(file("v.mp4"), 70, "25", X264),
    encodeIndexVideo(file("v.avi"), 40, "25", MJPEG),
    encodeIndexVideo(file("faststart.mp4"), 80, "25", [...X264, "-movflags", "+faststart"]),
  ]);
  const b = readFileSync(file("faststart.mp4"));
  writeFileSync(file("cut.mp4"), b.subarray(0, Math.floor(b.length * 0.75)));
});
after(cleanup);

for (const [label, reader] of READERS) describe(label, () => {
  test("window 16, stride 4: starts range(0, F−15, 4), each window 16 consecutive frames", async () => {
    const windows = await collect(reader.streamWindows(file("v.mp4"), { window: 16, stride: 4 }));
    assert.deepEqual(
      windows.map((w) => w.start),
      [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52], // F = 70: last start 52 ≤ 54
    );
    for (const w of windows) {
      assert.deepEqual([w.clip.frames, w.clip.width, w.clip.height], [16, 64, 48]);
      assert.deepEqual(clipIndices(w.clip), range(w.start, 16));
    }
  });

  test("stride larger than the window skips frames; resize applies", async () => {
    const windows = await collect(reader.streamWindows(file("v.mp4"), { window: 8, stride: 20, size: { shortSide: 32 } }));
    assert.deepEqual(windows.map((w) => w.start), [0, 20, 40, 60]);
    for (const w of windows) {
      assert.deepEqual([w.clip.width, w.clip.height, w.clip.data.length], [42, 32, 8 * 42 * 32 * 3]);
      assert.deepEqual(clipIndices(w.clip), range(w.start, 8));
    }
  });

  test("MJPEG avi, stride 16 (FineAction), exact-size resize", async () => {
    const windows = await collect(reader.streamWindows(file("v.avi"), { window: 16, stride: 16, size: { width: 32, height: 24 } }));
    assert.deepEqual(windows.map((w) => w.start), [0, 16]);
    assert.deepEqual(clipIndices(windows[1]!.clip), range(16, 16));
  });

  test("a video shorter than the window yields nothing", async () => {
    assert.deepEqual(await collect(reader.streamWindows(file("v.avi"), { window: 41, stride: 1 })), []);
  });

  test("breaking out early stops the decoder", async () => {
    let n = 0;
    for await (const w of reader.streamWindows(file("v.mp4"), { window: 16, stride: 1 })) {
      assert.deepEqual(clipIndices(w.clip), range(w.start, 16));
      if (++n === 3) break;
    }
    assert.equal(n, 3);
  });

  test("a truncated video fails after the windows it could decode", async () => {
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const w of reader.streamWindows(file("cut.mp4"), { window: 16, stride: 16 })) seen.push(w.start);
      })(),
      (e: unknown) => e instanceof VideoDecodeError && /decoder stopped after \d+ frames but the windows need 80/.test(e.message),
    );
    assert.ok(seen.length >= 1 && seen.length < 5, `windows before the error: ${seen}`);
  });
});

test("windowStarts matches range(0, F − window + 1, stride)", () => {
  assert.deepEqual(windowStarts(100, 16, 4), range(0, 22).map((k) => 4 * k));
  assert.deepEqual(windowStarts(16, 16, 4), [0]);
  assert.deepEqual(windowStarts(15, 16, 4), []);
  assert.throws(() => windowStarts(100, 16, 0), RangeError);
});
