/**
 * Pillow's affine warp (`Image.transform(size, AFFINE, data, resample, fillcolor)`, Geometry.c)
 * on (H, W, 3) uint8 frames, for the RandAugment geometric ops (Rotate, ShearX/Y,
 * TranslateXRel/YRel).
 *
 * For output pixel (x, y) the source point is (a·(x+½) + b·(y+½) + c, d·(x+½) + e·(y+½) + f);
 * points outside [0, W) × [0, H) take the fill colour; others are sampled with Pillow's
 * *transform* bicubic, which is the a = −1 cubic-convolution kernel (not the a = −0.5 kernel of
 * Image.resize), clamped at the borders, truncated to uint8 (no rounding).
 */
export type Affine = readonly [number, number, number, number, number, number];

export type Resample = "bicubic" | "bilinear" | "nearest";

/** a = −1 cubic through v1..v4 at fraction d, in Pillow's Horner form. */
function cubic(v1: number, v2: number, v3: number, v4: number, d: number): number {
  const p2 = -v1 + v3;
  const p3 = 2 * (v1 - v2) + v3 - v4;
  const p4 = -v1 + v2 - v3 + v4;
  return v2 + d * (p2 + d * (p3 + d * p4));
}

/**
 * Where each output pixel samples, computed once per clip (the matrix is the same for every
 * frame): for kept pixels the byte offsets of the 4 (bicubic) or 2 (bilinear) clamped source rows
 * and columns and the fractions; `valid` 0 marks pixels that take the fill colour.
 */
interface WarpPlan {
  valid: Uint8Array;
  rows: Int32Array;
  cols: Int32Array;
  fx: Float64Array;
  fy: Float64Array;
  taps: number;
}

function planWarp(W: number, H: number, m: Affine, resample: Resample): WarpPlan {
  const [a, b, c, d, e, f] = m;
  const n = W * H;
  const taps = resample === "bicubic" ? 4 : resample === "bilinear" ? 2 : 1;
  const plan = { valid: new Uint8Array(n), rows: new Int32Array(n * taps), cols: new Int32Array(n * taps), fx: new Float64Array(n), fy: new Float64Array(n), taps };
  const rowLen = W * 3;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      let xin = a * (x + 0.5) + b * (y + 0.5) + c;
      let yin = d * (x + 0.5) + e * (y + 0.5) + f;
      if (!(xin >= 0 && xin < W && yin >= 0 && yin < H)) continue;
      plan.valid[i] = 1;
      if (taps === 1) {
        plan.rows[i] = Math.floor(yin) * rowLen;
        plan.cols[i] = Math.floor(xin) * 3;
        continue;
      }
      xin -= 0.5;
      yin -= 0.5;
      const xi = Math.floor(xin);
      const yi = Math.floor(yin);
      plan.fx[i] = xin - xi;
      plan.fy[i] = yin - yi;
      // Bicubic taps start one pixel before; Pillow clamps the columns and repeats the last
      // valid row, which is the same as clamping the rows.
      const x0 = taps === 4 ? xi - 1 : xi;
      const y0 = taps === 4 ? yi - 1 : yi;
      for (let k = 0; k < taps; k++) {
        const xx = x0 + k;
        const yy = y0 + k;
        plan.cols[i * taps + k] = (xx < 0 ? 0 : xx >= W ? W - 1 : xx) * 3;
        plan.rows[i * taps + k] = (yy < 0 ? 0 : yy >= H ? H - 1 : yy) * rowLen;
      }
    }
  }
  return plan;
}

function warpWithPlan(src: Uint8Array, dst: Uint8Array, p: WarpPlan, fill: readonly number[]): void {
  const { valid, rows, cols, fx, fy, taps } = p;
  const f0 = fill[0]!, f1 = fill[1]!, f2 = fill[2]!;
  for (let i = 0, o = 0; i < valid.length; i++, o += 3) {
    if (!valid[i]) {
      dst[o] = f0;
      dst[o + 1] = f1;
      dst[o + 2] = f2;
      continue;
    }
    if (taps === 1) {
      const q = rows[i]! + cols[i]!;
      dst[o] = src[q]!;
      dst[o + 1] = src[q + 1]!;
      dst[o + 2] = src[q + 2]!;
      continue;
    }
    const dx = fx[i]!;
    const dy = fy[i]!;
    if (taps === 2) {
      const c0 = cols[i * 2]!, c1 = cols[i * 2 + 1]!, r0 = rows[i * 2]!, r1 = rows[i * 2 + 1]!;
      for (let ch = 0; ch < 3; ch++) {
        const v1 = src[r0 + c0 + ch]! + (src[r0 + c1 + ch]! - src[r0 + c0 + ch]!) * dx;
        const v2 = src[r1 + c0 + ch]! + (src[r1 + c1 + ch]! - src[r1 + c0 + ch]!) * dx;
        dst[o + ch] = Math.trunc(v1 + (v2 - v1) * dy);
      }
      continue;
    }
    const j = i * 4;
    const c0 = cols[j]!, c1 = cols[j + 1]!, c2 = cols[j + 2]!, c3 = cols[j + 3]!;
    const r0 = rows[j]!, r1 = rows[j + 1]!, r2 = rows[j + 2]!, r3 = rows[j + 3]!;
    for (let ch = 0; ch < 3; ch++) {
      const k0 = c0 + ch, k1 = c1 + ch, k2 = c2 + ch, k3 = c3 + ch;
      const v1 = cubic(src[r0 + k0]!, src[r0 + k1]!, src[r0 + k2]!, src[r0 + k3]!, dx);
      const v2 = cubic(src[r1 + k0]!, src[r1 + k1]!, src[r1 + k2]!, src[r1 + k3]!, dx);
      const v3 = cubic(src[r2 + k0]!, src[r2 + k1]!, src[r2 + k2]!, src[r2 + k3]!, dx);
      const v4 = cubic(src[r3 + k0]!, src[r3 + k1]!, src[r3 + k2]!, src[r3 + k3]!, dx);
      const v = cubic(v1, v2, v3, v4, dy);
      dst[o + ch] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
    }
  }
}

/**
 * Returns a function warping (H, W, 3) frames `src` → `dst` with matrix `m` (output → input
 * coordinates, Pillow's `data` tuple); uncovered pixels get `fill`. Build it once per clip.
 */
export function affineWarper(W: number, H: number, m: Affine, fill: readonly number[], resample: Resample = "bicubic"): (src: Uint8Array, dst: Uint8Array) => void {
  const plan = planWarp(W, H, m, resample);
  return (src, dst) => warpWithPlan(src, dst, plan, fill);
}

/** Warps one frame (see affineWarper). */
export function warpAffine(src: Uint8Array, dst: Uint8Array, W: number, H: number, m: Affine, fill: readonly number[], resample: Resample = "bicubic"): void {
  affineWarper(W, H, m, fill, resample)(src, dst);
}

/** Python's round(v, 15), as Pillow applies it to the rotation matrix entries. */
const round15 = (v: number) => Number(v.toFixed(15));

/**
 * The matrix of Pillow's `img.rotate(degrees)` (counter-clockwise, about the centre (W/2, H/2),
 * no expand). Pillow returns a plain copy for angle 0 (mod 360), which this matrix reproduces.
 */
export function rotateMatrix(degrees: number, W: number, H: number): Affine {
  const angle = -((((degrees % 360) + 360) % 360) * Math.PI) / 180;
  const a = round15(Math.cos(angle));
  const b = round15(Math.sin(angle));
  const d = round15(-Math.sin(angle));
  const e = a;
  const cx = W / 2;
  const cy = H / 2;
  // Pillow: translate by −centre through the matrix, then add the centre back.
  const c = a * -cx + b * -cy + cx;
  const f = d * -cx + e * -cy + cy;
  return [a, b, c, d, e, f];
}

/** timm shear_x: (1, factor, 0, 0, 1, 0). */
export const shearXMatrix = (factor: number): Affine => [1, factor, 0, 0, 1, 0];
/** timm shear_y: (1, 0, 0, factor, 1, 0). */
export const shearYMatrix = (factor: number): Affine => [1, 0, 0, factor, 1, 0];
/** timm translate_x_*: (1, 0, pixels, 0, 1, 0) — the content moves left for positive pixels. */
export const translateXMatrix = (pixels: number): Affine => [1, 0, pixels, 0, 1, 0];
/** timm translate_y_*: (1, 0, 0, 0, 1, pixels). */
export const translateYMatrix = (pixels: number): Affine => [1, 0, 0, 0, 1, pixels];
