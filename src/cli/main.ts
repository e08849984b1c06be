/**
 * The `videomae` command line: `videomae <command> [options]`. Each command lives in
 * src/cli/commands/ and exports a `Command`. Errors are printed without a stack trace (set
 * VIDEOMAE_DEBUG=1 for one) and give exit code 1; usage errors give 2.
 */
import type { Command } from "./command.ts";
import { UsageError } from "./command.ts";

/**
 * The commands, loaded only when run: commands that need no tensors (probe, frames, synth,
 * info, convert) then work even before the native addon is built.
 */
const commands: { name: string; summary: string; load: () => Promise<Command> }[] = [
  { name: "demo", summary: "the whole workflow on embedded synthetic data (pretrain → fine-tune vs scratch → eval)", load: async () => (await import("./commands/demo.ts")).demoCommand },
  { name: "pretrain", summary: "self-supervised pre-training with dual masking (or V1 tube masking)", load: async () => (await import("./commands/train.ts")).pretrainCommand },
  { name: "finetune", summary: "supervised fine-tuning / post-pre-training (layer decay, mixup/cutmix, validation)", load: async () => (await import("./commands/train.ts")).finetuneCommand },
  { name: "distill", summary: "knowledge distillation of a fine-tuned teacher into a student (KL·τ², optional labels and features)", load: async () => (await import("./commands/distill.ts")).distillCommand },
  { name: "eval", summary: "multi-view testing (clips × crops, softmax averaging): top-1/top-5, per-class, confusion", load: async () => (await import("./commands/eval.ts")).evalCommand },
  { name: "detect-train", summary: "fine-tune an AVA action detector (ROIAlign head on a ViT backbone; BCE, layer decay, validation frame-mAP)", load: async () => (await import("./commands/detect.ts")).detectTrainCommand },
  { name: "detect-eval", summary: "score person proposals with a detector: detections CSV and AVA frame-mAP@0.5 with per-class AP", load: async () => (await import("./commands/detect.ts")).detectEvalCommand },
  { name: "detect", summary: "who does what at one keyframe of a video: boxes and top actions drawn into a PNG", load: async () => (await import("./commands/detect.ts")).detectCommand },
  { name: "detect-synth", summary: "generate the synthetic action-detection set (moving shapes, AVA-format CSVs, noisy proposals)", load: async () => (await import("./commands/detect.ts")).detectSynthCommand },
  { name: "predict", summary: "classify video files: labelled top-k", load: async () => (await import("./commands/predict.ts")).predictCommand },
  { name: "extract", summary: "sliding-window features for temporal action detection (.npy per video)", load: async () => (await import("./commands/extract.ts")).extractCommand },
  { name: "export", summary: "export a fine-tuned classifier to ONNX (+ preprocessing/labels JSON) for onnxruntime and the browser", load: async () => (await import("./commands/export.ts")).exportCommand },
  { name: "web", summary: "serve the in-browser classifier page for an exported ONNX model (onnxruntime-web: WebGPU or WASM)", load: async () => (await import("./commands/web.ts")).webCommand },
  { name: "reconstruct", summary: "picture of a masked autoencoder's reconstruction of a video clip (PNG)", load: async () => (await import("./commands/reconstruct.ts")).reconstructCommand },
  { name: "info", summary: "describe a model: parameters, GMACs, token counts and sequence lengths", load: async () => (await import("./commands/info.ts")).infoCommand },
  { name: "forward", summary: "run a model on an .npy input (logits, features, or pretraining predictions and loss)", load: async () => (await import("./commands/forward.ts")).forwardCommand },
  { name: "convert", summary: "convert a PyTorch checkpoint (.pth) to safetensors, optionally changing float precision", load: async () => (await import("./commands/convert.ts")).convertCommand },
  { name: "probe", summary: "show a video's size, frame rate, frame count, duration, rotation and codec", load: async () => (await import("./commands/probe.ts")).probeCommand },
  { name: "frames", summary: "decode chosen frames of a video to a uint8 .npy array (T, H, W, 3)", load: async () => (await import("./commands/frames.ts")).framesCommand },
  { name: "synth", summary: "generate the synthetic motion-classification video dataset (mp4 + list files)", load: async () => (await import("./commands/synth.ts")).synthCommand },
  { name: "launch", summary: "run a command data-parallel on N ranks per machine (c10d/gloo; torchrun-style environment)", load: async () => (await import("./commands/launch.ts")).launchCommand },
  { name: "bench", summary: "measure speed side by side with PyTorch (GEMM, per-op overhead, ViT inference and pre-training)", load: async () => (await import("./commands/bench.ts")).benchCommand },
  { name: "doctor", summary: "show the libtorch build, threads, BLAS and ffmpeg this installation uses", load: async () => (await import("./commands/doctor.ts")).doctorCommand },
];

/** The command names (`videomae launch` runs these through this CLI). */
export function commandNames(): string[] {
  return commands.map((c) => c.name);
}

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "videomae — VideoMAE V2 (dual masking) in TypeScript over libtorch",
    "",
    "Usage: videomae <command> [options]       videomae <command> --help for its options",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Environment: VIDEOMAE_NUM_THREADS (default: all cores), LIBTORCH (build-time libtorch prefix),",
    "  RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT (data-parallel, as set by `videomae launch` or torchrun), VIDEOMAE_DIST_TIMEOUT (s).",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(help());
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    console.error(`videomae: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  const cmd = await entry.load();
  const own = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest; // after --: another command's arguments
  if (own.includes("--help") || own.includes("-h")) {
    console.log(cmd.help);
    return 0;
  }
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`videomae ${cmd.name}: ${e.message}\n\n${cmd.help}`);
      return 2;
    }
    const err = e as Error;
    console.error(`videomae ${cmd.name}: ${process.env.VIDEOMAE_DEBUG ? err.stack : err.message}`);
    return 1;
  }
}
