/**
 * The names and one-line summaries of the `videomae` commands. A module of its own, importing
 * nothing, so a command that needs the list (`launch` runs these through this CLI) does not
 * import the entry point that loads it.
 */
export const COMMANDS = [
  { name: "demo", summary: "the whole workflow on embedded synthetic data (pretrain → fine-tune vs scratch → eval)" },
  { name: "pretrain", summary: "self-supervised pre-training with dual masking (or V1 tube masking)" },
  { name: "finetune", summary: "supervised fine-tuning / post-pre-training (layer decay, mixup/cutmix, validation)" },
  { name: "distill", summary: "knowledge distillation of a fine-tuned teacher into a student (KL·τ², optional labels and features)" },
  { name: "eval", summary: "multi-view testing (clips × crops, softmax averaging): top-1/top-5, per-class, confusion" },
  { name: "predict", summary: "classify video files: labelled top-k" },
  { name: "detect-train", summary: "fine-tune an AVA action detector (ROIAlign head on a ViT backbone; BCE, layer decay, validation frame-mAP)" },
  { name: "detect-eval", summary: "score person proposals with a detector: detections CSV and AVA frame-mAP@0.5 with per-class AP" },
  { name: "detect", summary: "who does what at one keyframe of a video: boxes and top actions drawn into a PNG" },
  { name: "detect-synth", summary: "generate the synthetic action-detection set (moving shapes, AVA-format CSVs, noisy proposals)" },
  { name: "extract", summary: "sliding-window features for temporal action detection (.npy per video)" },
  { name: "export", summary: "export a fine-tuned classifier to ONNX (+ preprocessing/labels JSON) for onnxruntime and the browser" },
  { name: "web", summary: "serve the in-browser classifier page for an exported ONNX model (onnxruntime-web: WebGPU or WASM)" },
  { name: "reconstruct", summary: "picture of a masked autoencoder's reconstruction of a video clip (PNG)" },
  { name: "info", summary: "describe a model: parameters, GMACs, token counts and sequence lengths" },
  { name: "forward", summary: "run a model on an .npy input (logits, features, or pretraining predictions and loss)" },
  { name: "convert", summary: "convert a PyTorch checkpoint (.pth) to safetensors, optionally changing float precision" },
  { name: "probe", summary: "show a video's size, frame rate, frame count, duration, rotation and codec" },
  { name: "frames", summary: "decode chosen frames of a video to a uint8 .npy array (T, H, W, 3)" },
  { name: "synth", summary: "generate the synthetic motion-classification video dataset (mp4 + list files)" },
  { name: "launch", summary: "run a command data-parallel on N ranks per machine (c10d/gloo; torchrun-style environment)" },
  { name: "bench", summary: "measure speed side by side with PyTorch (GEMM, per-op overhead, ViT inference and pre-training)" },
  { name: "doctor", summary: "show the libtorch build, threads, BLAS and ffmpeg this installation uses" },
] as const;

export type CommandName = (typeof COMMANDS)[number]["name"];

/** The command names, in help order. */
export function commandNames(): string[] {
  return COMMANDS.map((c) => c.name);
}
