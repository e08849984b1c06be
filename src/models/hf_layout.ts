/**
 * The Hugging Face `transformers` layout of VideoMAE checkpoints, next to ours (the official
 * one): key names and `config.json`. HF's `VideoMAEForVideoClassification` /
 * `VideoMAEForPreTraining` / `VideoMAEModel` (models/videomae/modeling_videomae.py) are the V1
 * architecture, which is ours with tube masking; its conversion script maps the official keys:
 *
 *   official (ours)                      transformers
 *   patch_embed.proj.*                   videomae.embeddings.patch_embeddings.projection.*
 *   blocks.i.norm1 / norm2               videomae.encoder.layer.i.layernorm_before / layernorm_after
 *   blocks.i.attn.qkv.weight  [3D, D]    ….attention.attention.{query,key,value}.weight  [D, D] each (rows q | k | v)
 *   blocks.i.attn.q_bias / v_bias        ….attention.attention.q_bias / v_bias   (the key has no bias)
 *   blocks.i.attn.proj                   ….attention.output.dense
 *   blocks.i.mlp.fc1 / fc2               ….intermediate.dense / ….output.dense
 *   norm (encoder's last, no mean pool)  videomae.layernorm
 *   fc_norm, head                        fc_norm, classifier
 *   encoder_to_decoder, mask_token       encoder_to_decoder, mask_token
 *   decoder.blocks.i.…                   decoder.decoder_layers.i.… (same block names as above)
 *   decoder.norm, decoder.head           decoder.norm, decoder.head
 *
 * A bare `VideoMAEModel` saves its keys without the `videomae.` prefix. Position tables are
 * fixed sinusoids in both (not in the state dict). HF builds its LayerNorms with
 * `layer_norm_eps` (1e-12 by default, the official code 1e-6): it travels in the config.
 * Pre-training checkpoints put the encoder under `encoder.` in our models (`encoder.blocks.i…`).
 */
import { ConfigError, createConfig, withOverrides, type BackboneConfig, type ModelConfig } from "./config.ts";

/** Where one official tensor comes from in the HF layout: one key, or the query/key/value rows of `qkv`. */
export type HfSource = { kind: "same"; key: string } | { kind: "qkv"; keys: readonly [string, string, string] };

/** Inside one transformer block: HF name ↔ official name (matched on whole dotted segments). */
const BLOCK_PARTS: readonly (readonly [hf: string, official: string])[] = [
  ["attention.attention.q_bias", "attn.q_bias"],
  ["attention.attention.v_bias", "attn.v_bias"],
  ["attention.output.dense.", "attn.proj."],
  ["layernorm_before.", "norm1."],
  ["layernorm_after.", "norm2."],
  ["intermediate.dense.", "mlp.fc1."],
  ["output.dense.", "mlp.fc2."],
];

/** Outside the blocks, in an encoder-decoder naming where the encoder has no prefix. */
const TOP_PARTS: readonly (readonly [hf: string, official: string])[] = [
  ["videomae.embeddings.patch_embeddings.projection.", "patch_embed.proj."],
  ["videomae.layernorm.", "norm."],
  ["classifier.", "head."],
  ["fc_norm.", "fc_norm."],
  ["encoder_to_decoder.", "encoder_to_decoder."],
  ["mask_token", "mask_token"],
  ["decoder.norm.", "decoder.norm."],
  ["decoder.head.", "decoder.head."],
];

const HF_BLOCK = /^(videomae\.encoder\.layer|decoder\.decoder_layers)\.(\d+)\.(.+)$/;
const OFFICIAL_BLOCK = /^(blocks|decoder\.blocks)\.(\d+)\.(.+)$/;
const ENCODER_PARTS = /^(patch_embed\.|blocks\.|norm\.)/;

export class HfLayoutError extends ConfigError {
  override name = "HfLayoutError";
}

function renamePart(rest: string, table: readonly (readonly [string, string])[], from: 0 | 1): string | null {
  for (const pair of table) {
    const prefix = pair[from];
    if (rest === prefix || (prefix.endsWith(".") && rest.startsWith(prefix))) return pair[1 - from] + rest.slice(prefix.length);
  }
  return null;
}

/** HF keys of a bare `VideoMAEModel` (no `videomae.` prefix) with the prefix the task models use. */
export function withVideomaePrefix(keys: Iterable<string>): Map<string, string> {
  const list = [...keys];
  const bare = !list.some((k) => k.startsWith("videomae.")) && list.some((k) => /^(embeddings|encoder\.layer)\./.test(k));
  return new Map(list.map((k) => [bare && /^(embeddings|encoder|layernorm)\./.test(k) ? `videomae.${k}` : k, k]));
}

/**
 * The official name of each tensor of an HF state dict (keys with the `videomae.` prefix, see
 * `withVideomaePrefix`), for a fine-tune model (`vit`) or a pre-training one (`pretrain`, whose
 * encoder keys start with `encoder.`). Unknown HF keys are returned in `unknown`.
 */
export function officialFromHf(hfKeys: Iterable<string>, kind: ModelConfig["kind"]): { sources: Map<string, HfSource>; unknown: string[] } {
  const sources = new Map<string, HfSource>();
  const unknown: string[] = [];
  const place = (name: string) => (kind === "pretrain" && ENCODER_PARTS.test(name) ? `encoder.${name}` : name);
  for (const key of hfKeys) {
    const block = HF_BLOCK.exec(key);
    if (block) {
      const prefix = `${block[1] === "videomae.encoder.layer" ? "blocks" : "decoder.blocks"}.${block[2]}.`;
      const qkv = /^attention\.attention\.(query|key|value)\.weight$/.exec(block[3]!);
      if (qkv) {
        const base = key.slice(0, key.length - block[3]!.length) + "attention.attention.";
        const name = place(`${prefix}attn.qkv.weight`);
        if (!sources.has(name)) sources.set(name, { kind: "qkv", keys: [`${base}query.weight`, `${base}key.weight`, `${base}value.weight`] });
        continue;
      }
      const inner = renamePart(block[3]!, BLOCK_PARTS, 0);
      if (inner === null) unknown.push(key);
      else sources.set(place(prefix + inner), { kind: "same", key });
      continue;
    }
    const top = renamePart(key, TOP_PARTS, 0);
    if (top === null) unknown.push(key);
    else sources.set(place(top), { kind: "same", key });
  }
  return { sources, unknown };
}

/**
 * The HF name(s) of one official key: `[name]`, or the three names `qkv` splits into.
 * `bare`: a `VideoMAEModel` (keys without `videomae.`).
 */
export function hfFromOfficial(key: string, opts: { bare?: boolean } = {}): string[] {
  const name = key.startsWith("encoder.") && !key.startsWith("encoder_to_decoder") ? key.slice("encoder.".length) : key;
  const unprefix = (k: string) => (opts.bare && k.startsWith("videomae.") ? k.slice("videomae.".length) : k);
  const block = OFFICIAL_BLOCK.exec(name);
  if (block) {
    const prefix = `${block[1] === "blocks" ? "videomae.encoder.layer" : "decoder.decoder_layers"}.${block[2]}.`;
    if (block[3] === "attn.qkv.weight") return ["query", "key", "value"].map((p) => unprefix(`${prefix}attention.attention.${p}.weight`));
    const inner = renamePart(block[3]!, BLOCK_PARTS, 1);
    if (inner === null) throw new HfLayoutError(`${key}: no Hugging Face VideoMAE counterpart (layer scale and cosine attention are not in transformers' VideoMAE)`);
    return [unprefix(prefix + inner)];
  }
  const top = renamePart(name, TOP_PARTS, 1);
  if (top === null) throw new HfLayoutError(`${key}: no Hugging Face VideoMAE counterpart`);
  return [unprefix(top)];
}

// ---------------------------------------------------------------------------------------------
// config.json

/** The fields of transformers' `VideoMAEConfig` that describe the architecture (+ labels). */
export interface HfVideoMAEConfig {
  model_type: "videomae";
  architectures?: string[];
  image_size: number;
  patch_size: number;
  num_channels: number;
  num_frames: number;
  tubelet_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: string;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  initializer_range: number;
  layer_norm_eps: number;
  qkv_bias: boolean;
  use_mean_pooling: boolean;
  decoder_num_channels: number;
  decoder_hidden_size: number;
  decoder_num_hidden_layers: number;
  decoder_num_attention_heads: number;
  decoder_intermediate_size: number;
  norm_pix_loss: boolean;
  id2label?: Record<string, string>;
  label2id?: Record<string, number>;
}

/** `VideoMAEConfig()`'s defaults (videomae-base). */
const HF_DEFAULTS: Omit<HfVideoMAEConfig, "model_type"> = {
  image_size: 224,
  patch_size: 16,
  num_channels: 3,
  num_frames: 16,
  tubelet_size: 2,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: "gelu",
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  qkv_bias: true,
  use_mean_pooling: true,
  decoder_num_channels: 3,
  decoder_hidden_size: 384,
  decoder_num_hidden_layers: 4,
  decoder_num_attention_heads: 6,
  decoder_intermediate_size: 1536,
  norm_pix_loss: true,
};

/** Class names in id order from `id2label`, or null when the config has none (or only HF's LABEL_i placeholders). */
export function labelsFromHfConfig(json: { id2label?: Record<string, string> }): string[] | null {
  const entries = Object.entries(json.id2label ?? {});
  if (entries.length === 0) return null;
  const labels: string[] = [];
  for (const [id, name] of entries) labels[Number(id)] = name;
  return labels.every((l, i) => l === `LABEL_${i}`) ? null : labels;
}

/**
 * Our model config from an HF `config.json`. `kind` chooses the model: `vit` for
 * VideoMAEForVideoClassification / VideoMAEModel (numClasses 0), `pretrain` for
 * VideoMAEForPreTraining.
 */
export function configFromHf(json: Record<string, unknown>, kind: ModelConfig["kind"], numClasses: number, source = "config.json"): ModelConfig {
  const c = { ...HF_DEFAULTS, ...json } as HfVideoMAEConfig;
  if (c.hidden_act !== "gelu") throw new HfLayoutError(`${source}: hidden_act "${c.hidden_act}" is not supported (VideoMAE uses exact "gelu")`);
  const backbone: Partial<BackboneConfig> = {
    imgSize: c.image_size,
    patchSize: c.patch_size,
    inChans: c.num_channels,
    numFrames: c.num_frames,
    tubeletSize: c.tubelet_size,
    embedDim: c.hidden_size,
    depth: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    mlpRatio: c.intermediate_size / c.hidden_size,
    qkvBias: c.qkv_bias,
    dropRate: c.hidden_dropout_prob,
    attnDropRate: c.attention_probs_dropout_prob,
    dropPathRate: 0,
    layerNormEps: c.layer_norm_eps,
  };
  if (kind === "vit") return withOverrides(createConfig("vit_base_patch16_224"), { ...backbone, numClasses, useMeanPooling: c.use_mean_pooling, initScale: 1 }, source);
  if (c.decoder_intermediate_size / c.decoder_hidden_size !== c.intermediate_size / c.hidden_size) {
    throw new HfLayoutError(
      `${source}: the decoder's MLP ratio (${c.decoder_intermediate_size}/${c.decoder_hidden_size}) differs from the encoder's ` +
        `(${c.intermediate_size}/${c.hidden_size}); the VideoMAE decoder shares the encoder's ratio`,
    );
  }
  return withOverrides(createConfig("pretrain_videomae_base_patch16_224"), {
    ...backbone,
    decoderEmbedDim: c.decoder_hidden_size,
    decoderDepth: c.decoder_num_hidden_layers,
    decoderNumHeads: c.decoder_num_attention_heads,
    decoderNumClasses: c.decoder_num_channels * c.tubelet_size * c.patch_size ** 2,
    normalizeTarget: c.norm_pix_loss,
  }, source);
}

/** The HF `config.json` of one of our configs (`architecture`: the transformers class it loads as). */
export function hfConfigFrom(cfg: ModelConfig, architecture: string, labels: readonly string[] | null): HfVideoMAEConfig {
  const enc: BackboneConfig = cfg.kind === "vit" ? cfg : cfg.encoder;
  if (enc.initValues > 0 || enc.cosAttn || enc.useLearnablePosEmb) {
    throw new HfLayoutError("layer scale, cosine attention and learnable position tables have no place in transformers' VideoMAE");
  }
  const intermediate = Math.trunc(enc.embedDim * enc.mlpRatio);
  const out: HfVideoMAEConfig = {
    ...HF_DEFAULTS,
    model_type: "videomae",
    architectures: [architecture],
    image_size: enc.imgSize,
    patch_size: enc.patchSize,
    num_channels: enc.inChans,
    num_frames: enc.numFrames,
    tubelet_size: enc.tubeletSize,
    hidden_size: enc.embedDim,
    num_hidden_layers: enc.depth,
    num_attention_heads: enc.numHeads,
    intermediate_size: intermediate,
    hidden_dropout_prob: enc.dropRate,
    attention_probs_dropout_prob: enc.attnDropRate,
    layer_norm_eps: enc.layerNormEps,
    qkv_bias: enc.qkvBias,
    use_mean_pooling: cfg.kind === "vit" ? cfg.useMeanPooling : false,
  };
  if (cfg.kind === "pretrain") {
    Object.assign(out, {
      decoder_num_channels: cfg.decoderNumClasses / (enc.tubeletSize * enc.patchSize ** 2),
      decoder_hidden_size: cfg.decoderEmbedDim,
      decoder_num_hidden_layers: cfg.decoderDepth,
      decoder_num_attention_heads: cfg.decoderNumHeads,
      decoder_intermediate_size: Math.trunc(cfg.decoderEmbedDim * enc.mlpRatio),
      norm_pix_loss: cfg.normalizeTarget,
    });
  } else if (cfg.numClasses > 0) {
    const names = labels ?? Array.from({ length: cfg.numClasses }, (_, i) => `LABEL_${i}`);
    out.id2label = Object.fromEntries(names.map((n, i) => [String(i), n]));
    out.label2id = Object.fromEntries(names.map((n, i) => [n, i]));
  }
  return out;
}
