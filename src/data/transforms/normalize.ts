/**
 * uint8 (T, H, W, 3) → float32 (C, T, H, W) with per-channel mean/std, and the inverse for
 * pictures.
 *
 * The official pipelines compute `(x.float() / 255 − mean) / std` in float32 (torchvision
 * ToTensor + tensor_normalize / GroupNormalize). A uint8 input has only 256 values per channel,
 * so each channel gets a 256-entry lookup table holding exactly those float32 results
 * (Math.fround after every step, like torch's float32 kernels).
 */
import { checkClip, TransformError, type Clip, type FloatClip } from "./clip.ts";

/** ImageNet statistics on [0, 1] pixels (spec §4). */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/**
 * How pixels become floats: ImageNet mean/std (the default everywhere), custom statistics, or
 * "none" = only /255 (the TAD feature extractor, spec §7).
 */
export type Normalization = "imagenet" | "none" | { mean: readonly number[]; std: readonly number[] };

/** Resolves a Normalization to three means and stds. */
export function normalizationStats(norm: Normalization = "imagenet"): { mean: number[]; std: number[] } {
  if (norm === "imagenet") return { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] };
  if (norm === "none") return { mean: [0, 0, 0], std: [1, 1, 1] };
  const { mean, std } = norm;
  if (mean.length !== 3 || std.length !== 3) throw new TransformError("normalization: mean and std need 3 entries (R, G, B)");
  if (!std.every((s) => Number.isFinite(s) && s !== 0)) throw new TransformError("normalization: std entries must be finite and non-zero");
  return { mean: [...mean], std: [...std] };
}

/** Three 256-entry tables: lut[c·256 + v] = float32((v/255 − mean[c]) / std[c]). */
export function normalizationLut(norm: Normalization = "imagenet"): Float32Array {
  const { mean, std } = normalizationStats(norm);
  const f = Math.fround;
  const lut = new Float32Array(768);
  for (let c = 0; c < 3; c++) {
    const m = f(mean[c]!);
    const s = f(std[c]!);
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = f(f(f(v / 255) - m) / s);
  }
  return lut;
}

/** uint8 (T, H, W, 3) → normalised float32 (C, T, H, W). */
export function toFloatClip(clip: Clip, norm: Normalization = "imagenet"): FloatClip {
  checkClip(clip);
  const lut = normalizationLut(norm);
  const { frames: T, height: H, width: W, data } = clip;
  const plane = T * H * W;
  const out = new Float32Array(3 * plane);
  for (let p = 0, i = 0; p < plane; p++, i += 3) {
    out[p] = lut[data[i]!]!;
    out[plane + p] = lut[256 + data[i + 1]!]!;
    out[2 * plane + p] = lut[512 + data[i + 2]!]!;
  }
  return { data: out, channels: 3, frames: T, height: H, width: W };
}

/**
 * The inverse, for pictures: float (C, T, H, W) → uint8 (T, H, W, 3), x·std + mean, ·255,
 * rounded and clamped to 0..255.
 */
export function fromFloatClip(x: FloatClip, norm: Normalization = "imagenet"): Clip {
  if (x.channels !== 3) throw new TransformError(`fromFloatClip: expected 3 channels, got ${x.channels}`);
  const { frames: T, height: H, width: W, data } = x;
  const plane = T * H * W;
  if (data.length !== 3 * plane) throw new TransformError(`fromFloatClip: data has ${data.length} values, expected ${3 * plane}`);
  const { mean, std } = normalizationStats(norm);
  const out = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    const m = mean[c]!;
    const s = std[c]!;
    for (let p = 0; p < plane; p++) {
      const v = Math.round((data[c * plane + p]! * s + m) * 255);
      out[p * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { data: out, frames: T, height: H, width: W };
}
