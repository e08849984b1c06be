/**
 * Pillow's colour operations as RandAugment uses them (ImageOps / ImageEnhance / Image.blend),
 * on one (H, W, 3) uint8 frame at a time: `src` → `dst`, same size. Histogram-based ops use the
 * frame's own histogram, exactly as the official code applies them per PIL image (frame).
 */

/** Applies a 256-entry table to every channel (or three tables, lut.length 768). */
export function applyLut(src: Uint8Array, dst: Uint8Array, lut: Uint8Array): void {
  if (lut.length === 256) {
    for (let i = 0; i < src.length; i++) dst[i] = lut[src[i]!]!;
  } else {
    for (let i = 0; i < src.length; i += 3) {
      dst[i] = lut[src[i]!]!;
      dst[i + 1] = lut[256 + src[i + 1]!]!;
      dst[i + 2] = lut[512 + src[i + 2]!]!;
    }
  }
}

const table = (fn: (v: number) => number): Uint8Array => Uint8Array.from({ length: 256 }, (_, v) => fn(v));

/** ImageOps.invert. */
export const invertLut = (): Uint8Array => table((v) => 255 - v);

/** ImageOps.solarize: values ≥ threshold are inverted. */
export const solarizeLut = (threshold: number): Uint8Array => table((v) => (v < threshold ? v : 255 - v));

/** timm solarize_add: values < threshold get `add` added (clipped to 255). */
export const solarizeAddLut = (add: number, threshold = 128): Uint8Array => table((v) => (v < threshold ? Math.min(255, v + add) : v));

/** ImageOps.posterize: keep the top `bits` bits (0 bits → black). */
export function posterizeLut(bits: number): Uint8Array {
  const mask = ~(2 ** (8 - bits) - 1);
  return table((v) => v & mask & 255);
}

/** Per-channel 256-bin histograms of a frame: hist[c·256 + v]. */
export function histogram(src: Uint8Array): Int32Array {
  const h = new Int32Array(768);
  for (let i = 0; i < src.length; i += 3) {
    h[src[i]!]!++;
    h[256 + src[i + 1]!]!++;
    h[512 + src[i + 2]!]!++;
  }
  return h;
}

/** ImageOps.autocontrast (cutoff 0): stretch each channel's [min, max] to [0, 255]. */
export function autocontrastLut(hist: Int32Array): Uint8Array {
  const lut = new Uint8Array(768);
  for (let c = 0; c < 3; c++) {
    const h = hist.subarray(c * 256, c * 256 + 256);
    let lo = 0;
    while (lo < 255 && !h[lo]) lo++;
    let hi = 255;
    while (hi > 0 && !h[hi]) hi--;
    for (let v = 0; v < 256; v++) {
      if (hi <= lo) {
        lut[c * 256 + v] = v;
        continue;
      }
      const scale = 255 / (hi - lo);
      const offset = -lo * scale;
      const ix = Math.trunc(v * scale + offset); // Python int(): truncation toward zero
      lut[c * 256 + v] = ix < 0 ? 0 : ix > 255 ? 255 : ix;
    }
  }
  return lut;
}

/** ImageOps.equalize: Pillow's cumulative-histogram table per channel. */
export function equalizeLut(hist: Int32Array): Uint8Array {
  const lut = new Uint8Array(768);
  for (let c = 0; c < 3; c++) {
    const h = hist.subarray(c * 256, c * 256 + 256);
    let total = 0;
    let lastNonZero = 0;
    let nonZero = 0;
    for (let v = 0; v < 256; v++) {
      if (h[v]) {
        total += h[v]!;
        lastNonZero = h[v]!;
        nonZero++;
      }
    }
    const step = nonZero <= 1 ? 0 : Math.floor((total - lastNonZero) / 256);
    if (!step) {
      for (let v = 0; v < 256; v++) lut[c * 256 + v] = v;
      continue;
    }
    let n = Math.floor(step / 2);
    for (let v = 0; v < 256; v++) {
      lut[c * 256 + v] = Math.min(255, Math.floor(n / step));
      n += h[v]!;
    }
  }
  return lut;
}

/** Pillow's RGB → L conversion (ITU-R 601-2 luma in 16-bit fixed point, rounded). */
export function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

const F = Math.fround;

/**
 * Image.blend(degenerate, image, alpha) for one pair of byte values, in Pillow's float32
 * arithmetic: in1 + alpha·(in2 − in1), truncated, clipped when extrapolating.
 */
export function blendValue(in1: number, in2: number, alpha: number): number {
  const a = F(alpha);
  const v = F(in1 + F(a * (in2 - in1)));
  if (a >= 0 && a <= 1) return Math.trunc(v);
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
}

/** blend for every (in1, in2) pair: table[in1·256 + in2]. */
function blendTable(alpha: number): Uint8Array {
  const t = new Uint8Array(65536);
  for (let i = 0; i < 256; i++) for (let j = 0; j < 256; j++) t[i * 256 + j] = blendValue(i, j, alpha);
  return t;
}

/** ImageEnhance.Brightness: blend with black. */
export function brightness(src: Uint8Array, dst: Uint8Array, factor: number): void {
  applyLut(src, dst, table((v) => blendValue(0, v, factor)));
}

/** ImageEnhance.Contrast: blend with the frame's mean grey level, int(mean(L) + 0.5). */
export function contrast(src: Uint8Array, dst: Uint8Array, factor: number): void {
  let sum = 0;
  for (let i = 0; i < src.length; i += 3) sum += luma(src[i]!, src[i + 1]!, src[i + 2]!);
  const mean = Math.trunc(sum / (src.length / 3) + 0.5);
  applyLut(src, dst, table((v) => blendValue(mean, v, factor)));
}

/** ImageEnhance.Color: blend with the frame's greyscale version. */
export function color(src: Uint8Array, dst: Uint8Array, factor: number): void {
  const t = blendTable(factor);
  for (let i = 0; i < src.length; i += 3) {
    const g = luma(src[i]!, src[i + 1]!, src[i + 2]!) * 256;
    dst[i] = t[g + src[i]!]!;
    dst[i + 1] = t[g + src[i + 1]!]!;
    dst[i + 2] = t[g + src[i + 2]!]!;
  }
}

/**
 * ImageFilter.SMOOTH (3×3 kernel [1 1 1; 1 5 1; 1 1 1] / 13) as Pillow's ImagingFilter3x3 runs it:
 * float32 weighted sums plus 0.5, truncated; the outermost rows and columns are copied.
 * With integer pixels the sum is m/13 + 0.5 for an integer m, which is never within 1/26 of an
 * integer, far beyond the float32 rounding error, so the result is exactly ⌊(2m + 13) / 26⌋.
 */
export function smooth(src: Uint8Array, dst: Uint8Array, W: number, H: number): void {
  dst.set(src);
  if (W < 3 || H < 3) return;
  const row = W * 3;
  for (let y = 1; y < H - 1; y++) {
    for (let p = y * row + 3; p < (y + 1) * row - 3; p++) {
      const m = src[p - row - 3]! + src[p - row]! + src[p - row + 3]! + src[p - 3]! + 5 * src[p]! + src[p + 3]! + src[p + row - 3]! + src[p + row]! + src[p + row + 3]!;
      dst[p] = Math.floor((2 * m + 13) / 26);
    }
  }
}

/** ImageEnhance.Sharpness: blend with the SMOOTH-filtered frame. */
export function sharpness(src: Uint8Array, dst: Uint8Array, W: number, H: number, factor: number): void {
  const soft = new Uint8Array(src.length);
  smooth(src, soft, W, H);
  const t = blendTable(factor);
  for (let i = 0; i < src.length; i++) dst[i] = t[soft[i]! * 256 + src[i]!]!;
}
