/**
 * 4:2:0 YUV → RGB24 exactly as `videomae predict`'s decoder gets it: ffmpeg's swscale converting
 * limited-range BT.601 yuv420p to rgb24 at the same size (the `scale=W:H:flags=bilinear,
 * format=rgb24` filter of src/video/ffmpeg-reader.ts takes swscale's unscaled yuv2rgb path).
 * That path (x86 SIMD, widths that are a multiple of 8) works in 16-bit fixed point:
 *
 *   y' = ((Y·8 − 128) · 9539) >> 16         u' = U·8 − 1024, v' = V·8 − 1024
 *   R = sat(y' + (v'·13075 >> 16))   G = sat(y' + (u'·−3209 >> 16) + (v'·−6660 >> 16))
 *   B = sat(y' + (u'·16525 >> 16))          (>> = floor; one chroma sample per 2×2 pixels)
 *
 * with the coefficients swscale derives from its BT.601 table (104597, 132201, 25675, 53279
 * in 1/65536, luma scaled by 255/219) rounded to 13 fractional bits. A browser canvas converts
 * with its own rounding and chroma interpolation (±1–3 levels off), so the page reads the raw
 * planes through WebCodecs and converts them here.
 */

/** roundToInt16(c · 2^13): swscale's conversion of a 16.16 coefficient to a pmulhw factor. */
const q = (c: number) => Math.floor((c * 8192 + 32768) / 65536);
const Y_COEFF = q(Math.floor((65536 * 255) / 219));
const VR = q(104597);
const UB = q(132201);
const UG = q(-25675);
const VG = q(-53279);

/** (a·b) >> 16 on 16-bit lanes (pmulhw): floor of the high half. */
const mulhi = (a: number, b: number) => Math.floor((a * b) / 65536);
const sat = (x: number) => (x < 0 ? 0 : x > 255 ? 255 : x);

export interface Planes420 {
  width: number;
  height: number;
  y: Uint8Array;
  yStride: number;
  /** Cb samples; for NV12, the interleaved CbCr plane (then `v` is the same array, offset by 1). */
  u: Uint8Array;
  uStride: number;
  v: Uint8Array;
  vStride: number;
  /** Distance between neighbouring chroma samples in a row (1 for I420, 2 for NV12). */
  chromaStep: number;
  /** Offset of the first Cr sample in `v` (1 for NV12's interleaved plane, else 0). */
  vOffset: number;
}

/** RGB24 (H, W, 3) of one 4:2:0 frame, into `out` at `offset`. */
export function yuv420ToRgb(p: Planes420, out: Uint8Array, offset = 0): void {
  const { width: W, height: H, chromaStep: cs } = p;
  for (let y = 0; y < H; y++) {
    const yr = y * p.yStride;
    const ur = (y >> 1) * p.uStride;
    const vr = (y >> 1) * p.vStride + p.vOffset;
    let o = offset + y * W * 3;
    for (let x = 0; x < W; x++, o += 3) {
      const yy = mulhi(p.y[yr + x]! * 8 - 128, Y_COEFF);
      const u = p.u[ur + (x >> 1) * cs]! * 8 - 1024;
      const v = p.v[vr + (x >> 1) * cs]! * 8 - 1024;
      out[o] = sat(yy + mulhi(v, VR));
      out[o + 1] = sat(yy + mulhi(u, UG) + mulhi(v, VG));
      out[o + 2] = sat(yy + mulhi(u, UB));
    }
  }
}
