/**
 * Reconstruction pictures of a pre-trained masked autoencoder: decode one clip, hide tubes with
 * tube masking, let the model predict every hidden patch, and draw input / encoder view /
 * reconstruction as a PNG grid (predictions de-normalised with each patch's own mean and std).
 */
import { evalTransform } from "../data/transforms/index.ts";
import { writePng } from "../io/png.ts";
import { rawToTensor } from "../io/tensors.ts";
import { DualMaskGenerator } from "../masking/index.ts";
import { gridSize } from "../models/config.ts";
import { pretrainLoss, reconstructVideo, targetOptions, unnormalizeVideo, type PretrainVisionTransformer } from "../models/index.ts";
import { noGrad, tidy } from "../torch/index.ts";
import { Rng } from "../util/rng.ts";
import { createVideoReader, type VideoReader } from "../video/index.ts";
import { firstVideo, frameGrid, framesToRgb, greyMasked } from "./picture.ts";
import { onModelDevice } from "../nn/device.ts";

export interface ReconstructOptions {
  /** First frame (default: the window centred in the video). */
  start?: number;
  stride: number;
  maskRatio: number;
  seed: number;
  reader?: VideoReader;
}

export interface ReconstructSummary {
  video: string;
  frames: number[];
  out: string;
  width: number;
  height: number;
  maskedLoss: number;
}

export async function reconstructPicture(model: PretrainVisionTransformer, video: string, out: string, o: ReconstructOptions): Promise<ReconstructSummary> {
  const cfg = model.config;
  const enc = cfg.encoder;
  const reader = o.reader ?? createVideoReader();
  const info = await reader.probe(video);
  const span = (enc.numFrames - 1) * o.stride + 1;
  const start = o.start ?? Math.max(0, Math.floor((info.frameCount - span) / 2));
  const indices = Array.from({ length: enc.numFrames }, (_, i) => Math.min(info.frameCount - 1, start + i * o.stride));
  const clip = await reader.readFrames(video, indices, { shortSide: enc.imgSize });
  const x = evalTransform(enc.imgSize)(clip, new Rng(0));
  // decoder "none": the decoder predicts every hidden position, so the whole picture is filled.
  const masks = new DualMaskGenerator({ window: gridSize(cfg), encoder: "tube", encoderRatio: o.maskRatio, decoder: "none" }).generate(1, new Rng(o.seed));
  model.eval();
  const { input, visible, recon, loss } = noGrad(() =>
    tidy(() => {
      const videos = onModelDevice(model, rawToTensor({ dtype: "float32", shape: [1, x.channels, x.frames, x.height, x.width], data: x.data }));
      const pred = model.forward(videos, masks.encoder, masks.decoder);
      const l = pretrainLoss(videos, pred, masks.encoder, masks.decoder, targetOptions(cfg)).loss.item();
      const px = firstVideo(unnormalizeVideo(videos));
      return {
        input: px,
        visible: greyMasked(px, 3, x.frames, x.height, x.width, masks.encoder, enc.tubeletSize, enc.patchSize),
        recon: firstVideo(reconstructVideo(videos, pred, masks.decoder, targetOptions(cfg))),
        loss: l,
      };
    }),
  );
  const rows = [input, visible, recon].map((f) => framesToRgb(f, 3, x.frames, x.height, x.width));
  const grid = frameGrid(rows, x.frames, x.height, x.width, enc.tubeletSize);
  writePng(out, grid.rgb, grid.width, grid.height);
  return { video, frames: indices, out, width: grid.width, height: grid.height, maskedLoss: loss };
}
