// Fuzz test of the in-process decoder: 2,000 mutated videos (bit flips, truncations, spliced,
// overwritten and inserted bytes, over 7 containers/codecs) decoded in a child process. Every
// file must either decode or fail with a typed VideoError: no crash, no hang, no other error.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { libavAvailable } from "../../src/video/libav-reader.ts";
import { encodeIndexVideo, ffmpeg, MJPEG, tempDir, X264 } from "./fixtures.ts";

const skip = libavAvailable() ? false : "the addon was built without FFmpeg's libraries";
const { dir, cleanup } = tempDir("fuzz");
const file = (name: string) => join(dir, name);
const BASES = ["h264.mp4", "h264.mkv", "h264.ts", "mjpeg.avi", "vp9.webm", "theora.ogv", "mpeg4.avi"];
const CASES = 2000;

before(async () => {
  if (skip) return;
  await Promise.all([
    encodeIndexVideo(file("h264.mp4"), 24, "25", X264),
    encodeIndexVideo(file("mjpeg.avi"), 16, "25", MJPEG),
    encodeIndexVideo(file("vp9.webm"), 16, "25", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-g", "8"]),
    encodeIndexVideo(file("theora.ogv"), 16, "25", ["-c:v", "libtheora", "-g", "8"]),
    encodeIndexVideo(file("mpeg4.avi"), 16, "25", ["-c:v", "mpeg4", "-g", "8", "-bf", "1"]),
  ]);
  await Promise.all([
    ffmpeg(["-i", file("h264.mp4"), "-c", "copy", file("h264.mkv")]),
    ffmpeg(["-i", file("h264.mp4"), "-c", "copy", file("h264.ts")]),
  ]);
});
after(cleanup);

test(`${CASES} mutated videos: decoded or a typed VideoError, never a crash or a hang`, { skip }, async () => {
  const worker = join(import.meta.dirname, "fuzz_worker.ts");
  const args = ["--import", "tsx", worker, dir, String(CASES), "12345", ...BASES.map(file)];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let errTail = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (errTail = (errTail + d.toString()).slice(-2000)));
  // A hang guard, not a speed requirement.
  const timer = setTimeout(() => child.kill("SIGKILL"), 10 * 60_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on("close", (c, s) => res([c, s])));
  clearTimeout(timer);
  assert.equal(signal, null, `the fuzz worker died with ${signal}; last cases:\n${errTail}`);
  assert.equal(code, 0, `the fuzz worker exited with ${code}:\n${errTail}`);
  const r = JSON.parse(out.trim().split("\n").pop()!) as {
    cases: number;
    decoded: number;
    videoErrors: number;
    unexpected: number;
    unexpectedErrors: string[];
    frames: number;
    rssGrowthMiB: number;
  };
  assert.equal(r.cases, CASES);
  assert.equal(r.unexpected, 0, `errors that are not VideoErrors:\n${r.unexpectedErrors.join("\n")}`);
  assert.equal(r.decoded + r.videoErrors, CASES);
  // Both outcomes occur: the mutations are neither all harmless nor all fatal.
  assert.ok(r.decoded > 0 && r.videoErrors > 0, JSON.stringify(r));
  // Native memory is freed on the error paths: no growth proportional to the 2,000 cases.
  assert.ok(r.rssGrowthMiB < 400, `resident memory grew by ${r.rssGrowthMiB.toFixed(0)} MiB`);
  console.log(`fuzz: ${JSON.stringify(r)}`);
});
