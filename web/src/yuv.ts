/**
 * 4:2:0 YUV → RGB24 exactly as `videomae predict`'s decoder gets it: ffmpeg's swscale converting
 * yuv420p to rgb24 at the same size (the `scale=W:H:flags=bilinear,
 * format=rgb24` filter of src/video/ffmpeg-reader.ts takes swscale's unscaled yuv2rgb path).
 * That path (x86 SIMD, widths that are a multiple of 8) works in 16-bit fixed point:
 *
 *   y' = ((Y·8 − 128) · 9539) >> 16         u' = U·8 − 1024, v' = V·8 − 1024
 *   R = sat(y' + (v'·13075 >> 16))   G = sat(y' + (u'·−3209 >> 16) + (v'·−6660 >> 16))
 *   B = sat(y' + (u'·16525 >> 16))          (>> = floor; one chroma sample per 2×2 pixels)
 *
 * for limited-range BT.601 (swscale's default for untagged video): the coefficients swscale
 * derives from its table (104597, 132201, 25675, 53279 in 1/65536, luma scaled by 255/219)
 * rounded to 13 fractional bits. Other matrices (BT.709, …) and full range follow the same
 * derivation (the frame's tags pick them, as ffmpeg's scale filter does). A browser canvas converts
 * with its own rounding and chroma interpolation (±1–3 levels off), so the page reads the raw
 * planes through WebCodecs and converts them here.
 */

/** swscale's YUV→RGB coefficients (ff_yuv2rgb_coeffs, 1/65536): crv, cbu, cgu, cgv. */
const MATRICES = {
  bt601: [104597, 132201, 25675, 53279],
  bt709: [117489, 138438, 13975, 34925],
  fcc: [104448, 132798, 24759, 53109],
  smpte240m: [117579, 136230, 16907, 35559],
  bt2020: [110013, 140363, 12277, 42626],
} as const;

export type YuvMatrix = keyof typeof MATRICES;

/** swscale's roundToInt16: (x + 2^15) >> 16. */
const r16 = (x: number) => Math.floor((x + 32768) / 65536);
/** A 16.16 coefficient as a pmulhw factor: roundToInt16(c · 2^13). */
const q = (c: number) => r16(c * 8192);

interface Coefficients {
  y: number;
  yOffset: number;
  vr: number;
  ub: number;
  ug: number;
  vg: number;
}

/** The pmulhw factors swscale derives for a matrix and input range (contrast/saturation 1). */
export function yuvCoefficients(matrix: YuvMatrix = "bt601", fullRange = false): Coefficients {
  let [crv, cbu, cgu, cgv] = MATRICES[matrix].map(Number) as [number, number, number, number];
  cgu = -cgu;
  cgv = -cgv;
  let cy = 65536;
  let oy = 0;
  if (!fullRange) {
    cy = Math.trunc((cy * 255) / 219);
    oy = 16 << 16;
  } else {
    [crv, cbu, cgu, cgv] = [crv, cbu, cgu, cgv].map((c) => Math.trunc((c * 224) / 255)) as [number, number, number, number];
  }
  return { y: q(cy), yOffset: r16(oy * 8), vr: q(crv), ub: q(cbu), ug: q(cgu), vg: q(cgv) };
}

/** The matrix a WebCodecs VideoColorSpace names (swscale's default, BT.601, when unknown). */
export function matrixOf(name: string | null | undefined): YuvMatrix {
  if (name === "bt709") return "bt709";
  if (name === "bt2020-ncl") return "bt2020";
  return "bt601";
}

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
  /** Colour matrix (default BT.601, swscale's choice for untagged video) and range (default limited). */
  matrix?: YuvMatrix;
  fullRange?: boolean;
}

/** RGB24 (H, W, 3) of one 4:2:0 frame, into `out` at `offset`. */
export function yuv420ToRgb(p: Planes420, out: Uint8Array, offset = 0): void {
  const { width: W, height: H, chromaStep: cs } = p;
  const k = yuvCoefficients(p.matrix, p.fullRange);
  for (let y = 0; y < H; y++) {
    const yr = y * p.yStride;
    const ur = (y >> 1) * p.uStride;
    const vr = (y >> 1) * p.vStride + p.vOffset;
    let o = offset + y * W * 3;
    for (let x = 0; x < W; x++, o += 3) {
      const yy = mulhi(p.y[yr + x]! * 8 - k.yOffset, k.y);
      const u = p.u[ur + (x >> 1) * cs]! * 8 - 1024;
      const v = p.v[vr + (x >> 1) * cs]! * 8 - 1024;
      out[o] = sat(yy + mulhi(v, k.vr));
      out[o + 1] = sat(yy + mulhi(u, k.ug) + mulhi(v, k.vg));
      out[o + 2] = sat(yy + mulhi(u, k.ub));
    }
  }
}
