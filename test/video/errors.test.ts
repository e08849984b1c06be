// Broken inputs give typed errors quickly (no hang, no partial garbage).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { FfmpegNotFoundError, FrameIndexError, VideoDecodeError, VideoFileNotFoundError } from "../../src/video/errors.ts";
import { FfmpegReader } from "../../src/video/ffmpeg-reader.ts";
import { clipIndices, encodeIndexVideo, tempDir, X264 } from "./fixtures.ts";

const { dir, cleanup } = tempDir("errors");
const file = (name: string) => join(dir, name);
const reader = new FfmpegReader({ timeoutMs: 20_000 });

before(async () => {
  await Promise.all([
    encodeIndexVideo(file("ok.mp4"), 80, "25", X264),
    // moov in front, so a cut file still probes but lacks its last frames.
    encodeIndexVideo(file("faststart.mp4"), 80, "25", [...X264, "-movflags", "+faststart"]),
  ]);
  const cut = (src: string, dst: string, keep: number) => {
    const b = readFileSync(file(src));
    writeFileSync(file(dst), b.subarray(0, Math.floor(b.length * keep)));
  };
  cut("ok.mp4", "cut.mp4", 0.5);
  // The header is a large part of so tiny a file: keeping 3/4 keeps roughly the first 30 frames.
  cut("faststart.mp4", "cut-faststart.mp4", 0.75);
  writeFileSync(file("empty.mp4"), "");
  writeFileSync(file("text.mp4"), "this is not a video\n".repeat(50));
});
after(cleanup);

test("missing file → VideoFileNotFoundError naming the path", async () => {
  const missing = file("nope.mp4");
  await assert.rejects(reader.readFrames(missing, [0]), (e: unknown) => e instanceof VideoFileNotFoundError && e.message.includes(missing));
  await assert.rejects(reader.probe(missing), VideoFileNotFoundError);
});

test("zero-length and non-video files → VideoDecodeError with ffprobe's message", async () => {
  for (const name of ["empty.mp4", "text.mp4"]) {
    await assert.rejects(reader.probe(file(name)), (e: unknown) => {
      assert.ok(e instanceof VideoDecodeError);
      assert.equal(e.path, file(name));
      assert.match(e.message, /ffprobe failed/);
      assert.ok(e.stderrTail.length > 0);
      return true;
    });
  }
});

test("mp4 cut in half (index at the end) → VideoDecodeError", async () => {
  await assert.rejects(reader.readFrames(file("cut.mp4"), [3]), (e: unknown) => e instanceof VideoDecodeError && /moov atom not found/.test(e.message));
});

test("mp4 cut short (index in front): early frames decode, late ones → VideoDecodeError", async () => {
  const info = await reader.probe(file("cut-faststart.mp4"));
  assert.equal(info.frameCount, 80); // the header still claims every frame
  assert.deepEqual(clipIndices(await reader.readFrames(file("cut-faststart.mp4"), [2, 1])), [2, 1]);
  await assert.rejects(reader.readFrames(file("cut-faststart.mp4"), [10, 75]), (e: unknown) => {
    assert.ok(e instanceof VideoDecodeError);
    assert.match(e.message, /returned \d of the 2 frames/);
    return true;
  });
});

test("out-of-range or non-integer indices → FrameIndexError", async () => {
  for (const bad of [80, -1, 2.5, Number.NaN]) {
    await assert.rejects(reader.readFrames(file("ok.mp4"), [0, bad]), (e: unknown) => {
      assert.ok(e instanceof FrameIndexError);
      assert.match(e.message, /80 frames, valid 0\.\.79/);
      return true;
    });
  }
});

test("ffmpeg missing → FfmpegNotFoundError telling how to install it", async () => {
  const r = new FfmpegReader({ ffmpegPath: join(dir, "no-such-ffmpeg") });
  await assert.rejects(r.readFrames(file("ok.mp4"), [0]), (e: unknown) => {
    assert.ok(e instanceof FfmpegNotFoundError);
    assert.match(e.message, /apt-get install ffmpeg/);
    assert.match(e.message, /npm run setup/);
    return true;
  });
});
