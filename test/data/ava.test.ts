/**
 * AVA data (src/data/ava): keyframes from CSV rows, the clip's frame indices around a keyframe,
 * box conversions (pixels, jitter, extension, flip), training/test views and the padded batch,
 * read through a fake decoder whose pixels say which frame they come from. No addon needed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { clipIndices, collateAva, extendBox, groundTruthKeyframes, jitterBox, proposalKeyframes, testSample, toPixels, trainSample, AVA_MEAN, AVA_STD } from "../../src/data/ava/clips.ts";
import { AvaFileError, keyframeKey, parseAvaCsv, readExcluded, readProposals } from "../../src/data/ava/csv.ts";
import { AvaLoader } from "../../src/data/ava/loader.ts";
import { Rng } from "../../src/util/rng.ts";
import type { Clip, ResizeSpec, VideoInfo, VideoReader } from "../../src/video/reader.ts";

const GT = `v1,0902,0.1,0.2,0.5,0.9,12,0
v1,0902,0.1,0.2,0.5,0.9,80,0
v1,0902,0.6,0.1,0.9,0.8,12,1
v2,1000,0.0,0.0,1.0,1.0,3,4
`;

/** Frames of W×H where every pixel of frame f has value f (mod 256); records the requests. */
class FakeReader implements VideoReader {
  requests: number[][] = [];
  constructor(
    readonly W: number,
    readonly H: number,
    readonly frames: number,
    readonly fps: number,
  ) {}
  async probe(path: string): Promise<VideoInfo> {
    return { path, width: this.W, height: this.H, fps: this.fps, frameCount: this.frames, durationSec: this.frames / this.fps, rotation: 0, codec: "fake" } as VideoInfo;
  }
  async readFrames(_path: string, indices: readonly number[], _size?: ResizeSpec): Promise<Clip> {
    this.requests.push([...indices]);
    const n = this.W * this.H * 3;
    const data = new Uint8Array(indices.length * n);
    indices.forEach((f, t) => data.fill(f % 256, t * n, (t + 1) * n));
    return { data, frames: indices.length, height: this.H, width: this.W };
  }
  streamWindows(): AsyncIterable<never> {
    throw new Error("not used");
  }
}

describe("AVA keyframes and clips", () => {
  test("ground truth: one person per (person id, box) with all its actions", () => {
    const kfs = groundTruthKeyframes(parseAvaCsv("gt.csv", GT));
    assert.equal(kfs.length, 2);
    assert.equal(kfs[0]!.key, "v1,0902");
    assert.deepEqual(kfs[0]!.actions, [[12, 80], [12]]);
    assert.deepEqual(kfs[1]!.boxes, [[0, 0, 1, 1]]);
  });

  test("16×4 clip: offsets −31, −27, …, +29 around the keyframe (the reference's TemporalCrop), clamped", () => {
    const idx = clipIndices(100, 1000, 16, 4);
    assert.equal(idx[0], 69);
    assert.equal(idx[15], 129);
    assert.ok(idx.every((v, i) => i === 0 || v - idx[i - 1]! === 4));
    assert.deepEqual(clipIndices(2, 10, 4, 2), [0, 0, 2, 4]); // start ⌊1/2⌋ − 4 = −4 → clamped at 0
  });

  test("boxes: normalised → pixels (x2 = x·W − 1), test extension, jitter within the reference's ranges", () => {
    assert.deepEqual(toPixels([0.5, 0.25, 1, 1], 64, 48), [32, 12, 63, 47]);
    const e = extendBox([10, 10, 29, 49], 64, 48);
    assert.deepEqual(e, [9, 9, 30, 47]); // ±5 % of 20, ±2.5 % of 40, clamped to row 47
    const rng = new Rng(3);
    for (let i = 0; i < 200; i++) {
      const [x1, y1, x2, y2] = jitterBox([100, 100, 200, 300], rng);
      assert.ok(x1 >= 80 && x1 <= 110 && y1 >= 80 && y1 <= 110 && x2 >= 190 && x2 <= 220 && y2 >= 290 && y2 <= 320);
    }
  });

  test("training view: crop, flip (x → w − x − 1), boxes clipped or dropped; test view: full frame", async () => {
    const reader = new FakeReader(80, 48, 40, 8);
    const [kf] = groundTruthKeyframes(parseAvaCsv("gt.csv", "v,0002,0.0,0.0,0.25,0.5,1,0\nv,0002,0.95,0.9,1.0,1.0,2,1\n"));
    const clip = await reader.readFrames("v", [16, 18]);
    const a = { cropSize: 48, flip: true, colorJitter: false, boxJitter: false };
    let flipped = 0;
    for (let seed = 0; seed < 20; seed++) {
      const s = trainSample(kf!, clip, a, new Rng(seed));
      assert.equal(s.width, 48);
      assert.equal(s.height, 48);
      for (const [i, b] of s.boxes.entries()) assert.ok(b[0] >= 0 && b[2] <= 47 && b[2] - b[0] >= 1, `box ${i}: ${b}`);
      const b0 = s.boxes[s.kept.indexOf(0)];
      if (b0 && b0[2] === 47) flipped++; // the left box [0, 19] ends at the right edge after a flip with x0 = 0
    }
    assert.ok(flipped > 0);
    const t = testSample(kf!, clip);
    assert.equal(t.width, 80);
    assert.equal(t.boxes.length, 2);
    // normalised with the detection code's mean/std: frame 16's pixels
    assert.ok(Math.abs(t.video[0]! - (16 - AVA_MEAN[0]) / AVA_STD[0]) < 1e-6);
  });

  test("collate: zero padding to the patch grid, rois carry their clip index", async () => {
    const reader = new FakeReader(20, 12, 10, 1);
    const [kf] = groundTruthKeyframes(parseAvaCsv("gt.csv", "v,0002,0.1,0.1,0.5,0.5,1,0\n"));
    const big = testSample(kf!, await reader.readFrames("v", [1, 2]));
    const small = testSample(kf!, { ...(await reader.readFrames("v", [3, 4])), width: 10, height: 6, data: new Uint8Array(2 * 10 * 6 * 3).fill(3) });
    const b = collateAva([big, small], 8);
    assert.deepEqual(b.shape, [2, 3, 2, 16, 24]);
    assert.deepEqual([b.rois[0], b.rois[5]], [0, 1]);
    const at = (n: number, c: number, t: number, y: number, x: number) => b.video[(((n * 3 + c) * 2 + t) * 16 + y) * 24 + x]!;
    assert.equal(at(1, 0, 0, 6, 0), 0); // padding below clip 1
    assert.ok(Math.abs(at(1, 0, 0, 5, 9) - (3 - AVA_MEAN[0]) / AVA_STD[0]) < 1e-6);
  });

  test("loader: keyframe second t → frame round(t·fps) ± the clip offsets; epochs are re-creatable; shards split the keyframes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ava-"));
    writeFileSync(join(dir, "v1.mp4"), "");
    writeFileSync(join(dir, "v2.mp4"), "");
    const reader = new FakeReader(32, 24, 40000, 25);
    const kfs = groundTruthKeyframes(parseAvaCsv("gt.csv", GT));
    const make = (rank: number, world: number) =>
      new AvaLoader(kfs, { reader, videoDir: dir, videoExt: "mp4", clip: { numFrames: 16, samplingRate: 4, fps: null, shortSide: 24 }, augment: { cropSize: 16, flip: true, colorJitter: true, boxJitter: true }, batchSize: 1, multiple: 8, seed: 5, shuffle: true, dropLast: true, rank, worldSize: world });
    const l = make(0, 1);
    const first = [];
    for await (const b of l.epoch(3)) first.push(b);
    assert.equal(first.length, 2);
    const k = reader.requests.find((r) => r[0]! === 902 * 25 - 31);
    assert.ok(k, `a request starting at frame ${902 * 25 - 31}: ${JSON.stringify(reader.requests.map((r) => r[0]))}`);
    const again = [];
    for await (const b of l.epoch(3, 1)) again.push(b); // resume after batch 0
    assert.deepEqual(again[0]!.rois, first[1]!.rois);
    assert.deepEqual(again[0]!.video, first[1]!.video);
    assert.equal(make(0, 2).numBatches() + make(1, 2).numBatches(), 2);
    assert.throws(() => new AvaLoader(kfs, { ...l.o, videoExt: "mkv" }), (e: unknown) => e instanceof AvaFileError && /2 videos of the annotations are missing/.test(e.message));
  });

  test("proposals: score threshold, excluded keys, files name bad lines", () => {
    const dir = mkdtempSync(join(tmpdir(), "ava-"));
    const p = join(dir, "p.csv");
    writeFileSync(p, "v,0902,0.1,0.1,0.5,0.5,0.9\nv,0902,0.2,0.2,0.6,0.6,0.5\nv,0903,0.1,0.1,0.5,0.5,0.95\n");
    const kept = readProposals(p, 0.8);
    assert.equal(kept.get("v,0902")!.length, 1);
    writeFileSync(join(dir, "ex.csv"), "v,903\n");
    const kfs = proposalKeyframes(kept, readExcluded(join(dir, "ex.csv")));
    assert.deepEqual(kfs.map((k) => k.key), ["v,0902"]);
    assert.equal(kfs[0]!.scores[0], 0.9);
    assert.equal(keyframeKey("v", 7.9), "v,0007");
    writeFileSync(p, "v,0902,0.1,0.1,0.5,0.5\n");
    assert.throws(() => readProposals(p, 0.8), /p\.csv:1: expected 7 columns/);
  });
});

