// Clip transform primitives: layout helpers, normalisation, the three resizers (hand-computed
// cases and torch references from tools/reference/make_transform_fixtures.py), crop samplers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  centerCropBox,
  cropClip,
  cropPadded,
  flipClip,
  fromFloatClip,
  IMAGENET_MEAN,
  IMAGENET_STD,
  multiScaleCropSizes,
  multiScaleOffsets,
  normalizationLut,
  resizeCv,
  resizedCropToFloat,
  resizePil,
  sampleMultiScaleCrop,
  sampleRandomResizedCrop,
  shortSideSize,
  testCropBoxes,
  toFloatClip,
  TransformError,
  type Clip,
} from "../../src/data/transforms/index.ts";
import { Rng } from "../../src/util/rng.ts";
import { assertClose, readJson } from "../helpers.ts";

/** A clip whose pixel (t, y, x, c) is fn(t, y, x, c). */
function makeClip(T: number, H: number, W: number, fn: (t: number, y: number, x: number, c: number) => number): Clip {
  const data = new Uint8Array(T * H * W * 3);
  for (let t = 0; t < T; t++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) data[((t * H + y) * W + x) * 3 + c] = fn(t, y, x, c);
  return { data, frames: T, height: H, width: W };
}
const px = (clip: Clip, t: number, y: number, x: number, c = 0) => clip.data[((t * clip.height + y) * clip.width + x) * 3 + c]!;

interface Fixture {
  clip: { frames: number; height: number; width: number; data: number[] };
  normalize: number[][];
  rrc: { box: [number, number, number, number]; out: [number, number]; flip: boolean; data: number[] }[];
  aa: { box: [number, number, number, number]; out: [number, number]; data: number[] }[];
  linear: { out: [number, number]; data: number[] }[];
}
const fx = readJson<Fixture>("transforms", "torch_reference.json");
const fxClip: Clip = { ...fx.clip, data: Uint8Array.from(fx.clip.data) };

describe("layout helpers", () => {
  test("crop, padded crop and flip", () => {
    const clip = makeClip(2, 4, 5, (t, y, x, c) => t * 100 + y * 10 + x + c);
    const c = cropClip(clip, { x: 1, y: 2, w: 3, h: 2 });
    assert.deepEqual([c.width, c.height, c.frames], [3, 2, 2]);
    assert.equal(px(c, 1, 0, 0, 2), 100 + 20 + 1 + 2);
    assert.throws(() => cropClip(clip, { x: 3, y: 0, w: 3, h: 1 }), TransformError);
    const p = cropPadded(clip, { x: -1, y: 3, w: 3, h: 2 });
    assert.deepEqual([px(p, 0, 0, 0), px(p, 0, 0, 1), px(p, 0, 0, 2), px(p, 0, 1, 1)], [0, 30, 31, 0]);
    const f = flipClip(clip);
    assert.equal(px(f, 1, 3, 0, 1), px(clip, 1, 3, 4, 1));
    assert.equal(px(f, 0, 2, 4), px(clip, 0, 2, 0));
  });

  test("bad clips are rejected with TransformError", () => {
    assert.throws(() => toFloatClip({ data: new Uint8Array(10), frames: 1, height: 2, width: 2 }), /expected 1×2×2×3 = 12/);
    assert.throws(() => toFloatClip({ data: new Uint8Array(0), frames: 0, height: 2, width: 2 }), TransformError);
  });
});

describe("normalisation", () => {
  test("the lookup table equals torch's (x/255 − mean)/std in float32, bit for bit", () => {
    const lut = normalizationLut("imagenet");
    for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) assert.equal(lut[c * 256 + v], Math.fround(fx.normalize[c]![v]!), `c ${c} v ${v}`);
    assert.equal(normalizationLut("none")[255 + 256], 1);
  });

  test("(T, H, W, 3) → (C, T, H, W) layout, values, and the inverse", () => {
    const clip = makeClip(2, 3, 4, (t, y, x, c) => (t * 50 + y * 20 + x * 5 + c * 70) % 256);
    const x = toFloatClip(clip);
    assert.deepEqual([x.channels, x.frames, x.height, x.width, x.data.length], [3, 2, 3, 4, 72]);
    const at = (c: number, t: number, y: number, xx: number) => x.data[((c * 2 + t) * 3 + y) * 4 + xx]!;
    for (const [c, t, y, xx] of [[0, 0, 0, 0], [2, 1, 2, 3], [1, 1, 0, 2]] as const) {
      const expected = (px(clip, t, y, xx, c) / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
      assert.ok(Math.abs(at(c, t, y, xx) - expected) < 1e-6);
    }
    assert.deepEqual(fromFloatClip(x).data, clip.data);
    const raw = toFloatClip(clip, "none");
    assert.equal(raw.data[0], Math.fround(px(clip, 0, 0, 0) / 255));
  });
});

describe("Pillow bilinear (antialiased) resize", () => {
  // pixel = 10·x + 40·y; 4×4 → 2×2. Triangle filter of support 2 → taps (3/7, 3/7, 1/7).
  const ramp = makeClip(1, 4, 4, (_t, y, x) => 10 * x + 40 * y);

  test("4×4 → 2×2 by hand, including the uint8 rounding between the two passes", () => {
    const out = resizePil(ramp, 2, 2);
    // Horizontal: rows → (40y + 7.14, 40y + 22.86) rounded to (…7, …23); vertical on those.
    // Exact math would give 36, 51, 99, 114; the rounded intermediate gives 52 and 98.
    assert.deepEqual([px(out, 0, 0, 0), px(out, 0, 0, 1), px(out, 0, 1, 0), px(out, 0, 1, 1)], [36, 52, 98, 114]);
  });

  test("crop box, same size = copy, one-axis resize", () => {
    const same = resizePil(ramp, 2, 2, { x: 1, y: 1, w: 2, h: 2 });
    assert.deepEqual(Array.from(same.data.filter((_, i) => i % 3 === 0)), [50, 60, 90, 100]);
    const wide = resizePil(ramp, 2, 4);
    assert.deepEqual([px(wide, 0, 0, 0), px(wide, 0, 3, 1)], [7, 143]);
  });

  test("agrees with torch's antialiased bilinear within 1 (fixed point vs float)", () => {
    for (const c of fx.aa) {
      const [x, y, w, h] = c.box;
      const out = resizePil(fxClip, c.out[0], c.out[1], { x, y, w, h });
      let worst = 0;
      let sum = 0;
      out.data.forEach((v, i) => {
        const d = Math.abs(v - c.data[i]!);
        worst = Math.max(worst, d);
        sum += d;
      });
      assert.ok(worst <= 1.0001, `box ${c.box} → ${c.out}: max |diff| ${worst}`);
      assert.ok(sum / out.data.length < 0.5, `mean |diff| ${sum / out.data.length}`);
    }
  });
});

describe("OpenCV bilinear resize", () => {
  test("4×4 → 2×2 is the 2×2 average; 2 → 4 upscale clamps at the borders", () => {
    const ramp = makeClip(1, 4, 4, (_t, y, x) => 10 * x + 40 * y);
    const out = resizeCv(ramp, 2, 2);
    assert.deepEqual([px(out, 0, 0, 0), px(out, 0, 0, 1), px(out, 0, 1, 0), px(out, 0, 1, 1)], [25, 45, 105, 125]);
    const up = resizeCv(makeClip(1, 1, 2, (_t, _y, x) => 100 * x), 4, 1);
    assert.deepEqual([0, 1, 2, 3].map((x) => px(up, 0, 0, x)), [0, 25, 75, 100]);
  });

  test("agrees with torch's bilinear (align_corners=False) within 1", () => {
    for (const c of fx.linear) {
      const out = resizeCv(fxClip, c.out[0], c.out[1]);
      const worst = out.data.reduce((m, v, i) => Math.max(m, Math.abs(v - c.data[i]!)), 0);
      assert.ok(worst <= 1.0001, `→ ${c.out}: max |diff| ${worst}`);
    }
  });

  test("short-side sizes: long side int-truncated, width wins ties", () => {
    assert.deepEqual(shortSideSize(320, 240, 224), { width: 298, height: 224 });
    assert.deepEqual(shortSideSize(240, 427, 224), { width: 224, height: 398 });
    assert.deepEqual(shortSideSize(100, 100, 224), { width: 224, height: 224 });
  });
});

describe("torch bilinear on the normalised clip (random-resized-crop resize)", () => {
  test("matches F.interpolate on the normalised tensor within 1 float32 ulp (crop, flip, up and down)", () => {
    for (const c of fx.rrc) {
      const [x, y, w, h] = c.box;
      const out = resizedCropToFloat(fxClip, { x, y, w, h }, c.out[0], c.out[1], { flip: c.flip });
      assert.deepEqual([out.channels, out.frames, out.height, out.width], [3, 2, c.out[1], c.out[0]]);
      assertClose(out.data, c.data.map(Math.fround), 2.5e-7, 0, `rrc ${c.box} → ${c.out}`);
    }
  });
});

describe("multi-scale crop (GroupMultiScaleCrop)", () => {
  test("candidate sizes and the 13 offsets", () => {
    // base 240: int(240·[1, .875, .75, .66]) = 240, 210, 180, 158 (none within 3 of 224).
    const pairs = multiScaleCropSizes(320, 240, 224, 224);
    assert.equal(pairs.length, 10);
    assert.deepEqual(pairs.slice(0, 3), [[240, 240], [210, 240], [240, 210]]);
    // base 226 → 226 snaps to 224.
    assert.deepEqual(multiScaleCropSizes(300, 226, 224, 224)[0], [224, 224]);
    const offs = multiScaleOffsets(320, 240, 180, 210);
    assert.equal(offs.length, 13);
    assert.deepEqual(offs.slice(0, 5), [[0, 0], [140, 0], [0, 28], [140, 28], [70, 14]]);
    assert.deepEqual(offs.slice(9), [[35, 7], [105, 7], [35, 21], [105, 21]]);
  });

  test("over many draws: sizes from the allowed pairs, offsets from the 13-point set, all used", () => {
    const rng = new Rng(3);
    const allowed = new Set(multiScaleCropSizes(320, 240, 224, 224).map(([w, h]) => `${w}x${h}`));
    const seenSizes = new Set<string>();
    const seenOffsetIdx = new Set<number>();
    for (let i = 0; i < 4000; i++) {
      const b = sampleMultiScaleCrop(320, 240, 224, 224, rng);
      const key = `${b.w}x${b.h}`;
      assert.ok(allowed.has(key), key);
      seenSizes.add(key);
      const k = multiScaleOffsets(320, 240, b.w, b.h).findIndex(([x, y]) => x === b.x && y === b.y);
      assert.ok(k >= 0, `offset ${b.x},${b.y}`);
      seenOffsetIdx.add(k);
      assert.ok(b.x + b.w <= 320 && b.y + b.h <= 240);
    }
    assert.equal(seenSizes.size, 10);
    assert.equal(seenOffsetIdx.size, 13);
  });
});

describe("random resized crop parameters", () => {
  test("accepted boxes respect the area and aspect bounds (up to rounding) and fit", () => {
    const rng = new Rng(11);
    let fallbacks = 0;
    for (let i = 0; i < 3000; i++) {
      const b = sampleRandomResizedCrop(340, 256, rng);
      assert.ok(b.x >= 0 && b.y >= 0 && b.x + b.w <= 340 && b.y + b.h <= 256);
      if (b.fallback) {
        fallbacks++;
        continue;
      }
      const area = (b.w * b.h) / (340 * 256);
      assert.ok(area > 0.07 && area <= 1, `area ${area}`);
      const aspect = b.w / b.h;
      const slack = 1 / Math.min(b.w, b.h) + 1e-9;
      assert.ok(aspect >= 0.75 * (1 - slack) && aspect <= 1.3333 * (1 + slack), `aspect ${aspect} (${b.w}×${b.h})`);
    }
    assert.ok(fallbacks < 30, `${fallbacks} fallbacks`);
  });

  test("fallback: centre crop clamped to the aspect range", () => {
    const rng = new Rng(1);
    // Too wide for any 3/4..4/3 box of ≥ 8 % area → h = 10, w = round(10·1.3333) = 13.
    assert.deepEqual(sampleRandomResizedCrop(1000, 10, rng), { x: 493, y: 0, w: 13, h: 10, fallback: true });
    assert.deepEqual(sampleRandomResizedCrop(10, 1000, rng), { x: 0, y: 493, w: 10, h: 13, fallback: true });
  });
});

describe("evaluation crops", () => {
  test("centre crop offsets use Python rounding (ties to even)", () => {
    assert.deepEqual(centerCropBox(298, 224, 224, 224), { x: 37, y: 0, w: 224, h: 224 });
    assert.equal(centerCropBox(299, 224, 224, 224).x, 38); // 37.5 → 38
    assert.equal(centerCropBox(301, 224, 224, 224).x, 38); // 38.5 → 38
    assert.throws(() => centerCropBox(200, 224, 224, 224), TransformError);
  });

  test("three test crops along the long side, landscape and portrait", () => {
    assert.deepEqual(testCropBoxes(298, 224, 224, 3).map((b) => [b.x, b.y, b.w, b.h]), [[0, 0, 224, 224], [37, 0, 224, 224], [74, 0, 224, 224]]);
    assert.deepEqual(testCropBoxes(224, 398, 224, 3).map((b) => [b.x, b.y]), [[0, 0], [0, 87], [0, 174]]);
    assert.deepEqual(testCropBoxes(301, 224, 224, 3).map((b) => b.x), [0, 38, 77]); // int(38.5) = 38
    assert.deepEqual(testCropBoxes(301, 224, 224, 1).map((b) => b.x), [38]);
    assert.deepEqual(testCropBoxes(224, 224, 224, 3).map((b) => b.y), [0, 0, 0]);
    assert.throws(() => testCropBoxes(300, 230, 224, 3), /short side/);
  });
});
