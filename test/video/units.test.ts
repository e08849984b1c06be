// Pure helpers of src/video (no ffmpeg runs): templates, select expressions, output sizes,
// ffprobe JSON parsing, reordering.
import assert from "node:assert/strict";
import { test } from "node:test";

import { parseFrameTemplate } from "../../src/video/frame-folder.ts";
import { distinctSorted, gatherClip, selectExpr } from "../../src/video/frames.ts";
import { parseProbe } from "../../src/video/probe.ts";
import { frameView, resolveOutputSize } from "../../src/video/reader.ts";

test("parseFrameTemplate: Python format fields and their printf form", () => {
  const cases: Array<[string, number, string, string]> = [
    ["img_{:05}.jpg", 12, "img_00012.jpg", "img_%05d.jpg"],
    ["image_{:06}.jpg", 7, "image_000007.jpg", "image_%06d.jpg"],
    ["{}.jpg", 123, "123.jpg", "%d.jpg"],
    ["frame{:05d}.png", 3, "frame00003.png", "frame%05d.png"],
    ["f{0:04}.jpg", 5, "f0005.jpg", "f%04d.jpg"],
    ["x{:3}.jpg", 5, "x  5.jpg", "x%3d.jpg"],
    ["100%_{{a}}_{:02}.jpg", 4, "100%_{a}_04.jpg", "100%%_{a}_%02d.jpg"],
    ["img_{:05}.jpg", 123456, "img_123456.jpg", "img_%05d.jpg"],
  ];
  for (const [tmpl, n, name, printf] of cases) {
    const t = parseFrameTemplate(tmpl);
    assert.equal(t.format(n), name, tmpl);
    assert.equal(t.printf, printf, tmpl);
  }
  for (const bad of ["img.jpg", "{}{}.jpg", "{:s}.jpg", "{x}.jpg", "a}.jpg", "{:05"]) {
    assert.throws(() => parseFrameTemplate(bad), RangeError, bad);
  }
});

test("selectExpr groups equally spaced runs", () => {
  assert.equal(selectExpr([3, 5, 7, 9, 20], "n"), "st(0,n);between(ld(0),3,9)*not(mod(ld(0)-3,2))+eq(ld(0),20)");
  assert.equal(selectExpr([0, 1, 2, 3], "n"), "st(0,n);between(ld(0),0,3)");
  assert.equal(selectExpr([4, 9], "n"), "st(0,n);eq(ld(0),4)+eq(ld(0),9)");
  assert.equal(selectExpr([1, 2, 10, 11, 12], "n"), "st(0,n);eq(ld(0),1)+eq(ld(0),2)+between(ld(0),10,12)");
  // Every 4th frame of an hour of video is still one term.
  const every4 = Array.from({ length: 22500 }, (_, k) => 4 * k);
  assert.equal(selectExpr(every4, "n"), "st(0,n);between(ld(0),0,89996)*not(mod(ld(0)-0,4))");
});

test("selectExpr covers exactly the requested set (evaluated in JS)", () => {
  // Evaluate the generated expression for every n with a tiny interpreter of the terms used.
  const evalExpr = (expr: string, n: number) =>
    expr
      .split(";")[1]!
      .split("+")
      .some((term) => {
        let m = /^eq\(ld\(0\),(\d+)\)$/.exec(term);
        if (m) return n === Number(m[1]);
        m = /^between\(ld\(0\),(\d+),(\d+)\)(?:\*not\(mod\(ld\(0\)-(\d+),(\d+)\)\))?$/.exec(term);
        assert.ok(m, term);
        const [a, b, d] = [Number(m[1]), Number(m[2]), Number(m[4] ?? 1)];
        return n >= a && n <= b && (n - a) % d === 0;
      });
  const sets = [[0], [5, 3, 3, 9, 1, 2, 40, 41, 42, 60, 64, 68, 72, 73], [7, 14, 21, 22, 23, 24, 30]];
  for (const s of sets) {
    const sorted = distinctSorted(s);
    const expr = selectExpr(sorted, "n");
    for (let n = 0; n < 100; n++) assert.equal(evalExpr(expr, n), sorted.includes(n), `${expr} at ${n}`);
  }
});

test("resolveOutputSize: short side like the official Resize, long side truncated", () => {
  assert.deepEqual(resolveOutputSize(64, 48, { shortSide: 32 }), { width: 42, height: 32 });
  assert.deepEqual(resolveOutputSize(48, 64, { shortSide: 32 }), { width: 32, height: 42 });
  assert.deepEqual(resolveOutputSize(340, 256, { shortSide: 224 }), { width: 297, height: 224 });
  assert.deepEqual(resolveOutputSize(1920, 1080, { shortSide: 224 }), { width: 398, height: 224 });
  assert.deepEqual(resolveOutputSize(50, 50, { shortSide: 20 }), { width: 20, height: 20 });
  assert.deepEqual(resolveOutputSize(64, 48, { width: 224, height: 224 }), { width: 224, height: 224 });
  assert.deepEqual(resolveOutputSize(64, 48), { width: 64, height: 48 });
  assert.throws(() => resolveOutputSize(64, 48, { shortSide: 0 }), RangeError);
  assert.throws(() => resolveOutputSize(64, 48, { width: 10.5, height: 3 }), RangeError);
});

test("gatherClip puts frames in request order; frameView slices one frame", () => {
  // Three decoded 1×1 frames for indices 2, 5, 9 with pixel values 20, 50, 90.
  const decoded = new Uint8Array([20, 20, 20, 50, 50, 50, 90, 90, 90]);
  const clip = gatherClip(decoded, [2, 5, 9], [9, 2, 9, 5], 1, 1);
  assert.equal(clip.frames, 4);
  assert.deepEqual([0, 1, 2, 3].map((t) => frameView(clip, t)[0]), [90, 20, 90, 50]);
  assert.equal(gatherClip(decoded, [2, 5, 9], [2, 5, 9], 1, 1).data, decoded); // no copy when already in order
});

const stream = (extra: Record<string, unknown>) => ({
  streams: [{ codec_type: "video", codec_name: "h264", width: 640, height: 360, r_frame_rate: "25/1", avg_frame_rate: "25/1", start_time: "0.000000", duration: "10.000000", nb_frames: "250", ...extra }],
  format: { format_name: "mov,mp4,m4a,3gp,3g2,mj2", start_time: "0.000000", duration: "10.0" },
});

test("parseProbe: rotation from the display matrix (counter-clockwise) or the legacy tag (clockwise)", () => {
  const dm = (rotation: number) => parseProbe("v.mp4", stream({ side_data_list: [{ side_data_type: "Display Matrix", rotation }] }));
  assert.deepEqual([dm(-90).rotation, dm(-90).width, dm(-90).height], [90, 360, 640]);
  assert.deepEqual([dm(90).rotation, dm(90).width], [270, 360]);
  assert.deepEqual([dm(180).rotation, dm(180).width, dm(-180).rotation], [180, 640, 180]);
  const tag = parseProbe("v.mp4", stream({ tags: { rotate: "90" } }));
  assert.deepEqual([tag.rotation, tag.width, tag.height], [90, 360, 640]);
});

test("parseProbe: skips cover art and reports the stream's container index", () => {
  const json = stream({ index: 2 });
  json.streams.unshift(
    { codec_type: "video", codec_name: "mjpeg", width: 32, height: 32, disposition: { attached_pic: 1 }, index: 0 } as never,
    { codec_type: "audio", codec_name: "aac", index: 1 } as never,
  );
  const info = parseProbe("v.mp4", json);
  assert.deepEqual([info.codec, info.width, info.timing.streamIndex], ["h264", 640, 2]);
});

test("parseProbe: frame count from nb_frames, else from counted packets", () => {
  assert.equal(parseProbe("v.mp4", stream({})).frameCount, 250);
  assert.equal(parseProbe("v.mkv", stream({ nb_frames: undefined }), 248).frameCount, 248);
  assert.throws(() => parseProbe("v.mkv", stream({ nb_frames: undefined })), /no frames/);
});

test("parseProbe: constant-rate detection", () => {
  const p = (extra: Record<string, unknown>, packets?: number) => parseProbe("v", stream(extra), packets).timing.constantRate;
  assert.equal(p({}), true);
  assert.equal(p({ avg_frame_rate: "2997/125" }), false); // average disagrees with nominal
  assert.equal(p({ nb_frames: undefined, duration: undefined }, 120), false); // mkv: r == avg, but 120 frames in 10 s at 25 fps
  assert.equal(p({ avg_frame_rate: "0/0" }), true);
  const ntsc = parseProbe("v", stream({ r_frame_rate: "30000/1001", avg_frame_rate: "30000/1001", nb_frames: "300", duration: "10.010000" }));
  assert.deepEqual([ntsc.timing.constantRate, ntsc.timing.rate], [true, [30000, 1001]]);
  const vfr = parseProbe("v", stream({ avg_frame_rate: "20/1", nb_frames: "200" }));
  assert.equal(vfr.fps, 20); // variable rate: report the average
});
