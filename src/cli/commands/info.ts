/**
 * `videomae info --model NAME [--json]`: what a model is — widths, token counts, sequence lengths
 * under dual masking, parameter count and GMACs — computed from the configuration alone (no
 * weights are allocated), via `modelReport` (src/models/counting.ts).
 */
import { MODEL_NAMES, isModelName } from "../../models/config.ts";
import { formatModelReport, modelReport } from "../../models/counting.ts";
import { defineCommand, UsageError } from "../command.ts";
import { jsonOutputOption } from "../options/groups.ts";
import { flag, number, text } from "../options/schema.ts";

export const infoCommand = defineCommand({
  name: "info",
  usage: `--model NAME [--encoder-ratio R] [--decoder-ratio R] [--json]
       videomae info --list`,
  description: `Prints the size of a registered model without building it: width, depth, heads, MLP width,
token grid, parameter count (and state-dict tensor count), and multiply-accumulates per view
(fine-tune models) or per pre-training clip. For pre-training models the encoder and decoder
sequence lengths and the number of loss tokens follow from the masking ratios.`,
  options: {
    model: text({ valueName: "NAME", description: "registry name, e.g. vit_base_patch16_224 or pretrain_videomae_base_patch16_224 (see --list)" }),
    encoderRatio: number({ valueName: "R", default: 0.9, description: "tube-mask ratio for pre-training models" }),
    decoderRatio: number({ valueName: "R", default: 0.5, description: "running-cell ratio (0 = V1, no decoder masking)" }),
    ...jsonOutputOption("the full report"),
    list: flag("list the model names"),
  },
  epilogue: `Example:
  videomae info --model pretrain_videomae_base_patch16_224
  videomae info --model vit_giant_patch14_224 --json`,
  async run(values) {
    if (values.list) {
      console.log(values.json ? JSON.stringify(MODEL_NAMES) : MODEL_NAMES.join("\n"));
      return 0;
    }
    const name = values.model;
    if (!name) throw new UsageError("--model NAME is required (videomae info --list shows the names)");
    if (!isModelName(name)) throw new UsageError(`unknown model '${name}'; known models: ${MODEL_NAMES.join(", ")}`);
    const report = modelReport(name, {
      encoderRatio: values.encoderRatio,
      decoderRatio: values.decoderRatio,
    });
    console.log(values.json ? JSON.stringify(report, null, 2) : formatModelReport(report));
    return 0;
  },
});
