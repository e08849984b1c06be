/**
 * The synthetic motion dataset on disk: H.264 .mp4 videos plus list files in the official formats
 * (spec §4.1–4.2), ready for the fine-tuning and pre-training loaders.
 *
 *   DIR/labels.txt         class names, one per line, line i = label i
 *   DIR/train.csv          `path label` per line, space-separated, no header (also val.csv, test.csv)
 *   DIR/pretrain.csv       `path 0 -1` per line: the train videos, without labels
 *   DIR/manifest.json      format, settings (seed, sizes, …), classes, counts
 *   DIR/videos/<split>/<class>_<nnnn>.mp4
 *
 * Paths in the list files are relative to DIR, the folder holding the list files (so the folder
 * can be moved or copied as a whole); loaders resolve them against the list file's directory.
 *
 * Generation is deterministic (same settings → same frames, and with ffmpeg's single-threaded
 * x264 the same bytes) and resumable: videos already on disk are skipped unless `force` is set;
 * a video is written under a temporary name and renamed when complete. Re-running with more
 * videos or classes (other settings unchanged) adds only the missing videos.
 */
import { mkdir, readdir, readFile, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";

import { writeAll, writeFileAtomic } from "../../io/atomic.ts";
import { Rng } from "../../util/rng.ts";
import { ensureFfmpeg } from "../../video/ffmpeg.ts";
import type { Clip } from "../../video/reader.ts";
import { MAX_SYNTH_CLASSES, MIN_SYNTH_CLASSES, synthClasses } from "./classes.ts";
import { encodeMp4 } from "./encode.ts";
import { SynthOptionsError, SynthOutputConflictError } from "./errors.ts";
import { renderScene } from "./render.ts";
import { sampleScene, sceneSeed, type Scene, type Split } from "./scene.ts";

/** Everything that determines the dataset's content (recorded in manifest.json). */
export interface SynthSettings {
  classes: number;
  /** Videos per class over all splits. */
  videosPerClass: number;
  /** Frame width = height, pixels (even: yuv420p halves the chroma planes). */
  size: number;
  frames: number;
  fps: number;
  seed: number;
  /** Fractions of each class's videos in val and test (at least one each); the rest is train. */
  valFraction: number;
  testFraction: number;
  /** Per-pixel Gaussian noise, 0..255 units. */
  noise: number;
  distractorProb: number;
  /** x264 quality (constant rate factor) and keyframe interval. */
  crf: number;
  gop: number;
}

export const SYNTH_DEFAULTS: Readonly<SynthSettings> = {
  classes: 4,
  videosPerClass: 50,
  size: 64,
  frames: 32,
  fps: 25,
  seed: 0,
  valFraction: 0.15,
  testFraction: 0.15,
  noise: 3,
  distractorProb: 0.5,
  crf: 20,
  gop: 8,
};

export interface SynthOptions extends Partial<SynthSettings> {
  /** Output folder (created if missing). */
  out: string;
  /** Videos rendered and encoded at the same time (default: 2, or 1 on a single core). */
  jobs?: number;
  /** Re-create every video even if present, and allow an output folder with other content. */
  force?: boolean;
  /** Called after each video (generated or skipped). */
  onProgress?: (p: SynthProgress) => void;
  ffmpegPath?: string;
}

export interface SynthProgress {
  done: number;
  total: number;
  generated: number;
  skipped: number;
  /** The video just finished, relative to the output folder. */
  path: string;
}

/** One video of the plan. */
export interface SynthVideo {
  split: Split;
  /** Index within the split and class; also the scene key (shared by the classes, see scene.ts). */
  index: number;
  label: number;
  className: string;
  /** Relative to the output folder, with forward slashes. */
  path: string;
}

export interface SynthSummary {
  dir: string;
  classes: string[];
  counts: { train: number; val: number; test: number; pretrain: number };
  perClass: { train: number; val: number; test: number };
  generated: number;
  skipped: number;
  seconds: number;
  /** Absolute paths of the list files, labels and manifest. */
  files: { train: string; val: string; test: string; pretrain: string; labels: string; manifest: string };
}

export const MANIFEST_FORMAT = "videomae-synth";
/** Bumped whenever the same settings would render different frames (existing folders then conflict). */
export const MANIFEST_VERSION = 1;
const SPLITS: readonly Split[] = ["train", "val", "test"];

/** Fills in defaults and validates; throws SynthOptionsError naming the option. */
export function resolveSynthSettings(opts: Partial<SynthSettings> = {}): SynthSettings {
  const s: SynthSettings = { ...SYNTH_DEFAULTS };
  for (const key of Object.keys(SYNTH_DEFAULTS) as (keyof SynthSettings)[]) {
    const v = opts[key];
    if (v !== undefined) s[key] = v;
  }
  const int = (name: keyof SynthSettings, lo: number, hi: number, why = "") => {
    const v = s[name];
    if (!Number.isInteger(v) || v < lo || v > hi) throw new SynthOptionsError(`synthetic dataset: ${name} must be an integer in ${lo}..${hi}${why}, got ${v}`);
  };
  const real = (name: keyof SynthSettings, lo: number, hi: number) => {
    const v = s[name];
    if (!Number.isFinite(v) || v < lo || v > hi) throw new SynthOptionsError(`synthetic dataset: ${name} must be a number in ${lo}..${hi}, got ${v}`);
  };
  int("classes", MIN_SYNTH_CLASSES, MAX_SYNTH_CLASSES);
  int("videosPerClass", 3, 1_000_000, " (at least one each for train, val and test)");
  int("size", 16, 1024);
  if (s.size % 2 !== 0) throw new SynthOptionsError(`synthetic dataset: size must be even (H.264 yuv420p halves the colour planes), got ${s.size}`);
  int("frames", 2, 10_000);
  real("fps", 1, 240);
  int("seed", 0, Number.MAX_SAFE_INTEGER);
  real("valFraction", 0, 0.45);
  real("testFraction", 0, 0.45);
  real("noise", 0, 64);
  real("distractorProb", 0, 1);
  int("crf", 0, 51);
  int("gop", 1, 1000);
  splitSizes(s); // throws when train would be empty
  return s;
}

/** Videos per class in each split. */
export function splitSizes(s: SynthSettings): Record<Split, number> {
  const val = Math.max(1, Math.round(s.videosPerClass * s.valFraction));
  const test = Math.max(1, Math.round(s.videosPerClass * s.testFraction));
  const train = s.videosPerClass - val - test;
  if (train < 1) {
    throw new SynthOptionsError(`synthetic dataset: ${s.videosPerClass} videos per class leave none for train after ${val} val + ${test} test; use more videos or smaller fractions`);
  }
  return { train, val, test };
}

/**
 * Every video of the dataset, split by split; within a split index-major, so any prefix (and the
 * order a partial run produces them in) is class-balanced.
 */
export function planSynthDataset(s: SynthSettings): SynthVideo[] {
  const classes = synthClasses(s.classes);
  const sizes = splitSizes(s);
  const out: SynthVideo[] = [];
  for (const split of SPLITS) {
    for (let index = 0; index < sizes[split]; index++) {
      classes.forEach((c, label) => {
        out.push({ split, index, label, className: c.name, path: `videos/${split}/${c.name}_${String(index).padStart(4, "0")}.mp4` });
      });
    }
  }
  return out;
}

/** The scene of one video (deterministic in the settings, split, index and label). */
export function synthScene(s: SynthSettings, video: Pick<SynthVideo, "split" | "index" | "label">): Scene {
  const motion = synthClasses(s.classes)[video.label]?.motion;
  if (!motion) throw new SynthOptionsError(`synthetic dataset: label ${video.label} out of range 0..${s.classes - 1}`);
  return sampleScene(new Rng(sceneSeed(s.seed, video.split, video.index)), motion, s);
}

/**
 * The frames of one video as RGB uint8 (T, H, W, 3), before encoding — usable without ffmpeg.
 * `indices` renders only those frames (in that order), each exactly as in the full video.
 */
export function renderSynthVideo(s: SynthSettings, video: Pick<SynthVideo, "split" | "index" | "label">, indices?: readonly number[]): Clip {
  return renderScene(synthScene(s, video), indices);
}

/** Renders, encodes and writes the dataset (see the file comment). */
export async function generateSynthDataset(opts: SynthOptions): Promise<SynthSummary> {
  const t0 = Date.now();
  const settings = resolveSynthSettings(opts);
  const dir = resolve(opts.out);
  const force = opts.force ?? false;
  const jobs = opts.jobs ?? Math.min(2, availableParallelism());
  if (!Number.isInteger(jobs) || jobs < 1) throw new SynthOptionsError(`synthetic dataset: jobs must be a positive integer, got ${jobs}`);

  // Fail before writing anything when ffmpeg is missing (FfmpegNotFoundError says how to install it).
  await ensureFfmpeg({ ffmpegPath: opts.ffmpegPath });
  await mkdir(dir, { recursive: true });
  await checkOutputFolder(dir, settings, force);
  const classes = synthClasses(settings.classes);
  const plan = planSynthDataset(settings);
  const sizes = splitSizes(settings);
  const files = {
    train: join(dir, "train.csv"),
    val: join(dir, "val.csv"),
    test: join(dir, "test.csv"),
    pretrain: join(dir, "pretrain.csv"),
    labels: join(dir, "labels.txt"),
    manifest: join(dir, "manifest.json"),
  };
  const counts = { train: sizes.train * classes.length, val: sizes.val * classes.length, test: sizes.test * classes.length, pretrain: sizes.train * classes.length };
  const manifest = (complete: boolean) => ({
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    complete,
    settings,
    classes: classes.map((c, index) => ({ index, name: c.name, description: c.description })),
    counts,
    perClass: sizes,
    lists: { train: "train.csv", val: "val.csv", test: "test.csv", pretrain: "pretrain.csv", labels: "labels.txt" },
    paths: "list-file paths are relative to the folder holding the list files",
    listFormats: { train: "path label", val: "path label", test: "path label", pretrain: "path 0 -1" },
    augmentation: "no flips: a horizontal flip swaps move_left/move_right and rotate_cw/rotate_ccw, a vertical one move_up/move_down",
  });
  // Written first: a resumed run must know which settings the videos on disk were made with.
  await writeText(files.manifest, JSON.stringify(manifest(false), null, 2) + "\n");
  for (const split of SPLITS) await mkdir(join(dir, "videos", split), { recursive: true });

  let next = 0;
  let done = 0;
  let generated = 0;
  let skipped = 0;
  let failed = false;
  const worker = async () => {
    while (next < plan.length && !failed) {
      const video = plan[next++]!;
      const path = join(dir, video.path);
      if (!force && (await isNonEmptyFile(path))) skipped++;
      else {
        const clip = renderSynthVideo(settings, video);
        try {
          await encodeMp4(clip, path, { fps: settings.fps, crf: settings.crf, gop: settings.gop, ffmpegPath: opts.ffmpegPath });
        } catch (e) {
          failed = true; // the other workers finish their current video and stop
          throw e;
        }
        generated++;
      }
      done++;
      opts.onProgress?.({ done, total: plan.length, generated, skipped, path: video.path });
    }
  };
  // allSettled: no ffmpeg is still running when the error reaches the caller.
  const results = await Promise.allSettled(Array.from({ length: Math.min(jobs, plan.length) }, worker));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;

  const lines = (split: Split, pretrain: boolean) =>
    plan.filter((v) => v.split === split).map((v) => (pretrain ? `${v.path} 0 -1` : `${v.path} ${v.label}`)).join("\n") + "\n";
  await writeText(files.train, lines("train", false));
  await writeText(files.val, lines("val", false));
  await writeText(files.test, lines("test", false));
  await writeText(files.pretrain, lines("train", true));
  await writeText(files.labels, classes.map((c) => c.name).join("\n") + "\n");
  await writeText(files.manifest, JSON.stringify(manifest(true), null, 2) + "\n");

  return {
    dir,
    classes: classes.map((c) => c.name),
    counts,
    perClass: sizes,
    generated,
    skipped,
    seconds: (Date.now() - t0) / 1000,
    files,
  };
}

/**
 * The settings that change a video's bytes. The others (classes, videosPerClass, the split
 * fractions) only change which videos exist: a video's content depends on its split, index and
 * label alone, so a dataset can be grown in place (more videos or classes) and only the new
 * videos are made. Videos left out of a smaller plan stay on disk, unlisted.
 */
const CONTENT_KEYS: readonly (keyof SynthSettings)[] = ["size", "frames", "fps", "seed", "noise", "distractorProb", "crf", "gop"];

/**
 * Refuses (without `force`) a folder holding a dataset made with other settings, or a non-empty
 * folder that is not a synthetic dataset at all (so list files never overwrite someone's files).
 */
async function checkOutputFolder(dir: string, settings: SynthSettings, force: boolean): Promise<void> {
  if (force) return;
  const manifestPath = join(dir, "manifest.json");
  let text: string | undefined;
  try {
    text = await readFile(manifestPath, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  if (text === undefined) {
    const entries = await readdir(dir);
    if (entries.length > 0) throw new SynthOutputConflictError(dir, `the folder is not empty and has no manifest.json, so it is not a synthetic dataset (found ${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", …" : ""})`);
    return;
  }
  let old: { format?: string; version?: number; settings?: Partial<SynthSettings> };
  try {
    old = JSON.parse(text) as typeof old;
  } catch {
    throw new SynthOutputConflictError(dir, `${manifestPath} is not valid JSON`);
  }
  if (old.format !== MANIFEST_FORMAT) throw new SynthOutputConflictError(dir, `${manifestPath} is not a synthetic-dataset manifest`);
  if (old.version !== MANIFEST_VERSION) {
    throw new SynthOutputConflictError(dir, `its videos were made by generator version ${old.version}, this is version ${MANIFEST_VERSION} (the scenes differ)`);
  }
  const changed = CONTENT_KEYS.filter((k) => old.settings?.[k] !== settings[k]);
  if (changed.length > 0) {
    const what = changed.map((k) => `${k} ${JSON.stringify(old.settings?.[k])} → ${settings[k]}`).join(", ");
    throw new SynthOutputConflictError(dir, `it holds a synthetic dataset made with other settings (${what}); its videos would not match the new lists`);
  }
}

async function isNonEmptyFile(path: string): Promise<boolean> {
  try {
    const st = await stat(path);
    return st.isFile() && st.size > 0;
  } catch {
    return false;
  }
}

async function writeText(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, (fh) => writeAll(fh, new TextEncoder().encode(text)));
}
