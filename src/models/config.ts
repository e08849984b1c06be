/**
 * Typed model configurations for the VideoMAE V2 family (spec §1.1, §2.1), the official registry
 * names, derived shape quantities and validation.
 *
 * Two model kinds exist, mirroring the official code:
 *  - `VitConfig` — the fine-tune / inference `VisionTransformer` (models/modeling_finetune.py):
 *    patch embed → blocks → mean pool → fc_norm → head.
 *  - `PretrainConfig` — `PretrainVisionTransformer` (models/modeling_pretrain.py): an encoder
 *    over the visible tokens (final `norm`, no head), `encoder_to_decoder`, and a narrow decoder
 *    whose head predicts 3·tubelet·p² normalised pixels per kept token.
 *
 * Defaults are what the official entry points actually build: the registry function's
 * hyper-parameters plus the script defaults that are passed into it
 * (`run_class_finetuning.py`: nb_classes 400, drop_path 0.1, init_scale 0.001, mean pooling;
 * `run_mae_pretraining.py`: drop_path 0, decoder_depth 4, normlize_target True).
 */
import { ConfigError } from "../util/errors.ts";

/** Everything the patch embedding and the transformer blocks of one tower need. */
export interface BackboneConfig {
  /** Square input side in pixels (H = W). */
  readonly imgSize: number;
  /** Input frames T. */
  readonly numFrames: number;
  /** Temporal patch size (kernel = stride of the Conv3d along T). */
  readonly tubeletSize: number;
  /** Spatial patch size p (kernel = stride along H and W). */
  readonly patchSize: number;
  readonly inChans: number;
  /** Width D. */
  readonly embedDim: number;
  readonly depth: number;
  readonly numHeads: number;
  /** MLP hidden = trunc(D · mlpRatio); 4 for S/B/L/H, 48/11 for giant. */
  readonly mlpRatio: number;
  /** q_bias / v_bias parameters (the key projection never has a bias, spec §1.3). */
  readonly qkvBias: boolean;
  /** Dropout after pos-embed and after attn.proj / mlp.fc2 (`drop_rate`). */
  readonly dropRate: number;
  readonly attnDropRate: number;
  /** Stochastic-depth rate of the last block; block i uses linspace(0, rate, depth)[i]. */
  readonly dropPathRate: number;
  /** Layer-scale init (`init_values`); 0 = no gamma_1/gamma_2 (every released model). */
  readonly initValues: number;
  readonly layerNormEps: number;
  /** Learnable pos-embed parameter instead of the fixed sinusoid table (never used). */
  readonly useLearnablePosEmb: boolean;
  /** CosAttention instead of scaled dot-product attention (never used). */
  readonly cosAttn: boolean;
  /** Activation checkpointing (`with_cp`); memory only, no effect on weights. */
  readonly withCheckpoint: boolean;
}

export interface VitConfig extends BackboneConfig {
  readonly kind: "vit";
  /** Classifier width; 0 means the head is an Identity (no `head.*` keys). */
  readonly numClasses: number;
  /** Dropout before the head (`head_drop_rate`). */
  readonly headDropRate: number;
  /** Head weight and bias are multiplied by this after init (`--init_scale`). */
  readonly initScale: number;
  /** Mean over tokens then `fc_norm` (true for every released model); false = `norm(x[:, 0])`. */
  readonly useMeanPooling: boolean;
}

export interface DecoderFields {
  readonly decoderEmbedDim: number;
  readonly decoderDepth: number;
  readonly decoderNumHeads: number;
  /** Output width of `decoder.head`: must equal 3 · tubeletSize · patchSize² (1536 / 1176). */
  readonly decoderNumClasses: number;
  /** Per-token, per-channel normalised pixel targets (`--normlize_target`, always true). */
  readonly normalizeTarget: boolean;
}

/**
 * The pre-training model. The decoder reuses the encoder's mlpRatio, qkvBias, layerNormEps,
 * dropout and drop-path rates (as `PretrainVisionTransformer.__init__` passes them through).
 */
export interface PretrainConfig extends DecoderFields {
  readonly kind: "pretrain";
  readonly encoder: BackboneConfig;
}

export type ModelConfig = VitConfig | PretrainConfig;

/** Registry names exactly as `models/__init__.py` lists them (spec §1.1, §2.1). */
export const VIT_MODEL_NAMES = [
  "vit_small_patch16_224",
  "vit_base_patch16_224",
  "vit_large_patch16_224",
  "vit_huge_patch16_224",
  "vit_giant_patch14_224",
] as const;

export const PRETRAIN_MODEL_NAMES = [
  "pretrain_videomae_small_patch16_224",
  "pretrain_videomae_base_patch16_224",
  "pretrain_videomae_large_patch16_224",
  "pretrain_videomae_huge_patch16_224",
  "pretrain_videomae_giant_patch14_224",
] as const;

export const OFFICIAL_MODEL_NAMES = [...VIT_MODEL_NAMES, ...PRETRAIN_MODEL_NAMES] as const;

/**
 * Tiny presets for fast tests and smoke runs — not official models. 32×32 px, 4 frames,
 * tubelet 2, patch 8 → grid [2, 4, 4] = 32 tokens; width 32, depth 2, 2 heads; decoder width 16,
 * depth 1, 2 heads, output 3·2·8² = 384.
 */
export const TEST_MODEL_NAMES = ["tiny_test_vit", "tiny_test_pretrain"] as const;

export type VitModelName = (typeof VIT_MODEL_NAMES)[number] | "tiny_test_vit";
export type PretrainModelName = (typeof PRETRAIN_MODEL_NAMES)[number] | "tiny_test_pretrain";
export type ModelName = VitModelName | PretrainModelName;

export const MODEL_NAMES: readonly ModelName[] = [...OFFICIAL_MODEL_NAMES, ...TEST_MODEL_NAMES];

export type VitOverrides = Partial<Omit<VitConfig, "kind">>;
/** Backbone keys apply to the encoder; decoder keys to the decoder. */
export type PretrainOverrides = Partial<BackboneConfig> & Partial<DecoderFields>;
export type ConfigFor<N extends ModelName> = N extends VitModelName ? VitConfig : PretrainConfig;
export type OverridesFor<N extends ModelName> = N extends VitModelName ? VitOverrides : PretrainOverrides;

export { ConfigError };

// ---------------------------------------------------------------------------------------------
// Defaults and the size table

const BACKBONE_DEFAULTS: BackboneConfig = {
  imgSize: 224,
  numFrames: 16,
  tubeletSize: 2,
  patchSize: 16,
  inChans: 3,
  embedDim: 768,
  depth: 12,
  numHeads: 12,
  mlpRatio: 4,
  qkvBias: true,
  dropRate: 0,
  attnDropRate: 0,
  dropPathRate: 0,
  initValues: 0,
  layerNormEps: 1e-6,
  useLearnablePosEmb: false,
  cosAttn: false,
  withCheckpoint: false,
};

/** `run_class_finetuning.py` defaults passed into `create_model`. */
const VIT_DEFAULTS: Omit<VitConfig, keyof SizeSpec> = {
  ...BACKBONE_DEFAULTS,
  kind: "vit",
  numClasses: 400,
  dropPathRate: 0.1,
  headDropRate: 0,
  initScale: 0.001,
  useMeanPooling: true,
};

type SizeSpec = Pick<BackboneConfig, "patchSize" | "embedDim" | "depth" | "numHeads" | "mlpRatio">;

const SIZES = {
  small: { patchSize: 16, embedDim: 384, depth: 12, numHeads: 6, mlpRatio: 4 },
  base: { patchSize: 16, embedDim: 768, depth: 12, numHeads: 12, mlpRatio: 4 },
  large: { patchSize: 16, embedDim: 1024, depth: 24, numHeads: 16, mlpRatio: 4 },
  huge: { patchSize: 16, embedDim: 1280, depth: 32, numHeads: 16, mlpRatio: 4 },
  // 48/11 is kept as the float the official code uses: trunc(1408 · 48/11) = 6144.
  giant: { patchSize: 14, embedDim: 1408, depth: 40, numHeads: 16, mlpRatio: 48 / 11 },
} as const satisfies Record<string, SizeSpec>;

type SizeName = keyof typeof SIZES;

/** Decoder width/heads per size (spec §2.1); depth 4 is what every V2 script passes. */
const DECODERS: Record<SizeName, Pick<DecoderFields, "decoderEmbedDim" | "decoderNumHeads">> = {
  small: { decoderEmbedDim: 192, decoderNumHeads: 3 },
  base: { decoderEmbedDim: 384, decoderNumHeads: 6 },
  large: { decoderEmbedDim: 512, decoderNumHeads: 8 },
  huge: { decoderEmbedDim: 512, decoderNumHeads: 8 },
  giant: { decoderEmbedDim: 512, decoderNumHeads: 8 },
};

const VIT_SIZE_OF: Record<(typeof VIT_MODEL_NAMES)[number], SizeName> = {
  vit_small_patch16_224: "small",
  vit_base_patch16_224: "base",
  vit_large_patch16_224: "large",
  vit_huge_patch16_224: "huge",
  vit_giant_patch14_224: "giant",
};

const PRETRAIN_SIZE_OF: Record<(typeof PRETRAIN_MODEL_NAMES)[number], SizeName> = {
  pretrain_videomae_small_patch16_224: "small",
  pretrain_videomae_base_patch16_224: "base",
  pretrain_videomae_large_patch16_224: "large",
  pretrain_videomae_huge_patch16_224: "huge",
  pretrain_videomae_giant_patch14_224: "giant",
};

const TINY_BACKBONE: BackboneConfig = {
  ...BACKBONE_DEFAULTS,
  imgSize: 32,
  numFrames: 4,
  tubeletSize: 2,
  patchSize: 8,
  embedDim: 32,
  depth: 2,
  numHeads: 2,
  mlpRatio: 4,
};

// ---------------------------------------------------------------------------------------------
// Construction

const BACKBONE_KEYS = Object.keys(BACKBONE_DEFAULTS) as (keyof BackboneConfig)[];
const VIT_KEYS = new Set<string>([...BACKBONE_KEYS, "numClasses", "headDropRate", "initScale", "useMeanPooling"]);
const DECODER_KEYS = ["decoderEmbedDim", "decoderDepth", "decoderNumHeads", "decoderNumClasses", "normalizeTarget"];
const PRETRAIN_KEYS = new Set<string>([...BACKBONE_KEYS, ...DECODER_KEYS]);

export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

export function isVitModelName(name: string): name is VitModelName {
  return name === "tiny_test_vit" || Object.hasOwn(VIT_SIZE_OF, name);
}

/**
 * The configuration registered under `name`, with `overrides` applied and validated.
 * Returns a frozen object. Unknown names or override keys throw a ConfigError.
 */
export function createConfig<N extends ModelName>(name: N, overrides?: OverridesFor<N>): ConfigFor<N>;
export function createConfig(name: string, overrides?: Record<string, unknown>): ModelConfig;
export function createConfig(name: string, overrides: Record<string, unknown> = {}): ModelConfig {
  if (!isModelName(name)) {
    throw new ConfigError(`unknown model "${name}"; known models: ${MODEL_NAMES.join(", ")}`);
  }
  if (isVitModelName(name)) {
    const base: VitConfig =
      name === "tiny_test_vit"
        ? // Drop path 0 (unlike the fine-tune default 0.1) so tiny training-mode forwards are deterministic.
          { ...VIT_DEFAULTS, ...TINY_BACKBONE, kind: "vit", numClasses: 10, dropPathRate: 0 }
        : { ...VIT_DEFAULTS, ...SIZES[VIT_SIZE_OF[name]] };
    return withOverrides(base, overrides, name);
  }
  const encoder: BackboneConfig =
    name === "tiny_test_pretrain" ? TINY_BACKBONE : { ...BACKBONE_DEFAULTS, ...SIZES[PRETRAIN_SIZE_OF[name]] };
  const decoder: Omit<DecoderFields, "decoderNumClasses"> =
    name === "tiny_test_pretrain"
      ? { decoderEmbedDim: 16, decoderDepth: 1, decoderNumHeads: 2, normalizeTarget: true }
      : { ...DECODERS[PRETRAIN_SIZE_OF[name]], decoderDepth: 4, normalizeTarget: true };
  return withOverrides({ kind: "pretrain", encoder, ...decoder, decoderNumClasses: decoderOutput(encoder) }, overrides, name);
}

/** The tiny fine-tune preset (`tiny_test_vit`): 32 tokens, width 32, depth 2, 10 classes, drop path 0. */
export function tinyTestVitConfig(overrides: VitOverrides = {}): VitConfig {
  return createConfig("tiny_test_vit", overrides);
}

/** The tiny pre-training preset (`tiny_test_pretrain`): the tiny encoder + a 16-wide, 1-deep decoder. */
export function tinyTestPretrainConfig(overrides: PretrainOverrides = {}): PretrainConfig {
  return createConfig("tiny_test_pretrain", overrides);
}

/** The decoder's output width per token: 3 · tubelet · p² pixels. */
function decoderOutput(encoder: BackboneConfig): number {
  return 3 * encoder.tubeletSize * encoder.patchSize * encoder.patchSize;
}

/**
 * `base` with `overrides` applied, validated and frozen: the one way a model config changes
 * (`createConfig` on a registry entry, `createModel` on a config object, the run options of
 * `pretrain` / `finetune`). Undefined and null values keep the base's value; unknown keys are a
 * ConfigError naming the allowed ones. In a pre-training config, backbone keys go to the encoder,
 * decoder keys to the decoder. The official registry hard-codes decoder_num_classes (1536 /
 * 1176) and the decoder asserts it equals 3·tubelet·p²: deriving it keeps tubelet/patch overrides
 * consistent; an explicit override is still validated against the same rule.
 */
export function withOverrides<C extends ModelConfig>(base: C, overrides: Readonly<Record<string, unknown>>, label = "config"): C {
  checkOverrideKeys(overrides, base.kind === "vit" ? VIT_KEYS : PRETRAIN_KEYS, label);
  const given = Object.entries(overrides).filter(([, v]) => v !== undefined && v !== null);
  if (base.kind === "vit") {
    const cfg = { ...base, ...Object.fromEntries(given), kind: "vit" } as VitConfig;
    validateVitConfig(cfg);
    return Object.freeze(cfg) as C;
  }
  const encoder: Record<string, unknown> = { ...base.encoder };
  const decoder: Record<string, unknown> = {};
  for (const [k, v] of given) (DECODER_KEYS.includes(k) ? decoder : encoder)[k] = v;
  const enc = Object.freeze(encoder as unknown as BackboneConfig);
  const cfg = { ...base, ...decoder, encoder: enc } as PretrainConfig;
  if (decoder["decoderNumClasses"] === undefined) (cfg as { decoderNumClasses: number }).decoderNumClasses = decoderOutput(enc);
  validatePretrainConfig(cfg);
  return Object.freeze(cfg) as C;
}

function checkOverrideKeys(overrides: Record<string, unknown>, allowed: Set<string>, label: string): void {
  if (overrides === null || typeof overrides !== "object") {
    throw new ConfigError(`${label}: overrides must be an object`);
  }
  for (const k of Object.keys(overrides)) {
    if (!allowed.has(k)) {
      throw new ConfigError(`${label}: unknown config option "${k}"; allowed: ${[...allowed].join(", ")}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Validation

function fail(msg: string): never {
  throw new ConfigError(msg);
}

function checkPositiveInt(where: string, key: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) fail(`${where}.${key} must be a positive integer, got ${String(v)}`);
}

function checkRate(where: string, key: string, v: unknown): void {
  if (typeof v !== "number" || !(v >= 0 && v < 1)) fail(`${where}.${key} must be a number in [0, 1), got ${String(v)}`);
}

function checkBool(where: string, key: string, v: unknown): void {
  if (typeof v !== "boolean") fail(`${where}.${key} must be a boolean, got ${String(v)}`);
}

function checkFinite(where: string, key: string, v: unknown, min: number, strict: boolean): void {
  const ok = typeof v === "number" && Number.isFinite(v) && (strict ? v > min : v >= min);
  if (!ok) fail(`${where}.${key} must be a finite number ${strict ? ">" : ">="} ${min}, got ${String(v)}`);
}

/** Throws a ConfigError describing the first problem found. */
export function validateBackbone(cfg: BackboneConfig, where = "config"): void {
  for (const k of ["imgSize", "numFrames", "tubeletSize", "patchSize", "inChans", "embedDim", "depth", "numHeads"] as const) {
    checkPositiveInt(where, k, cfg[k]);
  }
  checkFinite(where, "mlpRatio", cfg.mlpRatio, 0, true);
  checkFinite(where, "layerNormEps", cfg.layerNormEps, 0, true);
  checkFinite(where, "initValues", cfg.initValues, 0, false);
  for (const k of ["dropRate", "attnDropRate", "dropPathRate"] as const) checkRate(where, k, cfg[k]);
  for (const k of ["qkvBias", "useLearnablePosEmb", "cosAttn", "withCheckpoint"] as const) checkBool(where, k, cfg[k]);
  if (cfg.numFrames % cfg.tubeletSize !== 0) {
    fail(`${where}: numFrames ${cfg.numFrames} is not divisible by tubeletSize ${cfg.tubeletSize}`);
  }
  if (cfg.imgSize % cfg.patchSize !== 0) {
    fail(`${where}: imgSize ${cfg.imgSize} is not divisible by patchSize ${cfg.patchSize}`);
  }
  if (cfg.embedDim % cfg.numHeads !== 0) {
    fail(`${where}: embedDim ${cfg.embedDim} is not divisible by numHeads ${cfg.numHeads}`);
  }
  if (mlpHidden(cfg.embedDim, cfg.mlpRatio) < 1) {
    fail(`${where}: mlpRatio ${cfg.mlpRatio} gives an empty MLP for embedDim ${cfg.embedDim}`);
  }
}

export function validateVitConfig(cfg: VitConfig): void {
  validateBackbone(cfg, "vit");
  if (!Number.isInteger(cfg.numClasses) || cfg.numClasses < 0) {
    fail(`vit.numClasses must be a non-negative integer (0 = no head), got ${String(cfg.numClasses)}`);
  }
  checkRate("vit", "headDropRate", cfg.headDropRate);
  checkFinite("vit", "initScale", cfg.initScale, 0, false);
  checkBool("vit", "useMeanPooling", cfg.useMeanPooling);
}

export function validatePretrainConfig(cfg: PretrainConfig): void {
  const e = cfg.encoder;
  validateBackbone(e, "pretrain.encoder");
  for (const k of ["decoderEmbedDim", "decoderDepth", "decoderNumHeads", "decoderNumClasses"] as const) {
    checkPositiveInt("pretrain", k, cfg[k]);
  }
  checkBool("pretrain", "normalizeTarget", cfg.normalizeTarget);
  if (cfg.decoderEmbedDim % cfg.decoderNumHeads !== 0) {
    fail(`pretrain: decoderEmbedDim ${cfg.decoderEmbedDim} is not divisible by decoderNumHeads ${cfg.decoderNumHeads}`);
  }
  // The reconstruction target is ImageNet-normalised RGB, so pre-training is 3-channel only.
  if (e.inChans !== 3) fail(`pretrain: inChans must be 3 (RGB pixel targets), got ${e.inChans}`);
  const want = 3 * e.tubeletSize * e.patchSize * e.patchSize;
  if (cfg.decoderNumClasses !== want) {
    fail(
      `pretrain: decoderNumClasses ${cfg.decoderNumClasses} must equal 3·tubeletSize·patchSize² = ` +
        `3·${e.tubeletSize}·${e.patchSize}² = ${want}`,
    );
  }
  if (mlpHidden(cfg.decoderEmbedDim, e.mlpRatio) < 1) {
    fail(`pretrain: mlpRatio ${e.mlpRatio} gives an empty decoder MLP for decoderEmbedDim ${cfg.decoderEmbedDim}`);
  }
}

export function validateConfig(cfg: ModelConfig): void {
  if (cfg.kind === "vit") validateVitConfig(cfg);
  else validatePretrainConfig(cfg);
}

// ---------------------------------------------------------------------------------------------
// Derived quantities

/** The backbone of either kind (the encoder for a pre-training config). */
export function backboneOf(cfg: BackboneConfig | PretrainConfig): BackboneConfig {
  return "encoder" in cfg ? cfg.encoder : cfg;
}

/** Token grid [T', h', w'] = [T / tubelet, H / p, W / p]; token n = t·h'·w' + y·w' + x. */
export function gridSize(cfg: BackboneConfig | PretrainConfig): [number, number, number] {
  const b = backboneOf(cfg);
  const side = b.imgSize / b.patchSize;
  return [b.numFrames / b.tubeletSize, side, side];
}

/** N = T'·h'·w' (1568 for p=16, 2048 for giant at 16×224²). */
export function numPatches(cfg: BackboneConfig | PretrainConfig): number {
  const [t, h, w] = gridSize(cfg);
  return t * h * w;
}

/** `int(dim * ratio)` exactly as `Block` computes it (multiply first, then truncate). */
export function mlpHidden(dim: number, ratio: number): number {
  return Math.trunc(dim * ratio);
}

export function headDim(cfg: BackboneConfig | PretrainConfig): number {
  const b = backboneOf(cfg);
  return b.embedDim / b.numHeads;
}

export function encoderMlpHidden(cfg: BackboneConfig | PretrainConfig): number {
  const b = backboneOf(cfg);
  return mlpHidden(b.embedDim, b.mlpRatio);
}

/** The decoder reuses the encoder's mlpRatio: giant → trunc(512·48/11) = 2234. */
export function decoderMlpHidden(cfg: PretrainConfig): number {
  return mlpHidden(cfg.decoderEmbedDim, cfg.encoder.mlpRatio);
}

export function decoderHeadDim(cfg: PretrainConfig): number {
  return cfg.decoderEmbedDim / cfg.decoderNumHeads;
}

/** Pixels·channels per token = 3·tubelet·p² (the decoder output width / target width). */
export function patchVolume(cfg: BackboneConfig | PretrainConfig): number {
  const b = backboneOf(cfg);
  return b.inChans * b.tubeletSize * b.patchSize * b.patchSize;
}
