// The synthetic motion dataset: deterministic rendering, balanced plans, official list formats,
// resumable generation, and — the point of it — labels that live in the motion, not in any frame.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

import {
  generateSynthDataset,
  MAX_SYNTH_CLASSES,
  planSynthDataset,
  renderSynthVideo,
  resolveSynthSettings,
  SYNTH_CLASSES,
  synthClasses,
  SynthOptionsError,
  SynthOutputConflictError,
  type SynthSettings,
} from "../../src/data/synth/index.ts";
import { FfmpegNotFoundError } from "../../src/video/errors.ts";
import { FfmpegReader } from "../../src/video/ffmpeg-reader.ts";
import { frameView, type Clip } from "../../src/video/reader.ts";

const tmp = mkdtempSync(join(tmpdir(), "videomae-synth-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

test("classes: K takes the first K of the catalogue; names are list-file safe", () => {
  assert.deepEqual(synthClasses(4).map((c) => c.name), ["move_right", "move_left", "move_down", "move_up"]);
  assert.equal(synthClasses(MAX_SYNTH_CLASSES).length, SYNTH_CLASSES.length);
  for (const c of SYNTH_CLASSES) assert.match(c.name, /^[a-z_]+$/);
  assert.throws(() => synthClasses(1), /classes must be an integer in 2\.\.10, got 1/);
  assert.throws(() => synthClasses(11), RangeError);
});

test("settings: defaults, and errors naming the option", () => {
  const s = resolveSynthSettings();
  assert.equal(s.classes, 4);
  assert.equal(s.videosPerClass, 50);
  assert.equal(s.size, 64);
  assert.equal(s.frames, 32);
  assert.throws(() => resolveSynthSettings({ size: 33 }), (e: unknown) => e instanceof SynthOptionsError && /size must be even/.test(e.message));
  assert.throws(() => resolveSynthSettings({ videosPerClass: 2 }), /videosPerClass must be an integer in 3\.\./);
  assert.throws(() => resolveSynthSettings({ classes: 12 }), /classes must be an integer in 2\.\.10/);
  assert.throws(() => resolveSynthSettings({ seed: -1 }), /seed/);
  assert.throws(() => resolveSynthSettings({ fps: Number.NaN }), /fps must be a number/);
});

test("plan: every split holds every class equally often; paths are unique and relative", () => {
  const s = resolveSynthSettings({ classes: 6, videosPerClass: 50 });
  const plan = planSynthDataset(s);
  assert.equal(plan.length, 300);
  const expected = { train: 34, val: 8, test: 8 };
  for (const [split, n] of Object.entries(expected)) {
    for (let label = 0; label < 6; label++) {
      assert.equal(plan.filter((v) => v.split === split && v.label === label).length, n, `${split} class ${label}`);
    }
  }
  assert.equal(new Set(plan.map((v) => v.path)).size, plan.length);
  for (const v of plan) assert.match(v.path, /^videos\/(train|val|test)\/[a-z_]+_\d{4}\.mp4$/);
  // Index-major order: every prefix of a split is (nearly) balanced, so a partial run is too.
  assert.deepEqual(plan.slice(0, 6).map((v) => v.label), [0, 1, 2, 3, 4, 5]);
});

test("rendering is deterministic under the seed, and frames render alone exactly as in the clip", () => {
  const s = resolveSynthSettings({ size: 32, frames: 12 });
  const v = { split: "train", index: 3, label: 1 } as const;
  const a = renderSynthVideo(s, v);
  assert.deepEqual([a.frames, a.height, a.width, a.data.length], [12, 32, 32, 12 * 32 * 32 * 3]);
  assert.equal(sha(renderSynthVideo(s, v).data), sha(a.data));
  assert.notEqual(sha(renderSynthVideo({ ...s, seed: 1 }, v).data), sha(a.data));
  assert.notEqual(sha(renderSynthVideo(s, { ...v, index: 4 }).data), sha(a.data));
  // Pinned: a change here changes every dataset generated so far. If it is on purpose, update
  // the hash and bump MANIFEST_VERSION in src/data/synth/dataset.ts.
  assert.equal(sha(a.data), "ac811de3921f5e2d43febf8029b6b8bf45b127569ca4d361a77f3bff12c14bf5");

  const some = renderSynthVideo(s, v, [7, 2, 7]);
  assert.equal(some.frames, 3);
  assert.deepEqual(frameView(some, 0), frameView(a, 7));
  assert.deepEqual(frameView(some, 1), frameView(a, 2));
  assert.deepEqual(frameView(some, 2), frameView(a, 7));
});

test("the K videos sharing an index are one scene in K motions: frame 0 identical, later frames not", () => {
  const s = resolveSynthSettings({ classes: MAX_SYNTH_CLASSES, size: 32, frames: 8 });
  const clips = SYNTH_CLASSES.map((_, label) => renderSynthVideo(s, { split: "val", index: 5, label }, [0, 6]));
  for (const c of clips.slice(1)) {
    assert.deepEqual(frameView(c, 0), frameView(clips[0]!, 0));
  }
  assert.equal(new Set(clips.map((c) => sha(frameView(c, 1)))).size, clips.length);
});

// ---- Learnability: pixel statistics computed on rendered frames --------------------------------

/** Brightest channel per pixel (the actor differs from the background most there, see scene.ts). */
function value(clip: Clip, t: number): Float32Array {
  const f = frameView(clip, t);
  const v = new Float32Array(clip.width * clip.height);
  for (let i = 0; i < v.length; i++) v[i] = Math.max(f[3 * i]!, f[3 * i + 1]!, f[3 * i + 2]!);
  return v;
}

function median(v: Float32Array): number {
  const c = Float32Array.from(v).sort();
  return c[c.length >> 1]!;
}

/** Count and circular centroid (angles, since the frame is a torus) of the selected pixels. */
function centroid(sel: (i: number) => boolean, w: number, h: number) {
  let n = 0;
  let cx = 0;
  let sx = 0;
  let cy = 0;
  let sy = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!sel(y * w + x)) continue;
      n++;
      const ax = (2 * Math.PI * (x + 0.5)) / w;
      const ay = (2 * Math.PI * (y + 0.5)) / h;
      cx += Math.cos(ax);
      sx += Math.sin(ax);
      cy += Math.cos(ay);
      sy += Math.sin(ay);
    }
  }
  return { n, ax: Math.atan2(sx, cx), ay: Math.atan2(sy, cy) };
}

/**
 * What one frame shows: mean colour, and the size and position of the pixels far from the
 * frame's median brightness (the actor, as far as one frame can tell).
 */
function singleFrameFeatures(clip: Clip, t: number): number[] {
  const f = frameView(clip, t);
  const mean = [0, 1, 2].map((c) => {
    let m = 0;
    for (let i = c; i < f.length; i += 3) m += f[i]!;
    return m / (f.length / 3);
  });
  const v = value(clip, t);
  const med = median(v);
  const c = centroid((i) => Math.abs(v[i]! - med) > 60, clip.width, clip.height);
  return [...mean, c.n, Math.cos(c.ax), Math.sin(c.ax), Math.cos(c.ay), Math.sin(c.ay)];
}

/**
 * What two frames a and b show: where pixels changed towards the actor's brightness ("arrivals")
 * and away from it ("departures"). The actor's polarity (light on dark or dark on light) is read
 * from frame a. Translation moves the arrivals ahead of the departures; growing makes more
 * arrivals than departures.
 */
function twoFrameMotion(clip: Clip, a: number, b: number) {
  const va = value(clip, a);
  const vb = value(clip, b);
  const med = median(va);
  let dev = 0;
  for (let i = 0; i < va.length; i++) if (Math.abs(va[i]! - med) > 60) dev += va[i]! - med;
  const p = dev < 0 ? -1 : 1;
  const arrivals = centroid((i) => p * (vb[i]! - va[i]!) > 40, clip.width, clip.height);
  const departures = centroid((i) => p * (vb[i]! - va[i]!) < -40, clip.width, clip.height);
  const wrap = (x: number) => Math.atan2(Math.sin(x), Math.cos(x));
  return { dx: wrap(arrivals.ax - departures.ax), dy: wrap(arrivals.ay - departures.ay), growth: arrivals.n - departures.n };
}

/** Accuracy of a nearest-class-mean classifier (standardised features) fit on `fit`, scored on `score`. */
function nearestMeanAccuracy(fit: { x: number[]; y: number }[], score: { x: number[]; y: number }[]): number {
  const d = fit[0]!.x.length;
  const mu = Array.from({ length: d }, (_, j) => fit.reduce((s, r) => s + r.x[j]!, 0) / fit.length);
  const sd = Array.from({ length: d }, (_, j) => Math.sqrt(fit.reduce((s, r) => s + (r.x[j]! - mu[j]!) ** 2, 0) / fit.length) || 1);
  const z = (x: number[]) => x.map((v, j) => (v - mu[j]!) / sd[j]!);
  const labels = [...new Set(fit.map((r) => r.y))];
  const means = new Map(
    labels.map((y) => {
      const rows = fit.filter((r) => r.y === y).map((r) => z(r.x));
      return [y, Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + r[j]!, 0) / rows.length)];
    }),
  );
  let right = 0;
  for (const r of score) {
    const zx = z(r.x);
    let best = -1;
    let bestD = Infinity;
    for (const [y, m] of means) {
      const dist = m.reduce((s, v, j) => s + (v - zx[j]!) ** 2, 0);
      if (dist < bestD) [best, bestD] = [y, dist];
    }
    if (best === r.y) right++;
  }
  return right / score.length;
}

function sampleVideos(s: SynthSettings, labels: number[], perClass: number, frames: number[]) {
  const out: { label: number; index: number; clip: Clip }[] = [];
  for (let index = 0; index < perClass; index++) {
    for (const label of labels) out.push({ label, index, clip: renderSynthVideo(s, { split: "train", index, label }, frames) });
  }
  return out;
}

test("directions: a single frame is at chance, the difference of two frames separates the classes", () => {
  const s = resolveSynthSettings({ classes: 4 });
  // Frames 16 and 19 of each video (rendered alone); features of frame 16 vs motion 16 → 19.
  const videos = sampleVideos(s, [0, 1, 2, 3], 40, [16, 19]);
  const rows = videos.map((v) => ({ y: v.label, x: singleFrameFeatures(v.clip, 0), even: v.index % 2 === 0 }));
  const single = nearestMeanAccuracy(rows.filter((r) => r.even), rows.filter((r) => !r.even));
  assert.ok(single < 0.4, `single-frame accuracy ${single} should be near chance (0.25)`);

  let right = 0;
  for (const v of videos) {
    const m = twoFrameMotion(v.clip, 0, 1);
    const score = [m.dx, -m.dx, m.dy, -m.dy]; // right, left, down, up
    if (score.indexOf(Math.max(...score)) === v.label) right++;
  }
  const motion = right / videos.length;
  assert.ok(motion > 0.95, `two-frame motion accuracy ${motion} should be near 1`);
});

test("grow vs shrink: one frame's actor size is at chance, the sign of its change is not", () => {
  const s = resolveSynthSettings({ classes: 8 });
  const videos = sampleVideos(s, [6, 7], 50, [16, 19]);
  const rows = videos.map((v) => ({ y: v.label, x: singleFrameFeatures(v.clip, 0), even: v.index % 2 === 0 }));
  const single = nearestMeanAccuracy(rows.filter((r) => r.even), rows.filter((r) => !r.even));
  assert.ok(single < 0.7, `single-frame accuracy ${single} should be near chance (0.5)`);
  // Wrong answers come from the restart of the growth cycle falling between the two frames.
  const motion = videos.filter((v) => (twoFrameMotion(v.clip, 0, 1).growth > 0) === (v.label === 6)).length / videos.length;
  assert.ok(motion > 0.85, `two-frame growth accuracy ${motion} should be high`);
});

// ---- On disk ----------------------------------------------------------------------------------

const tiny = { classes: 2, videosPerClass: 4, size: 32, frames: 12 } as const;

function readLines(path: string): string[] {
  const text = readFileSync(path, "utf8");
  assert.ok(text.endsWith("\n"), `${path} ends with a newline`);
  return text.slice(0, -1).split("\n");
}

test("generate: mp4 videos, official list formats, labels and manifest; decodes to the rendered frames", async () => {
  const out = join(tmp, "tiny");
  const progress: number[] = [];
  const summary = await generateSynthDataset({ ...tiny, out, onProgress: (p) => progress.push(p.done) });
  assert.deepEqual(summary.counts, { train: 4, val: 2, test: 2, pretrain: 4 });
  assert.deepEqual(summary.perClass, { train: 2, val: 1, test: 1 });
  assert.equal(summary.generated, 8);
  assert.equal(summary.skipped, 0);
  assert.deepEqual(progress, [1, 2, 3, 4, 5, 6, 7, 8]);

  assert.deepEqual(readLines(join(out, "labels.txt")), ["move_right", "move_left"]);
  const train = readLines(join(out, "train.csv"));
  assert.deepEqual(train, ["videos/train/move_right_0000.mp4 0", "videos/train/move_left_0000.mp4 1", "videos/train/move_right_0001.mp4 0", "videos/train/move_left_0001.mp4 1"]);
  assert.deepEqual(readLines(join(out, "val.csv")), ["videos/val/move_right_0000.mp4 0", "videos/val/move_left_0000.mp4 1"]);
  assert.deepEqual(readLines(join(out, "test.csv")), ["videos/test/move_right_0000.mp4 0", "videos/test/move_left_0000.mp4 1"]);
  assert.deepEqual(readLines(join(out, "pretrain.csv")), train.map((l) => `${l.split(" ")[0]} 0 -1`));

  const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
  assert.equal(manifest.format, "videomae-synth");
  assert.equal(manifest.complete, true);
  assert.equal(manifest.settings.seed, 0);
  assert.equal(manifest.settings.size, 32);
  assert.deepEqual(manifest.classes.map((c: { name: string }) => c.name), ["move_right", "move_left"]);
  assert.deepEqual(manifest.counts, summary.counts);

  // Every listed path resolves against the list file's folder.
  const reader = new FfmpegReader({ timeoutMs: 20_000 });
  const first = join(out, train[1]!.split(" ")[0]!);
  const info = await reader.probe(first);
  assert.deepEqual([info.width, info.height, info.frameCount, info.fps, info.codec], [32, 32, 12, 25, "h264"]);
  const decoded = await reader.readFrames(first, Array.from({ length: 12 }, (_, i) => i));
  const rendered = renderSynthVideo(resolveSynthSettings(tiny), { split: "train", index: 0, label: 1 });
  let se = 0;
  for (let i = 0; i < decoded.data.length; i++) se += (decoded.data[i]! - rendered.data[i]!) ** 2;
  const psnr = 10 * Math.log10((255 * 255) / (se / decoded.data.length));
  assert.ok(psnr > 28, `decoded vs rendered PSNR ${psnr.toFixed(1)} dB`);
});

test("generate: resumes (skips finished videos), grows in place, and --force re-creates identical bytes", async () => {
  const out = join(tmp, "tiny"); // made by the previous test
  const video = join(out, "videos/train/move_left_0001.mp4");
  const before = statSync(video).mtimeMs;
  const bytes = readFileSync(video);

  const again = await generateSynthDataset({ ...tiny, out });
  assert.deepEqual([again.generated, again.skipped], [0, 8]);
  assert.equal(statSync(video).mtimeMs, before);

  // An interrupted run: a missing video and a leftover partial file.
  unlinkSync(join(out, "videos/val/move_right_0000.mp4"));
  writeFileSync(join(out, "videos/val/move_right_0000.mp4.part"), "half a video");
  const resumed = await generateSynthDataset({ ...tiny, out });
  assert.deepEqual([resumed.generated, resumed.skipped], [1, 7]);

  // More videos per class: only the new ones are made (val/test stay 1 per class at 5).
  const grown = await generateSynthDataset({ ...tiny, videosPerClass: 5, out });
  assert.deepEqual([grown.generated, grown.skipped], [2, 8]);
  assert.equal(readLines(join(out, "train.csv")).length, 6);

  const forced = await generateSynthDataset({ ...tiny, videosPerClass: 5, out, force: true });
  assert.deepEqual([forced.generated, forced.skipped], [10, 0]);
  assert.deepEqual(readFileSync(video), bytes, "x264 with one thread re-creates the same bytes");
});

test("generate: refuses a folder made with other settings, or holding other files", async () => {
  const out = join(tmp, "tiny");
  await assert.rejects(generateSynthDataset({ ...tiny, seed: 7, out }), (e: unknown) => {
    assert.ok(e instanceof SynthOutputConflictError);
    assert.match(e.message, /seed 0 → 7/);
    assert.ok(e.message.includes(out));
    assert.match(e.message, /--force/);
    return true;
  });
  const foreign = join(tmp, "foreign");
  mkdirSync(foreign);
  writeFileSync(join(foreign, "train.csv"), "someone else's list\n");
  await assert.rejects(generateSynthDataset({ ...tiny, out: foreign }), /not empty and has no manifest\.json/);
  assert.equal(readFileSync(join(foreign, "train.csv"), "utf8"), "someone else's list\n");

  const older = join(tmp, "older");
  mkdirSync(older);
  writeFileSync(join(older, "manifest.json"), JSON.stringify({ format: "videomae-synth", version: 0, settings: resolveSynthSettings(tiny) }));
  await assert.rejects(generateSynthDataset({ ...tiny, out: older }), /made by generator version 0/);
});

test("generate: without ffmpeg, fails with FfmpegNotFoundError before writing anything", async () => {
  const out = join(tmp, "no-ffmpeg");
  await assert.rejects(generateSynthDataset({ ...tiny, out, ffmpegPath: join(tmp, "no-such-ffmpeg") }), (e: unknown) => {
    assert.ok(e instanceof FfmpegNotFoundError);
    assert.match(e.message, /apt-get install ffmpeg/);
    return true;
  });
  assert.throws(() => statSync(out), /ENOENT/);
});
