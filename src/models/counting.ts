/**
 * State-dict layout, parameter counts and multiply-accumulate counts for every configuration —
 * pure arithmetic on the config, no tensors.
 *
 * `stateDictShapes` lists the tensors of the official PyTorch modules in `state_dict()` order
 * (a module's own parameters first, then its children in registration order), with exactly the
 * key names of spec §6.2 / §6.3. Parameter counts are sums over that list: every entry is a
 * trainable parameter (the sinusoid tables are plain attributes, not buffers, and never saved).
 *
 * MAC formula (multiply-accumulates; papers call these "FLOPs"). For a block over n tokens of
 * width D with MLP hidden h:
 *
 *   block(n, D, h) = n·3D²      qkv projection
 *                  + n·D²       attention output proj
 *                  + n·D·h      fc1
 *                  + n·h·D      fc2
 *                  + n²·D       Q·Kᵀ over all heads (heads · n · n · head_dim)
 *                  + n²·D       attn · V
 *
 *   patch embed    = N · D · (C · tubelet · p²)     Conv3d as a matmul over every one of the N tokens
 *
 *   inference      = patch embed + depth · block(N, D, h) + D · classes (head, once per clip)
 *   pre-training   = patch embed over all N tokens (the encoder embeds, then drops the masked ones)
 *                  + depth · block(N_vis, D, h)
 *                  + N_vis · D · D_dec                       encoder_to_decoder (no bias)
 *                  + dec_depth · block(N_vis + N_keep, D_dec, h_dec)
 *                  + N_keep · D_dec · 3·tubelet·p²           decoder head, mask-token slots only
 *
 * Not counted: biases, LayerNorm, softmax, GELU, the q·scale multiply, position-table adds, mean
 * pooling. With this formula every figure in the spec comes out at its stated precision:
 * S 56.9, B 180.3, L 596.8, H 1191.0, g 2542.8 GMACs per 16×224² view; ViT-B pre-training 35.44 G
 * (decoder sequence 1568) and 25.84 G (running cell 0.5, sequence 944); and 24.78 G for the
 * rejected variant with mask tokens only at encoder-invisible kept positions (N_keep = 704).
 */
import { DualMaskGenerator, type DualMaskCounts } from "../masking/dual.ts";
import {
  ConfigError,
  createConfig,
  decoderHeadDim,
  decoderMlpHidden,
  encoderMlpHidden,
  gridSize,
  headDim,
  numPatches,
  type BackboneConfig,
  type ModelConfig,
  type PretrainConfig,
  type VitConfig,
} from "./config.ts";

export type Shape = readonly number[];
export type StateDictEntry = readonly [key: string, shape: Shape];

// ---------------------------------------------------------------------------------------------
// State-dict layout

function patchEmbedEntries(prefix: string, b: BackboneConfig): StateDictEntry[] {
  return [
    [`${prefix}patch_embed.proj.weight`, [b.embedDim, b.inChans, b.tubeletSize, b.patchSize, b.patchSize]],
    [`${prefix}patch_embed.proj.bias`, [b.embedDim]],
  ];
}

/**
 * One `Block`: own parameters (gamma_1/gamma_2 when layer scale is on) come first, then norm1,
 * attn (own: [CosAttention `scale`], q_bias, v_bias; children: qkv, proj), norm2, mlp.
 * 13 keys for every released model.
 */
function blockEntries(prefix: string, dim: number, heads: number, hidden: number, b: BackboneConfig): StateDictEntry[] {
  const e: StateDictEntry[] = [];
  if (b.initValues > 0) e.push([`${prefix}gamma_1`, [dim]], [`${prefix}gamma_2`, [dim]]);
  e.push([`${prefix}norm1.weight`, [dim]], [`${prefix}norm1.bias`, [dim]]);
  // CosAttention registers `scale` before qkv/q_bias (models/modeling_finetune.py); most likely
  // ordering, never exercised by a released checkpoint.
  if (b.cosAttn) e.push([`${prefix}attn.scale`, [heads, 1, 1]]);
  if (b.qkvBias) e.push([`${prefix}attn.q_bias`, [dim]], [`${prefix}attn.v_bias`, [dim]]);
  e.push(
    [`${prefix}attn.qkv.weight`, [3 * dim, dim]],
    [`${prefix}attn.proj.weight`, [dim, dim]],
    [`${prefix}attn.proj.bias`, [dim]],
    [`${prefix}norm2.weight`, [dim]],
    [`${prefix}norm2.bias`, [dim]],
    [`${prefix}mlp.fc1.weight`, [hidden, dim]],
    [`${prefix}mlp.fc1.bias`, [hidden]],
    [`${prefix}mlp.fc2.weight`, [dim, hidden]],
    [`${prefix}mlp.fc2.bias`, [dim]],
  );
  return e;
}

function layerNormEntries(prefix: string, dim: number): StateDictEntry[] {
  return [
    [`${prefix}weight`, [dim]],
    [`${prefix}bias`, [dim]],
  ];
}

function vitEntries(cfg: VitConfig): StateDictEntry[] {
  const D = cfg.embedDim;
  const e: StateDictEntry[] = [];
  if (cfg.useLearnablePosEmb) e.push(["pos_embed", [1, numPatches(cfg), D]]);
  e.push(...patchEmbedEntries("", cfg));
  const hidden = encoderMlpHidden(cfg);
  for (let i = 0; i < cfg.depth; i++) e.push(...blockEntries(`blocks.${i}.`, D, cfg.numHeads, hidden, cfg));
  // Mean pooling: `norm` is an Identity and `fc_norm` a LayerNorm; otherwise the reverse.
  e.push(...layerNormEntries(cfg.useMeanPooling ? "fc_norm." : "norm.", D));
  if (cfg.numClasses > 0) e.push(["head.weight", [cfg.numClasses, D]], ["head.bias", [cfg.numClasses]]);
  return e;
}

function pretrainEntries(cfg: PretrainConfig): StateDictEntry[] {
  const enc = cfg.encoder;
  const D = enc.embedDim;
  const Dd = cfg.decoderEmbedDim;
  // PretrainVisionTransformer: own parameter mask_token, then children encoder, decoder,
  // encoder_to_decoder (in __init__ order).
  const e: StateDictEntry[] = [["mask_token", [1, 1, Dd]]];
  if (enc.useLearnablePosEmb) e.push(["encoder.pos_embed", [1, numPatches(cfg), D]]);
  e.push(...patchEmbedEntries("encoder.", enc));
  const hidden = encoderMlpHidden(enc);
  for (let i = 0; i < enc.depth; i++) e.push(...blockEntries(`encoder.blocks.${i}.`, D, enc.numHeads, hidden, enc));
  e.push(...layerNormEntries("encoder.norm.", D)); // encoder.head is an Identity (num_classes 0)
  const dHidden = decoderMlpHidden(cfg);
  for (let i = 0; i < cfg.decoderDepth; i++) {
    e.push(...blockEntries(`decoder.blocks.${i}.`, Dd, cfg.decoderNumHeads, dHidden, enc));
  }
  e.push(...layerNormEntries("decoder.norm.", Dd));
  e.push(["decoder.head.weight", [cfg.decoderNumClasses, Dd]], ["decoder.head.bias", [cfg.decoderNumClasses]]);
  e.push(["encoder_to_decoder.weight", [Dd, D]]);
  return e;
}

/**
 * Every state-dict tensor of the model as [key, shape], in PyTorch `state_dict()` order.
 * Released models: 13·depth + 6 keys (fine-tune, with head) or 13·depth + 62 (pre-training,
 * 4 decoder blocks).
 */
export function stateDictShapes(cfg: ModelConfig): StateDictEntry[] {
  return cfg.kind === "vit" ? vitEntries(cfg) : pretrainEntries(cfg);
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function sumEntries(entries: readonly StateDictEntry[], keep: (key: string) => boolean = () => true): number {
  let n = 0;
  for (const [k, s] of entries) if (keep(k)) n += numel(s);
  return n;
}

export interface ParamCounts {
  /** Every parameter. */
  readonly total: number;
  /** Without the classifier (`head.*`) or, for pre-training, without `decoder.head.*`. */
  readonly withoutHead: number;
  /** The part a fine-tuning load keeps: everything but `head.*`, or the `encoder.*` tensors. */
  readonly encoder: number;
  readonly stateDictKeys: number;
}

export function countParams(cfg: ModelConfig): ParamCounts {
  const e = stateDictShapes(cfg);
  const headPrefix = cfg.kind === "vit" ? "head." : "decoder.head.";
  return {
    total: sumEntries(e),
    withoutHead: sumEntries(e, (k) => !k.startsWith(headPrefix)),
    encoder: cfg.kind === "vit" ? sumEntries(e, (k) => !k.startsWith("head.")) : sumEntries(e, (k) => k.startsWith("encoder.")),
    stateDictKeys: e.length,
  };
}

// ---------------------------------------------------------------------------------------------
// Multiply-accumulates

/** MACs of one transformer block over n tokens (see the formula at the top of the file). */
export function blockMacs(n: number, dim: number, hidden: number): number {
  return n * (4 * dim * dim + 2 * dim * hidden) + 2 * n * n * dim;
}

/** Conv3d patch embedding as a (N × C·tubelet·p²) · (C·tubelet·p² × D) matmul. */
export function patchEmbedMacs(b: BackboneConfig): number {
  return numPatches(b) * b.embedDim * b.inChans * b.tubeletSize * b.patchSize * b.patchSize;
}

export interface MacBreakdown {
  readonly patchEmbed: number;
  readonly encoderBlocks: number;
  /** Pre-training only (0 otherwise). */
  readonly encoderToDecoder: number;
  readonly decoderBlocks: number;
  readonly decoderHead: number;
  /** Fine-tune classifier (0 for pre-training). */
  readonly head: number;
  readonly total: number;
}

/** Per-view MACs of the fine-tune / inference model over all N tokens. */
export function inferenceMacs(cfg: VitConfig): MacBreakdown {
  const patchEmbed = patchEmbedMacs(cfg);
  const encoderBlocks = cfg.depth * blockMacs(numPatches(cfg), cfg.embedDim, encoderMlpHidden(cfg));
  const head = cfg.embedDim * cfg.numClasses;
  return {
    patchEmbed,
    encoderBlocks,
    encoderToDecoder: 0,
    decoderBlocks: 0,
    decoderHead: 0,
    head,
    total: patchEmbed + encoderBlocks + head,
  };
}

/** Per-clip MACs of one pre-training forward pass for the given per-sample token counts. */
export function pretrainMacs(cfg: PretrainConfig, counts: Pick<DualMaskCounts, "numVisible" | "numDecoderKept">): MacBreakdown {
  const enc = cfg.encoder;
  const { numVisible, numDecoderKept } = counts;
  const patchEmbed = patchEmbedMacs(enc);
  const encoderBlocks = enc.depth * blockMacs(numVisible, enc.embedDim, encoderMlpHidden(enc));
  const encoderToDecoder = numVisible * enc.embedDim * cfg.decoderEmbedDim;
  const decoderBlocks = cfg.decoderDepth * blockMacs(numVisible + numDecoderKept, cfg.decoderEmbedDim, decoderMlpHidden(cfg));
  const decoderHead = numDecoderKept * cfg.decoderEmbedDim * cfg.decoderNumClasses;
  return {
    patchEmbed,
    encoderBlocks,
    encoderToDecoder,
    decoderBlocks,
    decoderHead,
    head: 0,
    total: patchEmbed + encoderBlocks + encoderToDecoder + decoderBlocks + decoderHead,
  };
}

// ---------------------------------------------------------------------------------------------
// Report for `videomae info`

export interface ReportOptions {
  /** Encoder tube-mask ratio for pre-training configs (default 0.9, every V2 script). */
  readonly encoderRatio?: number;
  /** Running-cell ratio (default 0.5); 0 selects the V1 mode (decoder = complement of encoder mask). */
  readonly decoderRatio?: number;
}

export interface TowerSummary {
  readonly embedDim: number;
  readonly depth: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly mlpHidden: number;
}

export interface ModelReport {
  readonly name: string | null;
  readonly kind: "vit" | "pretrain";
  readonly config: ModelConfig;
  /** [T', h', w']. */
  readonly grid: readonly [number, number, number];
  readonly numTokens: number;
  readonly encoder: TowerSummary;
  readonly decoder: (TowerSummary & { readonly outDim: number }) | null;
  readonly params: number;
  readonly paramsWithoutHead: number;
  readonly encoderParams: number;
  readonly stateDictKeys: number;
  /** Pre-training masking the counts below assume; null for the inference model. */
  readonly masking: { readonly encoder: "tube"; readonly encoderRatio: number; readonly decoder: "run_cell" | "none"; readonly decoderRatio: number } | null;
  /** Tokens the encoder processes: N (inference) or N_vis (pre-training). */
  readonly encoderSeqLen: number;
  readonly decoderSeqLen: number | null;
  readonly numDecoderKept: number | null;
  /** Loss tokens per clip when fixed by the mask structure, else null. */
  readonly lossTokensPerSample: number | null;
  readonly macs: MacBreakdown;
  /** macs.total / 1e9, unrounded. */
  readonly gmacs: number;
}

/** Everything `videomae info --model NAME [--json]` prints. */
export function modelReport(model: string | ModelConfig, options: ReportOptions = {}): ModelReport {
  const name = typeof model === "string" ? model : null;
  const cfg = typeof model === "string" ? createConfig(model) : model;
  const p = countParams(cfg);
  const enc = cfg.kind === "vit" ? cfg : cfg.encoder;
  const encoder: TowerSummary = {
    embedDim: enc.embedDim,
    depth: enc.depth,
    numHeads: enc.numHeads,
    headDim: headDim(enc),
    mlpHidden: encoderMlpHidden(enc),
  };
  const common = {
    name,
    kind: cfg.kind,
    config: cfg,
    grid: gridSize(enc),
    numTokens: numPatches(enc),
    encoder,
    params: p.total,
    paramsWithoutHead: p.withoutHead,
    encoderParams: p.encoder,
    stateDictKeys: p.stateDictKeys,
  };
  if (cfg.kind === "vit") {
    const macs = inferenceMacs(cfg);
    return {
      ...common,
      decoder: null,
      masking: null,
      encoderSeqLen: common.numTokens,
      decoderSeqLen: null,
      numDecoderKept: null,
      lossTokensPerSample: null,
      macs,
      gmacs: macs.total / 1e9,
    };
  }
  const encoderRatio = options.encoderRatio ?? 0.9;
  const decoderRatio = options.decoderRatio ?? 0.5;
  if (!(decoderRatio >= 0)) throw new ConfigError(`decoderRatio must be >= 0, got ${decoderRatio}`);
  const decoderType = decoderRatio > 0 ? "run_cell" : "none";
  const masks = new DualMaskGenerator({
    window: common.grid,
    encoder: "tube",
    encoderRatio,
    decoder: decoderType,
    ...(decoderRatio > 0 ? { decoderRatio } : {}),
  });
  const counts = masks.counts;
  const macs = pretrainMacs(cfg, counts);
  return {
    ...common,
    decoder: {
      embedDim: cfg.decoderEmbedDim,
      depth: cfg.decoderDepth,
      numHeads: cfg.decoderNumHeads,
      headDim: decoderHeadDim(cfg),
      mlpHidden: decoderMlpHidden(cfg),
      outDim: cfg.decoderNumClasses,
    },
    masking: { encoder: "tube", encoderRatio, decoder: decoderType, decoderRatio },
    encoderSeqLen: counts.numVisible,
    decoderSeqLen: counts.decoderSeqLen,
    numDecoderKept: counts.numDecoderKept,
    lossTokensPerSample: counts.lossTokensPerSample,
    macs,
    gmacs: macs.total / 1e9,
  };
}

const int = (n: number) => n.toLocaleString("en-US");
/** Enough digits to be informative for tiny test models as well as for ViT-g. */
const gmacsText = (g: number, digits: number) => (g >= 1 ? g.toFixed(digits) : g.toPrecision(3));

/** Human-readable multi-line summary of a report (the non-JSON form of `videomae info`). */
export function formatModelReport(r: ModelReport): string {
  const b = r.kind === "vit" ? (r.config as VitConfig) : (r.config as PretrainConfig).encoder;
  const lines = [
    `model            ${r.name ?? "(custom config)"} (${r.kind === "vit" ? "fine-tune / inference" : "pre-training"})`,
    `input            ${b.inChans}×${b.numFrames}×${b.imgSize}×${b.imgSize}, patch ${b.tubeletSize}×${b.patchSize}×${b.patchSize}`,
    `tokens           ${r.numTokens} (${r.grid.join("×")})`,
    `encoder          D ${r.encoder.embedDim}, depth ${r.encoder.depth}, heads ${r.encoder.numHeads} (dim ${r.encoder.headDim}), MLP ${r.encoder.mlpHidden}`,
  ];
  if (r.decoder) {
    const d = r.decoder;
    lines.push(`decoder          D ${d.embedDim}, depth ${d.depth}, heads ${d.numHeads} (dim ${d.headDim}), MLP ${d.mlpHidden}, out ${d.outDim}`);
  } else {
    const classes = (r.config as VitConfig).numClasses;
    lines.push(`head             ${classes > 0 ? `${classes} classes` : "none (numClasses 0: features only)"}`);
  }
  lines.push(
    `parameters       ${int(r.params)} (without head ${int(r.paramsWithoutHead)}; ${r.stateDictKeys} state-dict tensors)`,
  );
  if (r.masking) {
    const m = r.masking;
    lines.push(
      `masking          tube ${m.encoderRatio}, decoder ${m.decoder === "none" ? "none (V1: complement)" : `run_cell ${m.decoderRatio}`}`,
      `sequence         encoder ${r.encoderSeqLen}, decoder ${r.decoderSeqLen} (${r.numDecoderKept} mask tokens), loss tokens ${r.lossTokensPerSample ?? "varies"}`,
      `GMACs per clip   ${gmacsText(r.gmacs, 2)}`,
    );
  } else {
    lines.push(`GMACs per view   ${gmacsText(r.gmacs, 1)}`);
  }
  return lines.join("\n");
}
