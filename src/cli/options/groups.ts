/**
 * Option groups several commands share, declared once: the option-values file, the model to
 * load (checkpoint, architecture, class names), the device, the video decoder, the compute
 * precision, data loading and JSON output. Commands spread them into their schema.
 */
import { DECODERS } from "../../video/index.ts";
import { choice, flag, number, pattern, text } from "./schema.ts";

/** `--config FILE.json`, on every command (added by defineCommand): option values; flags win. */
export const configFileOption = text({
  valueName: "FILE.json",
  description: "a JSON object of option values (keys camelCase, kebab-case or snake_case); flags on the command line win",
});

/** The weights to load. */
export const checkpointOption = {
  checkpoint: text({ valueName: "FILE", description: "ours (.safetensors: architecture and class names included) or official .pth (needs --model or --model-config)" }),
};

/** The architecture, for checkpoints that do not carry it (official .pth). */
export const architectureOptions = {
  model: text({ valueName: "NAME", description: "registry architecture of an official checkpoint (videomae info --list); ours carry it" }),
  modelConfig: text({ valueName: "FILE.json", description: "or the architecture as JSON with the official field names (img_size, embed_dim, …; see videomae forward --help)" }),
};

/** Class names overriding the checkpoint's. */
export const labelsOption = {
  labels: text({ valueName: "FILE", description: "class names, one per line (or a JSON list)", defaultText: "the checkpoint's" }),
};

/** A fine-tuned classifier to load for inference: checkpoint, architecture, class names. */
export const classifierOptions = { ...checkpointOption, ...architectureOptions, ...labelsOption };

/** Where tensors are computed (passed on as text; the tensor layer resolves it). */
export const deviceOption = {
  device: pattern(/^(auto|cpu|cuda(:\d+)?)$/, {
    default: "auto",
    valueName: "auto|cpu|cuda[:N]",
    allowed: "one of auto, cpu, cuda, cuda:N (N: a GPU index)",
    description: "where to compute: auto (a GPU when there is one), cpu, cuda (GPU 0) or cuda:N",
  }),
};

/** The video reader of this process (and of its loader workers and launched ranks). */
export const decoderOption = {
  decoder: choice(DECODERS, {
    description: "video decoder: libav (in-process, FFmpeg's libraries) or ffmpeg-cli (one ffmpeg/ffprobe process per read)",
    defaultText: "libav when the addon was built with it, else ffmpeg-cli",
  }),
};

/** Compute precision of the forward (and backward) pass. */
export const precisionOption = {
  precision: choice(["fp32", "bf16"], { default: "fp32", description: "compute precision: fp32, or bf16 autocast" }),
};

/** The inference engine: our libtorch model, or an exported ONNX model run by onnxruntime. */
export const engineOption = {
  engine: choice(["torch", "onnx"], {
    default: "torch",
    description: "torch (our libtorch model) or onnx (a model from `videomae export`, run by onnxruntime; --model is then its .onnx file, with FILE.json beside it)",
  }),
};

/** Data loading threads and batch size of inference over a list. */
export function dataLoadingOptions(defaults: { workers: number; batchSize: number }) {
  return {
    batchSize: number({ default: defaults.batchSize, valueName: "B", description: "clips per forward pass" }),
    workers: number({ default: defaults.workers, valueName: "W", description: "data-loading worker threads (0: load in the main thread)" }),
  };
}

/** `--json`: machine-readable output instead of the text report. */
export function jsonOutputOption(what: string) {
  return { json: flag(`print ${what} as JSON`) };
}
