// FrameFolderReader: folders of JPEG frames named by a Python-format template, 1-based by default.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { FrameIndexError, VideoFileNotFoundError } from "../../src/video/errors.ts";
import { FrameFolderReader } from "../../src/video/frame-folder.ts";
import type { WindowClip } from "../../src/video/reader.ts";
import { clipIndices, encodeIndexVideo, ffmpeg, tempDir } from "./fixtures.ts";

const { dir, cleanup } = tempDir("frames");
const ssv2 = join(dir, "SomethingV2", "1234"); // img_00001.jpg … img_00040.jpg
const ava = join(dir, "ava"); // image_000000.jpg … (0-based)
const plain = join(dir, "odd: 100% {x}"); // 1.jpg, 2.jpg, … (no padding), in a folder name ffmpeg could misparse
const gappy = join(dir, "gappy"); // img_00001.jpg … with img_00031.jpg missing

before(async () => {
  const video = join(dir, "src.avi");
  await encodeIndexVideo(video, 40, "25", ["-c:v", "mjpeg", "-q:v", "2"]);
  for (const d of [ssv2, ava, plain, gappy]) mkdirSync(d, { recursive: true });
  await Promise.all([
    ffmpeg(["-i", video, "-q:v", "2", "-start_number", "1", join(ssv2, "img_%05d.jpg")]),
    ffmpeg(["-i", video, "-q:v", "2", "-start_number", "0", join(ava, "image_%06d.jpg")]),
    ffmpeg(["-i", video, "-q:v", "2", "-start_number", "1", join(plain.replace(/%/g, "%%"), "%d.jpg")]),
    ffmpeg(["-i", video, "-q:v", "2", "-start_number", "1", join(gappy, "img_%05d.jpg")]),
  ]);
  rmSync(join(gappy, "img_00031.jpg"));
});
after(cleanup);

test("default template img_{:05}.jpg, 1-based: index 0 is img_00001.jpg", async () => {
  const reader = new FrameFolderReader({ fps: 12 });
  assert.equal(reader.framePath(ssv2, 0), join(ssv2, "img_00001.jpg"));
  const info = await reader.probe(ssv2);
  assert.deepEqual(info, { path: ssv2, width: 64, height: 48, fps: 12, frameCount: 40, durationSec: 40 / 12, rotation: 0, codec: "mjpeg" });
  const list = [39, 0, 17, 17, 3, 38];
  const clip = await reader.readFrames(ssv2, list);
  assert.deepEqual(clipIndices(clip), list);
});

test("template image_{:06}.jpg with startIndex 0, resized", async () => {
  const reader = new FrameFolderReader({ template: "image_{:06}.jpg", startIndex: 0 });
  assert.equal((await reader.probe(ava)).frameCount, 40);
  const clip = await reader.readFrames(ava, [0, 21, 39], { shortSide: 32 });
  assert.deepEqual([clip.width, clip.height], [42, 32]);
  assert.deepEqual(clipIndices(clip), [0, 21, 39]);
});

test("template {}.jpg without padding, in an oddly named folder", async () => {
  const reader = new FrameFolderReader({ template: "{}.jpg" });
  assert.equal((await reader.probe(plain)).frameCount, 40);
  assert.deepEqual(clipIndices(await reader.readFrames(plain, [9, 10, 11])), [9, 10, 11]);
  const starts: number[] = [];
  for await (const w of reader.streamWindows(plain, { window: 20, stride: 20 })) {
    assert.deepEqual(clipIndices(w.clip), Array.from({ length: 20 }, (_, k) => w.start + k));
    starts.push(w.start);
  }
  assert.deepEqual(starts, [0, 20]);
});

test("streamWindows over a frame folder", async () => {
  const reader = new FrameFolderReader();
  const windows: WindowClip[] = [];
  for await (const w of reader.streamWindows(ssv2, { window: 16, stride: 12 })) windows.push(w);
  assert.deepEqual(windows.map((w) => w.start), [0, 12, 24]);
  for (const w of windows) assert.deepEqual(clipIndices(w.clip), Array.from({ length: 16 }, (_, k) => w.start + k));
});

test("frames end at the first gap in the numbering", async () => {
  const reader = new FrameFolderReader();
  assert.equal((await reader.probe(gappy)).frameCount, 30);
  await assert.rejects(reader.readFrames(gappy, [35]), FrameIndexError);
});

test("a frame deleted after probing → VideoFileNotFoundError naming the file and the template", async () => {
  // Delete a frame but keep the folder's mtime (whole seconds, so it can be restored exactly):
  // the cached probe still counts the frame.
  const reader = new FrameFolderReader();
  utimesSync(gappy, 1_700_000_000, 1_700_000_000);
  assert.equal((await reader.probe(gappy)).frameCount, 30);
  rmSync(join(gappy, "img_00010.jpg"));
  utimesSync(gappy, 1_700_000_000, 1_700_000_000);
  await assert.rejects(reader.readFrames(gappy, [8, 9]), (e: unknown) => {
    assert.ok(e instanceof VideoFileNotFoundError);
    assert.ok(e.message.includes(join(gappy, "img_00010.jpg")));
    assert.match(e.message, /template "img_\{:05\}\.jpg" numbered from 1 \(frame index 0 = img_00001\.jpg\)/);
    return true;
  });
});

test("missing folder or wrong template → VideoFileNotFoundError with a hint", async () => {
  await assert.rejects(new FrameFolderReader().probe(join(dir, "nope")), VideoFileNotFoundError);
  await assert.rejects(new FrameFolderReader({ template: "frame_{:04}.jpg" }).probe(ssv2), (e: unknown) => {
    assert.ok(e instanceof VideoFileNotFoundError);
    assert.match(e.message, /frame_0001\.jpg/);
    assert.match(e.message, /template "frame_\{:04\}\.jpg" numbered from 1/);
    return true;
  });
});

test("templates must have one integer field and a known image extension", () => {
  assert.throws(() => new FrameFolderReader({ template: "img.jpg" }), RangeError);
  assert.throws(() => new FrameFolderReader({ template: "img_{}_{}.jpg" }), RangeError);
  assert.throws(() => new FrameFolderReader({ template: "img_{:05}.tif" }), RangeError);
});
