/**
 * Reconstruction pictures: a grid of frames — row 1 the input, row 2 what the encoder saw
 * (masked tubes greyed out), row 3 the decoder's reconstruction pasted into the masked tubes.
 */
import type { Tensor } from "../torch/tensor.ts";

/** [C, T, H, W] float in [0, 1] → per-frame RGB uint8 (T, H, W, 3). */
export function framesToRgb(video: Float32Array, C: number, T: number, H: number, W: number): Uint8Array {
  const out = new Uint8Array(T * H * W * 3);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < Math.min(3, C); c++) {
      const src = (c * T + t) * H * W;
      for (let i = 0; i < H * W; i++) {
        const v = video[src + i]!;
        out[(t * H * W + i) * 3 + c] = Math.max(0, Math.min(255, Math.round(v * 255)));
      }
    }
  }
  return out;
}

/** Greys out (value 0.5) the tubes removed by `mask` (token n = t·h'w' + y·w' + x, 1 = removed). */
export function greyMasked(video: Float32Array, C: number, T: number, H: number, W: number, mask: Uint8Array, tubelet: number, patch: number): Float32Array {
  const out = video.slice();
  const hp = H / patch, wp = W / patch;
  for (let n = 0; n < mask.length; n++) {
    if (!mask[n]) continue;
    const t0 = Math.floor(n / (hp * wp)) * tubelet, y0 = Math.floor((n % (hp * wp)) / wp) * patch, x0 = (n % wp) * patch;
    for (let c = 0; c < C; c++)
      for (let t = t0; t < t0 + tubelet; t++)
        for (let y = y0; y < y0 + patch; y++) out.fill(0.5, ((c * T + t) * H + y) * W + x0, ((c * T + t) * H + y) * W + x0 + patch);
  }
  return out;
}

/** Lays rows of frames (each (T, H, W, 3)) into one image, showing every `every`-th frame. */
export function frameGrid(rows: Uint8Array[], T: number, H: number, W: number, every = 1, gap = 4): { rgb: Uint8Array; width: number; height: number } {
  const cols = Math.ceil(T / every);
  const width = cols * W + (cols - 1) * gap;
  const height = rows.length * H + (rows.length - 1) * gap;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  rows.forEach((frames, r) => {
    for (let k = 0; k < cols; k++) {
      const t = k * every;
      for (let y = 0; y < H; y++) {
        const src = ((t * H + y) * W) * 3;
        const dst = ((r * (H + gap) + y) * width + k * (W + gap)) * 3;
        rgb.set(frames.subarray(src, src + W * 3), dst);
      }
    }
  });
  return { rgb, width, height };
}

/** [1, C, T, H, W] tensor → Float32Array (C, T, H, W). */
export function firstVideo(t: Tensor): Float32Array {
  return t.select(0, 0).contiguous().toFloat32Array();
}
