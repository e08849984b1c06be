// The named transform presets: shapes, determinism under a seed, one set of random parameters
// per clip (identical frames stay identical), and agreement with the primitives they chain.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  evalTransform,
  finetuneTrainTransform,
  multiScaleCropSizes,
  multiScaleOffsets,
  pretrainTransform,
  randomErasing,
  resizedCropToFloat,
  resizePil,
  tadTransform,
  testCrops,
  testCropTransforms,
  toFloatClip,
  type Clip,
  type TransformResult,
} from "../../src/data/transforms/index.ts";
import { Rng } from "../../src/util/rng.ts";

/** T copies of one textured frame (identical frames). */
function repeatedClip(T: number, H: number, W: number): Clip {
  const data = new Uint8Array(T * H * W * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) data[(y * W + x) * 3 + c] = (x * 7 + y * 13 + c * 50 + ((x * y) % 17) * 5) % 256;
    }
  }
  for (let t = 1; t < T; t++) data.copyWithin(t * H * W * 3, 0, H * W * 3);
  return { data, frames: T, height: H, width: W };
}

/** A clip whose frames differ. */
function movingClip(T: number, H: number, W: number): Clip {
  const data = new Uint8Array(T * H * W * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 7) * 3) % 256;
  return { data, frames: T, height: H, width: W };
}

/** Frame t of every channel of a (C, T, H, W) result. */
function frameOf(r: TransformResult, t: number): Float32Array {
  const plane = r.height * r.width;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) out.set(r.data.subarray((c * r.frames + t) * plane, (c * r.frames + t + 1) * plane), c * plane);
  return out;
}

function assertFramesEqual(r: TransformResult, what: string): void {
  const f0 = frameOf(r, 0);
  for (let t = 1; t < r.frames; t++) assert.deepEqual(frameOf(r, t), f0, `${what}: frame ${t} differs from frame 0`);
}

const same = (a: TransformResult, b: TransformResult) => Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer));

describe("pretrainTransform (multi-scale crop)", () => {
  const clip = repeatedClip(4, 60, 80);
  const tf = pretrainTransform(32);

  test("output (3, T, size, size); crop from the allowed sizes and offsets; frames consistent", () => {
    const rng = new Rng(1);
    const pairs = new Set(multiScaleCropSizes(80, 60, 32, 32).map(([w, h]) => `${w}x${h}`));
    for (let i = 0; i < 40; i++) {
      const r = tf(clip, rng);
      assert.deepEqual([r.channels, r.frames, r.height, r.width, r.data.length], [3, 4, 32, 32, 3 * 4 * 32 * 32]);
      const b = r.info.crop!;
      assert.ok(pairs.has(`${b.w}x${b.h}`));
      assert.ok(multiScaleOffsets(80, 60, b.w, b.h).some(([x, y]) => x === b.x && y === b.y));
      assertFramesEqual(r, "pretrain");
      assert.equal(r.info.flipped, undefined);
    }
  });

  test("equals Pillow-resize of the recorded box, then normalisation", () => {
    const m = movingClip(3, 60, 80);
    const r = tf(m, new Rng(4));
    const expected = toFloatClip(resizePil(m, 32, 32, r.info.crop));
    assert.deepEqual(r.data, expected.data);
  });

  test("deterministic under a seed, different across seeds", () => {
    const m = movingClip(3, 60, 80);
    assert.ok(same(tf(m, new Rng(7)), tf(m, new Rng(7))));
    const outs = [1, 2, 3, 4, 5].map((s) => tf(m, new Rng(s)));
    assert.ok(outs.some((o) => !same(o, outs[0]!)));
  });

  test("frames smaller than the output: the snapped box is black-padded like PIL's crop", () => {
    const small = repeatedClip(2, 30, 31);
    const r = pretrainTransform(32)(small, new Rng(2));
    assert.deepEqual([r.height, r.width], [32, 32]);
  });
});

describe("finetuneTrainTransform", () => {
  const clip = repeatedClip(4, 48, 64);

  test("shape, determinism, and seed dependence", () => {
    const tf = finetuneTrainTransform({ size: 32 });
    const m = movingClip(4, 48, 64);
    const a = tf(m, new Rng(21));
    assert.deepEqual([a.channels, a.frames, a.height, a.width], [3, 4, 32, 32]);
    assert.ok(same(a, tf(m, new Rng(21))));
    assert.ok(!same(a, tf(m, new Rng(22))));
  });

  test("identical frames stay identical (no erasing): RandAugment, crop and flip are per clip", () => {
    const tf = finetuneTrainTransform({ size: 32, erasing: false });
    const rng = new Rng(3);
    let flips = 0;
    let ops = 0;
    for (let i = 0; i < 40; i++) {
      const r = tf(clip, rng);
      assertFramesEqual(r, `finetune ${JSON.stringify(r.info)}`);
      flips += r.info.flipped ? 1 : 0;
      ops += r.info.randAugment!.length;
    }
    assert.ok(flips > 5 && flips < 35, `${flips} flips`);
    assert.ok(ops > 40, `${ops} RandAugment ops applied`);
  });

  test("with erasing, frames differ only inside the one erased box, with fresh noise per frame", () => {
    const tf = finetuneTrainTransform({ size: 32, erasing: 1, randAug: false });
    const r = tf(clip, new Rng(8));
    const box = r.info.erased!;
    assert.ok(box, "erasing with p = 1 must erase");
    const f0 = frameOf(r, 0);
    const f1 = frameOf(r, 1);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const i = (c * 32 + y) * 32 + x;
          const inside = x >= box.x && x < box.x + box.w && y >= box.y && y < box.y + box.h;
          if (!inside) assert.equal(f1[i], f0[i]);
        }
      }
    }
    assert.notDeepEqual(f1, f0);
  });

  test("without RandAugment/erasing it is exactly the fused crop + flip + normalise of the recorded box", () => {
    const m = movingClip(2, 48, 64);
    const tf = finetuneTrainTransform({ size: 24, randAug: false, erasing: false });
    for (let s = 0; s < 6; s++) {
      const r = tf(m, new Rng(s));
      const expected = resizedCropToFloat(m, r.info.crop!, 24, 24, { flip: r.info.flipped });
      assert.deepEqual(r.data, expected.data);
    }
  });

  test("flip disabled (SSv2) never flips", () => {
    const tf = finetuneTrainTransform({ size: 16, flip: false, randAug: false, erasing: false });
    const rng = new Rng(1);
    for (let i = 0; i < 30; i++) assert.equal(tf(clip, rng).info.flipped, false);
  });

  test("random erasing statistics: p ≈ 0.25, area 2 %–33 %, aspect 0.3–3.33", () => {
    const rng = new Rng(12);
    let erased = 0;
    for (let i = 0; i < 2000; i++) {
      const x = { data: new Float32Array(3 * 2 * 40 * 50), channels: 3, frames: 2, height: 40, width: 50 };
      const b = randomErasing(x, rng);
      if (!b) continue;
      erased++;
      const area = (b.w * b.h) / 2000;
      assert.ok(area > 0.015 && area < 0.36, `area ${area}`);
      assert.ok(b.h / b.w > 0.25 && b.h / b.w < 4, `aspect ${b.h / b.w}`);
      assert.ok(b.x + b.w <= 50 && b.y + b.h <= 40);
    }
    assert.ok(Math.abs(erased / 2000 - 0.25) < 0.04, `erased ${erased / 2000}`);
  });
});

describe("evaluation presets", () => {
  test("evalTransform: short side → size (OpenCV bilinear), centre crop, deterministic", () => {
    const m = movingClip(2, 30, 40); // → 42×32 (int(32·40/30) = 42), centre x = round(5) = 5
    const r = evalTransform(32)(m, new Rng(0));
    assert.deepEqual([r.frames, r.height, r.width], [2, 32, 32]);
    assert.deepEqual(r.info.crop, { x: 5, y: 0, w: 32, h: 32 });
    assert.ok(same(r, evalTransform(32)(m, new Rng(99))));
    assertFramesEqual(evalTransform(32)(repeatedClip(3, 30, 40), new Rng(0)), "eval");
  });

  test("test crops: three views along the long side, landscape and portrait", () => {
    const land = testCrops(movingClip(2, 30, 40), 24, 3); // → 32×24, offsets 0, 4, 8
    assert.deepEqual(land.map((r) => r.info.crop!.x), [0, 4, 8]);
    const port = testCrops(movingClip(2, 50, 30), 24, 3); // → 24×40, offsets 0, 8, 16
    assert.deepEqual(port.map((r) => [r.info.crop!.x, r.info.crop!.y]), [[0, 0], [0, 8], [0, 16]]);
    for (const r of [...land, ...port]) assert.deepEqual([r.height, r.width], [24, 24]);
    const tfs = testCropTransforms(24, 3);
    tfs.forEach((tf, k) => assert.deepEqual(tf(movingClip(2, 50, 30), new Rng(0)).data, port[k]!.data));
  });

  test("TAD transform: /255 only, squash resize", () => {
    const r = tadTransform(16)(movingClip(2, 30, 40), new Rng(0));
    assert.deepEqual([r.height, r.width], [16, 16]);
    assert.ok(r.data.every((v) => v >= 0 && v <= 1));
  });
});
