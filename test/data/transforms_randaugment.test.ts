// RandAugment (rand-m7-n4-mstd0.5-inc1): each op on small frames against first-principles
// expectations (Pillow's ImageOps / ImageEnhance / affine-bicubic formulas), the magnitude
// mapping, and the sampling of ops.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  applyOp,
  colorOps,
  levelToArg,
  parseRandAugment,
  RAND_INCREASING_OPS,
  randAugment,
  rotateMatrix,
  sampleRandAugment,
  translateXMatrix,
  TransformError,
  warpAffine,
  type AppliedOp,
  type Clip,
} from "../../src/data/transforms/index.ts";
import { Rng } from "../../src/util/rng.ts";

/** A one-frame clip from a list of [r, g, b] pixels laid out W wide. */
function frame(W: number, pixels: number[][]): Clip {
  return { data: Uint8Array.from(pixels.flat()), frames: 1, height: pixels.length / W, width: W };
}
const grey = (W: number, H: number, v: (x: number, y: number) => number): Clip =>
  frame(W, Array.from({ length: W * H }, (_, i) => { const g = v(i % W, Math.floor(i / W)); return [g, g, g]; }));
const op = (clip: Clip, o: AppliedOp) => Array.from(applyOp(clip, o).data);
const values = Array.from({ length: 256 }, (_, v) => v);
const ramp = frame(256, values.map((v) => [v, v, v]));

describe("lookup-table ops", () => {
  test("invert, solarize threshold, solarize-add, posterize bits", () => {
    assert.deepEqual(op(ramp, { op: "Invert", magnitude: 7 }).filter((_, i) => i % 3 === 0), values.map((v) => 255 - v));
    const sol = op(ramp, { op: "SolarizeIncreasing", magnitude: 7, arg: 77 }).filter((_, i) => i % 3 === 0);
    assert.deepEqual([sol[76], sol[77], sol[200], sol[255]], [76, 178, 55, 0]);
    assert.deepEqual(op(ramp, { op: "SolarizeIncreasing", magnitude: 0, arg: 256 }), Array.from(ramp.data));
    const add = op(ramp, { op: "SolarizeAdd", magnitude: 7, arg: 77 }).filter((_, i) => i % 3 === 0);
    assert.deepEqual([add[0], add[127], add[128], add[200]], [77, 204, 128, 200]);
    assert.equal(op(frame(1, [[100, 0, 0]]), { op: "SolarizeAdd", magnitude: 10, arg: 110 })[0], 210);
    assert.equal(op(frame(1, [[120, 0, 0]]), { op: "SolarizeAdd", magnitude: 10, arg: 200 })[0], 255);
    const post = op(ramp, { op: "PosterizeIncreasing", magnitude: 7, arg: 2 }).filter((_, i) => i % 3 === 0);
    assert.deepEqual([post[63], post[64], post[191], post[255]], [0, 64, 128, 192]);
    assert.ok(op(ramp, { op: "PosterizeIncreasing", magnitude: 10, arg: 0 }).every((v) => v === 0));
  });

  test("equalize on a known histogram (Pillow's step table)", () => {
    // 1024 pixels: 512× 0, 256× 128, 256× 255 → step = (1024 − 256) // 256 = 3,
    // lut[0] = (3//2)//3 = 0, lut[128] = (1 + 512)//3 = 171, lut[255] = (1 + 768)//3 = 256 → 255.
    const img = grey(32, 32, (x, y) => { const i = y * 32 + x; return i < 512 ? 0 : i < 768 ? 128 : 255; });
    const out = applyOp(img, { op: "Equalize", magnitude: 7 }).data;
    assert.deepEqual([out[0], out[512 * 3], out[800 * 3]], [0, 171, 255]);
    // A single-valued channel is left alone.
    assert.deepEqual(op(grey(4, 1, () => 90), { op: "Equalize", magnitude: 7 }), Array(12).fill(90));
  });

  test("autocontrast per channel (Python int() of v·scale + offset)", () => {
    // R spans 50..150, G spans 3..250, B is constant (left alone).
    const img = frame(6, [[50, 3, 9], [51, 4, 9], [100, 100, 9], [149, 200, 9], [150, 249, 9], [150, 250, 9]]);
    const out = op(img, { op: "AutoContrast", magnitude: 7 });
    assert.deepEqual(out.filter((_, i) => i % 3 === 0), [0, 2, 127, 252, 255, 255]);
    assert.deepEqual(out.filter((_, i) => i % 3 === 1), [0, 1, 100, 203, 253, 255]);
    assert.ok(out.filter((_, i) => i % 3 === 2).every((v) => v === 9));
  });
});

describe("ImageEnhance ops (blend with a degenerate image, float32, truncation)", () => {
  test("brightness: blend with black", () => {
    const img = frame(3, [[100, 200, 101], [0, 255, 10], [3, 4, 5]]);
    assert.deepEqual(op(img, { op: "BrightnessIncreasing", magnitude: 5, arg: 1.5 }).slice(0, 6), [150, 255, 151, 0, 255, 15]);
    assert.deepEqual(op(img, { op: "BrightnessIncreasing", magnitude: 5, arg: 0.5 }).slice(0, 3), [50, 100, 50]);
  });

  test("contrast: blend with the rounded mean luma", () => {
    // Luma of (200,200,200) = 200, of (0,0,0) = 0 → mean 100.
    const img = frame(2, [[200, 200, 200], [0, 0, 0]]);
    assert.deepEqual(op(img, { op: "ContrastIncreasing", magnitude: 5, arg: 0.5 }), [150, 150, 150, 50, 50, 50]);
    assert.deepEqual(op(img, { op: "ContrastIncreasing", magnitude: 5, arg: 1.9 }), [255, 255, 255, 0, 0, 0]);
  });

  test("color: blend with the pixel's luma (Pillow's 16-bit fixed-point L)", () => {
    assert.equal(colorOps.luma(255, 0, 0), 76);
    assert.equal(colorOps.luma(0, 255, 0), 150);
    assert.equal(colorOps.luma(10, 20, 30), 18);
    const img = frame(1, [[255, 0, 0]]);
    // 76 + 0.5·(255 − 76) = 165.5 → 165; 76 + 0.5·(0 − 76) = 38.
    assert.deepEqual(op(img, { op: "ColorIncreasing", magnitude: 5, arg: 0.5 }), [165, 38, 38]);
    assert.deepEqual(op(img, { op: "ColorIncreasing", magnitude: 5, arg: 1.5 }), [255, 0, 0]);
    assert.deepEqual(op(img, { op: "ColorIncreasing", magnitude: 5, arg: 1 }), [255, 0, 0]);
  });

  test("sharpness: blend with SMOOTH (3×3, centre 5, /13), borders copied", () => {
    // One bright pixel in the middle of a 5×5 black frame: SMOOTH gives 98 at the centre
    // (255·5/13 + 0.5), 20 at its 8 neighbours (255/13 + 0.5), border rows/columns stay 0.
    const img = grey(5, 5, (x, y) => (x === 2 && y === 2 ? 255 : 0));
    const soft = new Uint8Array(75);
    colorOps.smooth(img.data, soft, 5, 5);
    assert.deepEqual([soft[(2 * 5 + 2) * 3], soft[(1 * 5 + 1) * 3], soft[(1 * 5 + 2) * 3], soft[0]], [98, 20, 20, 0]);
    const at = (o: number[], x: number, y: number) => o[(y * 5 + x) * 3];
    const sharp = op(img, { op: "SharpnessIncreasing", magnitude: 5, arg: 0.5 });
    assert.deepEqual([at(sharp, 2, 2), at(sharp, 1, 1), at(sharp, 0, 0)], [176, 10, 0]); // 98 + .5·157, 20 − 10
    const harder = op(img, { op: "SharpnessIncreasing", magnitude: 5, arg: 1.9 });
    assert.deepEqual([at(harder, 2, 2), at(harder, 1, 1)], [255, 0]);
    assert.deepEqual(colorOps.blendValue(20, 0, 1.5), 0);
  });
});

describe("geometric ops (Pillow affine, bicubic a = −1, fill 128)", () => {
  const W = 8;
  const row = [0, 0, 80, 100, 100, 40, 200, 7];
  const img = grey(W, 3, (x) => row[x]!);
  const warp = (m: readonly [number, number, number, number, number, number], resample: "bicubic" | "bilinear" = "bicubic") => {
    const out = new Uint8Array(img.data.length);
    warpAffine(img.data, out, W, 3, m, [128, 128, 128], resample);
    return Array.from(out.subarray(W * 3, 2 * W * 3)).filter((_, i) => i % 3 === 0); // middle row, R
  };

  test("identity and integer translations are exact; uncovered pixels take the fill", () => {
    assert.deepEqual(warp([1, 0, 0, 0, 1, 0]), row);
    // +3 px: output x samples input x + 3 while x + 3.5 < W; beyond that the fill.
    assert.deepEqual(warp(translateXMatrix(3)), [100, 100, 40, 200, 7, 128, 128, 128]);
    assert.deepEqual(warp(translateXMatrix(-2)), [128, 128, 0, 0, 80, 100, 100, 40]);
  });

  test("half-pixel shift uses the a = −1 kernel (−1/8, 5/8, 5/8, −1/8), truncated", () => {
    const out = warp(translateXMatrix(0.5));
    // x = 1 samples between input 1 and 2: −0·⅛ + 0·⅝ + 80·⅝ − 100·⅛ = 37.5 → 37 (a = −½ would give 38).
    assert.equal(out[1], 37);
    // x = 4: 100·(−⅛) + 100·⅝ + 40·⅝ + 200·(−⅛) = 50 → 50.
    assert.equal(out[4], 50);
    // Bilinear option: (80 + 100)/2.
    assert.equal(warp(translateXMatrix(0.5), "bilinear")[2], 90);
  });

  test("rotate matrix: Pillow's, counter-clockwise about the centre", () => {
    const sq = grey(4, 4, (x, y) => y * 4 + x);
    const out = new Uint8Array(sq.data.length);
    warpAffine(sq.data, out, 4, 4, rotateMatrix(90, 4, 4), [128, 128, 128]);
    // out[y][x] = in[x][W − 1 − y]: the top-right input pixel (3) lands top-left.
    const at = (x: number, y: number) => out[(y * 4 + x) * 3];
    assert.deepEqual([at(0, 0), at(3, 0), at(0, 3), at(1, 2)], [3, 15, 0, 5]);
    assert.deepEqual(rotateMatrix(0, 10, 6).map((v) => v + 0), [1, 0, 0, 0, 1, 0]);
    const r = applyOp(sq, { op: "Rotate", magnitude: 0, arg: 0 });
    assert.equal(r, sq);
  });

  test("shear and translate ops move content the timm way", () => {
    const img2 = grey(10, 10, (x) => x * 20);
    // TranslateXRel by 0.2 of the width = 2 px: the content moves left.
    const t = applyOp(img2, { op: "TranslateXRel", magnitude: 4.44, arg: 0.2 }).data;
    assert.deepEqual([t[0], t[7 * 3], t[8 * 3]], [40, 180, 128]);
    const ty = applyOp(img2, { op: "TranslateYRel", magnitude: 4.44, arg: -0.2 }).data;
    assert.deepEqual([ty[0], ty[(2 * 10 + 3) * 3]], [128, 60]);
    // ShearX by 0.2 at row y samples x + 0.2·(y + ½): row 0 is offset 0.1 px, row 9 by 1.9 px.
    const s = applyOp(img2, { op: "ShearX", magnitude: 6.67, arg: 0.2 }).data;
    assert.equal(s[(9 * 10 + 9) * 3], 128);
    assert.ok(s[(9 * 10 + 0) * 3]! > s[0]!);
  });
});

describe("magnitude mapping and sampling", () => {
  test("timm's level → argument table", () => {
    const at7 = (o: (typeof RAND_INCREASING_OPS)[number], sign = 1) => levelToArg(o, 7, sign);
    assert.equal(at7("Rotate", -1), -21);
    assert.equal(at7("PosterizeIncreasing"), 2); // 4 − int(2.8)
    assert.equal(at7("SolarizeIncreasing"), 77); // 256 − int(179.2)
    assert.equal(at7("SolarizeAdd"), 77); // int(77.0)
    assert.ok(Math.abs(at7("ColorIncreasing", -1)! - 0.37) < 1e-12);
    assert.ok(Math.abs(at7("SharpnessIncreasing")! - 1.63) < 1e-12);
    assert.ok(Math.abs(at7("ShearY", -1)! + 0.21) < 1e-12);
    assert.ok(Math.abs(at7("TranslateXRel")! - 0.315) < 1e-12);
    assert.equal(at7("Equalize"), undefined);
    assert.deepEqual([levelToArg("PosterizeIncreasing", 10, 1), levelToArg("SolarizeIncreasing", 10, 1), levelToArg("SolarizeAdd", 10, 1)], [0, 0, 110]);
    assert.deepEqual([levelToArg("PosterizeIncreasing", 0, 1), levelToArg("SolarizeIncreasing", 0, 1)], [4, 256]);
  });

  test("the increasing op set has timm's 15 ops", () => {
    assert.equal(RAND_INCREASING_OPS.length, 15);
    assert.ok(!RAND_INCREASING_OPS.includes("Grayscale" as never));
  });

  test("config parsing", () => {
    const c = parseRandAugment("rand-m7-n4-mstd0.5-inc1");
    assert.deepEqual([c.magnitude, c.numOps, c.magnitudeStd, c.prob, c.resample], [7, 4, 0.5, 0.5, "bicubic"]);
    assert.deepEqual(c.fill, [128, 128, 128]);
    assert.throws(() => parseRandAugment("rand-m9-n2"), TransformError);
    assert.throws(() => parseRandAugment("augmix-m5"), TransformError);
  });

  test("sampling: 4 draws with replacement, each kept with p 0.5, magnitude N(7, 0.5) in [0, 10], random signs", () => {
    const rng = new Rng(5);
    let applied = 0;
    let sum = 0;
    let n = 0;
    const signs = new Set<number>();
    const seen = new Set<string>();
    let repeats = 0;
    const trials = 4000;
    for (let i = 0; i < trials; i++) {
      const ops = sampleRandAugment(rng);
      assert.ok(ops.length <= 4);
      applied += ops.length;
      if (new Set(ops.map((o) => o.op)).size < ops.length) repeats++;
      for (const o of ops) {
        seen.add(o.op);
        assert.ok(o.magnitude >= 0 && o.magnitude <= 10);
        sum += o.magnitude;
        n++;
        if (o.op === "Rotate") signs.add(Math.sign(o.arg!));
      }
    }
    assert.ok(Math.abs(applied / trials - 2) < 0.1, `mean ops ${applied / trials}`);
    assert.ok(Math.abs(sum / n - 7) < 0.05, `mean magnitude ${sum / n}`);
    assert.equal(seen.size, 15);
    assert.deepEqual([...signs].sort(), [-1, 1]);
    assert.ok(repeats > 0, "ops are drawn with replacement");
  });

  test("whole-clip RandAugment applies the same ops to every frame", () => {
    const one = grey(12, 10, (x, y) => (x * 17 + y * 29) % 256);
    const clip: Clip = { data: new Uint8Array(one.data.length * 3), frames: 3, height: 10, width: 12 };
    for (let t = 0; t < 3; t++) clip.data.set(one.data, t * one.data.length);
    const rng = new Rng(9);
    for (let i = 0; i < 30; i++) {
      const { clip: out, ops } = randAugment(clip, rng);
      const n = one.data.length;
      assert.deepEqual(out.data.subarray(n, 2 * n), out.data.subarray(0, n), JSON.stringify(ops));
      assert.deepEqual(out.data.subarray(2 * n), out.data.subarray(0, n));
    }
  });
});
