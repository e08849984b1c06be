/**
 * An inference engine: something that turns preprocessed clips into logits or pooled features.
 * Our libtorch modules are one (used directly by src/eval/); `OnnxEngine` (onnx.ts) runs an
 * exported model through onnxruntime. Preprocessing stays outside, shared by every engine.
 */
export interface EngineModelInfo {
  numFrames: number;
  imgSize: number;
  numClasses: number;
  embedDim: number;
}

export interface InferenceEngine {
  readonly kind: "onnx";
  readonly config: EngineModelInfo;
  /** Class names stored with the model, or null. */
  readonly labels: string[] | null;
  /** x: [batch, 3, T, H, W] float32 row-major → [batch, classes]. */
  logits(x: Float32Array, batch: number): Promise<Float32Array>;
  /** x as for logits → pooled features [batch, D]. */
  features(x: Float32Array, batch: number): Promise<Float32Array>;
  close(): Promise<void>;
}

export function isEngine(m: unknown): m is InferenceEngine {
  return typeof m === "object" && m !== null && (m as { kind?: unknown }).kind === "onnx" && typeof (m as InferenceEngine).logits === "function";
}
