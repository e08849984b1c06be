/**
 * `videomae reconstruct VIDEO --checkpoint PRETRAIN --out recon.png`: what a pre-trained
 * masked autoencoder sees and predicts, as a picture.
 */
import { loadModelForInference } from "../../eval/load_model.ts";
import { reconstructPicture } from "../../eval/reconstruct.ts";
import type { PretrainVisionTransformer } from "../../models/index.ts";
import { defineCommand, UsageError } from "../command.ts";
import { architectureOptions, checkpointOption, deviceOption, jsonOutputOption } from "../options/groups.ts";
import { number, text } from "../options/schema.ts";

export const reconstructCommand = defineCommand({
  name: "reconstruct",
  usage: `VIDEO --checkpoint PRETRAIN [--model NAME | --model-config FILE.json] --out recon.png
                           [--start F] [--stride S] [--mask-ratio R] [--seed S] [--json]`,
  description: `Decodes one clip (the model's frame count at --stride, from frame --start; default: the middle
of the video), resizes the short side and centre-crops to the model's size, hides tubes with
tube masking (--mask-ratio, default 0.9), and lets the model predict every hidden patch. The
picture has three rows: the input frames, what the encoder saw (hidden tubes grey), and the
reconstruction (predictions de-normalised with each patch's own mean and std, pasted into the
hidden tubes). Every second frame is shown (one per tubelet). --checkpoint is a pre-training
checkpoint: ours (from videomae pretrain) or official (.pth; then --model pretrain_videomae_..._224).`,
  options: {
    ...checkpointOption,
    ...architectureOptions,
    out: text({ valueName: "FILE.png", description: "output picture" }),
    start: number({ valueName: "F", defaultText: "a centred window", description: "first frame" }),
    stride: number({ valueName: "S", default: 4, description: "frame stride (as pre-training)" }),
    maskRatio: number({ valueName: "R", default: 0.9, description: "tube mask ratio" }),
    seed: number({ valueName: "S", default: 0, description: "seed of the mask" }),
    ...jsonOutputOption("a summary (loss on the hidden patches, paths)"),
    ...deviceOption,
  },
  operands: true,
  epilogue: `Example:
  videomae reconstruct clip.mp4 --checkpoint runs/pretrain/checkpoint-last.safetensors --out recon.png`,
  async run(v, positionals) {
    const video = positionals[0];
    if (!video || positionals.length !== 1) throw new UsageError("give one VIDEO");
    if (!v.checkpoint || !v.out) throw new UsageError("--checkpoint and --out are required");
    const loaded = await loadModelForInference<PretrainVisionTransformer>({ checkpoint: v.checkpoint, model: v.model, configFile: v.modelConfig, kind: "pretrain", device: v.device });
    const summary = await reconstructPicture(loaded.model, video, v.out, {
      start: v.start,
      stride: v.stride,
      maskRatio: v.maskRatio,
      seed: v.seed,
    });
    const indices = summary.frames;
    const loss = summary.maskedLoss;
    if (v.json) console.log(JSON.stringify(summary));
    else console.log(`${v.out}: ${summary.width}×${summary.height} (input / encoder view / reconstruction), frames ${indices[0]}…${indices[indices.length - 1]}, loss on hidden patches ${loss.toFixed(4)}`);
    return 0;
  },
});
