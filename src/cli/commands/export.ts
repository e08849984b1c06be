/** `videomae export CHECKPOINT --format onnx --out model.onnx`: a fine-tuned classifier as ONNX. */
import { loadModelForInference } from "../../eval/load_model.ts";
import { exportOnnx } from "../../export/onnx/index.ts";
import type { VisionTransformer } from "../../models/vit.ts";
import { defineCommand, UsageError } from "../command.ts";
import { architectureOptions, jsonOutputOption, labelsOption } from "../options/groups.ts";
import { choice, flag, number, text } from "../options/schema.ts";

export const exportCommand = defineCommand({
  name: "export",
  usage: `CHECKPOINT --format onnx --out FILE.onnx [--model NAME | --model-config FILE.json]
                       [--labels FILE] [--features] [--dtype fp32|fp16] [--rate R] [--external-data] [--json]`,
  description: `Writes the fine-tuned classifier as an ONNX model (opset 17: Conv, MatMul, Gemm, Softmax,
LayerNormalization, Erf, ... — ops onnxruntime's CPU, WASM and WebGPU providers implement)
with input "video" [batch, 3, T, H, W] float32 (ImageNet-normalised, batch dynamic) and output
"logits" [batch, classes], plus FILE.json beside it: the preprocessing (frames, stride, resize,
crop, mean/std), the outputs and the class names (the same JSON is in the model's metadata).
Run it with \`videomae predict|extract --engine onnx --model FILE.onnx\` or \`videomae web\`.`,
  options: {
    format: choice(["onnx"], { default: "onnx", description: "the only format" }),
    out: text({ valueName: "FILE.onnx", required: true, description: "output path (FILE.json is written beside it)" }),
    ...architectureOptions,
    ...labelsOption,
    features: flag('add the pooled fc_norm output "features" [batch, D] (for extract)'),
    dtype: choice(["fp32", "fp16"], { default: "fp32", description: "fp16: float16 weights and activations inside (half the size; input and outputs stay float32)" }),
    rate: number({ valueName: "R", default: 4, description: "frame stride recorded for the clip sampling (as predict)" }),
    externalData: flag("weights in FILE.onnx.data (automatic past protobuf's 2 GiB limit)"),
    ...jsonOutputOption("a summary"),
  },
  operands: true,
  epilogue: `Example:
  videomae export runs/ft/checkpoint-best.safetensors --format onnx --out model.onnx`,
  async run(v, positionals) {
    if (positionals.length !== 1) throw new UsageError("give one CHECKPOINT");
    if (!/\.onnx$/i.test(v.out)) throw new UsageError(`--out must end in .onnx, got '${v.out}'`);
    const dtype = v.dtype as "fp32" | "fp16";
    const rate = v.rate;
    const loaded = await loadModelForInference<VisionTransformer>({ checkpoint: positionals[0]!, model: v.model, configFile: v.modelConfig, labelsFile: v.labels, kind: "vit" });
    if (loaded.labels && loaded.labels.length !== loaded.config.numClasses) {
      throw new UsageError(`the label file has ${loaded.labels.length} names but the model has ${loaded.config.numClasses} classes`);
    }
    const r = exportOnnx(loaded.model, {
      out: v.out,
      dtype,
      features: v.features,
      labels: loaded.labels,
      rate,
      architecture: v.model ?? (v.modelConfig ? "config" : "checkpoint"),
      externalData: v.externalData,
    });
    const summary = { onnx: r.onnx, sidecar: r.sidecar, externalData: r.externalData, bytes: r.bytes, dtype, outputs: r.meta.outputs, opset: r.meta.opset, nodes: r.nodes };
    if (v.json) console.log(JSON.stringify(summary));
    else {
      console.log(`${r.onnx}: ${(r.bytes / 2 ** 20).toFixed(1)} MiB, opset ${r.meta.opset}, ${dtype}, outputs ${r.meta.outputs.join(", ")}` + (r.externalData ? ` (weights in ${r.externalData})` : ""));
      console.log(`${r.sidecar}: preprocessing and ${r.meta.labels ? `${r.meta.labels.length} class names` : "no class names"}`);
    }
    return 0;
  },
});
