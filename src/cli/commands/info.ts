/**
 * `videomae info --model NAME [--json]`: what a model is — widths, token counts, sequence lengths
 * under dual masking, parameter count and GMACs — computed from the configuration alone (no
 * weights are allocated), via `modelReport` (src/models/counting.ts).
 */
import { MODEL_NAMES, isModelName } from "../../models/config.ts";
import { formatModelReport, modelReport } from "../../models/counting.ts";
import { formatTrainingMemory, trainingMemory } from "../../models/memory.ts";
import { defineCommand, UsageError } from "../command.ts";
import { jsonOutputOption } from "../options/groups.ts";
import { flag, number, text } from "../options/schema.ts";

export const infoCommand = defineCommand({
  name: "info",
  usage: `--model NAME [--encoder-ratio R] [--decoder-ratio R] [--batch-size B] [--json]
       videomae info --list`,
  description: `Prints the size of a registered model without building it: width, depth, heads, MLP width,
token grid, parameter count (and state-dict tensor count), and multiply-accumulates per view
(fine-tune models) or per pre-training clip. For pre-training models the encoder and decoder
sequence lengths and the number of loss tokens follow from the masking ratios.`,
  options: {
    model: text({ valueName: "NAME", description: "registry name, e.g. vit_base_patch16_224 or pretrain_videomae_base_patch16_224 (see --list)" }),
    encoderRatio: number({ valueName: "R", default: 0.9, description: "tube-mask ratio for pre-training models" }),
    decoderRatio: number({ valueName: "R", default: 0.5, description: "running-cell ratio (0 = V1, no decoder masking)" }),
    batchSize: number({
      valueName: "B",
      range: { min: 1, integer: true },
      description:
        "also estimate the memory of one training step of B clips (pre-training for pretrain_* models, fine-tuning for vit_*): weights, gradients, AdamW state and activations, without and with --grad-checkpoint (float32)",
    }),
    ...jsonOutputOption("the full report"),
    list: flag("list the model names"),
  },
  epilogue: `Example:
  videomae info --model pretrain_videomae_base_patch16_224
  videomae info --model vit_giant_patch14_224 --json
  videomae info --model pretrain_videomae_giant_patch14_224 --batch-size 8`,
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
    const memory = values.batchSize === undefined ? null : trainingMemory(report, values.batchSize);
    if (values.json) console.log(JSON.stringify(memory ? { ...report, memory } : report, null, 2));
    else console.log(formatModelReport(report) + (memory ? `\n${formatTrainingMemory(memory, report)}` : ""));
    return 0;
  },
});
