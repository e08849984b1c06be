/**
 * `videomae reconstruct VIDEO --checkpoint PRETRAIN --out recon.png`: what a pre-trained
 * masked autoencoder sees and predicts, as a picture.
 */
import { loadModelForInference } from "../../eval/load_model.ts";
import { reconstructPicture } from "../../eval/reconstruct.ts";
import type { PretrainVisionTransformer } from "../../models/index.ts";
import { UsageError, num, parseOptions, type Command } from "../command.ts";

export const reconstructCommand: Command = {
  name: "reconstruct",
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
    const summary = await reconstructPicture(loaded.model, video, v.out, {
      start: v.start !== undefined ? num(v.start, 0, "start") : undefined,
      stride: num(v.stride, 4, "stride"),
      maskRatio: num(v["mask-ratio"], 0.9, "mask-ratio"),
      seed: num(v.seed, 0, "seed"),
    });
    const indices = summary.frames;
    const loss = summary.maskedLoss;
    if (v.json) console.log(JSON.stringify(summary));
    else console.log(`${v.out}: ${summary.width}×${summary.height} (input / encoder view / reconstruction), frames ${indices[0]}…${indices[indices.length - 1]}, loss on hidden patches ${loss.toFixed(4)}`);
    return 0;
  },
};
