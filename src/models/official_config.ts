/**
 * Model configurations written with the official constructor field names (the JSON a user
 * copies from the official scripts): `img_size`, `patch_size`, `num_frames`, `tubelet_size`,
 * `embed_dim`, `depth`, `num_heads`, `mlp_ratio`, `num_classes`, `decoder_embed_dim`,
 * `decoder_depth`, `decoder_num_heads` (+ `model` naming the registry entry to start from).
 * Fields that are not given keep the base model's values (ViT-B unless `model` says otherwise).
 */
import { ConfigError, createConfig, type ModelConfig, type ModelName } from "./config.ts";

const FIELD: Record<string, string> = {
  img_size: "imgSize",
  patch_size: "patchSize",
  num_frames: "numFrames",
  tubelet_size: "tubeletSize",
  in_chans: "inChans",
  embed_dim: "embedDim",
  depth: "depth",
  num_heads: "numHeads",
  mlp_ratio: "mlpRatio",
  num_classes: "numClasses",
  drop_path_rate: "dropPathRate",
  head_drop_rate: "headDropRate",
  init_scale: "initScale",
  use_mean_pooling: "useMeanPooling",
  decoder_embed_dim: "decoderEmbedDim",
  decoder_depth: "decoderDepth",
  decoder_num_heads: "decoderNumHeads",
  decoder_num_classes: "decoderNumClasses",
};

/** A config from official-style fields; `pretrain` picks the model kind when `model` is absent. */
export function configFromOfficialFields(json: Record<string, unknown>, pretrain: boolean, source = "config"): ModelConfig {
  const base = (json.model as string | undefined) ?? (pretrain ? "pretrain_videomae_base_patch16_224" : "vit_base_patch16_224");
  const overrides: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    if (k === "model") continue;
    const ours = FIELD[k] ?? (Object.values(FIELD).includes(k) ? k : undefined);
    if (!ours) throw new ConfigError(`${source}: unknown field "${k}"; known fields: model, ${Object.keys(FIELD).join(", ")}`);
    overrides[ours] = v;
  }
  return createConfig(base as ModelName, overrides as never);
}
