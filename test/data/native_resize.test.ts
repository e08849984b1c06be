/**
 * The addon's Pillow bilinear resize (native/src/ops/clip_kernels.cc) against the TypeScript one
 * (src/data/transforms/resize.ts, the reference): byte-identical on random clips and boxes —
 * downscales (antialiased, several taps), upscales, one-axis resizes, odd sizes, boxes at the
 * frame edges — plus argument checks.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { resizePil, type Box, type Clip } from "../../src/data/transforms/index.ts";
import { clipKernels, setClipKernels } from "../../src/data/transforms/kernels.ts";
import { useNativeClipKernels } from "../../src/data/transforms/native.ts";
import { ops } from "../../src/torch/native.ts"; // the tensor layer's handle on the same addon
import { Rng } from "../../src/util/rng.ts";

const installed = useNativeClipKernels();
const native = clipKernels();
after(() => setClipKernels(native));

function randomClip(rng: Rng, frames: number, height: number, width: number): Clip {
  const data = new Uint8Array(frames * height * width * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng.float() * 256);
  return { data, frames, height, width };
}

/** resizePil with the TypeScript kernel and with the native one. */
function both(clip: Clip, outW: number, outH: number, box?: Box): [Uint8Array, Uint8Array] {
  setClipKernels(null);
  const ts = resizePil(clip, outW, outH, box).data;
  setClipKernels(native);
  const nat = resizePil(clip, outW, outH, box).data;
  return [ts, nat];
}

test("the dataset layer installs the native resize (VIDEOMAE_NATIVE_TRANSFORMS unset)", () => {
  assert.equal(installed, process.env.VIDEOMAE_NATIVE_TRANSFORMS !== "0");
  assert.ok(native, "native kernel installed");
});

test("native Pillow resize = TypeScript Pillow resize, byte for byte", () => {
  const rng = new Rng(7);
  const cases: [number, number, number, number, Box | undefined][] = [
    // [height, width, outW, outH, box]
    [340, 454, 224, 224, { x: 50, y: 20, w: 300, h: 300 }], // the pre-training multi-scale crop
    [340, 454, 224, 224, { x: 0, y: 0, w: 454, h: 340 }], // whole frame, aspect change
    [37, 53, 112, 96, undefined], // upscale, odd sizes
    [64, 80, 80, 17, undefined], // vertical only (width unchanged)
    [64, 80, 19, 64, undefined], // horizontal only
    [120, 160, 7, 5, { x: 3, y: 11, w: 157, h: 109 }], // strong downscale, box touching the right/bottom edges
    [9, 9, 9, 9, { x: 2, y: 2, w: 5, h: 7 }], // one-axis upscale of a tiny box
  ];
  for (const [h, w, ow, oh, box] of cases) {
    const clip = randomClip(rng, 3, h, w);
    const [ts, nat] = both(clip, ow, oh, box);
    assert.equal(nat.length, ts.length);
    const first = nat.findIndex((v, i) => v !== ts[i]);
    assert.equal(first, -1, `${h}×${w} box ${JSON.stringify(box)} → ${ow}×${oh}: first difference at byte ${first}`);
  }
  for (let k = 0; k < 40; k++) {
    const h = 1 + Math.floor(rng.float() * 60), w = 1 + Math.floor(rng.float() * 60);
    const bw = 1 + Math.floor(rng.float() * w), bh = 1 + Math.floor(rng.float() * h);
    const box = { x: Math.floor(rng.float() * (w - bw + 1)), y: Math.floor(rng.float() * (h - bh + 1)), w: bw, h: bh };
    const ow = 1 + Math.floor(rng.float() * 80), oh = 1 + Math.floor(rng.float() * 80);
    const [ts, nat] = both(randomClip(rng, 2, h, w), ow, oh, box);
    assert.deepEqual(nat, ts, `${h}×${w} box ${JSON.stringify(box)} → ${ow}×${oh}`);
  }
});

test("the native op checks its arguments instead of reading out of bounds", () => {
  const src = new Uint8Array(2 * 4 * 5 * 3);
  assert.throws(() => ops.pilResizeU8(src, 2, 4, 6, 0, 0, 5, 4, 3, 3), /expected frames·height·width·3/);
  assert.throws(() => ops.pilResizeU8(src, 2, 4, 5, 1, 0, 5, 4, 3, 3), /outside the frame/);
  assert.throws(() => ops.pilResizeU8(src, 2, 4, 5, 0, 0, 5, 4, 0, 3), /output size/);
  assert.throws(() => ops.pilResizeU8(new Float32Array(120), 2, 4, 5, 0, 0, 5, 4, 3, 3), /Uint8Array/);
  assert.throws(() => ops.pilResizeU8(src, 2.5, 4, 5, 0, 0, 5, 4, 3, 3), /non-negative integer/);
});

test("the native op rejects sizes whose products overflow and non-numbers", () => {
  const src = new Uint8Array(12);
  assert.throws(() => ops.pilResizeU8(src, 2 ** 40, 2 ** 40, 2 ** 40, 0, 0, 1, 1, 1, 1), /expected frames·height·width·3/);
  assert.throws(() => ops.pilResizeU8(src, 1, 2, 2, 0, 0, 2, 2, 2 ** 30, 2 ** 30), /output too large/);
  assert.throws(() => ops.pilResizeU8(src, "1", 2, 2, 0, 0, 2, 2, 1, 1), /non-negative integer/);
});
