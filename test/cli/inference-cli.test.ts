/** `videomae predict` and `videomae extract` on real (ffmpeg-made) videos with the tiny reference ViT. */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { readNpy } from "../../src/io/npy.ts";
import { tadInput } from "../../src/eval/extract.ts";
import { parseViews } from "../../src/eval/views.ts";
import { fixtures } from "../helpers.ts";
import { manifest } from "../models/reference-data.ts";

const bin = join(import.meta.dirname, "../../bin/videomae.mjs");
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
const ckpt = join(fixtures, "checkpoints", "vit_model_fp32.pth");

describe("predict and extract", () => {
  const dir = mkdtempSync(join(tmpdir(), "vm-infer-"));
  const video = join(dir, "clip.mp4");
  const video2 = join(dir, "other.mp4");
  execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=48x32:rate=25:duration=2", "-pix_fmt", "yuv420p", video]);
  execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=40x40:rate=25:duration=1", "-pix_fmt", "yuv420p", video2]);
  const c = manifest.cases.vit.config;
  const cfg = join(dir, "cfg.json");
  writeFileSync(cfg, JSON.stringify({
    img_size: c.imgSize, patch_size: c.patchSize, num_frames: c.numFrames, tubelet_size: c.tubeletSize,
    embed_dim: c.embedDim, depth: c.depth, num_heads: c.numHeads, mlp_ratio: c.mlpRatio,
  }));
  const labels = join(dir, "labels.txt");
  writeFileSync(labels, "archery\nbowling\ncycling\ndiving\nfencing\n");

  test("views parse", () => {
    assert.deepEqual(parseViews("5x3"), { clips: 5, crops: 3 });
    assert.throws(() => parseViews("5"), /CLIPSxCROPS/);
  });

  test("predict: labelled top-k as JSON; multi-view probabilities sum to ≤ 1", () => {
    const r = run("predict", video, video2, "--checkpoint", ckpt, "--model-config", cfg, "--labels", labels, "--top-k", "3", "--views", "2x3", "--json");
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    assert.equal(lines[0].views, 6);
    const preds = lines[0].predictions as { label: string; score: number }[];
    assert.equal(preds.length, 3);
    assert.ok(preds.every((p) => ["archery", "bowling", "cycling", "diving", "fencing"].includes(p.label)));
    assert.ok(preds[0]!.score >= preds[1]!.score && preds[1]!.score >= preds[2]!.score);
    assert.ok(preds.reduce((s, p) => s + p.score, 0) <= 1 + 1e-6);
    const plain = run("predict", video, "--checkpoint", ckpt, "--model-config", cfg);
    assert.equal(plain.status, 0, plain.stderr);
    assert.match(plain.stdout, /clip\.mp4 \(1 view\):\n\s+\d+\.\d%  class \d/);
    const three = join(dir, "three.txt");
    writeFileSync(three, "a\nb\nc\n");
    const bad = run("predict", video, "--checkpoint", ckpt, "--model-config", cfg, "--labels", three);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /label file has \d+ names but the model has 5 classes/);
  });

  test("extract: [windows, D] per video, official window starts, skip-if-done, bad videos reported", async () => {
    const list = join(dir, "list.txt");
    const broken = join(dir, "broken.mp4");
    writeFileSync(broken, "not a video");
    writeFileSync(list, `clip.mp4 0\nother.mp4 1\nbroken.mp4 2\n`);
    const out = join(dir, "feats");
    const r = run("extract", list, "--out", out, "--checkpoint", ckpt, "--model-config", cfg, "--stride", "4", "--json");
    assert.equal(r.status, 1, "one video failed");
    const res = JSON.parse(r.stdout);
    assert.equal(res.normalize, "none");
    const a = await readNpy(join(out, "clip.npy"));
    // 50 frames, window 4, stride 4: starts 0, 4, …, 44 → 12 windows
    assert.deepEqual(a.shape, [12, c.embedDim]);
    const b = await readNpy(join(out, "other.npy"));
    assert.deepEqual(b.shape, [6, c.embedDim]); // 25 frames: starts 0..20
    assert.ok(res.results.find((x: { video: string; error?: string }) => x.video.endsWith("broken.mp4")).error);
    const mtime = statSync(join(out, "clip.npy")).mtimeMs;
    const again = run("extract", list, "--out", out, "--checkpoint", ckpt, "--model-config", cfg, "--json");
    const res2 = JSON.parse(again.stdout);
    assert.ok(res2.results[0].skipped);
    assert.equal(statSync(join(out, "clip.npy")).mtimeMs, mtime);
  });

  test("predict goes on past an unreadable video or a directory, reports each, and exits 1 at the end", () => {
    const broken = join(dir, "broken-predict.mp4");
    writeFileSync(broken, "not a video");
    const r = run("predict", video, broken, dir, video2, "--checkpoint", ckpt, "--model-config", cfg, "--json");
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.video), [video, broken, dir, video2]);
    assert.ok(lines[0].predictions.length > 0 && lines[3].predictions.length > 0, "the videos after the bad ones are classified");
    assert.match(lines[1].error, /cannot decode .*broken-predict\.mp4/);
    assert.match(lines[2].error, /is a directory, not a video file/);
    assert.match(r.stderr, /2 of 4 videos could not be classified/);
  });

  test("eval reports the videos it could not read (not in the scores) and exits 1", () => {
    const list = join(dir, "eval-list.txt");
    writeFileSync(list, `${video} 0\n${join(dir, "gone.mp4")} 1\n${video2} 2\n`);
    const r = run("eval", "--test", list, "--checkpoint", ckpt, "--model-config", cfg, "--views", "1x1", "--workers", "0", "--json");
    assert.equal(r.status, 1, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.deepEqual(res.unreadable, [join(dir, "gone.mp4")]);
    assert.equal(res.videos, 2);
    assert.match(r.stderr, /1 video could not be read and is not in the scores: .*gone\.mp4/);
  });

  test("extract: outputs named by path (a/x.mp4 and b/x.mp4 both kept), collisions refused, a too-short video is an error", async () => {
    for (const sub of ["a", "b"]) {
      mkdirSync(join(dir, sub), { recursive: true });
      copyFileSync(video2, join(dir, sub, "x.mp4"));
    }
    // 2 frames: fewer than one window of the model's 4 frames.
    execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=32x32:rate=25:duration=0.08", "-pix_fmt", "yuv420p", join(dir, "short.mp4")]);
    const list = join(dir, "paths.txt");
    writeFileSync(list, "a/x.mp4\nb/x.mp4\nshort.mp4\n");
    const out = join(dir, "feats-paths");
    const r = run("extract", list, "--out", out, "--checkpoint", ckpt, "--model-config", cfg, "--json");
    assert.equal(r.status, 1, "the short video fails the run");
    for (const sub of ["a", "b"]) assert.deepEqual((await readNpy(join(out, sub, "x.npy"))).shape, [6, c.embedDim]);
    assert.ok(!existsSync(join(out, "short.npy")), "no empty (0, D) file for the short video");
    const short = JSON.parse(r.stdout).results.find((x: { video: string }) => x.video.endsWith("short.mp4"));
    assert.match(short.error, /short\.mp4 has 2 frames, fewer than one window of 4/);

    const clash = join(dir, "clash.txt");
    writeFileSync(clash, "a/x.mp4\na/x.avi\n");
    const out2 = join(dir, "feats-clash");
    const c2 = run("extract", clash, "--out", out2, "--checkpoint", ckpt, "--model-config", cfg);
    assert.equal(c2.status, 1);
    assert.match(c2.stderr, /1 output name collision\(s\).*a\/x\.mp4 \(.*clash\.txt:1\) and .*a\/x\.avi \(.*clash\.txt:2\) → .*feats-clash\/a\/x\.npy/s);
    assert.ok(!existsSync(out2), "refused before any work");
  });

  test("TAD input: /255 then bilinear resize; optional ImageNet normalisation", () => {
    const frames = new Uint8Array(2 * 4 * 4 * 3).fill(255);
    const x = tadInput(frames, 2, 4, 4, { size: 2, normalize: "none" });
    assert.deepEqual(x.shape, [3, 2, 2, 2]);
    assert.ok(x.toArray().every((v) => Math.abs(v - 1) < 1e-6));
    const y = tadInput(frames, 2, 4, 4, { size: 2, normalize: "imagenet" });
    assert.ok(Math.abs(y.toArray()[0]! - (1 - 0.485) / 0.229) < 1e-5);
  });
});
