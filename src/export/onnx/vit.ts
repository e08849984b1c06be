/**
 * The fine-tune `VisionTransformer` (src/models/vit.ts) as an ONNX graph, built from the module's
 * own submodules and weights, op for op:
 *
 *   video [batch, 3, T, H, W] float32
 *     → Conv (kernel = stride = tubelet×p×p) → Reshape [B, D, N] → Transpose → [B, N, D]
 *     → Add pos_embed [1, N, D]
 *     → depth × { LayerNormalization → MatMul qkv (+[q_bias, 0, v_bias]) → Split q/k/v
 *                 → Reshape/Transpose to heads → MatMul q·kᵀ (scale folded into q) → Softmax
 *                 → MatMul ·v → Transpose/Reshape → MatMul proj + bias → (×γ₁) → Add residual
 *                 LayerNormalization → MatMul fc1 + bias → GELU as x·½·(1 + erf(x/√2))
 *                 → MatMul fc2 + bias → (×γ₂) → Add residual }
 *     → ReduceMean over tokens → LayerNormalization (fc_norm)      = "features" [B, D]
 *     → Gemm head                                                    = "logits"   [B, classes]
 *
 * Opset 17 (LayerNormalization's first opset; ReduceMean still takes `axes` as an attribute),
 * only ops that onnxruntime's CPU, WASM and WebGPU providers all implement. The batch dimension
 * is symbolic. With dtype float16 the weights and every activation are float16 (the input is
 * Cast from float32 and the outputs Cast back, so the model's interface does not change).
 */
import type { VisionTransformer } from "../../models/vit.ts";
import type { Linear, LayerNorm } from "../../nn/index.ts";
import { noGrad, tidy, type Tensor } from "../../torch/index.ts";
import { float32ToFloat16 as toHalf, OnnxGraph, type OnnxDType } from "./graph.ts";

export const VIT_OPSET = 17;

export interface VitGraphOptions {
  /** Weight and activation type (default float32). */
  dtype?: "float32" | "float16";
  /** Also output the pooled features ("features" [B, D]); always the only output without a head. */
  features?: boolean;
  /** Graph input name (default "video"). */
  inputName?: string;
}

export interface VitGraph {
  graph: OnnxGraph;
  input: string;
  /** Output names in order: "logits" (with a head) and/or "features". */
  outputs: string[];
}

/** ONNX TensorProto.DataType codes used by Cast. */
const CAST_TO = { float32: 1, float16: 10 } as const;

/** Row-major transpose of a [rows, cols] matrix. */
function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

export class OnnxExportError extends Error {
  override name = "OnnxExportError";
}

/** Builds the graph of `model` (weights are read now; the model is not changed). */
export function vitGraph(model: VisionTransformer, o: VitGraphOptions = {}): VitGraph {
  const cfg = model.config;
  if (cfg.cosAttn) throw new OnnxExportError("ONNX export: CosAttention (cos_attn) models are not supported");
  const dt: OnnxDType = o.dtype ?? "float32";
  const g = new OnnxGraph(`videomae_vit_${cfg.embedDim}x${cfg.depth}`);
  const D = cfg.embedDim;
  const H = cfg.numHeads;
  const hd = Math.floor(D / H);

  const values = (t: Tensor): Float32Array => noGrad(() => tidy(() => t.detach().float().contiguous().toFloat32Array()));
  const weight = (name: string, dims: number[], data: Float32Array): string =>
    dt === "float32" ? g.initializer(name, "float32", dims, data) : g.initializer(name, "float16", dims, toHalf(data));
  const tensorInit = (name: string, t: Tensor): string => weight(name, t.shape, values(t));

  /** x·Wᵀ + b for a [.., in] activation, W stored transposed ([in, out]) for MatMul. */
  const linear = (x: string, lin: Linear, name: string, scaleFirst?: { cols: number; by: number }, bias?: Float32Array): string => {
    const [out, inF] = lin.weight.shape as [number, number];
    const wT = transpose2d(values(lin.weight), out, inF); // [in, out]
    let b = bias ?? (lin.bias ? values(lin.bias) : null);
    if (scaleFirst) {
      // Fold a scale into the first `cols` output columns (q·scale), in float64 then rounded once.
      for (let r = 0; r < inF; r++) for (let c = 0; c < scaleFirst.cols; c++) wT[r * out + c] = wT[r * out + c]! * scaleFirst.by;
      if (b) {
        b = b.slice();
        for (let c = 0; c < scaleFirst.cols; c++) b[c] = b[c]! * scaleFirst.by;
      }
    }
    const y = g.op("MatMul", [x, weight(`${name}.weight_t`, [inF, out], wT)], {}, `${name}_mm`);
    return b ? g.op("Add", [y, weight(`${name}.bias`, [out], b)], {}, name) : y;
  };
  const layerNorm = (x: string, ln: LayerNorm, name: string): string =>
    g.op("LayerNormalization", [x, tensorInit(`${name}.weight`, ln.weight), tensorInit(`${name}.bias`, ln.bias)], { axis: { int: -1 }, epsilon: { float: ln.eps } }, name);

  const T = cfg.numFrames;
  const S = cfg.imgSize;
  const input = g.input({ name: o.inputName ?? "video", dtype: "float32", shape: ["batch", cfg.inChans, T, S, S] });
  let x = dt === "float32" ? input : g.op("Cast", [input], { to: { int: CAST_TO.float16 } }, "video_f16");

  // Patch embedding.
  const { tubeletSize: tu, patchSize: p } = cfg;
  const pe = model.patch_embed.proj;
  x = g.op(
    "Conv",
    [x, tensorInit("patch_embed.proj.weight", pe.weight), tensorInit("patch_embed.proj.bias", pe.bias!)],
    { kernel_shape: { ints: [tu, p, p] }, strides: { ints: [tu, p, p] }, pads: { ints: [0, 0, 0, 0, 0, 0] }, dilations: { ints: [1, 1, 1] }, group: { int: 1 } },
    "patch_embed",
  ); // [B, D, T', h', w']
  x = g.op("Reshape", [x, g.int64([0, D, -1])], {}, "tokens_dn"); // [B, D, N]
  x = g.op("Transpose", [x], { perm: { ints: [0, 2, 1] } }, "tokens"); // [B, N, D]
  x = g.op("Add", [x, tensorInit("pos_embed", model.pos_embed)], {}, "tokens_pos"); // [B, N, D]

  const headShape = g.int64([0, 0, H, hd]);
  const mergeShape = g.int64([0, 0, D]);
  model.blocks.forEach((blk, i) => {
    const n = `blocks.${i}`;
    const a = blk.attn;
    if (a.logitScale) throw new OnnxExportError("ONNX export: CosAttention is not supported");
    const h = layerNorm(x, blk.norm1, `${n}.norm1`);
    let qkvBias: Float32Array | undefined;
    if (a.q_bias && a.v_bias) {
      qkvBias = new Float32Array(3 * D);
      qkvBias.set(values(a.q_bias), 0);
      qkvBias.set(values(a.v_bias), 2 * D);
    }
    const qkv = linear(h, a.qkv, `${n}.attn.qkv`, { cols: D, by: a.qkScale }, qkvBias); // [B, N, 3D], q pre-scaled
    const [q, k, v] = g.node("Split", [qkv, g.int64([D, D, D])], { axis: { int: -1 } }, 3, `${n}.attn.qkv_split`) as [string, string, string];
    const heads = (t: string, perm: number[], what: string) =>
      g.op("Transpose", [g.op("Reshape", [t, headShape], {}, `${n}.attn.${what}_r`)], { perm: { ints: perm } }, `${n}.attn.${what}`);
    const qh = heads(q, [0, 2, 1, 3], "q"); // [B, h, N, hd]
    const kT = heads(k, [0, 2, 3, 1], "kT"); // [B, h, hd, N]
    const vh = heads(v, [0, 2, 1, 3], "v"); // [B, h, N, hd]
    const attn = g.op("Softmax", [g.op("MatMul", [qh, kT], {}, `${n}.attn.logits`)], { axis: { int: -1 } }, `${n}.attn.probs`); // [B, h, N, N]
    let ctx = g.op("MatMul", [attn, vh], {}, `${n}.attn.ctx`); // [B, h, N, hd]
    ctx = g.op("Reshape", [g.op("Transpose", [ctx], { perm: { ints: [0, 2, 1, 3] } }, `${n}.attn.ctx_t`), mergeShape], {}, `${n}.attn.ctx_m`); // [B, N, D]
    let y = linear(ctx, a.proj, `${n}.attn.proj`);
    if (blk.gamma_1) y = g.op("Mul", [y, tensorInit(`${n}.gamma_1`, blk.gamma_1)], {}, `${n}.gamma_1`);
    x = g.op("Add", [x, y], {}, `${n}.res1`);

    const h2 = layerNorm(x, blk.norm2, `${n}.norm2`);
    const f1 = linear(h2, blk.mlp.fc1, `${n}.mlp.fc1`);
    const erf = g.op("Erf", [g.op("Div", [f1, g.scalar(Math.SQRT2, dt)], {}, `${n}.mlp.gelu_div`)], {}, `${n}.mlp.gelu_erf`);
    const gelu = g.op("Mul", [g.op("Mul", [f1, g.op("Add", [erf, g.scalar(1, dt)], {}, `${n}.mlp.gelu_add`)], {}, `${n}.mlp.gelu_mul`), g.scalar(0.5, dt)], {}, `${n}.mlp.gelu`);
    let m = linear(gelu, blk.mlp.fc2, `${n}.mlp.fc2`);
    if (blk.gamma_2) m = g.op("Mul", [m, tensorInit(`${n}.gamma_2`, blk.gamma_2)], {}, `${n}.gamma_2`);
    x = g.op("Add", [x, m], {}, `${n}.res2`);
  });

  let feats: string;
  if (model.fc_norm) {
    feats = layerNorm(g.op("ReduceMean", [x], { axes: { ints: [1] }, keepdims: { int: 0 } }, "pooled"), model.fc_norm, "fc_norm");
  } else {
    feats = layerNorm(g.op("Gather", [x, g.int64([0], [])], { axis: { int: 1 } }, "token0"), model.norm!, "norm");
  }
  const outputs: string[] = [];
  const finish = (value: string, name: string, width: number) => {
    const v = dt === "float32" ? value : g.op("Cast", [value], { to: { int: CAST_TO.float32 } }, `${name}_f32`);
    g.identity(v, name);
    g.output({ name, dtype: "float32", shape: ["batch", width] });
    outputs.push(name);
  };
  if (model.head) {
    const head = model.head;
    const logits = g.op("Gemm", [feats, tensorInit("head.weight", head.weight), tensorInit("head.bias", head.bias!)], { transB: { int: 1 } }, "head");
    finish(logits, "logits", cfg.numClasses);
  }
  if (!model.head || o.features) finish(feats, "features", D);
  return { graph: g, input, outputs };
}
