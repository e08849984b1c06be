/**
 * Random erasing as VideoMAE runs it (dataset/random_erasing.py, timm's RandomErasing in "cube"
 * mode, `--reprob 0.25 --remode pixel --recount 1`): on the normalised clip, with probability p
 * one box is chosen — area U(2 %, 1/3) of the frame, aspect log-uniform in [0.3, 1/0.3], up to
 * 100 tries, accepted when w < W and h < H — and the *same* box in every frame is overwritten
 * with fresh per-pixel, per-channel N(0, 1) noise drawn independently for each frame.
 */
import type { Rng } from "../../util/rng.ts";
import { roundHalfEven, TransformError, type Box, type FloatClip } from "./clip.ts";

export interface RandomErasingOptions {
  prob?: number;
  minArea?: number;
  maxArea?: number;
  minAspect?: number;
  maxAspect?: number;
  /** "pixel": per-pixel N(0,1) (the official setting); "rand": one N(0,1) colour per channel and frame; "const": zeros. */
  mode?: "pixel" | "rand" | "const";
}

/** Standard normals, two per Box–Muller draw (cheaper than Rng.normal for whole boxes). */
export class NormalStream {
  private spare: number | undefined;
  constructor(private readonly rng: Rng) {}
  next(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.rng.float();
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * this.rng.float();
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  }
}

/** Draws the erasing box for a W×H frame, or null (no erasing this time). */
export function sampleErasingBox(W: number, H: number, rng: Rng, opts: RandomErasingOptions = {}): Box | null {
  const prob = opts.prob ?? 0.25;
  const minArea = opts.minArea ?? 0.02;
  const maxArea = opts.maxArea ?? 1 / 3;
  const minAspect = opts.minAspect ?? 0.3;
  const maxAspect = opts.maxAspect ?? 1 / minAspect;
  if (!(minArea <= maxArea && minAspect > 0 && minAspect <= maxAspect)) {
    throw new TransformError(`randomErasing: bad area [${minArea}, ${maxArea}] or aspect [${minAspect}, ${maxAspect}]`);
  }
  if (rng.float() > prob) return null;
  const area = W * H;
  for (let i = 0; i < 100; i++) {
    const target = rng.uniform(minArea, maxArea) * area;
    const aspect = Math.exp(rng.uniform(Math.log(minAspect), Math.log(maxAspect)));
    const h = roundHalfEven(Math.sqrt(target * aspect));
    const w = roundHalfEven(Math.sqrt(target / aspect));
    if (w < W && h < H) {
      const y = rng.int(0, H - h);
      const x = rng.int(0, W - w);
      return { x, y, w, h };
    }
  }
  return null;
}

/** Overwrites `box` of every frame of `clip` (in place) with noise per `mode`; frame by frame. */
export function eraseBox(clip: FloatClip, box: Box, rng: Rng, mode: RandomErasingOptions["mode"] = "pixel"): void {
  const { channels: C, frames: T, height: H, width: W, data } = clip;
  const noise = new NormalStream(rng);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < C; c++) {
      const colour = mode === "rand" ? noise.next() : 0;
      for (let y = box.y; y < box.y + box.h; y++) {
        const o = ((c * T + t) * H + y) * W;
        for (let x = box.x; x < box.x + box.w; x++) data[o + x] = mode === "pixel" ? noise.next() : colour;
      }
    }
  }
}

/** Random erasing on a normalised (C, T, H, W) clip, in place. Returns the erased box or null. */
export function randomErasing(clip: FloatClip, rng: Rng, opts: RandomErasingOptions = {}): Box | null {
  const box = sampleErasingBox(clip.width, clip.height, rng, opts);
  if (box) eraseBox(clip, box, rng, opts.mode ?? "pixel");
  return box;
}
