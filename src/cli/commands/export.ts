/** `videomae export CHECKPOINT --format onnx --out model.onnx`: a fine-tuned classifier as ONNX. */
import { loadModelForInference } from "../../eval/load_model.ts";
import { exportOnnx } from "../../export/onnx/index.ts";
import type { VisionTransformer } from "../../models/vit.ts";
import { UsageError, num, parseOptions, type Command } from "../command.ts";

export const exportCommand: Command = {
  name: "export",
  help: `Usage: videomae export CHECKPOINT --format onnx --out FILE.onnx [--model NAME | --config FILE.json]
                       [--labels FILE] [--features] [--dtype fp32|fp16] [--rate R] [--external-data] [--json]

Writes the fine-tuned classifier as an ONNX model (opset 17: Conv, MatMul, Gemm, Softmax,
LayerNormalization, Erf, ... — ops onnxruntime's CPU, WASM and WebGPU providers implement)
with input "video" [batch, 3, T, H, W] float32 (ImageNet-normalised, batch dynamic) and output
"logits" [batch, classes], plus FILE.json beside it: the preprocessing (frames, stride, resize,
crop, mean/std), the outputs and the class names (the same JSON is in the model's metadata).
Run it with \`videomae predict|extract --engine onnx --model FILE.onnx\` or \`videomae web\`.

Options:
  --format onnx       the only format
  --out FILE.onnx     output path (FILE.json is written beside it)
  --model NAME        architecture of an official .pth (ours carry it); or --config FILE.json
  --labels FILE       class names (default: the checkpoint's)
  --features          add the pooled fc_norm output "features" [batch, D] (for extract)
  --dtype fp16        float16 weights and activations inside (half the size; input and
                      outputs stay float32); default fp32
  --rate R            frame stride recorded for the clip sampling (default 4, as predict)
  --external-data     weights in FILE.onnx.data (automatic past protobuf's 2 GiB limit)

Example:
  videomae export runs/ft/checkpoint-best.safetensors --format onnx --out model.onnx`,
  async run(argv) {
    const { values: v, positionals } = parseOptions(
      argv,
      {
        format: { type: "string" },
        out: { type: "string" },
        model: { type: "string" },
        config: { type: "string" },
        labels: { type: "string" },
        features: { type: "boolean" },
        dtype: { type: "string" },
        rate: { type: "string" },
        "external-data": { type: "boolean" },
        json: { type: "boolean" },
      },
      true,
    );
    if (positionals.length !== 1) throw new UsageError("give one CHECKPOINT");
    if ((v.format ?? "onnx") !== "onnx") throw new UsageError(`--format must be onnx, got '${v.format}'`);
    if (!v.out) throw new UsageError("--out FILE.onnx is required");
    if (!/\.onnx$/i.test(v.out)) throw new UsageError(`--out must end in .onnx, got '${v.out}'`);
    const dtype = v.dtype ?? "fp32";
    if (dtype !== "fp32" && dtype !== "fp16") throw new UsageError(`--dtype must be fp32 or fp16, got '${dtype}'`);
    const rate = num(v.rate, 4, "rate");
    if (!Number.isInteger(rate) || rate < 1) throw new UsageError(`--rate must be a positive integer, got '${v.rate}'`);
    const loaded = await loadModelForInference<VisionTransformer>({ checkpoint: positionals[0]!, model: v.model, configFile: v.config, labelsFile: v.labels, kind: "vit" });
    if (loaded.labels && loaded.labels.length !== loaded.config.numClasses) {
      throw new UsageError(`the label file has ${loaded.labels.length} names but the model has ${loaded.config.numClasses} classes`);
    }
    const r = exportOnnx(loaded.model, {
      out: v.out,
      dtype,
      features: v.features,
      labels: loaded.labels,
      rate,
      architecture: v.model ?? (v.config ? "config" : "checkpoint"),
      externalData: v["external-data"],
    });
    const summary = { onnx: r.onnx, sidecar: r.sidecar, externalData: r.externalData, bytes: r.bytes, dtype, outputs: r.meta.outputs, opset: r.meta.opset, nodes: r.nodes };
    if (v.json) console.log(JSON.stringify(summary));
    else {
      console.log(`${r.onnx}: ${(r.bytes / 2 ** 20).toFixed(1)} MiB, opset ${r.meta.opset}, ${dtype}, outputs ${r.meta.outputs.join(", ")}` + (r.externalData ? ` (weights in ${r.externalData})` : ""));
      console.log(`${r.sidecar}: preprocessing and ${r.meta.labels ? `${r.meta.labels.length} class names` : "no class names"}`);
    }
    return 0;
  },
};
