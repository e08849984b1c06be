// Both video readers (FfmpegReader and LibavReader): probe values and frame-accurate readFrames
// across containers, codecs, frame rates and resize modes, on tiny generated videos whose frames
// show their own index.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { FfmpegReader } from "../../src/video/ffmpeg-reader.ts";
import { clipIndices, encodeIndexVideo, ffmpeg, MJPEG, READERS, rotatedCopyArgs, tempDir, X264 } from "./fixtures.ts";

const { dir, cleanup } = tempDir("reader");
const file = (name: string) => join(dir, name);

// Unsorted, repeated, first and last frames, both sides of the keyframes at 12 and 36.
const MIXED = [37, 5, 5, 79, 0, 12, 11, 13, 78, 36, 35];
const EVERY_4TH = Array.from({ length: 20 }, (_, k) => 3 + 4 * k); // 3, 7, …, 79

before(async () => {
  await Promise.all([
    encodeIndexVideo(file("h264.mp4"), 80, "25", X264),
    encodeIndexVideo(file("mjpeg.avi"), 80, "25", MJPEG),
    encodeIndexVideo(file("ntsc.mp4"), 80, "30000/1001", X264),
    // Variable frame rate: frames 0-19 every 40 ms, then every 100 ms. Matroska has no frame count
    // in its header, so this also covers counting packets.
    encodeIndexVideo(file("vfr.mkv"), 60, "25", ["-vf", "setpts='(N*0.04+if(gte(N,20),0.06*(N-20),0))/TB'", "-fps_mode", "passthrough", ...X264]),
  ]);
  await Promise.all([
    // MPEG-TS: -ss lands on the keyframe *after* the target here, exercising the fallback.
    ffmpeg(["-i", file("h264.mp4"), "-c", "copy", file("h264.ts")]),
    // A file name ffmpeg would misparse without care: protocol-like prefix, quote, percent.
    ffmpeg(["-i", file("h264.mp4"), "-c", "copy", file("clip:1 it's 100%.mp4")]),
    // Audio as stream 0, video as stream 1.
    ffmpeg(["-f", "lavfi", "-i", "sine=d=3.2", "-i", file("h264.mp4"), "-map", "0:a", "-map", "1:v", "-c:v", "copy", "-c:a", "aac", file("audio-first.mp4")]),
    // Rotation metadata (a display matrix).
    ffmpeg(rotatedCopyArgs(file("h264.mp4"), file("rotated.mp4"), 90)),
  ]);
});
after(cleanup);

describe("fixtures", () => {
  test("the H.264 fixture has B-frames and a keyframe every 12 frames", () => {
    const out = execFileSync("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pict_type", "-of", "csv=p=0", file("h264.mp4")]);
    const types = out.toString().split("\n").map((l) => l.replace(/,/g, "").trim()).filter(Boolean);
    assert.equal(types.length, 80);
    assert.ok(types.includes("B"));
    assert.deepEqual(types.flatMap((t, i) => (t === "I" ? [i] : [])), [0, 12, 24, 36, 48, 60, 72]);
  });
});

for (const [label, reader] of READERS) describe(label, () => {
  describe("probe", () => {
    test("H.264 mp4", async () => {
      const info = await reader.probe(file("h264.mp4"));
      assert.deepEqual(
        { ...info, timing: undefined },
        { path: file("h264.mp4"), width: 64, height: 48, fps: 25, frameCount: 80, durationSec: 3.2, rotation: 0, codec: "h264", timing: undefined },
      );
      assert.equal(info.timing.constantRate, true);
      assert.equal(info.timing.indexedSeek, true);
    });

    test("MJPEG avi, 29.97 fps mp4, MPEG-TS", async () => {
      const avi = await reader.probe(file("mjpeg.avi"));
      assert.equal(avi.codec, "mjpeg");
      assert.equal(avi.frameCount, 80);
      const ntsc = await reader.probe(file("ntsc.mp4"));
      assert.ok(Math.abs(ntsc.fps - 30000 / 1001) < 1e-9);
      assert.deepEqual(ntsc.timing.rate, [30000, 1001]);
      assert.equal(ntsc.frameCount, 80);
      const ts = await reader.probe(file("h264.ts"));
      assert.equal(ts.frameCount, 80); // counted packets: no nb_frames in MPEG-TS
      assert.equal(ts.timing.indexedSeek, false);
    });

    test("variable frame rate mkv: packets counted, not treated as constant rate", async () => {
      const info = await reader.probe(file("vfr.mkv"));
      assert.equal(info.frameCount, 60);
      assert.equal(info.timing.constantRate, false);
    });

    test("rotation metadata: displayed size and clockwise angle", async () => {
      const info = await reader.probe(file("rotated.mp4"));
      assert.ok(info.rotation === 90 || info.rotation === 270, `rotation ${info.rotation}`);
      assert.equal(info.width, 48);
      assert.equal(info.height, 64);
    });
  });

  describe("readFrames is frame-accurate", () => {
    for (const name of ["h264.mp4", "mjpeg.avi", "ntsc.mp4", "h264.ts"]) {
      test(name, async () => {
        for (const list of [MIXED, EVERY_4TH, [50, 51, 52, 53]]) {
          const clip = await reader.readFrames(file(name), list);
          assert.equal(clip.frames, list.length);
          assert.equal(clip.data.length, list.length * 64 * 48 * 3);
          assert.deepEqual(clipIndices(clip), list, `${name} ${list}`);
        }
      });
    }

    test("seeks to every first frame around keyframes (H.264 with B-frames)", async () => {
      for (const first of [1, 11, 12, 13, 24, 25, 47, 71, 72, 77]) {
        const list = [first, Math.min(first + 2, 79)];
        assert.deepEqual(clipIndices(await reader.readFrames(file("h264.mp4"), list)), list, `first ${first}`);
      }
    });

    test("all frames in order", async () => {
      const all = Array.from({ length: 80 }, (_, i) => i);
      assert.deepEqual(clipIndices(await reader.readFrames(file("h264.mp4"), all)), all);
    });

    test("a seek that lands after the target falls back to decoding from the start", { skip: label !== "ffmpeg-cli" && "ffmpeg-cli only" }, async () => {
      // MPEG-TS is not seeked by default; force it, count the ffmpeg runs.
      class ForcedSeek extends FfmpegReader {
        runs = 0;
        override async probe(path: string) {
          const info = await super.probe(path);
          return { ...info, timing: { ...info.timing, indexedSeek: true } };
        }
        protected override run(...args: Parameters<FfmpegReader["run"]>) {
          this.runs++;
          return super.run(...args);
        }
      }
      const forced = new ForcedSeek();
      const list = [5, 3, 9];
      assert.deepEqual(clipIndices(await forced.readFrames(file("h264.ts"), list)), list);
      assert.equal(forced.runs, 2); // the seek landed on keyframe 12: frames missing, detected, retried
      forced.runs = 0;
      assert.deepEqual(clipIndices(await forced.readFrames(file("h264.mp4"), list)), list);
      assert.equal(forced.runs, 1);
    });

    test("odd file names (colon, quote, percent) are passed through verbatim", async () => {
      const name = file("clip:1 it's 100%.mp4");
      assert.equal((await reader.probe(name)).frameCount, 80);
      assert.deepEqual(clipIndices(await reader.readFrames(name, [44, 4])), [44, 4]);
    });

    test("the video stream is found when audio comes first", async () => {
      assert.equal((await reader.probe(file("audio-first.mp4"))).timing.streamIndex, 1);
      assert.deepEqual(clipIndices(await reader.readFrames(file("audio-first.mp4"), [30, 2])), [30, 2]);
      const it = reader.streamWindows(file("audio-first.mp4"), { window: 4, stride: 100 })[Symbol.asyncIterator]();
      const w = await it.next();
      await it.return?.(undefined);
      assert.deepEqual(clipIndices(w.value!.clip), [0, 1, 2, 3]);
    });

    test("variable frame rate: indices count decoded frames", async () => {
      const list = [59, 0, 21, 20, 19, 40, 40];
      assert.deepEqual(clipIndices(await reader.readFrames(file("vfr.mkv"), list)), list);
    });

    test("an empty index list gives an empty clip", async () => {
      const clip = await reader.readFrames(file("h264.mp4"), [], { shortSide: 32 });
      assert.deepEqual({ ...clip, data: clip.data.length }, { data: 0, frames: 0, width: 42, height: 32 });
    });
  });

  describe("resize", () => {
    test("short side: 64×48 → shortSide 32 → 42×32 (long side truncated)", async () => {
      const clip = await reader.readFrames(file("h264.mp4"), [9, 70], { shortSide: 32 });
      assert.equal(clip.width, 42);
      assert.equal(clip.height, 32);
      assert.equal(clip.data.length, 2 * 42 * 32 * 3);
      assert.deepEqual(clipIndices(clip), [9, 70]);
    });

    test("exact size", async () => {
      const clip = await reader.readFrames(file("mjpeg.avi"), [66, 1], { width: 40, height: 30 });
      assert.deepEqual([clip.width, clip.height, clip.data.length], [40, 30, 2 * 40 * 30 * 3]);
      assert.deepEqual(clipIndices(clip), [66, 1]);
    });

    test("upscaling", async () => {
      const clip = await reader.readFrames(file("h264.mp4"), [33], { shortSide: 224 });
      assert.deepEqual([clip.width, clip.height], [298, 224]);
      assert.deepEqual(clipIndices(clip), [33]);
    });

    test("rotated video: frames come out rotated, resize applies to the displayed size", async () => {
      const info = await reader.probe(file("rotated.mp4"));
      const clip = await reader.readFrames(file("rotated.mp4"), [40, 5, 77], { shortSide: 32 });
      assert.deepEqual([clip.width, clip.height], [32, 42]);
      // Rotating 90° clockwise puts the first bar (column 0) on the top row; 270° on the bottom row.
      assert.deepEqual(clipIndices(clip, info.rotation === 90 ? "rows-down" : "rows-up"), [40, 5, 77]);
    });
  });
});
