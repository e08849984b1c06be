// LibavReader (in-process FFmpeg libraries) against FfmpegReader (the ffmpeg programs) on every
// test clip: the same probe values and byte-identical frames (both convert with the same swscale
// settings), plus what only the in-process reader does: exact frame counts, open decoders reused
// across requests, typed errors for broken files, a time limit per request.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { FrameIndexError, VideoDecodeError, VideoError, VideoFileNotFoundError } from "../../src/video/errors.ts";
import { FfmpegReader } from "../../src/video/ffmpeg-reader.ts";
import { LibavReader, libavAvailable, parseSeconds } from "../../src/video/libav-reader.ts";
import type { ResizeSpec, WindowClip } from "../../src/video/reader.ts";
import { clipIndices, encodeIndexVideo, ffmpeg, MJPEG, rotatedCopyArgs, tempDir, X264 } from "./fixtures.ts";

const skip = libavAvailable() ? false : "the addon was built without FFmpeg's libraries";
const { dir, cleanup } = tempDir("libav");
const file = (name: string) => join(dir, name);
const CLIPS = join(import.meta.dirname, "../fixtures/clips");

const cli = new FfmpegReader();
const ours = skip ? (undefined as unknown as LibavReader) : new LibavReader();

/** Every test clip: generated ones covering containers, codecs, rates, rotation, odd sizes; the real ones. */
const GENERATED = [
  "h264.mp4",
  "mjpeg.avi",
  "ntsc.mp4",
  "vfr.mkv",
  "h264.ts",
  "rot90.mp4",
  "rot180.mp4",
  "rot270.mp4",
  "odd-mpeg4.avi",
  "odd-vp9.webm",
  "odd-yuv444.mp4",
  "mjpeg422-rot90.mov",
  "theora.ogv",
  "audio-first.mp4",
];
const REAL = ["realshort.mp4", "Effet_force_magnetique.ogv", "balle1-vp9.avi"];
const path = (name: string) => (REAL.includes(name) ? join(CLIPS, name) : file(name));

before(async () => {
  if (skip) return;
  await Promise.all([
    encodeIndexVideo(file("h264.mp4"), 80, "25", X264),
    encodeIndexVideo(file("mjpeg.avi"), 50, "25", MJPEG),
    encodeIndexVideo(file("ntsc.mp4"), 60, "30000/1001", X264),
    encodeIndexVideo(file("vfr.mkv"), 60, "25", ["-vf", "setpts='(N*0.04+if(gte(N,20),0.06*(N-20),0))/TB'", "-fps_mode", "passthrough", ...X264]),
    encodeIndexVideo(file("odd-mpeg4.avi"), 40, "25", ["-vf", "scale=65:49", "-c:v", "mpeg4", "-q:v", "3", "-g", "10"]),
    encodeIndexVideo(file("odd-vp9.webm"), 30, "25", ["-vf", "scale=63:47", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-g", "10"]),
    encodeIndexVideo(file("odd-yuv444.mp4"), 40, "25", ["-vf", "scale=65:49", "-c:v", "libx264", "-pix_fmt", "yuv444p", "-g", "12", "-bf", "2"]),
    encodeIndexVideo(file("theora.ogv"), 40, "25", ["-c:v", "libtheora", "-q:v", "7", "-g", "10"]),
  ]);
  await Promise.all([
    ffmpeg(["-i", file("h264.mp4"), "-c", "copy", file("h264.ts")]),
    ffmpeg(rotatedCopyArgs(file("h264.mp4"), file("rot90.mp4"), 90)),
    ffmpeg(rotatedCopyArgs(file("h264.mp4"), file("rot180.mp4"), 180)),
    ffmpeg(rotatedCopyArgs(file("h264.mp4"), file("rot270.mp4"), 270)),
    ffmpeg(rotatedCopyArgs(file("mjpeg.avi"), file("mjpeg422-rot90.mov"), 90, ["-c:v", "mjpeg", "-pix_fmt", "yuvj422p"])),
    ffmpeg(["-f", "lavfi", "-i", "sine=d=3.2", "-i", file("h264.mp4"), "-map", "0:a", "-map", "1:v", "-c:v", "copy", "-c:a", "aac", file("audio-first.mp4")]),
  ]);
  writeFileSync(file("empty.mp4"), "");
  writeFileSync(file("text.mp4"), "this is not a video\n".repeat(50));
  const b = readFileSync(file("h264.mp4"));
  writeFileSync(file("cut.mp4"), b.subarray(0, Math.floor(b.length / 2)));
  mkdirSync(file("folder.mp4"));
});
after(async () => {
  await ours?.close();
  cleanup();
});

/** A few index lists inside 0..n−1: the start, around the middle (unsorted, repeated), the end, every 3rd. */
function lists(n: number): number[][] {
  const m = Math.floor(n / 2);
  return [[0, 1, 2], [m + 3, m, m, m - 5, 1], [n - 3, n - 1], Array.from({ length: Math.ceil(n / 3) }, (_, k) => 3 * k)];
}

const SIZES: (ResizeSpec | undefined)[] = [undefined, { shortSide: 32 }, { width: 41, height: 37 }];

describe("libav reader = ffmpeg-cli reader", { skip }, () => {
  for (const name of [...GENERATED, ...REAL]) {
    test(name, async () => {
      const f = path(name);
      const [a, b] = [await cli.probe(f), await ours.probe(f)];
      assert.deepEqual(b, a, "probe");
      // balle1-vp9.avi: the header says 300 frames, 295 decode (the CLI reader fails past 294).
      const n = Math.min(a.frameCount, (await new LibavReader({ exactFrameCount: true }).probe(f)).frameCount);
      for (const size of SIZES) {
        for (const list of lists(n)) {
          const [x, y] = [await cli.readFrames(f, list, size), await ours.readFrames(f, list, size)];
          assert.deepEqual([y.frames, y.width, y.height], [x.frames, x.width, x.height], `${name} ${list} ${JSON.stringify(size)}`);
          assert.ok(Buffer.from(x.data).equals(Buffer.from(y.data)), `${name}: frames ${list} at ${JSON.stringify(size)} differ`);
        }
      }
    });
  }

  test("frames show their own index (rotation applied, odd sizes kept)", async () => {
    assert.deepEqual(clipIndices(await ours.readFrames(file("odd-vp9.webm"), [29, 0, 14])), [29, 0, 14]);
    assert.deepEqual(clipIndices(await ours.readFrames(file("odd-mpeg4.avi"), [7, 39])), [7, 39]);
    const r = await ours.readFrames(file("rot90.mp4"), [40, 5]);
    assert.deepEqual([r.width, r.height], [48, 64]);
    const info = await ours.probe(file("rot90.mp4"));
    assert.deepEqual(clipIndices(r, info.rotation === 90 ? "rows-down" : "rows-up"), [40, 5]);
  });

  test("streamWindows: the same windows as the ffmpeg-cli reader", async () => {
    const collect = async (it: AsyncIterable<WindowClip>) => {
      const out: WindowClip[] = [];
      for await (const w of it) out.push(w);
      return out;
    };
    for (const [name, opts] of [
      ["h264.mp4", { window: 16, stride: 4 }],
      ["vfr.mkv", { window: 8, stride: 20, size: { shortSide: 32 } }],
      ["mjpeg.avi", { window: 16, stride: 16, size: { width: 32, height: 24 } }],
      ["realshort.mp4", { window: 16, stride: 8 }],
    ] as const) {
      const [a, b] = [await collect(cli.streamWindows(path(name), opts)), await collect(ours.streamWindows(path(name), opts))];
      assert.deepEqual(b.map((w) => w.start), a.map((w) => w.start), name);
      a.forEach((w, i) => assert.ok(Buffer.from(w.clip.data).equals(Buffer.from(b[i]!.clip.data)), `${name} window ${w.start}`));
    }
  });
});

describe("libav reader", { skip }, () => {
  test("frame count: the decoder's real count with exactFrameCount, corrected after a read reaches the end", async () => {
    const f = join(CLIPS, "balle1-vp9.avi");
    assert.equal((await new LibavReader({ exactFrameCount: true }).probe(f)).frameCount, 295);
    const r = new LibavReader();
    assert.equal((await r.probe(f)).frameCount, 300); // the container's count, as ffprobe
    await assert.rejects(r.readFrames(f, [296]), (e: unknown) => e instanceof VideoDecodeError && e.path === f && /returned 0 of the 1 frames/.test(e.message));
    assert.equal((await r.probe(f)).frameCount, 295);
    await assert.rejects(r.readFrames(f, [296]), FrameIndexError);
    assert.deepEqual((await r.readFrames(f, [294])).frames, 1);
  });

  test("one open decoder serves many requests, in any order and concurrently", async () => {
    const r = new LibavReader({ maxOpen: 2 });
    const jobs: Promise<number[]>[] = [];
    for (let k = 0; k < 30; k++) {
      const name = ["h264.mp4", "mjpeg.avi", "vfr.mkv", "h264.ts"][k % 4]!;
      const first = (k * 7) % 40;
      const list = [first, first + 2, first + 9];
      jobs.push(r.readFrames(file(name), list).then((c) => (assert.deepEqual(clipIndices(c), list, `${name} ${list}`), list)));
    }
    await Promise.all(jobs);
    await r.close();
    assert.deepEqual(clipIndices(await r.readFrames(file("h264.mp4"), [3])), [3]); // reopens after close
  });

  test("sequential requests continue forward (count mode and timestamp mode)", async () => {
    const r = new LibavReader();
    for (const name of ["h264.mp4", "vfr.mkv", "h264.ts"]) {
      for (let s = 0; s + 8 <= 60; s += 8) assert.deepEqual(clipIndices(await r.readFrames(file(name), [s, s + 3, s + 7])), [s, s + 3, s + 7], `${name} ${s}`);
      assert.deepEqual(clipIndices(await r.readFrames(file(name), [2])), [2], `${name} back to the start`);
    }
  });

  test("broken inputs: typed VideoDecodeError naming the file", async () => {
    for (const name of ["empty.mp4", "text.mp4", "cut.mp4"]) {
      await assert.rejects(
        (async () => {
          await ours.probe(file(name));
          await ours.readFrames(file(name), [3]);
        })(),
        (e: unknown) => e instanceof VideoDecodeError && e.path === file(name) && e.message.includes(file(name)),
        name,
      );
    }
    await assert.rejects(ours.probe(file("missing.mp4")), VideoFileNotFoundError);
    await assert.rejects(ours.readFrames(file("folder.mp4"), [0]), (e: unknown) => e instanceof VideoError && e.message.includes(file("folder.mp4")));
  });

  test("a request past its time limit is stopped with a VideoDecodeError", async () => {
    const r = new LibavReader({ timeoutMs: 1 });
    await assert.rejects(r.readFrames(join(CLIPS, "realshort.mp4"), Array.from({ length: 36 }, (_, i) => i)), (e: unknown) => {
      assert.ok(e instanceof VideoDecodeError, String(e));
      assert.match(e.message, /longer than 1 ms/);
      return true;
    });
  });

  test("decode threads per video: same frames with 2 (frame + slice threads) or libavcodec's choice", async () => {
    const list = [70, 3, 33, 34, 12];
    for (const name of ["h264.mp4", "odd-vp9.webm", "h264.ts"]) {
      const n = (await ours.probe(file(name))).frameCount;
      const l = list.filter((i) => i < n);
      const base = await ours.readFrames(file(name), l, { shortSide: 32 });
      for (const threads of [2, 0]) {
        const r = new LibavReader({ threads });
        assert.ok(Buffer.from((await r.readFrames(file(name), l, { shortSide: 32 })).data).equals(Buffer.from(base.data)), `${name} threads ${threads}`);
        await r.close();
      }
    }
  });

  test("seek times parse as ffmpeg's -ss does (microseconds, extra digits cut)", () => {
    assert.equal(parseSeconds("1.2345678"), 1_234_567);
    assert.equal(parseSeconds("0.02"), 20_000);
    assert.equal(parseSeconds("3"), 3_000_000);
  });
});
