/**
 * `videomae forward`: run a model on an input array and write the output array — the bridge for
 * checking our models against other implementations.
 */
import { readFileSync } from "node:fs";
import { readNpy, writeNpy } from "../../io/npy.ts";
import { rawToTensor, tensorToRaw } from "../../io/tensors.ts";
import { createConfig, isModelName, MODEL_NAMES, type ModelConfig } from "../../models/config.ts";
import { createModel, describeLoad, loadCheckpointInto, pretrainLoss, PretrainVisionTransformer, targetOptions, VisionTransformer } from "../../models/index.ts";
import { configFromOfficialFields } from "../../models/official_config.ts";
import { noGrad, resolveDevice, tidy } from "../../torch/index.ts";
import { ensureWritableFileDir, writingFile } from "../../util/output.ts";
import { defineCommand, UsageError } from "../command.ts";
import { architectureOptions, checkpointOption, deviceOption, precisionOption } from "../options/groups.ts";
import { flag, text } from "../options/schema.ts";
import { inInferencePrecision, onModelDevice } from "../../nn/device.ts";

async function readMask(path: string, what: string): Promise<Uint8Array> {
  const raw = await readNpy(path);
  if (raw.dtype !== "bool" && raw.dtype !== "uint8" && raw.dtype !== "int64" && raw.dtype !== "int32") {
    throw new UsageError(`${what} ${path} must be a bool (B, N) array (1 = removed), got ${raw.dtype}`);
  }
  if (raw.shape.length !== 2) throw new UsageError(`${what} ${path} must be 2-D (B, N), got shape [${raw.shape.join(", ")}]`);
  return Uint8Array.from(raw.data as ArrayLike<number | bigint>, (v) => (Number(v) ? 1 : 0));
}

export const forwardCommand = defineCommand({
  name: "forward",
  usage: `(--model NAME | --model-config FILE.json) --checkpoint FILE --input X.npy --out Y.npy [--features]
       videomae forward --pretrain (--model NAME | --model-config FILE.json) --checkpoint FILE --input X.npy
                        --encoder-mask E.npy --decoder-mask D.npy --out PRED.npy [--loss-out LOSS.npy]`,
  description: `The input is a float array (B, C, T, H, W), already ImageNet-normalised, as the official models
take it. The fine-tune form writes logits (B, classes), or with --features the pooled fc_norm
features (B, D). The --pretrain form writes decoder predictions (B, N_keep, 3·tubelet·p²) for the
decoder-kept tokens in ascending order, and with --loss-out the normalised-pixel loss; masks are
bool (B, N) arrays with true = removed (omit --decoder-mask for V1: no decoder masking).

The --model-config JSON uses the official constructor field names: img_size, patch_size, num_frames,
tubelet_size, embed_dim, depth, num_heads, mlp_ratio, num_classes, decoder_embed_dim,
decoder_depth, decoder_num_heads (others keep ViT-B's values, or those of "model": NAME).`,
  options: {
    ...architectureOptions,
    pretrain: flag("the pre-training encoder-decoder (implied by a pretrain_* model name)"),
    ...checkpointOption,
    input: text({ valueName: "X.npy", description: "input video batch (B, C, T, H, W), ImageNet-normalised" }),
    out: text({ valueName: "Y.npy", description: "output array (float32)" }),
    features: flag("pooled features instead of logits"),
    encoderMask: text({ valueName: "E.npy", description: "pre-training: bool (B, N) encoder mask, true = removed" }),
    decoderMask: text({ valueName: "D.npy", description: "pre-training: bool (B, N) decoder mask (omit for V1)" }),
    lossOut: text({ valueName: "LOSS.npy", description: "pre-training: also write the normalised-pixel loss" }),
    ...precisionOption,
    quiet: flag("no load report on stderr"),
    ...deviceOption,
  },
  epilogue: `Example:
  videomae forward --model vit_small_patch16_224 --checkpoint vit_s_k710_dl_from_giant.pth \\
                   --input clip.npy --out logits.npy`,
  async run(v) {
    if (!v.checkpoint || !v.input || !v.out) throw new UsageError("--checkpoint, --input and --out are required");
    if (!v.model === !v.modelConfig) throw new UsageError("give exactly one of --model NAME or --model-config FILE.json");
    const precision = v.precision;
    let cfg: ModelConfig;
    if (v.model) {
      if (!isModelName(v.model)) throw new UsageError(`unknown model '${v.model}'; known: ${MODEL_NAMES.join(", ")}`);
      cfg = createConfig(v.model);
    } else {
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(readFileSync(v.modelConfig!, "utf8")) as Record<string, unknown>;
      } catch (e) {
        throw new UsageError(`cannot read --model-config ${v.modelConfig}: ${(e as Error).message}`);
      }
      cfg = configFromOfficialFields(json, v.pretrain, v.modelConfig!);
    }
    const isPretrain = cfg.kind === "pretrain";
    if (v.pretrain && !isPretrain) throw new UsageError(`--pretrain needs a pre-training model, '${v.model}' is a fine-tune model`);
    if (isPretrain && !v.encoderMask) throw new UsageError("the pre-training form needs --encoder-mask E.npy");

    // Before the model runs (minutes for the big ones): the outputs must be writable.
    const outs = [v.out, ...(v.lossOut ? [v.lossOut] : [])];
    for (const f of outs) ensureWritableFileDir(f);
    const model = createModel(cfg);
    const report = await loadCheckpointInto(model, v.checkpoint);
    if (!v.quiet) process.stderr.write(describeLoad(report) + "\n");
    model.eval();
    model.to(resolveDevice(v.device));
    const input = onModelDevice(model, rawToTensor(await readNpy(v.input)).float());
    const run = <T>(f: () => T) => noGrad(() => inInferencePrecision(model, precision, f));

    if (model instanceof VisionTransformer) {
      const out = run(() => tidy(() => (v.features ? model.forwardFeatures(input) : model.forward(input)).float()));
      await writingFile(v.out, () => writeNpy(v.out!, tensorToRaw(out)));
      return 0;
    }
    const pre = model as PretrainVisionTransformer;
    const enc = await readMask(v.encoderMask!, "--encoder-mask");
    const dec = v.decoderMask ? await readMask(v.decoderMask, "--decoder-mask") : undefined;
    const { pred, loss } = run(() =>
      tidy(() => {
        const p = pre.forward(input, enc, dec);
        const l = pretrainLoss(input, p, enc, dec, targetOptions(pre.config)).loss;
        return { pred: p.float(), loss: l.float() };
      }),
    );
    await writingFile(v.out, () => writeNpy(v.out!, tensorToRaw(pred)));
    const lossOut = v.lossOut;
    if (lossOut) await writingFile(lossOut, () => writeNpy(lossOut, tensorToRaw(loss)));
    return 0;
  },
});
