/** Neural-network functions (PyTorch's torch.nn.functional), each one native op. */

import { ops } from "./native.ts";
import { Tensor, generatorOn, type GeneratorLike } from "./tensor.ts";

/**
 * x·Wᵀ + b. x: [..., in], weight: [out, in], bias: [out] → [..., out].
 * Under CPU bf16 `autocast()` this is {@link linearBf16} (bf16 operands, fp32 accumulation, bf16
 * output, as autocast's linear, but through float32 GEMMs — faster where the CPU's bf16 dot
 * product is not; `VIDEOMAE_BF16_LINEAR=aten` keeps libtorch's bf16 at::linear); otherwise at::linear.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return new Tensor(ops.linearAutocast(x.handle, weight.handle, bias?.handle));
}

/** beta·bias + alpha·(m1 @ m2). */
export function addmm(bias: Tensor, m1: Tensor, m2: Tensor, beta = 1, alpha = 1): Tensor {
  return new Tensor(ops.addmm(bias.handle, m1.handle, m2.handle, beta, alpha));
}

/** beta·input + alpha·(b1 @ b2) batched. */
export function baddbmm(input: Tensor, b1: Tensor, b2: Tensor, beta = 1, alpha = 1): Tensor {
  return new Tensor(ops.baddbmm(input.handle, b1.handle, b2.handle, beta, alpha));
}

/** 3-D convolution. x: [B, C, T, H, W], weight: [O, C, kt, kh, kw] → [B, O, T', H', W']. */
export function conv3d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor,
  stride: [number, number, number] = [1, 1, 1],
  padding: [number, number, number] = [0, 0, 0],
): Tensor {
  return new Tensor(ops.conv3d(x.handle, weight.handle, bias?.handle, stride, padding));
}

/** LayerNorm over the trailing `normalizedShape` dims (biased variance, eps inside the sqrt). */
export function layerNorm(x: Tensor, normalizedShape: number[], weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  return new Tensor(ops.layerNorm(x.handle, normalizedShape, weight?.handle, bias?.handle, eps));
}

/** Exact (erf) GELU unless approximate = "tanh". */
export function gelu(x: Tensor, approximate: "none" | "tanh" = "none"): Tensor {
  return x.gelu(approximate);
}

/** Inverted dropout: zero with probability p and scale the rest by 1/(1−p); identity when !training. */
export function dropout(x: Tensor, p: number, training: boolean, generator?: GeneratorLike): Tensor {
  if (p < 0 || p > 1) throw new RangeError(`dropout: p must be in [0, 1], got ${p}`);
  const g = training && p > 0 && p < 1 ? generatorOn(generator, x.device) : generator;
  return new Tensor(ops.dropout(x.handle, p, training, g?.handle));
}

/** Resize the last two (bilinear/bicubic/nearest) or three (trilinear) dims of x. */
export function interpolate(
  x: Tensor,
  size: number[],
  mode: "bilinear" | "bicubic" | "nearest" | "trilinear" = "bilinear",
  alignCorners = false,
): Tensor {
  return new Tensor(ops.interpolate(x.handle, size, mode, alignCorners));
}

export function softmax(x: Tensor, dim: number): Tensor {
  return x.softmax(dim);
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  return x.logSoftmax(dim);
}

/**
 * Mean cross-entropy. target: class indices [B] (int64) or probabilities [B, K] (soft targets,
 * as timm's SoftTargetCrossEntropy); labelSmoothing as torch's cross_entropy.
 */
export function crossEntropy(logits: Tensor, target: Tensor, labelSmoothing = 0): Tensor {
  return new Tensor(ops.crossEntropy(logits.handle, target.handle, labelSmoothing));
}

export function mseLoss(a: Tensor, b: Tensor, reduction: "mean" | "sum" | "none" = "mean"): Tensor {
  return new Tensor(ops.mseLoss(a.handle, b.handle, reduction));
}

/** One fused AdamW update of a float32 parameter in place (see native/src/ops_nn.cc). */
export function adamwStep(
  param: Tensor,
  grad: Tensor,
  expAvg: Tensor,
  expAvgSq: Tensor,
  o: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number },
): void {
  ops.adamwStep(param.handle, grad.handle, expAvg.handle, expAvgSq.handle, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.step);
}


/**
 * Multi-head self-attention on a packed projection, fused in the addon (no N×N score matrix in
 * memory; tiled online softmax; backward by recomputation — native/src/attention_kernel.inc).
 *   qkv: [B, N, 3·H·d] laid out as the official `qkv` Linear output (q | k | v, each head-major)
 *   → softmax(scale·Q·Kᵀ)·V with heads concatenated: [B, N, H·d]. scale defaults to d^-½.
 * float32 compute; bfloat16/float16 inputs are converted on entry and the result converted back.
 */
export function packedAttention(qkv: Tensor, heads: number, scale?: number): Tensor {
  const d = qkv.size(-1) / (3 * heads);
  return new Tensor(ops.packedAttention(qkv.handle, heads, scale ?? d ** -0.5));
}

/** Variations of the plain attention that the fused kernel does not cover. */
export interface AttentionVariants {
  /** Attention logits [B, H, N, N] from Q and K [B, H, N, d], instead of scale·Q·Kᵀ (e.g. cosine attention). */
  scores?: (q: Tensor, k: Tensor) => Tensor;
  /** Applied to the softmax probabilities before they weight V (e.g. attention dropout). */
  probs?: (attn: Tensor) => Tensor;
}

/**
 * The same attention as packedAttention written with plain ops (materialises the scores):
 * softmax(scale·Q·Kᵀ)·V per head, heads concatenated; `variants` swaps the scores or transforms
 * the probabilities (the model's path for cosine attention and attention dropout).
 */
export function packedAttentionReference(qkv: Tensor, heads: number, scale?: number, variants: AttentionVariants = {}): Tensor {
  const [B, N, threeD] = qkv.shape as [number, number, number];
  const d = threeD / (3 * heads);
  const parts = qkv.reshape([B, N, 3, heads, d]).permute([2, 0, 3, 1, 4]); // [3, B, H, N, d]
  const q = parts.select(0, 0);
  const k = parts.select(0, 1);
  const v = parts.select(0, 2);
  const logits = variants.scores ? variants.scores(q, k) : q.mul(scale ?? d ** -0.5).matmul(k.transpose(-2, -1)); // [B, H, N, N]
  const softmax = logits.softmax(-1);
  const attn = variants.probs ? variants.probs(softmax) : softmax; // [B, H, N, N]
  return attn.matmul(v).transpose(1, 2).reshape([B, N, heads * d]); // [B, N, H·d]
}

/** Which instruction set and GEMM the fused attention kernels use on this machine. */
export function attentionKernelInfo(): AttentionKernelInfo {
  return ops.attentionKernelInfo();
}

/** The fused attention's current kernels: instruction set, tile GEMM, and how bf16 inputs are computed. */
export interface AttentionKernelInfo {
  isa: "avx2" | "avx512";
  gemm: "micro" | "blas" | "aten";
  /** bf16 inputs: "dpbf16" = bf16 dot products (AVX512-BF16), "fp32" = widened to float32. */
  bf16: "dpbf16" | "fp32";
  cpu: { avx2: boolean; avx512: boolean; avx512bf16: boolean };
}

/** Changes one attention kernel choice for later calls (the tuner's; VIDEOMAE_ATTN_* fix them otherwise). Throws if the CPU lacks it. */
export function setAttentionChoice<K extends "isa" | "gemm" | "bf16">(key: K, value: AttentionKernelInfo[K]): void {
  ops.setAttentionChoice(key, value);
}

/**
 * Pre-training reconstruction targets of the tokens `rows` [B, k] (int64) of ImageNet-normalised
 * `videos` [B, C, T, H, W], fused (native/src/ops_fused.cc): un-normalise with `mean`/`std`, cut
 * each token's tubelet×patch×patch pixels and, when `normalize`, per channel
 * (v − mean) / (sqrt(unbiased var) + 1e-6); channel-fastest → [B, k, P·C]. No autograd.
 * The plain composition is src/models/loss.ts reconstructionTarget + selectDecoderKept.
 */
export function patchTargets(
  videos: Tensor,
  mean: readonly number[],
  std: readonly number[],
  tubeletSize: number,
  patchSize: number,
  rows: Tensor,
  normalize: boolean,
): Tensor {
  return new Tensor(ops.patchTargets(videos.handle, [...mean], [...std], tubeletSize, patchSize, rows.handle, normalize));
}

/** at::linear as it is, whatever the autocast state (the reference for {@link linear}). */
export function linearAten(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return new Tensor(ops.linear(x.handle, weight.handle, bias?.handle));
}

/**
 * bf16(x)·bf16(W)ᵀ + bf16(b) with float32 accumulation → bfloat16 [..., out], differentiable;
 * inputs may be float32 or bfloat16 (rounded to bf16 first) and each gradient comes back in its
 * input's dtype. The GEMMs run by the current route ({@link bf16LinearInfo}): float32 GEMMs on the
 * rounded values ("sgemm") or bf16 GEMMs through oneDNN ("aten"); see native/src/ops_bf16.cc.
 */
export function linearBf16(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return new Tensor(ops.linearBf16(x.handle, weight.handle, bias?.handle));
}

/** Which route autocast's bf16 linears ({@link linearBf16}) take: "sgemm" (float32 GEMMs on bf16-rounded operands), "aten" (bf16 GEMMs via ATen/oneDNN) or "dnnl" (oneDNN's bf16 GEMM with float32 results). */
export function bf16LinearInfo(): { route: Bf16LinearRoute; amxBf16: boolean; autocastBf16: boolean; envOverride: boolean } {
  return ops.bf16LinearInfo();
}

export type Bf16LinearRoute = "sgemm" | "aten" | "dnnl";
export type Fp32LinearRoute = "blas" | "dnnl";

/** Sets how later float32 CPU linears (F.linear outside autocast) run: at::linear ("blas") or oneDNN's sgemm ({@link linearF32Dnnl}). */
export function setFp32LinearRoute(route: Fp32LinearRoute): void {
  ops.setFp32LinearRoute(route);
}

/** The float32 linear route, and which oneDNN GEMMs this libtorch exposes (the "dnnl" routes need them). */
export function linearRoutes(): { fp32: Fp32LinearRoute; dnnl: { sgemm: boolean; gemmBf16: boolean }; fp32EnvOverride: boolean } {
  return ops.linearRoutes();
}

/** y = x·Wᵀ + b in float32 through oneDNN's dnnl_sgemm, differentiable (native/src/ops/linear_dnnl.cc). */
export function linearF32Dnnl(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return new Tensor(ops.linearF32Dnnl(x.handle, weight.handle, bias?.handle));
}

/** Sets the route of every later bf16 linear (the tuner's choice; VIDEOMAE_BF16_LINEAR otherwise fixes it). */
export function setBf16LinearRoute(route: Bf16LinearRoute): void {
  ops.setBf16LinearRoute(route);
}

/** How {@link roiAlign} samples: torchvision.ops.roi_align's parameters (output size, scale, grid, alignment). */
export interface RoiAlignOptions {
  /** Output bins [pooledH, pooledW]. */
  readonly output: readonly [number, number];
  /** Box coordinates × spatialScale = feature-map coordinates (1/stride: 1/16 for patch 16). */
  readonly spatialScale: number;
  /** Samples per bin side; ≤ 0 = adaptive, ceil(roi_size / pooled). */
  readonly samplingRatio?: number;
  /** true = shift boxes by −0.5 pixel (Detectron2's "aligned"); false = torchvision's default, as AVA's reference. */
  readonly aligned?: boolean;
}

/**
 * ROIAlign with torchvision's semantics, forward and backward in the addon
 * (native/src/ops/roi_align.cc): `features` [N, C, H, W] (float32 or float64), `rois` [K, 5] rows
 * (batch_index, x1, y1, x2, y2) in input pixels → [K, C, pooledH, pooledW]. Differentiable in
 * `features` (the boxes are data).
 */
export function roiAlign(features: Tensor, rois: Tensor, o: RoiAlignOptions): Tensor {
  return new Tensor(ops.roiAlign(features.handle, rois.handle, o.output[0], o.output[1], o.spatialScale, o.samplingRatio ?? 0, o.aligned ?? false));
}
