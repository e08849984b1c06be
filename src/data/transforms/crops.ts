/**
 * Crop-box samplers, each a faithful re-statement of the official parameter logic (so the
 * distribution of boxes matches); the pixels are produced by the resizers in resize.ts.
 */
import type { Rng } from "../../util/rng.ts";
import { roundHalfEven, TransformError, type Box } from "./clip.ts";

// ------------------------------------------------------------------ GroupMultiScaleCrop (§4.1)

export const MULTI_SCALE_SCALES: readonly number[] = [1, 0.875, 0.75, 0.66];

export interface MultiScaleCropOptions {
  scales?: readonly number[];
  /** Largest allowed difference between the width and height scale indices. */
  maxDistort?: number;
}

/**
 * The candidate (w, h) crop sizes of GroupMultiScaleCrop, in its order: side lengths
 * int(min(W, H)·s), each snapped to the output size when within 3 px; pairs whose scale
 * indices differ by ≤ maxDistort (10 pairs for 4 scales).
 */
export function multiScaleCropSizes(W: number, H: number, outW: number, outH: number, opts: MultiScaleCropOptions = {}): [number, number][] {
  const scales = opts.scales ?? MULTI_SCALE_SCALES;
  const maxDistort = opts.maxDistort ?? 1;
  const base = Math.min(W, H);
  const sizes = scales.map((s) => Math.trunc(base * s));
  const cropH = sizes.map((x) => (Math.abs(x - outH) < 3 ? outH : x));
  const cropW = sizes.map((x) => (Math.abs(x - outW) < 3 ? outW : x));
  const pairs: [number, number][] = [];
  cropH.forEach((h, i) => cropW.forEach((w, j) => Math.abs(i - j) <= maxDistort && pairs.push([w, h])));
  return pairs;
}

/**
 * GroupMultiScaleCrop.fill_fix_offset with more_fix_crop: 13 (x, y) offsets on a quarter grid,
 * steps (W − w) // 4 and (H − h) // 4: corners, centre, edge midpoints, quarter points.
 */
export function multiScaleOffsets(W: number, H: number, w: number, h: number): [number, number][] {
  const ws = Math.floor((W - w) / 4);
  const hs = Math.floor((H - h) / 4);
  return [
    [0, 0], [4 * ws, 0], [0, 4 * hs], [4 * ws, 4 * hs], [2 * ws, 2 * hs],
    [0, 2 * hs], [4 * ws, 2 * hs], [2 * ws, 4 * hs], [2 * ws, 0],
    [ws, hs], [3 * ws, hs], [ws, 3 * hs], [3 * ws, 3 * hs],
  ];
}

/** One GroupMultiScaleCrop box for a W×H frame and an outW×outH output. */
export function sampleMultiScaleCrop(W: number, H: number, outW: number, outH: number, rng: Rng, opts: MultiScaleCropOptions = {}): Box {
  const [w, h] = rng.choice(multiScaleCropSizes(W, H, outW, outH, opts));
  // A size snapped up to the output size can exceed a frame slightly smaller than the output
  // (offsets then go negative); PIL's crop pads such boxes with black, see cropPadded.
  if (w <= 0 || h <= 0) throw new TransformError(`multiScaleCrop: a ${W}×${H} frame is too small for any crop`);
  const [x, y] = rng.choice(multiScaleOffsets(W, H, w, h));
  return { x, y, w, h };
}

// ------------------------------------------------------------------ random resized crop (§4.2)

export interface RandomResizedCropOptions {
  /** Area fraction range, default [0.08, 1]. */
  scale?: readonly [number, number];
  /** Aspect (w/h) range, sampled log-uniformly; default [0.75, 1.3333] as the official call passes. */
  ratio?: readonly [number, number];
  attempts?: number;
}

/**
 * The official `_get_param_spatial_crop` (log-scale aspect, no h/w switch) = torchvision's
 * RandomResizedCrop.get_params: up to 10 tries of (area, aspect) with Python rounding, accepted
 * when 0 < w ≤ W and 0 < h ≤ H; otherwise a centre crop clamped to the aspect range.
 * Returns the box and whether the fallback was taken.
 */
export function sampleRandomResizedCrop(W: number, H: number, rng: Rng, opts: RandomResizedCropOptions = {}): Box & { fallback: boolean } {
  const [s0, s1] = opts.scale ?? [0.08, 1];
  const [r0, r1] = opts.ratio ?? [0.75, 1.3333];
  const attempts = opts.attempts ?? 10;
  if (!(s0 <= s1 && r0 <= r1 && r0 > 0)) throw new TransformError(`randomResizedCrop: bad scale [${s0}, ${s1}] or ratio [${r0}, ${r1}]`);
  const area = W * H;
  for (let i = 0; i < attempts; i++) {
    const target = rng.uniform(s0, s1) * area;
    const aspect = Math.exp(rng.uniform(Math.log(r0), Math.log(r1)));
    const w = roundHalfEven(Math.sqrt(target * aspect));
    const h = roundHalfEven(Math.sqrt(target / aspect));
    if (w > 0 && w <= W && h > 0 && h <= H) {
      const y = rng.int(0, H - h);
      const x = rng.int(0, W - w);
      return { x, y, w, h, fallback: false };
    }
  }
  const inRatio = W / H;
  let w = W;
  let h = H;
  if (inRatio < r0) h = roundHalfEven(w / r0);
  else if (inRatio > r1) w = roundHalfEven(h * r1);
  return { x: Math.floor((W - w) / 2), y: Math.floor((H - h) / 2), w, h, fallback: true };
}

// ------------------------------------------------------------------ evaluation crops (§4.2, §4.3)

/** video_transforms.CenterCrop: offsets int(round((W − w)/2)) with Python's ties-to-even. */
export function centerCropBox(W: number, H: number, w: number, h: number): Box {
  if (w > W || h > H) throw new TransformError(`centerCrop: ${w}×${h} is larger than the ${W}×${H} frame`);
  return { x: roundHalfEven((W - w) / 2), y: roundHalfEven((H - h) / 2), w, h };
}

/**
 * The test-time spatial crops (datasets.py mode `test`): `numCrops` windows of `size` along the
 * long axis at int(k·(long − size)/(numCrops − 1)) (one crop: int((long − size)/2)); the short
 * axis is kept whole (it already equals `size` after the short-side resize). H ≥ W crops rows.
 */
export function testCropBoxes(W: number, H: number, size: number, numCrops: number): Box[] {
  if (!Number.isInteger(numCrops) || numCrops < 1) throw new TransformError(`testCrops: numCrops must be a positive integer, got ${numCrops}`);
  const long = Math.max(W, H);
  if (Math.min(W, H) !== size) throw new TransformError(`testCrops: the short side (${Math.min(W, H)}) must equal the crop size ${size}`);
  const step = numCrops === 1 ? (long - size) / 2 : (long - size) / (numCrops - 1);
  const boxes: Box[] = [];
  for (let k = 0; k < numCrops; k++) {
    const start = Math.trunc(numCrops === 1 ? step : k * step);
    boxes.push(H >= W ? { x: 0, y: start, w: W, h: size } : { x: start, y: 0, w: size, h: H });
  }
  return boxes;
}
