/**
 * ONNX export of a fine-tuned classifier: `<out>.onnx` (graph + weights, or weights in
 * `<out>.onnx.data` past protobuf's 2 GiB), and `<out>.json` beside it (src/export/onnx/meta.ts:
 * preprocessing, outputs, class names; also stored in the model's metadata_props as "videomae").
 */
import { mkdirSync, renameSync, writeFileSync, openSync, writeSync, closeSync } from "node:fs";
import { basename, dirname } from "node:path";
import { IMAGENET_MEAN, IMAGENET_STD } from "../../data/transforms/normalize.ts";
import type { VisionTransformer } from "../../models/vit.ts";
import { ONNX_META_FORMAT, sidecarPath, type OnnxModelMeta } from "./meta.ts";
import { VIT_OPSET, vitGraph } from "./vit.ts";

export { OnnxGraph, float32ToFloat16, irVersionFor } from "./graph.ts";
export { checkMeta, ONNX_META_FORMAT, OnnxMetaError, sidecarPath, type OnnxModelMeta, type OnnxPreprocessing } from "./meta.ts";
export { readSidecar } from "./sidecar.ts";
export { OnnxExportError, VIT_OPSET, vitGraph, type VitGraph, type VitGraphOptions } from "./vit.ts";

export interface OnnxExportOptions {
  /** Output path of the .onnx file. */
  out: string;
  dtype?: "fp32" | "fp16";
  /** Add the pooled "features" output next to "logits". */
  features?: boolean;
  labels?: readonly string[] | null;
  /** Frame stride the clip is sampled with (default 4, as `videomae predict`). */
  rate?: number;
  architecture?: string;
  /** Force weights into `<out>.data` (automatic above 1.9 GB). */
  externalData?: boolean;
}

export interface OnnxExportResult {
  onnx: string;
  sidecar: string;
  externalData: string | null;
  meta: OnnxModelMeta;
  bytes: number;
  nodes: Record<string, number>;
}

const PROTOBUF_LIMIT = 1.9e9;

/** Writes `bytes` to `path` through a temporary file and a rename. */
function writeAtomic(path: string, parts: Uint8Array[]): number {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w");
  let n = 0;
  try {
    for (const p of parts) {
      let off = 0;
      while (off < p.byteLength) off += writeSync(fd, p, off, p.byteLength - off);
      n += p.byteLength;
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return n;
}

/** The sidecar metadata of a model exported with these options. */
export function onnxMeta(model: VisionTransformer, o: Omit<OnnxExportOptions, "out">, outputs: string[], input: string): OnnxModelMeta {
  const c = model.config;
  if (o.labels && o.labels.length !== c.numClasses) throw new RangeError(`${o.labels.length} labels for a model with ${c.numClasses} classes`);
  return {
    format: ONNX_META_FORMAT,
    architecture: o.architecture ?? "config",
    dtype: o.dtype ?? "fp32",
    opset: VIT_OPSET,
    input: { name: input, shape: ["batch", c.inChans, c.numFrames, c.imgSize, c.imgSize] },
    outputs,
    numClasses: c.numClasses,
    embedDim: c.embedDim,
    preprocessing: {
      numFrames: c.numFrames,
      rate: o.rate ?? 4,
      sampling: "dense-centre",
      shortSide: c.imgSize,
      size: c.imgSize,
      resize: "opencv-bilinear-short-side",
      crop: "centre",
      mean: [...IMAGENET_MEAN],
      std: [...IMAGENET_STD],
      layout: "NCTHW",
    },
    labels: o.labels ? [...o.labels] : null,
  };
}

/** Exports `model` (a loaded fine-tuned ViT) to ONNX. */
export function exportOnnx(model: VisionTransformer, o: OnnxExportOptions): OnnxExportResult {
  const { graph, input, outputs } = vitGraph(model, { dtype: o.dtype === "fp16" ? "float16" : "float32", features: o.features });
  const meta = onnxMeta(model, o, outputs, input);
  const external = o.externalData || graph.weightBytes > PROTOBUF_LIMIT;
  const dataName = `${basename(o.out)}.data`;
  const { model: bytes, externalData } = graph.serialize({
    opset: VIT_OPSET,
    producerVersion: "0.1.0",
    docString: `VideoMAE V2 ViT (${meta.architecture}), input ${input} [${meta.input.shape.join(", ")}] float32, ImageNet-normalised; outputs ${outputs.join(", ")}`,
    metadata: { videomae: JSON.stringify(meta) },
    externalDataName: external ? dataName : undefined,
  });
  mkdirSync(dirname(o.out) || ".", { recursive: true });
  let dataPath: string | null = null;
  if (externalData) {
    dataPath = `${o.out}.data`;
    writeAtomic(dataPath, externalData);
  }
  const n = writeAtomic(o.out, [bytes]);
  const sidecar = sidecarPath(o.out);
  writeFileSync(sidecar, JSON.stringify(meta, null, 2) + "\n");
  return { onnx: o.out, sidecar, externalData: dataPath, meta, bytes: n, nodes: Object.fromEntries(graph.opCounts) };
}
