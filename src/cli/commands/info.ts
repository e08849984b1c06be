/**
 * `videomae info --model NAME [--json]`: what a model is — widths, token counts, sequence lengths
 * under dual masking, parameter count and GMACs — computed from the configuration alone (no
 * weights are allocated), via `modelReport` (src/models/counting.ts).
 */
import { MODEL_NAMES, isModelName } from "../../models/config.ts";
import { formatModelReport, modelReport } from "../../models/counting.ts";
import { formatTrainingMemory, trainingMemory } from "../../models/memory.ts";
import { UsageError, num, parseOptions, type Command } from "../command.ts";

export const infoCommand: Command = {
  name: "info",
  help: `Usage: videomae info --model NAME [--encoder-ratio R] [--decoder-ratio R] [--batch-size B] [--json]
       videomae info --list

Prints the size of a registered model without building it: width, depth, heads, MLP width,
token grid, parameter count (and state-dict tensor count), and multiply-accumulates per view
(fine-tune models) or per pre-training clip. For pre-training models the encoder and decoder
sequence lengths and the number of loss tokens follow from the masking ratios.

Options:
  --model NAME         registry name, e.g. vit_base_patch16_224 or
                       pretrain_videomae_base_patch16_224 (see --list)
  --encoder-ratio R    tube-mask ratio for pre-training models (default 0.9)
  --decoder-ratio R    running-cell ratio (default 0.5; 0 = V1, no decoder masking)
  --batch-size B       also estimate the memory of one training step of B clips (pre-training
                       for pretrain_* models, fine-tuning for vit_*): weights, gradients, AdamW
                       state and activations, without and with --grad-checkpoint (float32)
  --json               print the full report as JSON
  --list               list the model names

Example:
  videomae info --model pretrain_videomae_base_patch16_224
  videomae info --model vit_giant_patch14_224 --json
  videomae info --model pretrain_videomae_giant_patch14_224 --batch-size 8`,
  async run(argv) {
    const { values } = parseOptions(argv, {
      model: { type: "string" },
      "encoder-ratio": { type: "string" },
      "decoder-ratio": { type: "string" },
      "batch-size": { type: "string" },
      json: { type: "boolean" },
      list: { type: "boolean" },
    });
    if (values.list) {
      console.log(values.json ? JSON.stringify(MODEL_NAMES) : MODEL_NAMES.join("\n"));
      return 0;
    }
    const name = values.model;
    if (!name) throw new UsageError("--model NAME is required (videomae info --list shows the names)");
    if (!isModelName(name)) throw new UsageError(`unknown model '${name}'; known models: ${MODEL_NAMES.join(", ")}`);
    const report = modelReport(name, {
      encoderRatio: num(values["encoder-ratio"], 0.9, "encoder-ratio"),
      decoderRatio: num(values["decoder-ratio"], 0.5, "decoder-ratio"),
    });
    const batch = values["batch-size"] === undefined ? null : num(values["batch-size"], 1, "batch-size"); // range-checked: integer ≥ 1
    const memory = batch === null ? null : trainingMemory(report, batch);
    if (values.json) console.log(JSON.stringify(memory ? { ...report, memory } : report, null, 2));
    else console.log(formatModelReport(report) + (memory ? `\n${formatTrainingMemory(memory, report)}` : ""));
    return 0;
  },
};
