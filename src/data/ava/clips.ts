/**
 * AVA samples (spec §2): a clip of `numFrames` frames every `samplingRate` frames around a
 * keyframe, cut from the whole video with our decoder, and the keyframe's person boxes.
 *
 *   keyframe at second t → frame k = round(t · fps); the reference's 64-frame span puts k at
 *   index 32 and TemporalCrop(16, 4) takes indices 1, 5, …, 61 of it, i.e. offsets
 *   j·rate + ⌊(rate−1)/2⌋ − T·rate/2 = −31, −27, …, +29 around k (clamped into the video: the
 *   reference's data never reach the ends; ours may, and repeating the end frame is the choice).
 *
 * Train: short side resized to `shortSide`, a random `cropSize`² crop, flip 0.5, HSV jitter, and
 * the ground-truth boxes jittered as the reference's `random_aug(0.2, 0.1, 0.1, 0.05)`. Test: the
 * full resized frame (padded to the patch grid by the collate), detector boxes extended by
 * (10 %, 5 %) before ROIAlign. Pixels are normalised with the detection code's RGB mean/std.
 */
import type { Rng } from "../../util/rng.ts";
import type { Clip, VideoReader } from "../../video/reader.ts";
import { cropPadded, flipClip } from "../transforms/clip.ts";
import { keyframeKey, type AvaRow, type Box, type ProposalBox } from "./csv.ts";

/** VideoMAE-Action-Detection `data/transforms.py`: RGB in 0..255. */
export const AVA_MEAN = [122.7717, 115.9465, 102.9801] as const;
export const AVA_STD = [57.375, 57.375, 57.375] as const;

/** One keyframe and its people: boxes normalised to [0, 1], action ids (train) or detector scores (test). */
export interface AvaKeyframe {
  videoId: string;
  timestamp: number;
  key: string;
  boxes: Box[];
  /** Per box: its action ids (ground truth; empty for proposals). */
  actions: number[][];
  /** Per box: the person detector's score (1 for ground truth). */
  scores: number[];
}

/** Ground-truth rows → keyframes; a person is a (person_id, box) pair with all its actions. */
export function groundTruthKeyframes(rows: readonly AvaRow[]): AvaKeyframe[] {
  const byKey = new Map<string, AvaKeyframe & { index: Map<string, number> }>();
  for (const r of rows) {
    const key = keyframeKey(r.videoId, r.timestamp);
    let kf = byKey.get(key);
    if (!kf) byKey.set(key, (kf = { videoId: r.videoId, timestamp: Math.trunc(r.timestamp), key, boxes: [], actions: [], scores: [], index: new Map() }));
    const person = `${r.last}|${r.box.join(",")}`;
    let i = kf.index.get(person);
    if (i === undefined) {
      kf.index.set(person, (i = kf.boxes.length));
      kf.boxes.push(r.box);
      kf.actions.push([]);
      kf.scores.push(1);
    }
    if (!kf.actions[i]!.includes(r.actionId)) kf.actions[i]!.push(r.actionId);
  }
  return [...byKey.values()].map(({ index: _, ...kf }) => kf);
}

/** Proposals (already score-filtered) → keyframes; keys listed in `skip` (excluded) are left out. */
export function proposalKeyframes(proposals: ReadonlyMap<string, ProposalBox[]>, skip: ReadonlySet<string> = new Set()): AvaKeyframe[] {
  const out: AvaKeyframe[] = [];
  for (const [key, boxes] of proposals) {
    if (skip.has(key) || !boxes.length) continue;
    const comma = key.lastIndexOf(",");
    out.push({ videoId: key.slice(0, comma), timestamp: Number(key.slice(comma + 1)), key, boxes: boxes.map((b) => b.box), actions: boxes.map(() => []), scores: boxes.map((b) => b.score) });
  }
  return out;
}

export interface ClipSettings {
  numFrames: number;
  samplingRate: number;
  /** Frame rate of the timestamps' frame indices (the reference: 25); null = the video's own. */
  fps: number | null;
  shortSide: number;
}

/** Frame indices of the clip around keyframe frame `k` in a video of `frameCount` frames. */
export function clipIndices(k: number, frameCount: number, numFrames: number, rate: number): number[] {
  const start = Math.floor((rate - 1) / 2) - (numFrames * rate) / 2;
  return Array.from({ length: numFrames }, (_, j) => Math.min(frameCount - 1, Math.max(0, Math.floor(k + start + j * rate))));
}

/** Decodes the clip of a keyframe, resized to short side `shortSide`. */
export async function readKeyframeClip(reader: VideoReader, path: string, kf: AvaKeyframe, s: ClipSettings): Promise<Clip> {
  const info = await reader.probe(path);
  const fps = s.fps ?? info.fps;
  const k = Math.round(kf.timestamp * fps);
  return reader.readFrames(path, clipIndices(k, info.frameCount, s.numFrames, s.samplingRate), { shortSide: s.shortSide });
}

/** Pixel boxes [x1, y1, x2, y2] of normalised ones on a W×H frame (xywh → xyxy with x2 = x + w − 1, as the reference). */
export function toPixels(b: Box, W: number, H: number): Box {
  return [b[0] * W, b[1] * H, b[2] * W - 1, b[3] * H - 1];
}

/** `random_aug(0.2, 0.1, 0.1, 0.05)`: each side moves by a uniform fraction of the box size. */
export function jitterBox(b: Box, rng: Rng): Box {
  const w = b[2] - b[0];
  const h = b[3] - b[1];
  return [b[0] + w * rng.uniform(-0.2, 0.1), b[1] + h * rng.uniform(-0.1, 0.05), b[2] + w * rng.uniform(-0.1, 0.2), b[3] + h * rng.uniform(-0.05, 0.1)];
}

/** `extend((0.1, 0.05))` of the test boxes: ±5 % of (w+1) and ±2.5 % of (h+1) per side, clamped to the frame. */
export function extendBox(b: Box, W: number, H: number): Box {
  const dx = 0.05 * (b[2] - b[0] + 1);
  const dy = 0.025 * (b[3] - b[1] + 1);
  return clipBox([b[0] - dx, b[1] - dy, b[2] + dx, b[3] + dy], W, H);
}

/** Clamped into [0, W−1]×[0, H−1] (BoxList.clip_to_image). */
export function clipBox(b: Box, W: number, H: number): Box {
  const c = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  return [c(b[0], W - 1), c(b[1], H - 1), c(b[2], W - 1), c(b[3], H - 1)];
}

/**
 * The reference's HSV jitter (OpenCV units: hue 0..180 ±10, saturation and value ±26 of 255), one
 * draw per clip, in place on RGB uint8 data.
 */
export function hsvJitter(clip: Clip, rng: Rng): void {
  const dh = rng.uniform(-10, 10) * 2; // OpenCV hue is degrees / 2
  const ds = rng.uniform(-26, 26) / 255;
  const dv = rng.uniform(-26, 26) / 255;
  const d = clip.data;
  for (let i = 0; i < d.length; i += 3) {
    const r = d[i]! / 255;
    const g = d[i + 1]! / 255;
    const b = d[i + 2]! / 255;
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const c = max - min;
    let h = c === 0 ? 0 : max === r ? 60 * (((g - b) / c + 6) % 6) : max === g ? 60 * ((b - r) / c + 2) : 60 * ((r - g) / c + 4);
    h = (((h + dh) % 360) + 360) % 360;
    const s = Math.min(1, Math.max(0, (max === 0 ? 0 : c / max) + ds));
    const v = Math.min(1, Math.max(0, max + dv));
    const cc = v * s;
    const x = cc * (1 - Math.abs(((h / 60) % 2) - 1));
    const m = v - cc;
    const k = Math.floor(h / 60);
    const [rr, gg, bb] = k === 0 ? [cc, x, 0] : k === 1 ? [x, cc, 0] : k === 2 ? [0, cc, x] : k === 3 ? [0, x, cc] : k === 4 ? [x, 0, cc] : [cc, 0, x];
    d[i] = Math.round((rr + m) * 255);
    d[i + 1] = Math.round((gg + m) * 255);
    d[i + 2] = Math.round((bb + m) * 255);
  }
}

/** One prepared sample: a normalised (C, T, H, W) clip and its pixel boxes. */
export interface AvaSample {
  keyframe: AvaKeyframe;
  /** (3, T, H, W) float32, normalised. */
  video: Float32Array;
  frames: number;
  height: number;
  width: number;
  /** Boxes in the clip's pixels (after crop/flip/jitter for training, extended for testing). */
  boxes: Box[];
  /** Index into keyframe.boxes of each kept box (training may drop boxes cropped away). */
  kept: number[];
}

/** (T, H, W, 3) uint8 → (3, T, H, W) float32 normalised with AVA_MEAN / AVA_STD. */
export function normalizeClip(clip: Clip): Float32Array {
  const { frames: T, height: H, width: W, data } = clip;
  const out = new Float32Array(3 * T * H * W);
  const plane = T * H * W;
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[c * plane + p] = (data[p * 3 + c]! - AVA_MEAN[c]!) / AVA_STD[c]!;
  return out;
}

export interface TrainAugment {
  cropSize: number;
  flip: boolean;
  colorJitter: boolean;
  boxJitter: boolean;
}

/** Training view: random crop, flip, colour and box jitter; boxes that leave the crop are dropped. */
export function trainSample(kf: AvaKeyframe, clip: Clip, a: TrainAugment, rng: Rng): AvaSample {
  const { width: W, height: H } = clip;
  const cw = Math.min(a.cropSize, W);
  const ch = Math.min(a.cropSize, H);
  const x0 = rng.int(0, W - cw);
  const y0 = rng.int(0, H - ch);
  let view = cropPadded(clip, { x: x0, y: y0, w: cw, h: ch });
  const flip = a.flip && rng.bernoulli(0.5);
  if (flip) view = flipClip(view);
  if (a.colorJitter) hsvJitter(view, rng);
  const boxes: Box[] = [];
  const kept: number[] = [];
  kf.boxes.forEach((nb, i) => {
    let b = toPixels(nb, W, H);
    b = [b[0] - x0, b[1] - y0, b[2] - x0, b[3] - y0];
    if (flip) b = [cw - b[2] - 1, b[1], cw - b[0] - 1, b[3]]; // BoxList.transpose (TO_REMOVE = 1)
    if (a.boxJitter) b = jitterBox(b, rng);
    b = clipBox(b, cw, ch);
    if (b[2] - b[0] >= 1 && b[3] - b[1] >= 1) boxes.push(b), kept.push(i);
  });
  return { keyframe: kf, video: normalizeClip(view), frames: view.frames, height: ch, width: cw, boxes, kept };
}

/** Test view: the full frame, boxes extended. */
export function testSample(kf: AvaKeyframe, clip: Clip): AvaSample {
  const { width: W, height: H } = clip;
  const boxes = kf.boxes.map((nb) => extendBox(toPixels(nb, W, H), W, H));
  return { keyframe: kf, video: normalizeClip(clip), frames: clip.frames, height: H, width: W, boxes, kept: boxes.map((_, i) => i) };
}

/** A batch: clips zero-padded (after normalisation) to a common size that is a multiple of `multiple`. */
export interface AvaBatch {
  /** (B, 3, T, Hp, Wp). */
  video: Float32Array;
  shape: [number, number, number, number, number];
  /** [K, 5]: (clip index, x1, y1, x2, y2). */
  rois: Float32Array;
  samples: AvaSample[];
}

export function collateAva(samples: AvaSample[], multiple: number): AvaBatch {
  const T = samples[0]!.frames;
  const pad = (v: number) => Math.ceil(v / multiple) * multiple;
  const Hp = pad(Math.max(...samples.map((s) => s.height)));
  const Wp = pad(Math.max(...samples.map((s) => s.width)));
  const B = samples.length;
  const video = new Float32Array(B * 3 * T * Hp * Wp);
  samples.forEach((s, b) => {
    for (let c = 0; c < 3; c++)
      for (let t = 0; t < T; t++)
        for (let y = 0; y < s.height; y++) {
          const src = ((c * T + t) * s.height + y) * s.width;
          video.set(s.video.subarray(src, src + s.width), (((b * 3 + c) * T + t) * Hp + y) * Wp);
        }
  });
  const rois: number[] = [];
  samples.forEach((s, b) => s.boxes.forEach((bx) => rois.push(b, ...bx)));
  return { video, shape: [B, 3, T, Hp, Wp], rois: Float32Array.from(rois), samples };
}
