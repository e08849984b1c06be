/**
 * RandAugment as the official fine-tuning uses it: `rand-m7-n4-mstd0.5-inc1` through
 * VideoMAE's copy of timm's auto_augment (dataset/rand_augment.py, `create_random_augment`):
 *
 *  - `n` ops are drawn uniformly *with replacement* from the 15 "increasing" ops below;
 *  - each op runs with probability 0.5; when it runs, its magnitude is N(m, mstd) clipped to
 *    [0, 10] and its level arguments (with a random sign where timm negates) are drawn once and
 *    applied to every frame of the clip;
 *  - geometric ops use the `interpolation` resample (bicubic for `--train_interpolation
 *    bicubic`) and fill (128, 128, 128) — `create_random_augment` sets no img_mean, so timm's
 *    default _FILL applies;
 *  - TranslateXRel/YRel move by pct·width / pct·height pixels of the frame being augmented,
 *    pct = ±0.45·m/10. (The `translate_const` = int(224·0.45) = 100 that create_random_augment
 *    sets only feeds the absolute TranslateX/Y ops, which are not in the increasing set.)
 */
import type { Rng } from "../../util/rng.ts";
import { checkClip, mapFrames, TransformError, type Clip } from "./clip.ts";
import {
  applyLut,
  autocontrastLut,
  brightness,
  color,
  contrast,
  equalizeLut,
  histogram,
  invertLut,
  posterizeLut,
  sharpness,
  solarizeAddLut,
  solarizeLut,
} from "./color.ts";
import { affineWarper, rotateMatrix, shearXMatrix, shearYMatrix, translateXMatrix, translateYMatrix, type Affine, type Resample } from "./geometry.ts";

/** timm's _RAND_INCREASING_TRANSFORMS, in timm's order. */
export const RAND_INCREASING_OPS = [
  "AutoContrast",
  "Equalize",
  "Invert",
  "Rotate",
  "PosterizeIncreasing",
  "SolarizeIncreasing",
  "SolarizeAdd",
  "ColorIncreasing",
  "ContrastIncreasing",
  "BrightnessIncreasing",
  "SharpnessIncreasing",
  "ShearX",
  "ShearY",
  "TranslateXRel",
  "TranslateYRel",
] as const;

export type RandAugmentOpName = (typeof RAND_INCREASING_OPS)[number];

export const MAX_LEVEL = 10;

export interface RandAugmentConfig {
  /** Ops per clip (n). */
  numOps: number;
  /** Mean magnitude (m), 0..10. */
  magnitude: number;
  /** Std of the per-application magnitude noise (mstd). */
  magnitudeStd: number;
  /** Probability that a drawn op is applied. */
  prob: number;
  fill: readonly [number, number, number];
  resample: Resample;
}

/** `rand-m7-n4-mstd0.5-inc1` with bicubic resampling (spec §4.2). */
export const DEFAULT_RAND_AUGMENT: RandAugmentConfig = {
  numOps: 4,
  magnitude: 7,
  magnitudeStd: 0.5,
  prob: 0.5,
  fill: [128, 128, 128],
  resample: "bicubic",
};

/**
 * Parses a timm config string such as "rand-m7-n4-mstd0.5-inc1". Only the increasing op set is
 * implemented, so `inc1` is required; `w` (weighted choice) is not supported.
 */
export function parseRandAugment(config: string, resample: Resample = "bicubic"): RandAugmentConfig {
  const parts = config.split("-");
  if (parts[0] !== "rand") throw new TransformError(`RandAugment config must start with "rand": ${config}`);
  const out: RandAugmentConfig = { ...DEFAULT_RAND_AUGMENT, magnitude: MAX_LEVEL, numOps: 2, magnitudeStd: 0, resample };
  let increasing = false;
  for (const p of parts.slice(1)) {
    const m = /^([a-z]+)(\d.*)$/.exec(p);
    if (!m) continue;
    const [, key, val] = m as unknown as [string, string, string];
    const num = Number(val);
    if (!Number.isFinite(num)) throw new TransformError(`RandAugment config: bad value in "${p}"`);
    if (key === "m") out.magnitude = num;
    else if (key === "n") out.numOps = num;
    else if (key === "mstd") out.magnitudeStd = num;
    else if (key === "inc") increasing = num !== 0;
    else throw new TransformError(`RandAugment config: unsupported key "${key}" in ${config}`);
  }
  if (!increasing) throw new TransformError(`RandAugment config: only the increasing op set (inc1) is implemented: ${config}`);
  return out;
}

/** One op as applied to a clip, with its drawn arguments (also the debug record). */
export interface AppliedOp {
  op: RandAugmentOpName;
  magnitude: number;
  /** The level argument timm passes to the op (degrees, bits, threshold, factor, fraction…). */
  arg?: number;
}

/** timm's level → argument mappings; `sign` is ±1, drawn only for the ops timm negates. */
export function levelToArg(op: RandAugmentOpName, level: number, sign: number): number | undefined {
  const l = level / MAX_LEVEL;
  switch (op) {
    case "AutoContrast":
    case "Equalize":
    case "Invert":
      return undefined;
    case "Rotate":
      return sign * l * 30;
    case "PosterizeIncreasing":
      return 4 - Math.trunc(l * 4);
    case "SolarizeIncreasing":
      return 256 - Math.trunc(l * 256);
    case "SolarizeAdd":
      return Math.trunc(l * 110);
    case "ColorIncreasing":
    case "ContrastIncreasing":
    case "BrightnessIncreasing":
    case "SharpnessIncreasing":
      return 1 + sign * l * 0.9;
    case "ShearX":
    case "ShearY":
      return sign * l * 0.3;
    case "TranslateXRel":
    case "TranslateYRel":
      return sign * l * 0.45;
  }
}

const SIGNED = new Set<RandAugmentOpName>([
  "Rotate",
  "ColorIncreasing",
  "ContrastIncreasing",
  "BrightnessIncreasing",
  "SharpnessIncreasing",
  "ShearX",
  "ShearY",
  "TranslateXRel",
  "TranslateYRel",
]);

/** Draws the ops for one clip: which ops, whether each runs, and its arguments. */
export function sampleRandAugment(rng: Rng, cfg: RandAugmentConfig = DEFAULT_RAND_AUGMENT): AppliedOp[] {
  const chosen = Array.from({ length: cfg.numOps }, () => rng.choice(RAND_INCREASING_OPS));
  const applied: AppliedOp[] = [];
  for (const op of chosen) {
    // timm: skip when random() > prob.
    if (rng.float() > cfg.prob) continue;
    let m = cfg.magnitudeStd > 0 ? rng.normal(cfg.magnitude, cfg.magnitudeStd) : cfg.magnitude;
    m = Math.min(MAX_LEVEL, Math.max(0, m));
    // timm _randomly_negate: negative when random() > 0.5.
    const sign = SIGNED.has(op) ? (rng.float() > 0.5 ? -1 : 1) : 1;
    applied.push({ op, magnitude: m, arg: levelToArg(op, m, sign) });
  }
  return applied;
}

/** Applies one op (with its drawn argument) to every frame. */
export function applyOp(clip: Clip, a: AppliedOp, cfg: Pick<RandAugmentConfig, "fill" | "resample"> = DEFAULT_RAND_AUGMENT): Clip {
  const { width: W, height: H } = clip;
  const arg = a.arg ?? 0;
  const lut = (l: Uint8Array) => mapFrames(clip, (s, d) => applyLut(s, d, l));
  const warp = (m: Affine) => {
    const w = affineWarper(W, H, m, cfg.fill, cfg.resample);
    return mapFrames(clip, (s, d) => w(s, d));
  };
  switch (a.op) {
    case "AutoContrast":
      return mapFrames(clip, (s, d) => applyLut(s, d, autocontrastLut(histogram(s))));
    case "Equalize":
      return mapFrames(clip, (s, d) => applyLut(s, d, equalizeLut(histogram(s))));
    case "Invert":
      return lut(invertLut());
    case "PosterizeIncreasing":
      return arg >= 8 ? clip : lut(posterizeLut(arg));
    case "SolarizeIncreasing":
      return lut(solarizeLut(arg));
    case "SolarizeAdd":
      return lut(solarizeAddLut(arg));
    case "ColorIncreasing":
      return mapFrames(clip, (s, d) => color(s, d, arg));
    case "ContrastIncreasing":
      return mapFrames(clip, (s, d) => contrast(s, d, arg));
    case "BrightnessIncreasing":
      return mapFrames(clip, (s, d) => brightness(s, d, arg));
    case "SharpnessIncreasing":
      return mapFrames(clip, (s, d) => sharpness(s, d, W, H, arg));
    case "Rotate":
      // Pillow's rotate returns an exact copy for a zero angle.
      return arg % 360 === 0 ? clip : warp(rotateMatrix(arg, W, H));
    case "ShearX":
      return warp(shearXMatrix(arg));
    case "ShearY":
      return warp(shearYMatrix(arg));
    case "TranslateXRel":
      return warp(translateXMatrix(arg * W));
    case "TranslateYRel":
      return warp(translateYMatrix(arg * H));
  }
}

/** RandAugment on a clip: draws the ops once, applies each to all frames. */
export function randAugment(clip: Clip, rng: Rng, cfg: RandAugmentConfig = DEFAULT_RAND_AUGMENT): { clip: Clip; ops: AppliedOp[] } {
  checkClip(clip);
  const ops = sampleRandAugment(rng, cfg);
  let out = clip;
  for (const op of ops) out = applyOp(out, op, cfg);
  return { clip: out, ops };
}
