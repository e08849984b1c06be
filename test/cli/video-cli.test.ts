// Real-world clips decode frame-exactly, and `videomae probe / frames / synth` work end to end
// through the CLI binary (output formats, .npy contents, exit codes and error messages).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";

import { readNpy } from "../../src/io/npy.ts";
import { Rng } from "../../src/util/rng.ts";
import { FfmpegReader } from "../../src/video/ffmpeg-reader.ts";
import { frameView, type ResizeSpec } from "../../src/video/reader.ts";

const bin = join(import.meta.dirname, "../../bin/videomae.mjs");
// Not via test/helpers.ts, which loads libtorch: decoding and these commands do not need it.
const clip = (name: string) => join(import.meta.dirname, "../fixtures/clips", name);
const tmp = mkdtempSync(join(tmpdir(), "videomae-video-cli-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const reader = new FfmpegReader({ timeoutMs: 60_000 });

/** Runs the CLI binary in a child process (the real entry point: exit codes, stdout, stderr). */
function run(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("error", reject);
    p.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/**
 * Runs the CLI in this process (same `main` the binary calls, console captured): a child process
 * costs ~0.7 s of TypeScript start-up, so only a few checks use `run`.
 */
async function cli(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  const writeErr = process.stderr.write;
  console.log = (...a: unknown[]) => void out.push(a.join(" ") + "\n");
  console.error = (...a: unknown[]) => void err.push(a.join(" ") + "\n");
  process.stderr.write = ((chunk: string | Uint8Array) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    // Imported on first use: main loads every command, some of them libtorch, which the
    // real-clip tests above do not need.
    const { main } = await import("../../src/cli/main.ts");
    const status = await main(args);
    return { status, stdout: out.join(""), stderr: err.join("") };
  } finally {
    Object.assign(console, { log, error });
    process.stderr.write = writeErr;
  }
}

/** Every frame of the file, decoded once from the start (no seeking), as the reader converts them. */
function sequentialDecode(path: string, width: number, height: number): { frames: Buffer[] } {
  const r = spawnSync(
    "ffmpeg",
    ["-nostdin", "-v", "error", "-i", `file:${path}`, "-map", "0:v:0", "-fps_mode", "passthrough", "-vf", `scale=${width}:${height}:flags=bilinear,format=rgb24`, "-f", "rawvideo", "pipe:1"],
    { maxBuffer: 1 << 30 },
  );
  assert.equal(r.status, 0, `ffmpeg failed on ${path}: ${r.stderr}`);
  const n = width * height * 3;
  assert.equal(r.stdout.length % n, 0);
  return { frames: Array.from({ length: r.stdout.length / n }, (_, i) => r.stdout.subarray(i * n, (i + 1) * n)) };
}

/**
 * Random access must return exactly the frames a sequential decode gives at those positions:
 * one batch in scrambled order with repeats, then single frames (each its own seek).
 */
async function assertFrameExact(name: string, expectedFrames: number, checkHeaderCount = true) {
  const path = clip(name);
  const info = await reader.probe(path);
  const { frames } = sequentialDecode(path, info.width, info.height);
  assert.equal(frames.length, expectedFrames, `${name}: frames from a sequential decode`);
  if (checkHeaderCount) assert.equal(info.frameCount, frames.length, `${name}: probe's frameCount`);
  const n = frames.length;
  const rng = new Rng(7);
  const picked = [0, 1, n - 1, n >> 1, 7, 3, 7, ...Array.from({ length: 6 }, () => rng.int(0, n - 1))];
  // An off-by-one would go unnoticed between identical neighbours; real footage has none.
  for (const i of picked) {
    if (i > 0) assert.ok(!frames[i]!.equals(frames[i - 1]!), `${name}: frames ${i - 1} and ${i} differ`);
  }
  const batch = await reader.readFrames(path, picked);
  picked.forEach((i, k) => assert.ok(Buffer.from(frameView(batch, k)).equals(frames[i]!), `${name}: batch entry ${k} is frame ${i}`));
  for (const i of [n - 2, 5, n >> 2]) {
    const one = await reader.readFrames(path, [i]);
    assert.ok(Buffer.from(one.data).equals(frames[i]!), `${name}: readFrames([${i}]) is frame ${i}`);
  }
}

describe("real-world clips (test/fixtures/clips, see SOURCE.md)", () => {
  test("realshort.mp4 (H.264 in MP4, 45000/1499 fps, with audio) decodes frame-exactly", () => assertFrameExact("realshort.mp4", 36));
  test("Effet_force_magnetique.ogv (Theora in Ogg, no frame count in the header) decodes frame-exactly", () =>
    assertFrameExact("Effet_force_magnetique.ogv", 34));
  // AVI is selected by decode order (empty chunks shift timestamps); frames 0…294 decode, the
  // header's 300 includes the 5 empty chunks.
  test("balle1-vp9.avi (VP9 in AVI, empty chunks after frame 0) decodes frame-exactly", () => assertFrameExact("balle1-vp9.avi", 295, false));
});

describe("videomae probe", () => {
  test("--json prints exactly the VideoInfo fields; the table shows the same facts", async () => {
    // The JSON form through the binary, as other tools call it.
    const [json, table] = await Promise.all([run("probe", clip("realshort.mp4"), "--json"), cli("probe", clip("realshort.mp4"))]);
    assert.equal(json.status, 0, json.stderr);
    const info = JSON.parse(json.stdout);
    assert.deepEqual(Object.keys(info), ["path", "width", "height", "fps", "frameCount", "durationSec", "rotation", "codec"]);
    assert.equal(info.path, clip("realshort.mp4"));
    assert.deepEqual([info.width, info.height, info.frameCount, info.rotation, info.codec], [320, 240, 36, 0, "h264"]);
    assert.ok(Math.abs(info.fps - 45000 / 1499) < 1e-9);
    assert.ok(Math.abs(info.durationSec - 1.1992) < 1e-3);

    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^size\s+320×240/m);
    assert.match(table.stdout, /^frames\s+36 \(indices 0\.\.35\)/m);
    assert.match(table.stdout, /^fps\s+30\.02\b/m);
    assert.match(table.stdout, /^codec\s+h264$/m);
  });

  test("a missing file exits 1 naming it; a missing argument is a usage error (exit 2)", async () => {
    const missing = join(tmp, "no-such-video.mp4");
    const [r, none] = await Promise.all([run("probe", missing), cli("probe")]);
    assert.equal(r.status, 1);
    assert.ok(r.stderr.includes(missing), r.stderr);
    assert.match(r.stderr, /not found/);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /expected one VIDEO/);
  });
});

describe("videomae frames", () => {
  const video = clip("realshort.mp4");
  const indices = [35, 0, 4, 8, 4];

  async function expectNpy(out: string, size: ResizeSpec | undefined, shape: number[]) {
    const arr = await readNpy(out);
    assert.equal(arr.dtype, "uint8");
    assert.deepEqual(arr.shape, shape);
    const want = await reader.readFrames(video, indices, size);
    assert.ok(Buffer.from(arr.data as Uint8Array).equals(Buffer.from(want.data)), `${out} holds the frames readFrames returns`);
  }

  test("writes a uint8 (T, H, W, 3) .npy equal to readFrames, with and without resizing", async () => {
    const list = indices.join(",");
    const outs = ["full.npy", "short.npy", "exact.npy"].map((f) => join(tmp, f));
    const rs = [
      await run("frames", video, "--indices", list, "--out", outs[0]!, "--json"),
      await cli("frames", video, "--indices", list, "--size", "120", "--out", outs[1]!),
      await cli("frames", video, "--indices", list, "--width", "64", "--height", "48", "--out", outs[2]!),
    ];
    for (const r of rs) assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(rs[0]!.stdout), { out: outs[0], shape: [5, 240, 320, 3], dtype: "uint8", indices });
    assert.match(rs[1]!.stdout, /uint8 array \(5, 120, 160, 3\)/);
    await expectNpy(outs[0]!, undefined, [5, 240, 320, 3]);
    await expectNpy(outs[1]!, { shortSide: 120 }, [5, 120, 160, 3]);
    await expectNpy(outs[2]!, { width: 64, height: 48 }, [5, 48, 64, 3]);
  });

  test("bad --indices and conflicting sizes are usage errors (exit 2); out-of-range and missing files exit 1", async () => {
    const out = join(tmp, "never.npy");
    for (const bad of ["0,,4", "a", "-1", "1.5", "", "0 4"]) {
      const r = await cli("frames", video, `--indices=${bad}`, "--out", out);
      assert.equal(r.status, 2, `--indices '${bad}'`);
      assert.match(r.stderr, /--indices must be comma-separated frame numbers/);
      assert.match(r.stderr, /Usage: videomae frames/);
    }
    const both = await cli("frames", video, "--indices", "0", "--size", "64", "--width", "64", "--height", "48", "--out", out);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /either --size .* or --width and --height/);
    const half = await cli("frames", video, "--indices", "0", "--width", "64", "--out", out);
    assert.equal(half.status, 2);
    assert.match(half.stderr, /--width and --height go together/);
    const noOut = await cli("frames", video, "--indices", "0");
    assert.equal(noOut.status, 2);
    assert.match(noOut.stderr, /--out FILE\.npy is required/);
    const range = await cli("frames", video, "--indices", "0,36", "--out", out);
    assert.equal(range.status, 1);
    assert.match(range.stderr, /frame index 36 is out of range/);
    assert.ok(range.stderr.includes(video));
    const missing = await run("frames", join(tmp, "missing.mp4"), "--indices", "0", "--out", out);
    assert.equal(missing.status, 1);
    assert.ok(missing.stderr.includes(join(tmp, "missing.mp4")), missing.stderr);
    assert.throws(() => readFileSync(out), /ENOENT/);
  });
});

describe("videomae synth", () => {
  test("--json writes the dataset and prints its summary; a second run skips everything", async () => {
    const out = join(tmp, "synth");
    const args = ["synth", "--out", out, "--classes", "2", "--videos", "3", "--size", "16", "--frames", "8", "--json"];
    const first = await run(...args);
    assert.equal(first.status, 0, first.stderr);
    const s = JSON.parse(first.stdout);
    assert.deepEqual(s.classes, ["move_right", "move_left"]);
    assert.deepEqual(s.counts, { train: 2, val: 2, test: 2, pretrain: 2 });
    assert.equal(s.generated, 6);
    assert.equal(s.files.train, join(out, "train.csv"));
    assert.equal(readFileSync(join(out, "val.csv"), "utf8"), "videos/val/move_right_0000.mp4 0\nvideos/val/move_left_0000.mp4 1\n");
    assert.equal(first.stderr, "", "no progress line with --json");

    const second = await cli(...args.slice(0, -1));
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /0 written, 6 already present/);
    assert.match(second.stdout, /classes \(2\): move_right, move_left/);
    assert.match(second.stderr, /synth: 6\/6 videos/);
  });

  test("bad options are usage errors named as on the command line", async () => {
    const out = join(tmp, "never");
    const odd = await cli("synth", "--out", out, "--size", "33");
    assert.equal(odd.status, 2);
    assert.match(odd.stderr, /--size must be even/);
    const few = await cli("synth", "--out", out, "--videos", "2");
    assert.equal(few.status, 2);
    assert.match(few.stderr, /--videos must be an integer in 3\.\./);
    const noOut = await cli("synth");
    assert.equal(noOut.status, 2);
    assert.match(noOut.stderr, /--out DIR is required/);
  });
});

test("--help of probe, frames and synth teaches usage, options and an example", async () => {
  for (const c of ["probe", "frames", "synth"]) {
    const r = await cli(c, "--help");
    assert.equal(r.status, 0);
    assert.match(r.stdout, new RegExp(`^Usage: videomae ${c} `));
    assert.match(r.stdout, /Options:/);
    assert.match(r.stdout, /Example:/);
  }
});
