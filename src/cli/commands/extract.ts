/** `videomae extract VIDEO_OR_LIST --out DIR`: sliding-window TAD features, one .npy per video. */
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { OnnxEngine } from "../../engines/onnx.ts";
import { extractFeatures } from "../../eval/extract.ts";
import { loadModelForInference } from "../../eval/load_model.ts";
import { writeNpy } from "../../io/npy.ts";
import type { VisionTransformer } from "../../models/vit.ts";
import { Progress } from "../../train/progress.ts";
import { FfmpegReader, VideoError } from "../../video/index.ts";
import { UsageError, num, parseOptions, type Command } from "../command.ts";

const VIDEO_EXT = /\.(mp4|mkv|avi|webm|mov|m4v|mpg|mpeg|ts|flv)$/i;

/** A video file, or a list file (one path per line; extra columns, as in `path label`, ignored). */
function videosOf(arg: string): string[] {
  if (VIDEO_EXT.test(arg)) return [arg];
  if (!existsSync(arg)) throw new UsageError(`${arg}: no such file`);
  const base = dirname(resolve(arg));
  return readFileSync(arg, "utf8")
    .split(/\r?\n/)
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((p) => p && !p.startsWith("#"))
    .map((p) => (p.startsWith("/") ? p : join(base, p)));
}

export const extractCommand: Command = {
  name: "extract",
  help: `Usage: videomae extract VIDEO_OR_LIST --out DIR --checkpoint FILE [--model NAME | --config FILE]
                        [--window 16] [--stride 4] [--normalize none|imagenet] [--batch 4] [--force] [--json]
       videomae extract VIDEO_OR_LIST --out DIR --engine onnx --model FILE.onnx [...]

For each video, windows of --window consecutive frames start at 0, S, 2S, … (while they fit);
each window goes through the model and its pooled fc_norm feature becomes one row of
DIR/<video name>.npy, a float32 array [windows, D] (the official TAD layout: 16 frames, stride 4
for THUMOS14, 16 for FineAction). Videos whose .npy exists are skipped, so an interrupted run
resumes where it stopped; files are written atomically. A video that cannot be decoded is
reported and skipped; the exit code is then 1.

--engine onnx --model FILE.onnx runs a model exported with \`videomae export --features\`
through onnxruntime instead of libtorch (same windows, resize and normalisation).

--normalize: the official extract_tad_feature.py feeds frames scaled to [0, 1] WITHOUT ImageNet
mean/std normalisation, although the models were trained with it. 'none' (default) reproduces
the official features; 'imagenet' gives the models their training distribution.

Example:
  videomae extract thumos_test.txt --out th14_feats --checkpoint vit_g_hybrid_pt_1200e_k710_ft.pth \\
                   --model vit_giant_patch14_224`,
  async run(argv) {
    const { values: v, positionals } = parseOptions(
      argv,
      {
        out: { type: "string" },
        checkpoint: { type: "string" },
        model: { type: "string" },
        config: { type: "string" },
        window: { type: "string" },
        stride: { type: "string" },
        normalize: { type: "string" },
        batch: { type: "string" },
        force: { type: "boolean" },
        engine: { type: "string" },
        json: { type: "boolean" },
      },
      true,
    );
    if (positionals.length !== 1) throw new UsageError("give one VIDEO or list file");
    const onnx = v.engine === "onnx";
    if (v.engine !== undefined && v.engine !== "torch" && !onnx) throw new UsageError(`--engine must be torch or onnx, got '${v.engine}'`);
    if (onnx && (!v.model || !/\.onnx$/i.test(v.model) || v.checkpoint)) throw new UsageError("--engine onnx needs --model FILE.onnx (from videomae export --features) and no --checkpoint");
    if (!v.out || (!v.checkpoint && !onnx)) throw new UsageError("--out and --checkpoint are required");
    const normalize = (v.normalize ?? "none") as "none" | "imagenet";
    if (normalize !== "none" && normalize !== "imagenet") throw new UsageError("--normalize must be none or imagenet");
    const videos = videosOf(positionals[0]!);
    const loaded = onnx ? { model: await OnnxEngine.load(v.model!) } : await loadModelForInference<VisionTransformer>({ checkpoint: v.checkpoint!, model: v.model, configFile: v.config, kind: "vit" });
    const cfg = loaded.model.config;
    if (onnx && !(loaded.model as OnnxEngine).meta.outputs.includes("features")) throw new UsageError(`${v.model} has no "features" output: export it with --features`);
    const window = num(v.window, cfg.numFrames, "window");
    if (window !== cfg.numFrames) throw new UsageError(`--window ${window} differs from the model's ${cfg.numFrames} frames`);
    const stride = num(v.stride, 4, "stride");
    mkdirSync(v.out, { recursive: true });
    const reader = new FfmpegReader();
    const results: { video: string; out: string; windows?: number; skipped?: boolean; error?: string }[] = [];
    const progress = new Progress({ total: videos.length, label: "extract", unit: "videos" });
    for (const video of videos) {
      const out = join(v.out, `${basename(video, extname(video))}.npy`);
      if (!v.force && existsSync(out) && statSync(out).size > 0) {
        results.push({ video, out, skipped: true });
        progress.tick(1);
        continue;
      }
      try {
        const f = await extractFeatures(loaded.model, reader, video, { window, stride, size: cfg.imgSize, normalize, batch: num(v.batch, 4, "batch") });
        await writeNpy(out, { dtype: "float32", shape: [f.windows, f.dim], data: f.data });
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
    else console.log(`${results.length - failed} of ${videos.length} videos → ${v.out} (${results.filter((r) => r.skipped).length} already done, ${failed} failed; normalize=${normalize})`);
    return failed ? 1 : 0;
  },
};
