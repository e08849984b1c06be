/**
 * A synthetic spatio-temporal action-detection set in AVA's formats (issue 16): each video shows
 * several shapes on one textured background, each moving in its own way; a shape's "action" is
 * its motion class and its box is the shape's tight extent, so a detector must look at how each
 * boxed region changes over time — one frame says nothing about the action.
 *
 *   DIR/videos/<video_id>.mp4              whole videos, `seconds` × `fps` frames
 *   DIR/{train,val}.csv                    ground truth: video_id,timestamp,x1,y1,x2,y2,action_id,person_id
 *   DIR/proposals_{train,val}.csv          noisy "person detector" boxes: video_id,timestamp,x1,y1,x2,y2,score
 *   DIR/labelmap.pbtxt                     the evaluated classes (all of them here)
 *   DIR/excluded_val.csv                   one excluded keyframe (exercises the evaluator's path)
 *
 * Keyframes are the whole seconds 1 … seconds−1 (so the clip around each stays in the video).
 * Classes are flip-symmetric (up/down translation, growing, horizontal and vertical swinging), so
 * the reference's horizontal flip is label-preserving. Boxes never leave the frame and the boxes of
 * one video never overlap, in any frame (positions are redrawn until they do not; with overlap
 * up to IoU 0.2 allowed, shapes moving towards each other occluded one another in ~45 % of the
 * videos). Every shape has the contrast polarity of the video's background.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

import { Rng } from "../../util/rng.ts";
import { csvRow, formatLabelMap, type Box } from "../ava/csv.ts";
import { iou } from "../ava/boxes.ts";
import type { Motion } from "./classes.ts";
import { encodeMp4 } from "./encode.ts";
import { SynthOptionsError } from "./errors.ts";
import { renderScenes, shapeExtent } from "./render.ts";
import { actorAt, sampleScene, sceneSeed, type Scene, type Split } from "./scene.ts";

/** The detection classes: action_id i + 1 is DETECTION_CLASSES[i]. */
export const DETECTION_CLASSES: readonly { name: string; motion: Motion }[] = [
  { name: "move_up", motion: { kind: "translate", dx: 0, dy: -1 } },
  { name: "move_down", motion: { kind: "translate", dx: 0, dy: 1 } },
  { name: "grow", motion: { kind: "scale", sense: 1 } },
  { name: "swing_horizontal", motion: { kind: "oscillate", axis: "x" } },
  { name: "swing_vertical", motion: { kind: "oscillate", axis: "y" } },
];

export interface SynthDetectionOptions {
  out: string;
  trainVideos: number;
  valVideos: number;
  width: number;
  height: number;
  seconds: number;
  fps: number;
  /** Shapes per video, drawn uniformly in [minActors, maxActors]. */
  minActors: number;
  maxActors: number;
  classes: number;
  seed: number;
  noise: number;
  /** Spurious proposals per keyframe (Bernoulli): a random box with a random score. */
  falseProposalProb: number;
  ffmpegPath?: string;
  log?: (m: string) => void;
}

export const SYNTH_DETECTION_DEFAULTS: Omit<SynthDetectionOptions, "out"> = {
  trainVideos: 48,
  valVideos: 16,
  width: 64,
  height: 48,
  seconds: 4,
  fps: 8,
  minActors: 2,
  maxActors: 3,
  classes: 4,
  seed: 0,
  noise: 4,
  falseProposalProb: 0.3,
};

export interface Track {
  scene: Scene;
  action: number;
}

/** Pixel extent of a track's shape at frame t. */
function extentAt(tr: Track, t: number): Box {
  const a = actorAt(tr.scene, t);
  return shapeExtent(tr.scene.actor.shape, a.x, a.y, a.angle, a.r);
}

/** Whether a scene's actor is the light one on a dark background (the value ranges of the two polarities are disjoint). */
export function isLightActor(scene: Scene): boolean {
  return Math.max(...scene.actor.color) > Math.max(...scene.background.from);
}

/**
 * The shapes of one video: actor parameters scaled to the frame, positions redrawn until every box
 * stays inside and apart. Every shape gets the contrast polarity of the first one, whose
 * background the video shows (with its own polarity, about half of the other shapes came out dark
 * on dark or light on light, nearly invisible).
 */
export function sampleTracks(o: SynthDetectionOptions, split: Split, index: number): Track[] {
  const rng = new Rng(sceneSeed(o.seed, split, index));
  const n = rng.int(o.minActors, o.maxActors);
  const frames = o.seconds * o.fps;
  const S = Math.min(o.width, o.height);
  const tracks: Track[] = [];
  let lightActor: boolean | undefined;
  for (let i = 0; i < n; i++) {
    const action = rng.int(0, o.classes - 1);
    const base = sampleScene(rng.fork(), DETECTION_CLASSES[action]!.motion, { size: S, frames, noise: o.noise, distractorProb: 0.3, lightActor });
    lightActor ??= isLightActor(base);
    for (let attempt = 0; attempt < 200; attempt++) {
      const actor = {
        ...base.actor,
        x0: rng.uniform(0, o.width),
        y0: rng.uniform(0, o.height),
        rMin: 0.1 * S,
        rMax: 0.2 * S,
        speed: rng.uniform(0.35, 0.6) * (S / 48), // px per frame: ~0.5 s to cross a shape
        oscAmp: rng.uniform(0.1, 0.16) * S,
        oscPeriod: rng.uniform(6, 12),
      };
      const tr: Track = { scene: { ...base, width: o.width, height: o.height, actor }, action };
      let ok = true;
      for (let t = 0; t < frames && ok; t++) {
        const b = extentAt(tr, t);
        ok = b[0] >= 1 && b[1] >= 1 && b[2] <= o.width - 1 && b[3] <= o.height - 1;
        for (const other of tracks) if (ok && iou(b, extentAt(other, t)) > 0) ok = false;
      }
      if (ok) {
        tracks.push(tr);
        break;
      }
    }
  }
  if (!tracks.length) throw new SynthOptionsError(`synthetic detection: no shape fits a ${o.width}×${o.height} frame; use a larger frame`);
  return tracks;
}

const norm = (b: Box, W: number, H: number): Box => [b[0] / W, b[1] / H, b[2] / W, b[3] / H];

/** Renders, encodes and writes the set; returns the file paths. */
export async function generateSynthDetection(o: SynthDetectionOptions) {
  if (o.classes < 2 || o.classes > DETECTION_CLASSES.length) throw new SynthOptionsError(`synthetic detection: classes must be in 2..${DETECTION_CLASSES.length}, got ${o.classes}`);
  if (o.width % 2 || o.height % 2) throw new SynthOptionsError(`synthetic detection: width and height must be even (yuv420p), got ${o.width}×${o.height}`);
  if (o.seconds < 2) throw new SynthOptionsError("synthetic detection: seconds must be ≥ 2 (keyframes are the inner whole seconds)");
  const dir = resolve(o.out);
  await mkdir(join(dir, "videos"), { recursive: true });
  const files = {
    dir,
    videos: join(dir, "videos"),
    labelMap: join(dir, "labelmap.pbtxt"),
    train: join(dir, "train.csv"),
    val: join(dir, "val.csv"),
    proposalsTrain: join(dir, "proposals_train.csv"),
    proposalsVal: join(dir, "proposals_val.csv"),
    excludedVal: join(dir, "excluded_val.csv"),
  };
  const names = DETECTION_CLASSES.slice(0, o.classes).map((c, i) => ({ id: i + 1, name: c.name }));
  await writeFile(files.labelMap, formatLabelMap(names));
  for (const split of ["train", "val"] as const) {
    const count = split === "train" ? o.trainVideos : o.valVideos;
    const gt: string[] = [];
    const proposals: string[] = [];
    for (let v = 0; v < count; v++) {
      const videoId = `synth_${split}_${String(v).padStart(4, "0")}`;
      const tracks = sampleTracks(o, split, v);
      const noise = new Rng(sceneSeed(o.seed + 1, split, v));
      for (let sec = 1; sec < o.seconds; sec++) {
        const t = sec * o.fps;
        tracks.forEach((tr, p) => {
          const b = norm(extentAt(tr, t), o.width, o.height);
          gt.push(csvRow(videoId, sec, b, String(tr.action + 1), String(p)));
          // A detector's box: each side off by ~5 % of the box size; a confident score.
          const w = b[2] - b[0];
          const h = b[3] - b[1];
          const nb: Box = [b[0] + noise.normal(0, 0.05) * w, b[1] + noise.normal(0, 0.05) * h, b[2] + noise.normal(0, 0.05) * w, b[3] + noise.normal(0, 0.05) * h];
          proposals.push(csvRow(videoId, sec, nb.map((c) => Math.min(1, Math.max(0, c))) as Box, noise.uniform(0.85, 1).toFixed(6)));
        });
        if (noise.bernoulli(o.falseProposalProb)) {
          const x = noise.uniform(0, 0.8);
          const y = noise.uniform(0, 0.8);
          proposals.push(csvRow(videoId, sec, [x, y, x + noise.uniform(0.1, 0.2), y + noise.uniform(0.1, 0.2)], noise.uniform(0.5, 1).toFixed(6)));
        }
      }
      const path = join(files.videos, `${videoId}.mp4`);
      await encodeMp4(renderScenes(tracks.map((tr) => tr.scene)), path, { fps: o.fps, crf: 18, gop: o.fps, ffmpegPath: o.ffmpegPath });
      o.log?.(`  ${videoId}: ${tracks.map((tr) => names[tr.action]!.name).join(", ")}`);
    }
    await writeFile(split === "train" ? files.train : files.val, gt.join("\n") + "\n");
    await writeFile(split === "train" ? files.proposalsTrain : files.proposalsVal, proposals.join("\n") + "\n");
  }
  await writeFile(files.excludedVal, "synth_val_0000,0001\n");
  return { ...files, classes: names };
}
