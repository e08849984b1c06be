/**
 * Sliding-window features for temporal action detection, as the official extract_tad_feature.py
 * (spec §7): windows of `window` consecutive frames starting at 0, s, 2s, … (start ≤ F − window),
 * each frame /255, resized straight to size×size (bilinear, align_corners=False, aspect not kept),
 * then — only if asked — ImageNet-normalised (the official script does not normalise, issue
 * OpenGVLab/VideoMAEv2#62); the feature is the model's pooled fc_norm output. One float32
 * array [windows, D] per video.
 */
import { isEngine, type InferenceEngine } from "../engines/engine.ts";
import { IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD } from "../models/loss.ts";
import type { VisionTransformer } from "../models/vit.ts";
import { cat, F, noGrad, stack, tensor, tidy, type Tensor } from "../torch/index.ts";
import { VideoError } from "../video/errors.ts";
import type { VideoReader } from "../video/reader.ts";
import { onModelDevice } from "../nn/device.ts";

/**
 * A video with fewer frames than one window. The official extractor (`range(0, F − 15, s)`,
 * spec §7) finds no window and saves an empty array; there is no official padding rule to
 * reproduce, so we stop with this error rather than write a (0, D) file that looks like success.
 */
export class VideoTooShortError extends VideoError {
  constructor(
    readonly path: string,
    readonly frameCount: number,
    readonly window: number,
  ) {
    super(`${path} has ${frameCount} frame${frameCount === 1 ? "" : "s"}, fewer than one window of ${window}: no feature can be extracted. Drop it from the list, or pad the video to ${window} frames yourself (e.g. ffmpeg -i in.mp4 -vf tpad=stop_mode=clone:stop=${window} out.mp4)`);
  }
}

export interface ExtractOptions {
  window: number;
  stride: number;
  size: number;
  normalize: "none" | "imagenet";
  /** Windows per forward pass. */
  batch: number;
  onWindow?: (done: number) => void;
}

/** (T, H, W, 3) uint8 frames → (C, T, size, size) float, /255, bilinear, optionally normalised. */
export function tadInput(frames: Uint8Array, T: number, H: number, W: number, o: Pick<ExtractOptions, "size" | "normalize">): Tensor {
  return tidy(() => {
    const x = tensor(frames, { shape: [T, H, W, 3], dtype: "uint8" }).float().div(255).permute([0, 3, 1, 2]); // [T, C, H, W]
    let y = F.interpolate(x, [o.size, o.size], "bilinear", false).permute([1, 0, 2, 3]); // [C, T, s, s]
    if (o.normalize === "imagenet") {
      const mean = tensor([...IMAGENET_DEFAULT_MEAN]).reshape([3, 1, 1, 1]);
      const std = tensor([...IMAGENET_DEFAULT_STD]).reshape([3, 1, 1, 1]);
      y = y.sub(mean).div(std);
    }
    return y.contiguous();
  });
}

/** Features [windows, D] of one video (float32, row-major); `model` may be an engine (ONNX). */
export async function extractFeatures(model: VisionTransformer | InferenceEngine, reader: VideoReader, path: string, o: ExtractOptions): Promise<{ data: Float32Array; windows: number; dim: number }> {
  const feats: Tensor[] = [];
  let pending: Tensor[] = [];
  let done = 0;
  const flush = async () => {
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    if (isEngine(model)) {
      const x = noGrad(() => tidy(() => stack(batch).toFloat32Array()));
      const f = await model.features(x, batch.length);
      feats.push(tensor(f, { shape: [batch.length, f.length / batch.length] }));
    } else feats.push(noGrad(() => tidy(() => model.forwardFeatures(onModelDevice(model, stack(batch))).toDevice("cpu"))));
    for (const t of batch) t.dispose();
    done += batch.length;
    o.onWindow?.(done);
  };
  const { frameCount } = await reader.probe(path);
  if (frameCount < o.window) throw new VideoTooShortError(path, frameCount, o.window);
  for await (const w of reader.streamWindows(path, { window: o.window, stride: o.stride })) {
    pending.push(tadInput(w.clip.data, w.clip.frames, w.clip.height, w.clip.width, o));
    if (pending.length >= o.batch) await flush();
  }
  await flush();
  const dim = model.config.embedDim;
  if (!feats.length) throw new VideoTooShortError(path, frameCount, o.window); // the decoder found fewer frames than the header said
  const all = cat(feats, 0);
  const data = all.toFloat32Array();
  for (const t of [...feats, all]) t.dispose();
  return { data, windows: data.length / dim, dim };
}
