/**
 * An exported model (src/export/onnx/) run through onnxruntime-node's CPU provider, behind the
 * same `InferenceEngine` interface the evaluation code uses, so `predict`/`extract` keep their
 * preprocessing and only swap the forward pass. onnxruntime-node is loaded on the first
 * `OnnxEngine.load`, so importing the library does not start it.
 */
import { existsSync } from "node:fs";
import type * as Ort from "onnxruntime-node";
import type { OnnxModelMeta } from "../export/onnx/meta.ts";
import { readSidecar } from "../export/onnx/sidecar.ts";
import type { EngineModelInfo, InferenceEngine } from "./engine.ts";

export class OnnxEngineError extends Error {
  override name = "OnnxEngineError";
}

export interface OnnxEngineOptions {
  /** Intra-op threads (default VIDEOMAE_NUM_THREADS, else onnxruntime's choice: all cores). */
  threads?: number;
}

export class OnnxEngine implements InferenceEngine {
  readonly kind = "onnx" as const;
  readonly config: EngineModelInfo;
  readonly labels: string[] | null;

  private constructor(
    readonly path: string,
    readonly meta: OnnxModelMeta,
    private readonly session: Ort.InferenceSession,
    private readonly ort: typeof Ort,
  ) {
    const p = meta.preprocessing;
    this.config = { numFrames: p.numFrames, imgSize: p.size, numClasses: meta.numClasses, embedDim: meta.embedDim };
    this.labels = meta.labels;
  }

  /** Opens `path` (.onnx) and its `.json` sidecar. */
  static async load(path: string, o: OnnxEngineOptions = {}): Promise<OnnxEngine> {
    if (!existsSync(path)) throw new OnnxEngineError(`${path}: no such model file`);
    const meta = readSidecar(path);
    const env = Number(process.env.VIDEOMAE_NUM_THREADS);
    const threads = o.threads ?? (Number.isInteger(env) && env > 0 ? env : undefined);
    const ort = await import("onnxruntime-node");
    let session: Ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, { executionProviders: ["cpu"], graphOptimizationLevel: "all", ...(threads ? { intraOpNumThreads: threads } : {}) });
    } catch (e) {
      throw new OnnxEngineError(`${path}: onnxruntime could not load the model: ${(e as Error).message}`);
    }
    if (!session.inputNames.includes(meta.input.name)) throw new OnnxEngineError(`${path}: no input named ${meta.input.name} (has ${session.inputNames.join(", ")})`);
    return new OnnxEngine(path, meta, session, ort);
  }

  private async run(output: string, x: Float32Array, batch: number): Promise<Float32Array> {
    if (!this.session.outputNames.includes(output)) {
      throw new OnnxEngineError(
        `${this.path} has no "${output}" output (outputs: ${this.session.outputNames.join(", ")})` + (output === "features" ? "; export it with --features" : ""),
      );
    }
    const c = this.config;
    const shape = [batch, 3, c.numFrames, c.imgSize, c.imgSize];
    const n = shape.reduce((a, b) => a * b, 1);
    if (x.length !== n) throw new OnnxEngineError(`input has ${x.length} values, expected [${shape.join(", ")}] = ${n}`);
    const out = await this.session.run({ [this.meta.input.name]: new this.ort.Tensor("float32", x, shape) }, [output]);
    const t = out[output]!;
    const data = t.data as Float32Array;
    const copy = new Float32Array(data); // the session's buffer is released with the tensor
    t.dispose();
    return copy;
  }

  logits(x: Float32Array, batch: number): Promise<Float32Array> {
    return this.run("logits", x, batch);
  }

  features(x: Float32Array, batch: number): Promise<Float32Array> {
    return this.run("features", x, batch);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
