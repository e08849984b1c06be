/**
 * Test-time views of one video (spec §4.3): K temporal clips at an exact stride × 3 spatial
 * crops along the long side (or one centred clip + centre crop for a quick prediction), each
 * ImageNet-normalised, as float32 (C, T, H, W).
 */
import { denseTestClips, denseValIndices } from "../data/samplers.ts";
import { evalTransform, testCrops, type Normalization } from "../data/transforms/index.ts";
import type { FloatClip } from "../data/transforms/clip.ts";
import { Rng } from "../util/rng.ts";
import type { VideoReader } from "../video/reader.ts";

export interface ViewOptions {
  numFrames: number;
  /** Frame stride (4 for Kinetics-style models, 2 for HMDB/SSv2-like sources). */
  rate: number;
  size: number;
  /** Temporal clips (1 = one centred clip with a centre crop). */
  clips: number;
  /** Spatial crops per clip (1 or 3). */
  crops: number;
  /** Mean/std the model was trained with (default ImageNet's). */
  norm?: Normalization;
}

export interface View extends FloatClip {
  clip: number;
  crop: number;
}

/** "5x3" → { clips: 5, crops: 3 }. */
export function parseViews(s: string): { clips: number; crops: number } {
  const m = /^(\d+)x(\d+)$/.exec(s.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new RangeError(`views must look like CLIPSxCROPS (e.g. 5x3, 2x3, 1x1), got '${s}'`);
  return { clips: Number(m[1]), crops: Number(m[2]) };
}

export async function videoViews(reader: VideoReader, path: string, o: ViewOptions): Promise<View[]> {
  const info = await reader.probe(path);
  if (o.clips === 1 && o.crops === 1) {
    const idx = denseValIndices(info.frameCount, { numFrames: o.numFrames, rate: o.rate });
    const clip = await reader.readFrames(path, idx);
    return [{ ...evalTransform(o.size, { norm: o.norm })(clip, new Rng(0)), clip: 0, crop: 0 }];
  }
  const clips = denseTestClips(info.frameCount, { numFrames: o.numFrames, rate: o.rate, numClips: o.clips });
  // Decode the union of all clips' frames once, then cut each clip out of it.
  const union = [...new Set(clips.flat())].sort((a, b) => a - b);
  const all = await reader.readFrames(path, union);
  const frameBytes = all.height * all.width * 3;
  const pos = new Map(union.map((f, i) => [f, i]));
  const views: View[] = [];
  clips.forEach((indices, k) => {
    const data = new Uint8Array(indices.length * frameBytes);
    indices.forEach((f, t) => data.set(all.data.subarray(pos.get(f)! * frameBytes, (pos.get(f)! + 1) * frameBytes), t * frameBytes));
    const clip = { data, frames: indices.length, height: all.height, width: all.width };
    testCrops(clip, o.size, o.crops, o.norm).forEach((v, j) => views.push({ ...v, clip: k, crop: j }));
  });
  return views;
}
