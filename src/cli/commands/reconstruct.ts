/**
 * `videomae reconstruct VIDEO --checkpoint PRETRAIN --out recon.png`: what a pre-trained
 * masked autoencoder sees and predicts, as a picture.
 */
import { writePng } from "../../io/png.ts";
import { rawToTensor } from "../../io/tensors.ts";
import { loadModelForInference } from "../../eval/load_model.ts";
import { firstVideo, frameGrid, framesToRgb, greyMasked } from "../../eval/picture.ts";
import { DualMaskGenerator } from "../../masking/index.ts";
import { gridSize } from "../../models/config.ts";
import { pretrainLoss, reconstructVideo, targetOptions, unnormalizeVideo, type PretrainVisionTransformer } from "../../models/index.ts";
import { evalTransform } from "../../data/transforms/index.ts";
import { noGrad, tidy } from "../../torch/index.ts";
import { Rng } from "../../util/rng.ts";
import { FfmpegReader } from "../../video/index.ts";
import { UsageError, num, parseOptions, type Command } from "../command.ts";

export const reconstructCommand: Command = {
  name: "reconstruct",
  summary: "picture of a masked autoencoder's reconstruction of a video clip (PNG)",
  help: `Usage: videomae reconstruct VIDEO --checkpoint PRETRAIN [--model NAME | --config FILE] --out recon.png
                           [--start F] [--stride S] [--mask-ratio R] [--seed S] [--json]

Decodes one clip (the model's frame count at --stride, from frame --start; default: the middle
of the video), resizes the short side and centre-crops to the model's size, hides tubes with
tube masking (--mask-ratio, default 0.9), and lets the model predict every hidden patch. The
picture has three rows: the input frames, what the encoder saw (hidden tubes grey), and the
reconstruction (predictions de-normalised with each patch's own mean and std, pasted into the
hidden tubes). Every second frame is shown (one per tubelet).

Options:
  --checkpoint FILE  a pre-training checkpoint: ours (from videomae pretrain) or official
                     (.pth; then --model pretrain_videomae_..._224 is needed)
  --model NAME       architecture for official checkpoints
  --config FILE      or a JSON config with the official field names (see videomae forward --help)
  --out FILE.png     output picture
  --start F          first frame (default: centred window)
  --stride S         frame stride (default 4, as pre-training)
  --mask-ratio R     tube mask ratio (default 0.9)
  --seed S           seed of the mask (default 0)
  --json             print a JSON summary (loss on the hidden patches, paths)

Example:
  videomae reconstruct clip.mp4 --checkpoint runs/pretrain/checkpoint-last.safetensors --out recon.png`,
  async run(argv) {
    const { values: v, positionals } = parseOptions(
      argv,
      {
        checkpoint: { type: "string" },
        model: { type: "string" },
        config: { type: "string" },
        out: { type: "string" },
        start: { type: "string" },
        stride: { type: "string" },
        "mask-ratio": { type: "string" },
        seed: { type: "string" },
        json: { type: "boolean" },
      },
      true,
    );
    const video = positionals[0];
    if (!video || positionals.length !== 1) throw new UsageError("give one VIDEO");
    if (!v.checkpoint || !v.out) throw new UsageError("--checkpoint and --out are required");
    const loaded = await loadModelForInference<PretrainVisionTransformer>({ checkpoint: v.checkpoint, model: v.model, configFile: v.config, kind: "pretrain" });
    const model = loaded.model;
    const enc = loaded.config.encoder;
    const reader = new FfmpegReader();
    const info = await reader.probe(video);
    const stride = num(v.stride, 4, "stride");
    const span = (enc.numFrames - 1) * stride + 1;
    const start = v.start !== undefined ? num(v.start, 0, "start") : Math.max(0, Math.floor((info.frameCount - span) / 2));
    const indices = Array.from({ length: enc.numFrames }, (_, i) => Math.min(info.frameCount - 1, start + i * stride));
    const clip = await reader.readFrames(video, indices, { shortSide: enc.imgSize });
    const x = evalTransform(enc.imgSize)(clip, new Rng(0));
    const masks = new DualMaskGenerator({
      window: gridSize(loaded.config),
      encoder: "tube",
      encoderRatio: num(v["mask-ratio"], 0.9, "mask-ratio"),
      decoder: "none",
    }).generate(1, new Rng(num(v.seed, 0, "seed")));
    const { input, visible, recon, loss } = noGrad(() =>
      tidy(() => {
        const videos = rawToTensor({ dtype: "float32", shape: [1, x.channels, x.frames, x.height, x.width], data: x.data });
        const pred = model.forward(videos, masks.encoder, masks.decoder);
        const l = pretrainLoss(videos, pred, masks.encoder, masks.decoder, targetOptions(loaded.config)).loss.item();
        const px = firstVideo(unnormalizeVideo(videos));
        return {
          input: px,
          visible: greyMasked(px, 3, x.frames, x.height, x.width, masks.encoder, enc.tubeletSize, enc.patchSize),
          recon: firstVideo(reconstructVideo(videos, pred, masks.decoder, targetOptions(loaded.config))),
          loss: l,
        };
      }),
    );
    const rows = [input, visible, recon].map((f) => framesToRgb(f, 3, x.frames, x.height, x.width));
    const grid = frameGrid(rows, x.frames, x.height, x.width, enc.tubeletSize);
    writePng(v.out, grid.rgb, grid.width, grid.height);
    const summary = { video, frames: indices, out: v.out, width: grid.width, height: grid.height, maskedLoss: loss };
    if (v.json) console.log(JSON.stringify(summary));
    else console.log(`${v.out}: ${grid.width}×${grid.height} (input / encoder view / reconstruction), frames ${indices[0]}…${indices[indices.length - 1]}, loss on hidden patches ${loss.toFixed(4)}`);
    return 0;
  },
};
