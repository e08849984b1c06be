/**
 * The transform pipeline type and the named presets of spec §4. A Transform maps a decoded
 * uint8 clip (T, H, W, 3) and an Rng to the float32 network input (C, T, H, W) plus a record of
 * what was drawn. Every random parameter is drawn once per clip and applied to all frames; the
 * only per-frame randomness is the random-erasing noise. Same Rng state → same bytes.
 */
import type { Rng } from "../../util/rng.ts";
import { checkClip, cropClip, cropPadded, type Box, type Clip, type FloatClip } from "./clip.ts";
import { centerCropBox, sampleMultiScaleCrop, sampleRandomResizedCrop, testCropBoxes, type MultiScaleCropOptions, type RandomResizedCropOptions } from "./crops.ts";
import { randomErasing, type RandomErasingOptions } from "./erasing.ts";
import { toFloatClip, type Normalization } from "./normalize.ts";
import { DEFAULT_RAND_AUGMENT, parseRandAugment, randAugment, type AppliedOp, type RandAugmentConfig } from "./randaugment.ts";
import { resizedCropToFloat, resizePil, resizeShortSideCv } from "./resize.ts";

/** What a transform drew (for tests, debugging and pictures). */
export interface TransformInfo {
  /** The crop box in the frame it was cut from (after any earlier resize). */
  crop?: Box;
  /** The random-resized crop fell back to the centre crop. */
  cropFallback?: boolean;
  flipped?: boolean;
  randAugment?: AppliedOp[];
  /** The random-erasing box (same for all frames), or null when none was erased. */
  erased?: Box | null;
}

export interface TransformResult extends FloatClip {
  info: TransformInfo;
}

export type Transform = (clip: Clip, rng: Rng) => TransformResult;

/** A uint8 → uint8 step (may record into `info`). */
export type ClipOp = (clip: Clip, rng: Rng, info: TransformInfo) => Clip;
/** The step that produces the float clip. */
export type ToFloatOp = (clip: Clip, rng: Rng, info: TransformInfo) => FloatClip;
/** A step on the float clip (may change it in place or return a new one). */
export type FloatOp = (x: FloatClip, rng: Rng, info: TransformInfo) => FloatClip | void;

/** Builds a Transform from uint8 steps, the float conversion, and float steps, run in order. */
export function pipeline(steps: { clipOps?: ClipOp[]; toFloat: ToFloatOp; floatOps?: FloatOp[] }): Transform {
  return (clip, rng) => {
    checkClip(clip);
    const info: TransformInfo = {};
    let c = clip;
    for (const op of steps.clipOps ?? []) c = op(c, rng, info);
    let x = steps.toFloat(c, rng, info);
    for (const op of steps.floatOps ?? []) x = op(x, rng, info) ?? x;
    return { ...x, info };
  };
}

// ------------------------------------------------------------------------------ pre-training

export interface PretrainOptions extends MultiScaleCropOptions {
  norm?: Normalization;
}

/**
 * Pre-training (§4.1): GroupMultiScaleCrop — one box of the 10 sizes × 13 offsets, the same for
 * every frame — resized to size×size with Pillow bilinear, then /255 and normalisation. No flip,
 * no colour augmentation.
 */
export function pretrainTransform(size = 224, opts: PretrainOptions = {}): Transform {
  return pipeline({
    clipOps: [
      (clip, rng, info) => {
        const box = sampleMultiScaleCrop(clip.width, clip.height, size, size, rng, opts);
        info.crop = box;
        const inside = box.x >= 0 && box.y >= 0 && box.x + box.w <= clip.width && box.y + box.h <= clip.height;
        return inside ? resizePil(clip, size, size, box) : resizePil(cropPadded(clip, box), size, size);
      },
    ],
    toFloat: (clip) => toFloatClip(clip, opts.norm),
  });
}

// ------------------------------------------------------------------------------ fine-tuning

export interface FinetuneTrainOptions extends RandomResizedCropOptions {
  size?: number;
  /** Random horizontal flip with p = 0.5; false for Something-Something V2. Default true. */
  flip?: boolean;
  /** RandAugment: true (default, rand-m7-n4-mstd0.5-inc1 bicubic), false, a timm config string, or a config. */
  randAug?: boolean | string | RandAugmentConfig;
  /** Random erasing: a probability (default 0.25), false, or full options. */
  erasing?: false | number | RandomErasingOptions;
  norm?: Normalization;
}

function resolveRandAug(r: FinetuneTrainOptions["randAug"]): RandAugmentConfig | null {
  if (r === false) return null;
  if (r === undefined || r === true) return DEFAULT_RAND_AUGMENT;
  if (typeof r === "string") return parseRandAugment(r);
  return r;
}

/**
 * Fine-tuning train chain (§4.2, `_aug_frame`): RandAugment on the uint8 frames → normalise →
 * random-resized crop (area U(0.08, 1), aspect log-U[0.75, 1.3333]) resized to size×size with
 * torch bilinear → horizontal flip (p 0.5) → random erasing (p 0.25, pixel mode, one box shared
 * by all frames). Normalise, crop, resize and flip are fused into one pass with the official
 * order of operations.
 */
export function finetuneTrainTransform(opts: FinetuneTrainOptions = {}): Transform {
  const size = opts.size ?? 224;
  const flip = opts.flip ?? true;
  const ra = resolveRandAug(opts.randAug);
  const erasing: RandomErasingOptions | null =
    opts.erasing === false ? null : typeof opts.erasing === "number" ? { prob: opts.erasing } : (opts.erasing ?? {});
  const clipOps: ClipOp[] = [];
  if (ra) {
    clipOps.push((clip, rng, info) => {
      const r = randAugment(clip, rng, ra);
      info.randAugment = r.ops;
      return r.clip;
    });
  }
  const floatOps: FloatOp[] = [];
  if (erasing) floatOps.push((x, rng, info) => void (info.erased = randomErasing(x, rng, erasing)));
  return pipeline({
    clipOps,
    toFloat: (clip, rng, info) => {
      const { fallback, ...box } = sampleRandomResizedCrop(clip.width, clip.height, rng, opts);
      // Official: horizontal_flip draws np.random.uniform() < 0.5 after the crop.
      const flipped = flip && rng.float() < 0.5;
      Object.assign(info, { crop: box, cropFallback: fallback, flipped });
      return resizedCropToFloat(clip, box, size, size, { flip: flipped, norm: opts.norm });
    },
    floatOps,
  });
}

// ------------------------------------------------------------------------------ evaluation

export interface EvalOptions {
  /** Short side after the resize (default: the crop size). */
  shortSide?: number;
  norm?: Normalization;
}

/**
 * Validation during fine-tuning (§4.2): OpenCV-bilinear short-side resize, centre crop
 * size×size (Python-rounded offsets), normalise. Deterministic (the Rng is unused).
 */
export function evalTransform(size = 224, opts: EvalOptions = {}): Transform {
  return pipeline({
    clipOps: [
      (clip, _rng, info) => {
        const resized = resizeShortSideCv(clip, opts.shortSide ?? size);
        info.crop = centerCropBox(resized.width, resized.height, size, size);
        return cropClip(resized, info.crop);
      },
    ],
    toFloat: (clip) => toFloatClip(clip, opts.norm),
  });
}

/**
 * Test-time spatial views (§4.3) of one clip: short-side resize to `size` once, then
 * `numCrops` crops along the long side. Returns one result per crop, in crop order.
 */
export function testCrops(clip: Clip, size = 224, numCrops = 3, norm?: Normalization): TransformResult[] {
  checkClip(clip);
  const resized = resizeShortSideCv(clip, size);
  return testCropBoxes(resized.width, resized.height, size, numCrops).map((box) => ({
    ...toFloatClip(cropClip(resized, box), norm),
    info: { crop: box },
  }));
}

/** The test views as one Transform per spatial crop index (each resizes on its own). */
export function testCropTransforms(size = 224, numCrops = 3, norm?: Normalization): Transform[] {
  return Array.from({ length: numCrops }, (_, k) =>
    pipeline({
      clipOps: [
        (clip, _rng, info) => {
          const resized = resizeShortSideCv(clip, size);
          info.crop = testCropBoxes(resized.width, resized.height, size, numCrops)[k]!;
          return cropClip(resized, info.crop);
        },
      ],
      toFloat: (clip) => toFloatClip(clip, norm),
    }),
  );
}

/**
 * TAD feature extraction input (§7): /255 only (no mean/std), direct bilinear resize of the
 * whole frame to size×size (aspect not kept, align_corners=False, no antialias).
 */
export function tadTransform(size = 224): Transform {
  return pipeline({
    toFloat: (clip, _rng, info) => {
      info.crop = { x: 0, y: 0, w: clip.width, h: clip.height };
      return resizedCropToFloat(clip, info.crop, size, size, { norm: "none" });
    },
  });
}
