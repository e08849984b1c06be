/**
 * Pre-training target and loss (spec §2.3, §2.4; `engine_for_pretraining.py`), and the inverse
 * that turns predictions back into video for reconstruction pictures.
 *
 * Target, per clip (computed without gradients):
 *   1. un-normalise the ImageNet-normalised input back to [0, 1]:  x·std + mean
 *   2. (B, C, T, H, W) → (B, N, P, C), P = tubelet·p·p pixels ordered (t_in, y_in, x_in),
 *      tokens ordered (t, y, x) as the patch embedding        — einops
 *      'b c (t p0) (h p1) (w p2) -> b (t h w) (p0 p1 p2) c'
 *   3. per token and channel: (v − mean) / (sqrt(unbiased var) + 1e-6)      (eps on the std)
 *   4. flatten channel-fastest to (B, N, P·C): index ((t_in·p + y_in)·p + x_in)·C + c
 *   Without normalisation (`normalizeTarget` false) the target is step 2's raw pixels, same order.
 * Labels = target rows at the decoder-kept positions (ascending), the rows the model predicts.
 * Loss = Σ_tokens w · mean_dims (pred − label)² / Σ w, with w = 1 exactly where a decoder-kept
 * position was masked for the encoder.
 *
 * The official target hard-codes the tubelet depth 2; here it is the model's tubeletSize (2 in
 * every official configuration, so identical there).
 */
import { keptIndices, lossWeights } from "../masking/indices.ts";
import { F, noGrad, tensor, tidy, type Tensor } from "../torch/index.ts";
import type { PretrainConfig } from "./config.ts";
import { gatherTokens, indexTensor } from "./blocks.ts";

/** timm's IMAGENET_DEFAULT_MEAN / _STD (the normalisation of every pipeline). */
export const IMAGENET_DEFAULT_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_DEFAULT_STD = [0.229, 0.224, 0.225] as const;
/** Added to the per-patch std (not the variance). */
export const TARGET_STD_EPS = 1e-6;

export class LossInputError extends Error {
  override name = "LossInputError";
}

export interface PatchGeometry {
  readonly tubeletSize: number;
  readonly patchSize: number;
}

export interface TargetOptions extends PatchGeometry {
  /** Per-patch, per-channel normalisation (`normlize_target`, always on in the scripts). */
  readonly normalize: boolean;
}

/** The target options of a pre-training config. */
export function targetOptions(cfg: PretrainConfig): TargetOptions {
  return { tubeletSize: cfg.encoder.tubeletSize, patchSize: cfg.encoder.patchSize, normalize: cfg.normalizeTarget };
}

function channelConstant(values: readonly number[], like: Tensor): Tensor {
  return tensor([...values], { shape: [1, values.length, 1, 1, 1], dtype: like.dtype, device: like.device }); // [1, C, 1, 1, 1]
}

function check5d(x: Tensor, who: string): [number, number, number, number, number] {
  if (x.ndim !== 5) throw new LossInputError(`${who}: expected a (B, C, T, H, W) video, got [${x.shape.join(", ")}]`);
  return x.shape as [number, number, number, number, number];
}

/** ImageNet-normalised video → pixels in [0, 1]: x·std + mean per channel. [B, 3, T, H, W]. */
export function unnormalizeVideo(videos: Tensor): Tensor {
  const [, C] = check5d(videos, "unnormalizeVideo");
  if (C !== 3) throw new LossInputError(`unnormalizeVideo: expected 3 (RGB) channels, got ${C}`);
  return tidy(() => videos.mul(channelConstant(IMAGENET_DEFAULT_STD, videos)).add(channelConstant(IMAGENET_DEFAULT_MEAN, videos)));
}

/** Pixels in [0, 1] → ImageNet-normalised: (x − mean) / std. [B, 3, T, H, W]. */
export function normalizeVideo(pixels: Tensor): Tensor {
  check5d(pixels, "normalizeVideo");
  return tidy(() => pixels.sub(channelConstant(IMAGENET_DEFAULT_MEAN, pixels)).div(channelConstant(IMAGENET_DEFAULT_STD, pixels)));
}

/** (B, C, T, H, W) → (B, N, P, C) with P ordered (t_in, y_in, x_in) and N ordered (t, y, x). */
export function patchify(pixels: Tensor, g: PatchGeometry): Tensor {
  const [B, C, T, H, W] = check5d(pixels, "patchify");
  const { tubeletSize: tu, patchSize: p } = g;
  if (T % tu !== 0 || H % p !== 0 || W % p !== 0) {
    throw new LossInputError(`patchify: video [${pixels.shape.join(", ")}] does not split into ${tu}×${p}×${p} patches`);
  }
  const [t, h, w] = [T / tu, H / p, W / p];
  return tidy(() =>
    pixels
      .reshape([B, C, t, tu, h, p, w, p]) // [B, C, t, tu, h, p, w, p]
      .permute([0, 2, 4, 6, 3, 5, 7, 1]) // [B, t, h, w, tu, p, p, C]
      .reshape([B, t * h * w, tu * p * p, C]), // [B, N, P, C]
  );
}

/** Inverse of `patchify`: (B, N, P, C) or channel-fastest (B, N, P·C) → (B, C, T, H, W). */
export function unpatchify(patches: Tensor, g: PatchGeometry, grid: readonly [number, number, number], channels = 3): Tensor {
  const { tubeletSize: tu, patchSize: p } = g;
  const [t, h, w] = grid;
  const B = patches.shape[0]!;
  const P = tu * p * p;
  const ok = patches.shape[1] === t * h * w && (patches.ndim === 4 ? patches.shape[2] === P && patches.shape[3] === channels : patches.shape[2] === P * channels);
  if (!ok || (patches.ndim !== 3 && patches.ndim !== 4)) {
    throw new LossInputError(
      `unpatchify: expected [B, ${t * h * w}, ${P}, ${channels}] or [B, ${t * h * w}, ${P * channels}], got [${patches.shape.join(", ")}]`,
    );
  }
  return tidy(() =>
    patches
      .reshape([B, t, h, w, tu, p, p, channels]) // [B, t, h, w, tu, p, p, C]
      .permute([0, 7, 1, 4, 2, 5, 3, 6]) // [B, C, t, tu, h, p, w, p]
      .reshape([B, channels, t * tu, h * p, w * p]), // [B, C, T, H, W]
  );
}

export interface PatchStats {
  /** [B, N, 1, C] mean over the P pixels of each patch and channel. */
  readonly mean: Tensor;
  /** [B, N, 1, C] sqrt of the unbiased variance (divide by P − 1), without the eps. */
  readonly std: Tensor;
}

/** Per-patch, per-channel statistics of (B, N, P, C) patches. */
export function patchStats(patches: Tensor): PatchStats {
  return tidy(() => ({
    mean: patches.mean(-2, true), // [B, N, 1, C]
    std: patches.var(-2, { unbiased: true, keepdim: true }).sqrt(), // [B, N, 1, C]
  }));
}

/**
 * Per-token, per-channel normalisation of pixel patches: (B, N, P, C) → channel-fastest
 * (B, N, P·C) of (v − mean) / (sqrt(unbiased var) + 1e-6).
 */
export function normalizePatches(patches: Tensor): Tensor {
  return tidy(() => {
    const { mean, std } = patchStats(patches); // [B, N, 1, C]
    return patches.sub(mean).div(std.add(TARGET_STD_EPS)).flatten(2); // [B, N, P·C]
  });
}

/** The reconstruction target for every token: ImageNet-normalised video → [B, N, P·C] (no grad). */
export function reconstructionTarget(videos: Tensor, opts: TargetOptions): Tensor {
  return noGrad(() =>
    tidy(() => {
      const patches = patchify(unnormalizeVideo(videos.detach()), opts); // [B, N, P, C]
      return opts.normalize ? normalizePatches(patches) : patches.flatten(2); // [B, N, P·C], channel fastest
    }),
  );
}

/** Target rows at the decoder-kept positions (M_d = 0, ascending): [B, N, P·C] → [B, N_keep, P·C]. */
export function selectDecoderKept(target: Tensor, decoderMask: Uint8Array): Tensor {
  const [B, N] = target.shape as [number, number, number];
  if (decoderMask.length !== B * N) {
    throw new LossInputError(`decoder mask has ${decoderMask.length} entries, expected B·N = ${B}·${N} = ${B * N}`);
  }
  return tidy(() => gatherTokens(target, keptIndexTensor(decoderMask, B))); // [B, N_keep, P·C]
}

/**
 * Σ w · mean_dims (pred − labels)² / Σ w. pred, labels: [B, k, dims]; weights: (B, k) 0/1.
 * With Σ w = 0 the result is NaN, as in the official code.
 */
export function weightedMse(prediction: Tensor, labels: Tensor, weights: Uint8Array): Tensor {
  const s = prediction.shape;
  if (s.length !== 3 || labels.shape.join() !== s.join()) {
    throw new LossInputError(`weightedMse: prediction [${s.join(", ")}] and labels [${labels.shape.join(", ")}] must be equal [B, k, dims]`);
  }
  if (weights.length !== s[0]! * s[1]!) {
    throw new LossInputError(`weightedMse: ${weights.length} weights for ${s[0]}·${s[1]} tokens`);
  }
  // Every row has the same number of dims, so Σ w·mean_dims(·) / Σ w is the plain mean over the
  // elements of the rows with w = 1: one fused MSE over those rows (all of them in V1).
  const picked: number[] = [];
  weights.forEach((v, i) => {
    if (v) picked.push(i);
  });
  if (picked.length === 0) return tensor(NaN, { dtype: prediction.dtype }); // 0/0, as the official code
  return tidy(() => {
    if (picked.length === weights.length) return F.mseLoss(prediction, labels); // []
    const rows = tensor(Int32Array.from(picked), { device: prediction.device }).to("int64"); // [n]
    const dims = s[2]!;
    return F.mseLoss(prediction.reshape([-1, dims]).indexSelect(0, rows), labels.reshape([-1, dims]).indexSelect(0, rows)); // []
  });
}

export interface PretrainLossResult {
  /** Scalar loss (differentiable w.r.t. the prediction). */
  readonly loss: Tensor;
  /** [B, N_keep, P·C] targets of the predicted rows. */
  readonly labels: Tensor;
  /** Tokens in the loss: decoder-kept ∩ encoder-masked, over the batch. */
  readonly numLossTokens: number;
}

/**
 * The pre-training loss for `prediction = model.forward(videos, encoderMask, decoderMask)`.
 * `decoderMask` undefined = V1 (the decoder reconstructs the encoder-masked tokens; every
 * prediction counts).
 */
export function pretrainLoss(
  videos: Tensor,
  prediction: Tensor,
  encoderMask: Uint8Array,
  decoderMask: Uint8Array | undefined,
  opts: TargetOptions,
): PretrainLossResult {
  const B = videos.shape[0]!;
  const dec = decoderMask ?? encoderMask.map((v) => 1 - v);
  check5d(videos, "pretrainLoss");
  const N = videos.shape[2]! / opts.tubeletSize * (videos.shape[3]! / opts.patchSize) * (videos.shape[4]! / opts.patchSize);
  if (dec.length !== B * N) throw new LossInputError(`decoder mask has ${dec.length} entries, expected B·N = ${B}·${N} = ${B * N}`);
  return tidy(() => {
    // Fused (CPU): the same numbers as selectDecoderKept(reconstructionTarget(videos, opts), dec) up
    // to the summation order of the per-patch statistics (tested), computed for the kept rows only.
    // On a GPU: that ATen composition itself.
    const labels = noGrad(() =>
      videos.device === "cpu"
        ? F.patchTargets(videos.detach(), IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, opts.tubeletSize, opts.patchSize, keptIndexTensor(dec, B), opts.normalize)
        : selectDecoderKept(reconstructionTarget(videos, opts), dec),
    ); // [B, N_keep, P·C]
    const weights = lossWeights(encoderMask, dec, B); // (B, N_keep)
    let numLossTokens = 0;
    for (const v of weights) numLossTokens += v;
    return { loss: weightedMse(prediction, labels, weights), labels, numLossTokens };
  });
}

/** [B, k] int64 indices of the decoder-kept positions (M_d = 0), ascending. */
function keptIndexTensor(decoderMask: Uint8Array, batchSize: number): Tensor {
  const { indices, perSample } = keptIndices(decoderMask, batchSize);
  return indexTensor(indices, batchSize, perSample);
}

/**
 * Predictions of normalised targets → pixels in [0, 1], with each patch's own statistics:
 * pred · (std + 1e-6) + mean, as the official visualisation script does. prediction:
 * [B, N_keep, P·C] for the decoder-kept rows of `decoderMask`; videos: the normalised input.
 */
export function denormalizePrediction(prediction: Tensor, videos: Tensor, decoderMask: Uint8Array, g: PatchGeometry): Tensor {
  return noGrad(() =>
    tidy(() => {
      const [B, k] = prediction.shape as [number, number, number];
      const patches = patchify(unnormalizeVideo(videos), g); // [B, N, P, C]
      const [, N, P, C] = patches.shape as [number, number, number, number];
      checkRows(prediction, B, k, P * C, decoderMask, N, "denormalizePrediction");
      const idx = keptIndexTensor(decoderMask, B); // [B, k]
      const { mean, std } = patchStats(patches); // [B, N, 1, C]
      const m = gatherTokens(mean.flatten(2), idx).unsqueeze(2); // [B, k, 1, C]
      const s = gatherTokens(std.flatten(2), idx).unsqueeze(2); // [B, k, 1, C]
      return prediction.reshape([B, k, P, C]).mul(s.add(TARGET_STD_EPS)).add(m).flatten(2); // [B, k, P·C]
    }),
  );
}

/**
 * A picture of the reconstruction: the input's pixels in [0, 1] with every decoder-kept patch
 * replaced by the (de-normalised) prediction. Returns (B, C, T, H, W).
 */
export function reconstructVideo(videos: Tensor, prediction: Tensor, decoderMask: Uint8Array, opts: TargetOptions): Tensor {
  return noGrad(() =>
    tidy(() => {
      const [B, C, T, H, W] = check5d(videos, "reconstructVideo");
      const pixels = patchify(unnormalizeVideo(videos), opts).flatten(2); // [B, N, P·C]
      const [, N, PC] = pixels.shape as [number, number, number];
      const k = prediction.shape[1]!;
      checkRows(prediction, B, k, PC, decoderMask, N, "reconstructVideo");
      const rows = opts.normalize ? denormalizePrediction(prediction, videos, decoderMask, opts) : prediction; // [B, k, P·C]
      const idx = keptIndexTensor(decoderMask, B).unsqueeze(-1).expand([B, k, PC]); // [B, k, P·C]
      const merged = pixels.scatter(1, idx, rows.to(pixels.dtype)); // [B, N, P·C]
      const grid = [T / opts.tubeletSize, H / opts.patchSize, W / opts.patchSize] as const;
      return unpatchify(merged, opts, grid, C); // [B, C, T, H, W]
    }),
  );
}

function checkRows(prediction: Tensor, B: number, k: number, width: number, mask: Uint8Array, N: number, who: string): void {
  if (prediction.ndim !== 3 || prediction.shape[0] !== B || prediction.shape[2] !== width) {
    throw new LossInputError(`${who}: expected a prediction [${B}, N_keep, ${width}], got [${prediction.shape.join(", ")}]`);
  }
  if (mask.length !== B * N) throw new LossInputError(`${who}: decoder mask has ${mask.length} entries, expected ${B}·${N}`);
  let kept = 0;
  for (let i = 0; i < N; i++) kept += 1 - mask[i]!;
  if (kept !== k) throw new LossInputError(`${who}: the decoder mask keeps ${kept} tokens per sample but the prediction has ${k} rows`);
}
