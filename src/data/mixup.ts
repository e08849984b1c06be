/**
 * Batch-level Mixup / CutMix with label smoothing, timm 0.4.12 `Mixup` in mode "batch" as the
 * official fine-tuning configures it (spec §4.2): mixup α 0.8, cutmix α 1.0, prob 1.0, switch
 * prob 0.5, label smoothing 0.1, `correct_lam` on.
 *
 * One λ per batch. Mixup: x ← λ·x + (1−λ)·x.flip(0). CutMix: a box over the last two dims (H, W)
 * of x — for a video batch (B, C, T, H, W) that is the same box in every channel and frame,
 * which is what the official code gets by viewing the batch as (B, C·T, H, W) — is replaced by
 * the flipped batch's pixels, and λ is corrected to 1 − box area / (H·W). Targets are the
 * smoothed one-hots (off = ε/K, on = 1 − ε + ε/K) mixed as λ·y + (1−λ)·y.flip(0).
 *
 * Randomness comes from an Rng (src/util/rng.ts); Beta draws use Marsaglia–Tsang Gamma draws.
 */
import { Tensor, tensor, tidy, where } from "../torch/index.ts";
import type { Rng } from "../util/rng.ts";

export class MixupError extends Error {
  override name = "MixupError";
}

/** Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 via Gamma(shape + 1)·U^(1/shape). */
export function sampleGamma(rng: Rng, shape: number): number {
  if (!(shape > 0) || !Number.isFinite(shape)) throw new MixupError(`sampleGamma: shape must be > 0, got ${shape}`);
  if (shape < 1) return sampleGamma(rng, shape + 1) * Math.pow(1 - rng.float(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    const t = 1 + c * x;
    if (t <= 0) continue;
    const v = t * t * t;
    const u = 1 - rng.float(); // (0, 1]
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) as X/(X+Y) with X ~ Gamma(a), Y ~ Gamma(b). */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a);
  const y = sampleGamma(rng, b);
  if (x + y === 0) return rng.float() < a / (a + b) ? 1 : 0; // both underflowed (tiny α)
  return x / (x + y);
}

/** Smoothed one-hot rows (B, K): off = smoothing/K, on = 1 − smoothing + off. */
export function smoothOneHot(labels: ArrayLike<number>, numClasses: number, smoothing = 0): Float32Array {
  const off = smoothing / numClasses;
  const on = 1 - smoothing + off;
  const out = new Float32Array(labels.length * numClasses).fill(off);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) throw new MixupError(`label ${y} at ${i} is not in 0..${numClasses - 1}`);
    out[i * numClasses + y] = on;
  }
  return out;
}

/** timm mixup_target: λ·onehot(y) + (1−λ)·onehot(y.flip(0)), smoothed; a float32 (B, K) tensor. */
export function mixupTargets(labels: ArrayLike<number>, numClasses: number, lam: number, smoothing = 0): Tensor {
  const B = labels.length;
  const y1 = smoothOneHot(labels, numClasses, smoothing);
  const out = new Float32Array(B * numClasses);
  for (let i = 0; i < B; i++) {
    const j = B - 1 - i;
    for (let k = 0; k < numClasses; k++) out[i * numClasses + k] = y1[i * numClasses + k]! * lam + y1[j * numClasses + k]! * (1 - lam);
  }
  return tensor(out, { shape: [B, numClasses] });
}

/** A CutMix box: rows y0..y1−1, columns x0..x1−1 (may be empty). */
export interface CutmixBox {
  y0: number;
  y1: number;
  x0: number;
  x1: number;
}

/** timm rand_bbox: a box of side ·sqrt(1 − λ) centred at a uniform pixel, clipped to the image. */
export function randBbox(H: number, W: number, lam: number, rng: Rng): CutmixBox {
  const ratio = Math.sqrt(1 - lam);
  const cutH = Math.trunc(H * ratio);
  const cutW = Math.trunc(W * ratio);
  const cy = rng.int(0, H - 1);
  const cx = rng.int(0, W - 1);
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const hh = Math.floor(cutH / 2);
  const hw = Math.floor(cutW / 2);
  return { y0: clip(cy - hh, H), y1: clip(cy + hh, H), x0: clip(cx - hw, W), x1: clip(cx + hw, W) };
}

/** timm rand_bbox_minmax: side lengths uniform in [min·size, max·size), box fully inside. */
export function randBboxMinMax(H: number, W: number, minmax: readonly [number, number], rng: Rng): CutmixBox {
  const cutH = rng.int(Math.trunc(H * minmax[0]), Math.trunc(H * minmax[1]) - 1);
  const cutW = rng.int(Math.trunc(W * minmax[0]), Math.trunc(W * minmax[1]) - 1);
  const y0 = rng.int(0, H - cutH - 1);
  const x0 = rng.int(0, W - cutW - 1);
  return { y0, y1: y0 + cutH, x0, x1: x0 + cutW };
}

export interface MixupOptions {
  numClasses: number;
  mixupAlpha?: number;
  cutmixAlpha?: number;
  /** If set, CutMix boxes use min/max ratios instead of λ (and cutmixAlpha is forced to 1). */
  cutmixMinMax?: readonly [number, number];
  prob?: number;
  switchProb?: number;
  labelSmoothing?: number;
  correctLam?: boolean;
}

export interface MixupResult {
  x: Tensor;
  /** Soft targets (B, numClasses), float32. */
  target: Tensor;
  /** The λ of the targets (corrected to the real box for CutMix). */
  lam: number;
  kind: "none" | "mixup" | "cutmix";
  box?: CutmixBox;
}

export class Mixup {
  readonly numClasses: number;
  readonly mixupAlpha: number;
  readonly cutmixAlpha: number;
  readonly cutmixMinMax?: readonly [number, number];
  readonly prob: number;
  readonly switchProb: number;
  readonly labelSmoothing: number;
  readonly correctLam: boolean;
  /** Set false to stop mixing (targets are then only smoothed), as timm's mixup_enabled. */
  enabled = true;

  constructor(opts: MixupOptions) {
    this.numClasses = opts.numClasses;
    this.mixupAlpha = opts.mixupAlpha ?? 0.8;
    this.cutmixMinMax = opts.cutmixMinMax;
    this.cutmixAlpha = this.cutmixMinMax ? 1 : (opts.cutmixAlpha ?? 1.0);
    this.prob = opts.prob ?? 1.0;
    this.switchProb = opts.switchProb ?? 0.5;
    this.labelSmoothing = opts.labelSmoothing ?? 0.1;
    this.correctLam = opts.correctLam ?? true;
    if (!Number.isInteger(this.numClasses) || this.numClasses < 1) throw new MixupError(`numClasses must be a positive integer, got ${this.numClasses}`);
    if (!(this.mixupAlpha > 0 || this.cutmixAlpha > 0)) throw new MixupError("one of mixupAlpha > 0, cutmixAlpha > 0 or cutmixMinMax is required");
  }

  /** timm _params_per_batch: λ and whether this batch uses CutMix. */
  sampleParams(rng: Rng): { lam: number; useCutmix: boolean } {
    if (!this.enabled || !(rng.float() < this.prob)) return { lam: 1, useCutmix: false };
    let useCutmix: boolean;
    if (this.mixupAlpha > 0 && this.cutmixAlpha > 0) useCutmix = rng.float() < this.switchProb;
    else useCutmix = this.cutmixAlpha > 0;
    const alpha = useCutmix ? this.cutmixAlpha : this.mixupAlpha;
    return { lam: sampleBeta(rng, alpha, alpha), useCutmix };
  }

  /**
   * Mixes a batch x (B, …, H, W) and builds the soft targets. `labels` are class indices
   * (B of them). B must be even, as timm requires. `x` itself is not modified.
   */
  apply(x: Tensor, labels: ArrayLike<number> | Tensor, rng: Rng): MixupResult {
    const y = labels instanceof Tensor ? labels.toArray() : Array.from(labels);
    const B = x.shape[0]!;
    if (x.ndim < 3) throw new MixupError(`mixup: x must be (B, …, H, W), got shape [${x.shape.join(", ")}]`);
    if (B % 2 !== 0) throw new MixupError(`mixup: batch size must be even, got ${B}`);
    if (y.length !== B) throw new MixupError(`mixup: ${y.length} labels for a batch of ${B}`);
    let { lam, useCutmix } = this.sampleParams(rng);
    let out = x;
    let box: CutmixBox | undefined;
    let kind: MixupResult["kind"] = "none";
    if (lam !== 1) {
      if (useCutmix) {
        const H = x.size(-2);
        const W = x.size(-1);
        box = this.cutmixMinMax ? randBboxMinMax(H, W, this.cutmixMinMax, rng) : randBbox(H, W, lam, rng);
        if (this.correctLam || this.cutmixMinMax) lam = 1 - ((box.y1 - box.y0) * (box.x1 - box.x0)) / (H * W);
        const mask = new Uint8Array(H * W);
        for (let r = box.y0; r < box.y1; r++) mask.fill(1, r * W + box.x0, r * W + box.x1);
        out = tidy(() => where(tensor(mask, { shape: [H, W], dtype: "bool" }), x.flip([0]), x));
        kind = "cutmix";
      } else {
        const l = lam;
        out = tidy(() => x.mul(l).add(x.flip([0]).mul(1 - l)));
        kind = "mixup";
      }
    }
    const target = mixupTargets(y, this.numClasses, lam, this.labelSmoothing);
    return { x: out, target, lam, kind, ...(box ? { box } : {}) };
  }
}
