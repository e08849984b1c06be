// Frame-index samplers against the index lists of spec §4.1–4.3 and §7 (cross-checked against
// the official Python rules).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  denseTestClips,
  denseTrainIndices,
  denseValIndices,
  denseWindow,
  linspace,
  pretrainIndices,
  pretrainStride,
  segmentTestClips,
  segmentTrainIndices,
  segmentValIndices,
  tadWindowStarts,
} from "../../src/data/samplers.ts";
import { Rng } from "../../src/util/rng.ts";

const range = (a: number, n: number, step = 1) => Array.from({ length: n }, (_, k) => a + k * step);
const LINSPACE_64 = [0, 4, 8, 12, 17, 21, 25, 29, 34, 38, 42, 46, 51, 55, 59, 63];

describe("pre-training (exact stride)", () => {
  test("long video: 16 frames at stride 4 from a start uniform in [0, L − 64]", () => {
    const rng = new Rng(1);
    const starts = new Set<number>();
    for (let i = 0; i < 3000; i++) {
      const idx = pretrainIndices(100, {}, rng);
      const s = idx[0]!;
      assert.deepEqual(idx, range(s, 16, 4));
      assert.ok(s >= 0 && s <= 36);
      starts.add(s);
    }
    assert.equal(starts.size, 37); // every start in 0..36 occurs
  });

  test("exactly 64 frames: start 0", () => {
    assert.deepEqual(pretrainIndices(64, {}, new Rng(3)), range(0, 16, 4));
  });

  test("short videos start at 0 and repeat the last frame the official loop reaches", () => {
    const rng = new Rng(0);
    assert.deepEqual(pretrainIndices(30, {}, rng), [0, 4, 8, 12, 16, 20, 24, 28, 28, 28, 28, 28, 28, 28, 28, 28]);
    assert.deepEqual(pretrainIndices(29, {}, rng), [0, 4, 8, 12, 16, 20, 24, ...Array(9).fill(24)]);
    assert.deepEqual(pretrainIndices(63, {}, rng), range(0, 16, 4));
    assert.deepEqual(pretrainIndices(1, {}, rng), Array(16).fill(0));
  });

  test("SSv2 sources use stride 2", () => {
    assert.equal(pretrainStride("data/SomethingV2/frames/1234"), 2);
    assert.equal(pretrainStride("k710/abc.mp4"), 4);
    assert.equal(pretrainStride("k710/abc.mp4", 3), 3);
    assert.deepEqual(pretrainIndices(20, { stride: 2 }, new Rng(0)), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 18, 18, 18, 18, 18, 18]);
    const idx = pretrainIndices(40, { stride: 2 }, new Rng(5));
    assert.deepEqual(idx, range(idx[0]!, 16, 2));
    assert.ok(idx[0]! <= 8);
  });
});

describe("fine-tuning, dense sampling", () => {
  test("linspace window offsets for L_w = 64 (not an exact stride)", () => {
    assert.deepEqual(denseWindow(0, 64, 16), LINSPACE_64);
    // HF's conversion script documents the same pattern: 164, 168, …, 227.
    assert.deepEqual(denseWindow(164, 228, 16), [164, 168, 172, 176, 181, 185, 189, 193, 198, 202, 206, 210, 215, 219, 223, 227]);
    // L_w = 32 (rate 2)
    assert.deepEqual(denseWindow(0, 32, 16), [0, 2, 4, 6, 8, 10, 12, 14, 17, 19, 21, 23, 25, 27, 29, 31]);
  });

  test("train: end uniform in [L_w, L), offsets always the linspace pattern", () => {
    const rng = new Rng(7);
    const ends = new Set<number>();
    for (let i = 0; i < 3000; i++) {
      const idx = denseTrainIndices(100, { rate: 4 }, rng);
      const start = idx[0]!;
      assert.deepEqual(idx.map((x) => x - start), LINSPACE_64);
      ends.add(start + 64);
    }
    assert.deepEqual([...ends].sort((a, b) => a - b), range(64, 36)); // 64..99
  });

  test("short videos (L ≤ L_w): evenly spaced, padded with the last frame", () => {
    const rng = new Rng(0);
    assert.deepEqual(denseTrainIndices(30, {}, rng), [0, 5, 10, 15, 20, 25, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29]);
    assert.deepEqual(denseTrainIndices(64, {}, rng), LINSPACE_64);
    assert.deepEqual(denseTrainIndices(3, {}, rng), Array(16).fill(2));
    assert.deepEqual(denseTrainIndices(20, { rate: 2 }, rng), [0, 2, 4, 6, 8, 11, 13, 15, 17, 19, 19, 19, 19, 19, 19, 19]);
  });

  test("validation: centred window", () => {
    assert.deepEqual(denseValIndices(300), LINSPACE_64.map((x) => x + 118));
    assert.deepEqual(denseValIndices(30), [0, 5, 10, 15, 20, 25, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29]);
  });

  test("test: every rate-th frame, K clips at int(k·(F−16)/(K−1)), exact stride", () => {
    const clips = denseTestClips(100, { rate: 4, numClips: 5 });
    assert.deepEqual(
      clips.map((c) => c[0]! / 4),
      [0, 2, 4, 6, 9],
    ); // F = 25, step 2.25
    for (const c of clips) assert.deepEqual(c, range(c[0]!, 16, 4));
    assert.deepEqual(clips[4], range(36, 16, 4));
    // 300 frames: F = 75, step 14.75 → starts 0, 14, 29, 44, 59
    assert.deepEqual(denseTestClips(300, { numClips: 5 }).map((c) => c[0]! / 4), [0, 14, 29, 44, 59]);
  });

  test("test: short video padded with the last sampled frame", () => {
    const clips = denseTestClips(40, { rate: 4, numClips: 5 });
    const expected = [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 36, 36, 36, 36, 36, 36];
    for (const c of clips) assert.deepEqual(c, expected);
  });

  test("test: K = 1 takes the centred clip", () => {
    assert.deepEqual(denseTestClips(100, { numClips: 1 }), [range(16, 16, 4)]); // F = 25, start ⌊9/2⌋ = 4
  });
});

describe("segment sampling (SSv2)", () => {
  test("train: one random frame inside each of 16 segments", () => {
    const rng = new Rng(11);
    const seen = Array.from({ length: 16 }, () => new Set<number>());
    for (let i = 0; i < 500; i++) {
      const idx = segmentTrainIndices(50, {}, rng);
      assert.equal(idx.length, 16);
      idx.forEach((v, k) => {
        assert.ok(v >= 3 * k && v < 3 * k + 3, `segment ${k}: ${v}`);
        seen[k]!.add(v);
      });
    }
    for (const s of seen) assert.equal(s.size, 3);
  });

  test("short video: zeros in front, then every frame", () => {
    assert.deepEqual(segmentTrainIndices(10, {}, new Rng(0)), [0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(segmentValIndices(10), [0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test("validation: segment centres", () => {
    assert.deepEqual(segmentValIndices(50), range(1, 16, 3));
    assert.deepEqual(segmentValIndices(16), range(0, 16));
  });

  test("test: 2 clips at int(k·tick/2 + tick·x)", () => {
    assert.deepEqual(segmentTestClips(50), [
      [0, 3, 6, 9, 12, 15, 18, 21, 25, 28, 31, 34, 37, 40, 43, 46],
      [1, 4, 7, 10, 14, 17, 20, 23, 26, 29, 32, 35, 39, 42, 45, 48],
    ]);
    assert.deepEqual(segmentTestClips(32), [range(0, 16, 2), range(1, 16, 2)]);
    assert.deepEqual(segmentTestClips(8)[0], [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7]);
  });
});

test("TAD windows: range(0, F − 15, s)", () => {
  assert.deepEqual(tadWindowStarts(100, { stride: 4 }), range(0, 22, 4)); // ⌈85/4⌉ = 22 windows
  assert.deepEqual(tadWindowStarts(100, { stride: 16 }), [0, 16, 32, 48, 64, 80]);
  assert.deepEqual(tadWindowStarts(16, { stride: 4 }), [0]);
  assert.deepEqual(tadWindowStarts(15, { stride: 4 }), []);
});

test("numpy-compatible linspace", () => {
  assert.deepEqual(linspace(0, 10, 0), []);
  assert.deepEqual(linspace(3, 10, 1), [3]);
  assert.deepEqual(linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1]);
});

test("deterministic under a seed, different across seeds", () => {
  const draw = (seed: number) => {
    const rng = new Rng(seed);
    return [pretrainIndices(500, {}, rng), denseTrainIndices(500, {}, rng), segmentTrainIndices(500, {}, rng)];
  };
  assert.deepEqual(draw(42), draw(42));
  assert.notDeepEqual(draw(42), draw(43));
});

test("every sampler stays in range and rejects bad input", () => {
  const rng = new Rng(9);
  for (let L = 1; L <= 200; L++) {
    const all = [
      pretrainIndices(L, {}, rng),
      pretrainIndices(L, { stride: 2 }, rng),
      denseTrainIndices(L, {}, rng),
      denseTrainIndices(L, { rate: 2 }, rng),
      denseValIndices(L),
      ...denseTestClips(L),
      segmentTrainIndices(L, {}, rng),
      segmentValIndices(L),
      ...segmentTestClips(L),
    ];
    for (const idx of all) {
      assert.equal(idx.length, 16);
      for (const i of idx) assert.ok(Number.isInteger(i) && i >= 0 && i < L, `L=${L}: ${idx}`);
    }
  }
  assert.throws(() => pretrainIndices(0, {}, rng), RangeError);
  assert.throws(() => denseTrainIndices(10.5, {}, rng), RangeError);
  assert.throws(() => denseTestClips(100, { rate: 0 }), RangeError);
});
