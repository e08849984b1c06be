/**
 * What travels beside an exported model as `<name>.json` (and inside it as the `videomae`
 * metadata_props entry): the input/output contract, the preprocessing that produced the
 * training/evaluation inputs, and the class names. Plain data and pure functions only — the
 * onnxruntime engine (src/engines/onnx.ts) and the browser page (web/) read it too (no Node
 * imports here; sidecar.ts reads the file).
 */
export const ONNX_META_FORMAT = "videomae-onnx/1";

export interface OnnxPreprocessing {
  /** Frames per clip T. */
  numFrames: number;
  /** Frame stride of the clip (`videomae predict --rate`, default 4). */
  rate: number;
  /**
   * Frame indices of the single-view clip: "dense-centre" = the centred window of the official
   * validation sampler (src/data/samplers.ts denseValIndices with numFrames and rate).
   */
  sampling: "dense-centre";
  /** Short side after the resize (OpenCV bilinear, src/data/transforms/resize.ts resizeCv). */
  shortSide: number;
  /** Square centre crop side = the model's input H = W. */
  size: number;
  resize: "opencv-bilinear-short-side";
  crop: "centre";
  /** Per-channel (R, G, B) statistics on [0, 1] pixels: (v/255 − mean)/std. */
  mean: [number, number, number];
  std: [number, number, number];
  /** Input layout. */
  layout: "NCTHW";
}

export interface OnnxModelMeta {
  format: typeof ONNX_META_FORMAT;
  /** Architecture name when known (registry name or "config"). */
  architecture: string;
  /** Weight/activation type inside the graph; the interface is float32 either way. */
  dtype: "fp32" | "fp16";
  opset: number;
  input: { name: string; shape: (number | string)[] };
  /** Output names: "logits" [batch, classes] and/or "features" [batch, D]. */
  outputs: string[];
  numClasses: number;
  embedDim: number;
  preprocessing: OnnxPreprocessing;
  /** Class names (index = class), or null. */
  labels: string[] | null;
}

/** `model.onnx` → `model.json`. */
export function sidecarPath(onnxPath: string): string {
  return onnxPath.replace(/\.onnx$/i, "") + ".json";
}

export class OnnxMetaError extends Error {
  override name = "OnnxMetaError";
}

/** Checks a parsed sidecar (throws OnnxMetaError naming the bad field). */
export function checkMeta(m: unknown, what: string): OnnxModelMeta {
  const o = m as Partial<OnnxModelMeta> | null;
  if (!o || typeof o !== "object") throw new OnnxMetaError(`${what}: not a JSON object`);
  if (o.format !== ONNX_META_FORMAT) throw new OnnxMetaError(`${what}: format is ${JSON.stringify(o.format)}, expected ${ONNX_META_FORMAT}`);
  const p = o.preprocessing;
  if (!p || ![p.numFrames, p.rate, p.size, p.shortSide].every((v) => Number.isInteger(v) && v > 0)) {
    throw new OnnxMetaError(`${what}: preprocessing needs positive integers numFrames, rate, size, shortSide`);
  }
  if (!Array.isArray(p.mean) || p.mean.length !== 3 || !Array.isArray(p.std) || p.std.length !== 3) throw new OnnxMetaError(`${what}: preprocessing.mean/std need 3 entries`);
  if (!o.input?.name || !Array.isArray(o.outputs) || !o.outputs.length) throw new OnnxMetaError(`${what}: input/outputs missing`);
  if (o.labels !== null && o.labels !== undefined && (!Array.isArray(o.labels) || o.labels.length !== o.numClasses)) {
    throw new OnnxMetaError(`${what}: ${o.labels?.length} labels for ${o.numClasses} classes`);
  }
  return { ...(o as OnnxModelMeta), labels: o.labels ?? null };
}
