/** `videomae extract VIDEO_OR_LIST --out DIR`: sliding-window TAD features, one .npy per video. */
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { OnnxEngine } from "../../engines/onnx.ts";
import { extractFeatures } from "../../eval/extract.ts";
import { loadModelForInference } from "../../eval/load_model.ts";
import { writeNpy } from "../../io/npy.ts";
import type { VisionTransformer } from "../../models/vit.ts";
import { Progress } from "../../util/progress.ts";
import { ensureWritableDir, writingFile } from "../../util/output.ts";
import { createVideoReader, VideoError } from "../../video/index.ts";
import { useDecoder } from "../decoder.ts";
import { defineCommand, UsageError } from "../command.ts";
import { architectureOptions, checkpointOption, decoderOption, deviceOption, engineOption, jsonOutputOption } from "../options/groups.ts";
import { choice, flag, number, text } from "../options/schema.ts";

const VIDEO_EXT = /\.(mp4|mkv|avi|webm|mov|m4v|mpg|mpeg|ts|flv)$/i;

/** Two different videos would write the same output file. */
export class OutputCollisionError extends Error {
  override name = "OutputCollisionError";
}

interface Job {
  video: string;
  /** Where it came from, for messages: the list line, or the command line. */
  origin: string;
  /** Output path relative to --out. */
  name: string;
}

/**
 * A video file, or a list file (one path per line; extra columns, as in `path label`, ignored).
 * Output names must be unique per video, so they keep the video's path: relative to the list's
 * folder (`a/x.mp4` → `a/x.npy`), or, for a path outside it, the whole absolute path
 * (`/data/k/x.mp4` → `data/k/x.npy`). A lone video on the command line gives `x.npy`.
 */
function jobsOf(arg: string): Job[] {
  const stem = (p: string) => p.slice(0, p.length - extname(p).length) + ".npy";
  if (VIDEO_EXT.test(arg)) return [{ video: arg, origin: "the command line", name: stem(basename(arg)) }];
  if (!existsSync(arg)) throw new UsageError(`${arg}: no such file`);
  const base = dirname(resolve(arg));
  const jobs: Job[] = [];
  readFileSync(arg, "utf8").split(/\r?\n/).forEach((line, i) => {
    const p = line.trim().split(/\s+/)[0] ?? "";
    if (!p || p.startsWith("#")) return;
    const video = resolve(base, p);
    const rel = relative(base, video);
    const inside = rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
    jobs.push({ video, origin: `${arg}:${i + 1}`, name: stem(inside ? rel : video.split(sep).filter(Boolean).join(sep)) });
  });
  return jobs;
}

/**
 * Refuses two different videos that would write the same file (x.mp4 and x.avi side by side), so
 * none silently overwrites or "skips" another; drops repeated lines of the same video.
 */
function uniqueJobs(jobs: Job[], out: string): Job[] {
  const byName = new Map<string, Job>();
  const clashes: string[] = [];
  const keep: Job[] = [];
  for (const j of jobs) {
    const prev = byName.get(j.name);
    if (!prev) {
      byName.set(j.name, j);
      keep.push(j);
    } else if (prev.video !== j.video) {
      clashes.push(`  ${prev.video} (${prev.origin}) and ${j.video} (${j.origin}) → ${join(out, j.name)}`);
    } else {
      process.stderr.write(`${j.video} is listed again at ${j.origin} (first at ${prev.origin}); extracting it once\n`);
    }
  }
  if (clashes.length) {
    throw new OutputCollisionError(`${clashes.length} output name collision(s): different videos would write the same .npy:\n${clashes.join("\n")}\nRename one of each pair, or extract them into different --out folders.`);
  }
  return keep;
}

export const extractCommand = defineCommand({
  name: "extract",
  usage: `VIDEO_OR_LIST --out DIR --checkpoint FILE [--model NAME | --model-config FILE.json]
                        [--window 16] [--stride 4] [--normalize none|imagenet] [--batch 4] [--force] [--json]
       videomae extract VIDEO_OR_LIST --out DIR --engine onnx --model FILE.onnx [...]`,
  description: `For each video, windows of --window consecutive frames start at 0, S, 2S, … (while they fit);
each window goes through the model and its pooled fc_norm feature becomes one row of a
float32 array [windows, D] (the official TAD layout: 16 frames, stride 4 for THUMOS14, 16 for
FineAction), written to DIR/<path>.npy: <path> is the video's path relative to the list's folder
(a/x.mp4 → DIR/a/x.npy; a path outside it keeps its whole absolute path), or its base name for a
single VIDEO. Two videos that would write the same file are refused before any work. Videos whose
.npy exists are skipped, so an interrupted run resumes where it stopped; files are written
atomically. A video that cannot be decoded, or is shorter than one window (the official script
would write an empty array), is reported and skipped; the exit code is then 1.

--engine onnx --model FILE.onnx runs a model exported with \`videomae export --features\`
through onnxruntime instead of libtorch (same windows, resize and normalisation).

--normalize: the official extract_tad_feature.py feeds frames scaled to [0, 1] WITHOUT ImageNet
mean/std normalisation, although the models were trained with it. 'none' (default) reproduces
the official features; 'imagenet' gives the models their training distribution.
With --decoder libav each video is decoded once, the windows streamed from one open decoder.`,
  options: {
    out: text({ valueName: "DIR", description: "where the .npy files go" }),
    ...checkpointOption,
    ...architectureOptions,
    window: number({ valueName: "F", defaultText: "the model's frame count", description: "frames per window (must be the model's)" }),
    stride: number({ valueName: "S", default: 4, description: "frames between window starts" }),
    normalize: choice(["none", "imagenet"], { default: "none", description: "frame normalisation: none (as the official script) or imagenet" }),
    batch: number({ valueName: "B", default: 4, description: "windows per forward pass" }),
    force: flag("extract again videos whose .npy exists"),
    ...engineOption,
    ...jsonOutputOption("the results"),
    ...decoderOption,
    ...deviceOption,
  },
  operands: true,
  epilogue: `Example:
  videomae extract thumos_test.txt --out th14_feats --checkpoint vit_g_hybrid_pt_1200e_k710_ft.pth \\
                   --model vit_giant_patch14_224`,
  async run(v, positionals) {
    useDecoder(v.decoder);
    if (positionals.length !== 1) throw new UsageError("give one VIDEO or list file");
    const onnx = v.engine === "onnx";
    if (onnx && (!v.model || !/\.onnx$/i.test(v.model) || v.checkpoint)) throw new UsageError("--engine onnx needs --model FILE.onnx (from videomae export --features) and no --checkpoint");
    if (!v.out || (!v.checkpoint && !onnx)) throw new UsageError("--out and --checkpoint are required");
    const normalize = v.normalize as "none" | "imagenet";
    const batch = v.batch;
    const jobs = uniqueJobs(jobsOf(positionals[0]!), v.out);
    ensureWritableDir(v.out); // before loading the model: a long run must not fail at its first write
    const loaded = onnx ? { model: await OnnxEngine.load(v.model!) } : await loadModelForInference<VisionTransformer>({ checkpoint: v.checkpoint!, model: v.model, configFile: v.modelConfig, kind: "vit", device: v.device });
    const cfg = loaded.model.config;
    if (onnx && !(loaded.model as OnnxEngine).meta.outputs.includes("features")) throw new UsageError(`${v.model} has no "features" output: export it with --features`);
    const window = v.window ?? cfg.numFrames;
    if (window !== cfg.numFrames) throw new UsageError(`--window ${window} differs from the model's ${cfg.numFrames} frames`);
    const stride = v.stride;
    const reader = createVideoReader();
    const results: { video: string; out: string; windows?: number; skipped?: boolean; error?: string }[] = [];
    const progress = new Progress({ total: jobs.length, label: "extract", unit: "videos" });
    for (const { video, name } of jobs) {
      const out = join(v.out, name);
      if (!v.force && existsSync(out) && statSync(out).size > 0) {
        results.push({ video, out, skipped: true });
        progress.tick(1);
        continue;
      }
      try {
        const f = await extractFeatures(loaded.model, reader, video, { window, stride, size: cfg.imgSize, normalize, batch });
        mkdirSync(dirname(out), { recursive: true });
        await writingFile(out, () => writeNpy(out, { dtype: "float32", shape: [f.windows, f.dim], data: f.data }));
        results.push({ video, out, windows: f.windows });
      } catch (e) {
        if (!(e instanceof VideoError)) throw e;
        results.push({ video, out, error: e.message });
        process.stderr.write(`\nskipped ${video}: ${e.message}\n`);
      }
      progress.tick(1);
    }
    progress.done();
    const failed = results.filter((r) => r.error).length;
    if (v.json) console.log(JSON.stringify({ normalize, window, stride, results }));
    else console.log(`${results.length - failed} of ${jobs.length} videos → ${v.out} (${results.filter((r) => r.skipped).length} already done, ${failed} failed; normalize=${normalize})`);
    return failed ? 1 : 0;
  },
});
