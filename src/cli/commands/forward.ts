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
import { autocast, noGrad, tidy } from "../../torch/index.ts";
import { ensureWritableFileDir, writingFile } from "../../util/output.ts";
import { UsageError, parseOptions, type Command } from "../command.ts";

async function readMask(path: string, what: string): Promise<Uint8Array> {
  const raw = await readNpy(path);
  if (raw.dtype !== "bool" && raw.dtype !== "uint8" && raw.dtype !== "int64" && raw.dtype !== "int32") {
    throw new UsageError(`${what} ${path} must be a bool (B, N) array (1 = removed), got ${raw.dtype}`);
  }
  if (raw.shape.length !== 2) throw new UsageError(`${what} ${path} must be 2-D (B, N), got shape [${raw.shape.join(", ")}]`);
  return Uint8Array.from(raw.data as ArrayLike<number | bigint>, (v) => (Number(v) ? 1 : 0));
}

export const forwardCommand: Command = {
  name: "forward",
  help: `Usage:
  videomae forward (--model NAME | --config FILE.json) --checkpoint FILE --input X.npy --out Y.npy [--features]
  videomae forward --pretrain (--model NAME | --config FILE.json) --checkpoint FILE --input X.npy
                   --encoder-mask E.npy --decoder-mask D.npy --out PRED.npy [--loss-out LOSS.npy]

The input is a float array (B, C, T, H, W), already ImageNet-normalised, as the official models
take it. The fine-tune form writes logits (B, classes), or with --features the pooled fc_norm
features (B, D). The --pretrain form writes decoder predictions (B, N_keep, 3·tubelet·p²) for the
decoder-kept tokens in ascending order, and with --loss-out the normalised-pixel loss; masks are
bool (B, N) arrays with true = removed (omit --decoder-mask for V1: no decoder masking).

The config JSON uses the official constructor field names: img_size, patch_size, num_frames,
tubelet_size, embed_dim, depth, num_heads, mlp_ratio, num_classes, decoder_embed_dim,
decoder_depth, decoder_num_heads (others keep ViT-B's values, or those of "model": NAME).

Options:
  --model NAME         registry name (videomae info --list)
  --config FILE        JSON config with official field names
  --pretrain           the pre-training encoder-decoder (implied by a pretrain_* model name)
  --checkpoint FILE    .pth (official, any wrapping, fp32/fp16) or .safetensors
  --input X.npy        input video batch
  --out Y.npy          output array (float32)
  --features           pooled features instead of logits
  --encoder-mask E.npy / --decoder-mask D.npy / --loss-out LOSS.npy   (pre-training)
  --precision fp32|bf16  compute precision (default fp32)
  --quiet              no load report on stderr

Example:
  videomae forward --model vit_small_patch16_224 --checkpoint vit_s_k710_dl_from_giant.pth \\
                   --input clip.npy --out logits.npy`,
  async run(argv) {
    const { values: v } = parseOptions(argv, {
      model: { type: "string" },
      config: { type: "string" },
      pretrain: { type: "boolean" },
      checkpoint: { type: "string" },
      input: { type: "string" },
      out: { type: "string" },
      features: { type: "boolean" },
      "encoder-mask": { type: "string" },
      "decoder-mask": { type: "string" },
      "loss-out": { type: "string" },
      precision: { type: "string" },
      quiet: { type: "boolean" },
    });
    if (!v.checkpoint || !v.input || !v.out) throw new UsageError("--checkpoint, --input and --out are required");
    if (!v.model === !v.config) throw new UsageError("give exactly one of --model NAME or --config FILE.json");
    const precision = v.precision ?? "fp32";
    if (precision !== "fp32" && precision !== "bf16") throw new UsageError("--precision must be fp32 or bf16");
    let cfg: ModelConfig;
    if (v.model) {
      if (!isModelName(v.model)) throw new UsageError(`unknown model '${v.model}'; known: ${MODEL_NAMES.join(", ")}`);
      cfg = createConfig(v.model);
    } else {
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(readFileSync(v.config!, "utf8")) as Record<string, unknown>;
      } catch (e) {
        throw new UsageError(`cannot read --config ${v.config}: ${(e as Error).message}`);
      }
      cfg = configFromOfficialFields(json, Boolean(v.pretrain), v.config!);
    }
    const isPretrain = cfg.kind === "pretrain";
    if (v.pretrain && !isPretrain) throw new UsageError(`--pretrain needs a pre-training model, '${v.model}' is a fine-tune model`);
    if (isPretrain && !v["encoder-mask"]) throw new UsageError("the pre-training form needs --encoder-mask E.npy");

    // Before the model runs (minutes for the big ones): the outputs must be writable.
    const outs = [v.out, ...(v["loss-out"] ? [v["loss-out"]] : [])];
    for (const f of outs) ensureWritableFileDir(f);
    const model = createModel(cfg);
    const report = await loadCheckpointInto(model, v.checkpoint);
    if (!v.quiet) process.stderr.write(describeLoad(report) + "\n");
    model.eval();
    const input = rawToTensor(await readNpy(v.input)).float();
    const run = <T>(f: () => T) => noGrad(() => (precision === "bf16" ? autocast(f) : f()));

    if (model instanceof VisionTransformer) {
      const out = run(() => tidy(() => (v.features ? model.forwardFeatures(input) : model.forward(input)).float()));
      await writingFile(v.out, () => writeNpy(v.out!, tensorToRaw(out)));
      return 0;
    }
    const pre = model as PretrainVisionTransformer;
    const enc = await readMask(v["encoder-mask"]!, "--encoder-mask");
    const dec = v["decoder-mask"] ? await readMask(v["decoder-mask"], "--decoder-mask") : undefined;
    const { pred, loss } = run(() =>
      tidy(() => {
        const p = pre.forward(input, enc, dec);
        const l = pretrainLoss(input, p, enc, dec, targetOptions(pre.config)).loss;
        return { pred: p.float(), loss: l.float() };
      }),
    );
    await writingFile(v.out, () => writeNpy(v.out!, tensorToRaw(pred)));
    const lossOut = v["loss-out"];
    if (lossOut) await writingFile(lossOut, () => writeNpy(lossOut, tensorToRaw(loss)));
    return 0;
  },
};
