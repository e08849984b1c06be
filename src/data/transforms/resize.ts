/**
 * Resampling of (T, H, W, 3) uint8 clips, three flavours, each matching the library the official
 * code calls at that point:
 *
 *  - `resizePil`: Pillow's `Image.resize(size, BILINEAR)` (Resample.c), used by
 *    GroupMultiScaleCrop in pre-training. A triangle filter whose support is scaled by the
 *    downscale factor (so it antialiases), coefficients in 22-bit fixed point, horizontal pass
 *    first with the intermediate rounded to uint8, then the vertical pass.
 *  - `resizeCv`: OpenCV `cv2.resize(INTER_LINEAR)` on uint8, used for the short-side resize of
 *    validation/test clips. Half-pixel centres, 2 taps, no antialias, 11-bit coefficients.
 *  - `resizedCropToFloat`: `F.interpolate(bilinear, align_corners=False)` on the normalised
 *    float clip, used by the fine-tuning random-resized crop (and the TAD extractor). Fused with
 *    the crop, the optional horizontal flip and the normalisation (normalise-then-interpolate,
 *    as the official code does, in float32 steps).
 */
import { checkBox, checkClip, cropClip, emptyClip, TransformError, type Box, type Clip, type FloatClip } from "./clip.ts";
import { clipKernels } from "./kernels.ts";
import { normalizationLut, type Normalization } from "./normalize.ts";

function checkSize(w: number, h: number, what: string): void {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w <= 0 || h <= 0) {
    throw new TransformError(`${what}: output size must be positive integers, got ${w}×${h}`);
  }
}

/**
 * Output size of the official short-side resize (`get_resize_sizes`): the short side becomes
 * `size`, the long side is int-truncated; width wins ties (a square stays square).
 */
export function shortSideSize(width: number, height: number, size: number): { width: number; height: number } {
  checkSize(size, size, "shortSideSize");
  if (width < height) return { width: size, height: Math.floor((size * height) / width) };
  return { width: Math.floor((size * width) / height), height: size };
}

// ------------------------------------------------------------------------------------ Pillow

const PREC = 22; // Pillow: PRECISION_BITS = 32 − 8 − 2
const HALF = 1 << (PREC - 1);

interface PilCoeffs {
  ksize: number;
  /** Per output index: first input index and tap count. */
  bounds: Int32Array;
  /** Fixed-point weights, `ksize` per output index. */
  kk: Int32Array;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear (support 1) filter. */
function pilCoeffs(inSize: number, outSize: number): PilCoeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const a = Math.abs((x + xmin - center + 0.5) * ss);
      w[x] = a < 1 ? 1 - a : 0;
      ww += w[x]!;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x]! / ww : w[x]!;
      kk[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PREC)) : Math.trunc(0.5 + v * (1 << PREC));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

const clip8 = (s: number): number => {
  const v = s >> PREC;
  return v < 0 ? 0 : v > 255 ? 255 : v;
};

/** One horizontal pass over `rows` rows: src rows at `offset + r·stride`, 3 channels. */
function pilHorizontal(src: Uint8Array, offset: number, stride: number, rows: number, c: PilCoeffs, outW: number, dst: Uint8Array): void {
  const { bounds, kk, ksize } = c;
  for (let r = 0; r < rows; r++) {
    const row = offset + r * stride;
    let o = r * outW * 3;
    for (let xx = 0; xx < outW; xx++, o += 3) {
      const n = bounds[xx * 2 + 1]!;
      let p = row + bounds[xx * 2]! * 3;
      let k = xx * ksize;
      let s0 = HALF, s1 = HALF, s2 = HALF;
      for (let x = 0; x < n; x++, p += 3, k++) {
        const w = kk[k]!;
        s0 += src[p]! * w;
        s1 += src[p + 1]! * w;
        s2 += src[p + 2]! * w;
      }
      dst[o] = clip8(s0);
      dst[o + 1] = clip8(s1);
      dst[o + 2] = clip8(s2);
    }
  }
}

/** One vertical pass: output row yy mixes src rows bounds[2yy].. at `offset + y·stride`, `len` bytes each. */
function pilVertical(src: Uint8Array, offset: number, stride: number, len: number, c: PilCoeffs, outH: number, dst: Uint8Array, acc: Int32Array): void {
  const { bounds, kk, ksize } = c;
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[yy * 2]!;
    const n = bounds[yy * 2 + 1]!;
    acc.fill(HALF);
    for (let y = 0; y < n; y++) {
      const w = kk[yy * ksize + y]!;
      const row = offset + (ymin + y) * stride;
      for (let i = 0; i < len; i++) acc[i] += src[row + i]! * w;
    }
    const o = yy * len;
    for (let i = 0; i < len; i++) dst[o + i] = clip8(acc[i]!);
  }
}

/**
 * Pillow bilinear resize of `box` (default: the whole frame) of every frame to outW×outH —
 * i.e. `img.crop(box).resize((outW, outH), Image.BILINEAR)`. Same size → plain crop.
 */
export function resizePil(clip: Clip, outW: number, outH: number, box?: Box): Clip {
  checkClip(clip);
  checkSize(outW, outH, "resizePil");
  const b = box ?? { x: 0, y: 0, w: clip.width, h: clip.height };
  checkBox(b, clip.width, clip.height, "resizePil box");
  const needH = b.w !== outW;
  const needV = b.h !== outH;
  if (!needH && !needV) return cropClip(clip, b);
  const native = clipKernels();
  if (native) return { data: native.pilResize(clip.data, clip.frames, clip.height, clip.width, b, outW, outH), frames: clip.frames, height: outH, width: outW };
  const ch = pilCoeffs(b.w, outW);
  const cv = pilCoeffs(b.h, outH);
  // Rows of the box the vertical pass reads (all of them when there is no vertical pass).
  const first = needV ? cv.bounds[0]! : 0;
  const last = needV ? cv.bounds[outH * 2 - 2]! + cv.bounds[outH * 2 - 1]! : b.h;
  const out = emptyClip(clip.frames, outH, outW);
  const inFrame = clip.height * clip.width * 3;
  const outFrame = outH * outW * 3;
  const stride = clip.width * 3;
  const tmp = new Uint8Array((last - first) * outW * 3);
  const acc = new Int32Array(outW * 3);
  for (let t = 0; t < clip.frames; t++) {
    const dst = out.data.subarray(t * outFrame, (t + 1) * outFrame);
    const offset = t * inFrame + (b.y * clip.width + b.x) * 3; // byte of box row 0, column 0
    if (!needV) {
      pilHorizontal(clip.data, offset, stride, outH, ch, outW, dst);
    } else if (!needH) {
      pilVertical(clip.data, offset, stride, outW * 3, cv, outH, dst, acc);
    } else {
      // Pillow: horizontal pass over the rows the vertical pass needs, rounded to uint8.
      pilHorizontal(clip.data, offset + first * stride, stride, last - first, ch, outW, tmp);
      pilVertical(tmp, -first * outW * 3, outW * 3, outW * 3, cv, outH, dst, acc);
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------ OpenCV

interface CvAxis {
  i0: Int32Array;
  i1: Int32Array;
  a0: Int32Array;
  a1: Int32Array;
}

const F = Math.fround;

/** cvRound on a float: nearest, ties to even. */
function cvRound(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** OpenCV's resizeGeneric source indices and 11-bit weights for INTER_LINEAR along one axis. */
function cvAxis(inSize: number, outSize: number): CvAxis {
  const scale = 1 / (outSize / inSize);
  const ax = { i0: new Int32Array(outSize), i1: new Int32Array(outSize), a0: new Int32Array(outSize), a1: new Int32Array(outSize) };
  for (let d = 0; d < outSize; d++) {
    let f = F((d + 0.5) * scale - 0.5); // OpenCV keeps fx in a float
    let s = Math.floor(f);
    f = F(f - s);
    if (s < 0) (f = 0), (s = 0);
    if (s >= inSize - 1) (f = 0), (s = inSize - 1);
    ax.i0[d] = s;
    ax.i1[d] = Math.min(s + 1, inSize - 1);
    ax.a0[d] = cvRound(F(F(1 - f) * 2048));
    ax.a1[d] = cvRound(F(f * 2048));
  }
  return ax;
}

/**
 * OpenCV bilinear resize of every frame to outW×outH. Horizontal pass in integers (value·2048),
 * vertical pass with the rounding of OpenCV's SIMD row kernel (VResizeLinearVec_32s8u):
 * ((S0>>4)·b0 >> 16) + ((S1>>4)·b1 >> 16), then (+2) >> 2 and saturation.
 */
export function resizeCv(clip: Clip, outW: number, outH: number): Clip {
  checkClip(clip);
  checkSize(outW, outH, "resizeCv");
  const { width: W, height: H, frames: T } = clip;
  if (W === outW && H === outH) return { ...clip, data: clip.data.slice() };
  const ax = cvAxis(W, outW);
  const ay = cvAxis(H, outH);
  const out = emptyClip(T, outH, outW);
  const src = clip.data;
  const dst = out.data;
  const rowLen = outW * 3;
  // Byte offsets of the two horizontal taps of every output value (3 per pixel).
  const p0 = new Int32Array(rowLen);
  const p1 = new Int32Array(rowLen);
  const a0 = new Int32Array(rowLen);
  const a1 = new Int32Array(rowLen);
  for (let x = 0; x < outW; x++) {
    for (let c = 0; c < 3; c++) {
      p0[x * 3 + c] = ax.i0[x]! * 3 + c;
      p1[x * 3 + c] = ax.i1[x]! * 3 + c;
      a0[x * 3 + c] = ax.a0[x]!;
      a1[x * 3 + c] = ax.a1[x]!;
    }
  }
  // Horizontal results (value·2048) of the source rows the vertical pass reads, per frame.
  const used = new Uint8Array(H);
  for (let y = 0; y < outH; y++) used[ay.i0[y]!] = used[ay.i1[y]!] = 1;
  const rows = new Int32Array(H * rowLen);
  for (let t = 0; t < T; t++) {
    for (let r = 0; r < H; r++) {
      if (!used[r]) continue;
      const s = (t * H + r) * W * 3;
      const base = r * rowLen;
      for (let i = 0; i < rowLen; i++) rows[base + i] = src[s + p0[i]!]! * a0[i]! + src[s + p1[i]!]! * a1[i]!;
    }
    for (let y = 0; y < outH; y++) {
      const s0 = ay.i0[y]! * rowLen;
      const s1 = ay.i1[y]! * rowLen;
      const b0 = ay.a0[y]!;
      const b1 = ay.a1[y]!;
      const o = (t * outH + y) * rowLen;
      for (let i = 0; i < rowLen; i++) {
        const v = ((((rows[s0 + i]! >> 4) * b0) >> 16) + (((rows[s1 + i]! >> 4) * b1) >> 16) + 2) >> 2;
        dst[o + i] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return out;
}

/** `resizeCv` to the official short-side size (see shortSideSize). */
export function resizeShortSideCv(clip: Clip, size: number): Clip {
  const { width, height } = shortSideSize(clip.width, clip.height, size);
  return resizeCv(clip, width, height);
}

// ------------------------------------------------------------------------------------ torch

interface TorchAxis {
  i0: Int32Array;
  i1: Int32Array;
  l0: Float32Array;
  l1: Float32Array;
}

/**
 * torch upsample_bilinear2d (align_corners=False) indices and float32 weights along one axis.
 * Measured against torch 1.13 (CPU): the scale is a float32, the source coordinate
 * scale·(d + ½) − ½ is not rounded to float32 before the weight src − ⌊src⌋ is taken, and
 * equal sizes give the identity weights.
 */
function torchAxis(inSize: number, outSize: number): TorchAxis {
  const scale = F(inSize / outSize);
  const ax = { i0: new Int32Array(outSize), i1: new Int32Array(outSize), l0: new Float32Array(outSize), l1: new Float32Array(outSize) };
  for (let d = 0; d < outSize; d++) {
    if (inSize === outSize) {
      ax.i0[d] = ax.i1[d] = d;
      ax.l0[d] = 1;
      continue;
    }
    let src = scale * (d + 0.5) - 0.5;
    if (src < 0) src = 0;
    const i = Math.trunc(src);
    ax.i0[d] = i;
    ax.i1[d] = i < inSize - 1 ? i + 1 : i;
    ax.l1[d] = F(src - i);
    ax.l0[d] = F(1 - ax.l1[d]!);
  }
  return ax;
}

export interface ResizedCropOptions {
  /** Mirror the result left–right (the flip after the crop, fused). */
  flip?: boolean;
  norm?: Normalization;
}

/**
 * Crop `box` from every frame, normalise, and resize to outW×outH with torch's bilinear
 * (align_corners=False, no antialias), optionally flipped: the official
 * `random_resized_crop` + `horizontal_flip` on a normalised (C, T, H, W) tensor. Indices and
 * weights are torch's; the two-tap sums are rounded to float32 step by step, which agrees with
 * torch to a few float32 ulps (≈1e-6 here): torch's compiled kernel contracts some products
 * into FMAs, an order this code does not try to reproduce.
 */
export function resizedCropToFloat(clip: Clip, box: Box, outW: number, outH: number, opts: ResizedCropOptions = {}): FloatClip {
  checkClip(clip);
  checkSize(outW, outH, "resizedCropToFloat");
  checkBox(box, clip.width, clip.height, "resizedCropToFloat box");
  const lut = normalizationLut(opts.norm);
  const ax = torchAxis(box.w, outW);
  const ay = torchAxis(box.h, outH);
  const { frames: T, height: H, width: W, data } = clip;
  const plane = T * outH * outW;
  const out = new Float32Array(3 * plane);
  const x0 = new Int32Array(outW);
  const x1 = new Int32Array(outW);
  for (let x = 0; x < outW; x++) {
    x0[x] = (box.x + ax.i0[x]!) * 3;
    x1[x] = (box.x + ax.i1[x]!) * 3;
  }
  const { l0: wx0, l1: wx1 } = ax;
  for (let t = 0; t < T; t++) {
    for (let y = 0; y < outH; y++) {
      const r0 = (t * H + box.y + ay.i0[y]!) * W * 3;
      const r1 = (t * H + box.y + ay.i1[y]!) * W * 3;
      const h0 = ay.l0[y]!;
      const h1 = ay.l1[y]!;
      const o = (t * outH + y) * outW;
      for (let x = 0; x < outW; x++) {
        const w0 = wx0[x]!;
        const w1 = wx1[x]!;
        const a = r0 + x0[x]!, b = r0 + x1[x]!, c = r1 + x0[x]!, d = r1 + x1[x]!;
        const oo = opts.flip ? o + outW - 1 - x : o + x;
        for (let ch = 0, cl = 0; ch < 3; ch++, cl += 256) {
          const top = F(F(lut[cl + data[a + ch]!]! * w0) + F(lut[cl + data[b + ch]!]! * w1));
          const bot = F(F(lut[cl + data[c + ch]!]! * w0) + F(lut[cl + data[d + ch]!]! * w1));
          out[ch * plane + oo] = F(top * h0) + F(bot * h1);
        }
      }
    }
  }
  return { data: out, channels: 3, frames: T, height: outH, width: outW };
}
