/**
 * The pre-training model, `PretrainVisionTransformer` of `models/modeling_pretrain.py`
 * (spec §2.1, §2.2, §1.5, §6.3). Masks are (B, N) row-major Uint8Arrays, 1 = removed.
 *
 *   encoder            patch-embed all N tokens, + encoder table, keep the M_e = 0 tokens
 *                      (ascending index), blocks, `norm`                        → [B, N_vis, D]
 *   encoder_to_decoder Linear D → D_dec, no bias                                → [B, N_vis, D_dec]
 *   decoder input      [visible + their decoder-table rows ;
 *                       mask_token + decoder-table rows of every M_d = 0 position]
 *                                                                               → [B, N_vis + N_keep, D_dec]
 *   decoder            blocks, then `norm` + `head` on the last N_keep slots     → [B, N_keep, 3·tubelet·p²]
 *
 * The decoder-kept set includes positions the encoder saw. Without a decoder mask (V1) it is the
 * encoder-masked set. Output rows are in ascending token order of the decoder-kept positions.
 */
import { keptIndices } from "../masking/indices.ts";
import { init, LayerNorm, Linear, Module } from "../nn/index.ts";
import { cat, tidy, zeros, type Tensor } from "../torch/index.ts";
import { numPatches, type BackboneConfig, type PretrainConfig } from "./config.ts";
import {
  Block,
  ModelInputError,
  PatchEmbed,
  gatherTokens,
  indexTensor,
  initWeights,
  learnablePosEmbed,
  makeBlocks,
  posFor,
  sinusoidTensor,
  type ModelOptions,
} from "./blocks.ts";

/**
 * Encoder over the visible tokens; `head` is an Identity (num_classes 0), so no head keys. Unlike
 * the fine-tune model it has no `pos_drop` (the official encoder goes straight from the position
 * add to the gather); `drop_rate` still acts inside the blocks.
 */
export class PretrainVisionTransformerEncoder extends Module {
  readonly config: BackboneConfig;
  readonly numTokens: number;
  /** [1, N, D] fixed sinusoid table (non-persistent), or a learnable parameter if configured. */
  readonly pos_embed: Tensor;
  readonly patch_embed: PatchEmbed;
  readonly blocks: Block[];
  readonly norm: LayerNorm;

  constructor(cfg: BackboneConfig, opts: ModelOptions = {}) {
    super();
    this.config = cfg;
    this.numTokens = numPatches(cfg);
    this.pos_embed = cfg.useLearnablePosEmb
      ? this.param("pos_embed", learnablePosEmbed(this.numTokens, cfg.embedDim, opts.generator))
      : this.buffer("pos_embed", sinusoidTensor(this.numTokens, cfg.embedDim), false);
    this.patch_embed = new PatchEmbed(cfg, opts);
    this.blocks = makeBlocks(cfg, { dim: cfg.embedDim, depth: cfg.depth, numHeads: cfg.numHeads }, opts);
    this.norm = new LayerNorm(cfg.embedDim, cfg.layerNormEps);
    initWeights(this, "xavier", opts.generator);
  }

  /** (B, C, T, H, W) and visible-token indices [B, N_vis] (int64, ascending) → [B, N_vis, D]. */
  forward(x: Tensor, visible: Tensor): Tensor {
    return tidy(() => {
      // Official: embed all N tokens, add the position table, keep the visible ones. Embedding only
      // the visible ones and adding their rows of the table gives the same numbers, ~10× cheaper.
      let h = this.patch_embed.forwardTokens(x, visible); // [B, N_vis, D]
      h = h.add(gatherTokens(posFor(this.pos_embed, h).detach(), visible)); // [B, N_vis, D] (official: `.clone().detach()`)
      for (const blk of this.blocks) h = blk.forward(h); // [B, N_vis, D]
      return this.norm.forward(h); // [B, N_vis, D]
    });
  }
}

/** Decoder blocks; `norm` and `head` are applied only to the last `returnTokenNum` slots. */
export class PretrainVisionTransformerDecoder extends Module {
  readonly blocks: Block[];
  readonly norm: LayerNorm;
  readonly head: Linear;

  constructor(cfg: PretrainConfig, opts: ModelOptions = {}) {
    super();
    const dim = cfg.decoderEmbedDim;
    // The decoder reuses the encoder's mlp ratio, qkv bias, eps, dropout and drop_path_rate (its
    // own schedule linspace(0, rate, decoderDepth)), as PretrainVisionTransformer passes them on.
    this.blocks = makeBlocks(cfg.encoder, { dim, depth: cfg.decoderDepth, numHeads: cfg.decoderNumHeads }, opts);
    this.norm = new LayerNorm(dim, cfg.encoder.layerNormEps);
    this.head = new Linear(dim, cfg.decoderNumClasses, { generator: opts.generator });
    initWeights(this, "xavier", opts.generator);
  }

  /** [B, L, D_dec] → [B, k, out] for the last k = returnTokenNum tokens (all of them if k ≤ 0). */
  forward(x: Tensor, returnTokenNum: number): Tensor {
    return tidy(() => {
      let h = x;
      for (const blk of this.blocks) h = blk.forward(h); // [B, L, D_dec]
      const L = h.shape[1]!;
      if (returnTokenNum > 0) h = h.narrow(1, L - returnTokenNum, returnTokenNum); // [B, k, D_dec]
      return this.head.forward(this.norm.forward(h)); // [B, k, out]
    });
  }
}

/** Gather indices for one forward pass (ascending token order within each sample). */
export interface TokenSelection {
  /** [B, N_vis] int64: encoder-visible positions (M_e = 0). */
  readonly visible: Tensor;
  /** [B, N_keep] int64: decoder-kept positions (M_d = 0), i.e. the mask-token slots. */
  readonly decoderKept: Tensor;
}

export class PretrainVisionTransformer extends Module {
  readonly config: PretrainConfig;
  readonly numTokens: number;
  /** [1, 1, D_dec], trunc-normal std 0.02 truncated at ±0.02. */
  readonly mask_token: Tensor;
  readonly encoder: PretrainVisionTransformerEncoder;
  readonly decoder: PretrainVisionTransformerDecoder;
  /** Keeps PyTorch's default Linear init (the wrapper's `_init_weights` is never applied). */
  readonly encoder_to_decoder: Linear;
  /** [1, N, D_dec] decoder sinusoid table (non-persistent buffer). */
  readonly pos_embed: Tensor;

  constructor(cfg: PretrainConfig, opts: ModelOptions = {}) {
    super();
    this.config = cfg;
    this.numTokens = numPatches(cfg);
    const Dd = cfg.decoderEmbedDim;
    this.mask_token = this.param("mask_token", init.truncNormal(zeros([1, 1, Dd]), 0.02, -0.02, 0.02, 0, opts.generator));
    this.encoder = new PretrainVisionTransformerEncoder(cfg.encoder, opts);
    this.decoder = new PretrainVisionTransformerDecoder(cfg, opts);
    this.encoder_to_decoder = new Linear(cfg.encoder.embedDim, Dd, { bias: false, generator: opts.generator });
    this.pos_embed = this.buffer("pos_embed", sinusoidTensor(this.numTokens, Dd), false);
  }

  static fromConfig(cfg: PretrainConfig, opts: ModelOptions = {}): PretrainVisionTransformer {
    return new PretrainVisionTransformer(cfg, opts);
  }

  /**
   * Index tensors for the given masks. `decoderMask` undefined = V1 (no decoder masking): the
   * decoder reconstructs exactly the encoder-masked tokens.
   */
  selectTokens(batchSize: number, encoderMask: Uint8Array, decoderMask?: Uint8Array): TokenSelection {
    const n = batchSize * this.numTokens;
    for (const [what, m] of [["encoder", encoderMask], ["decoder", decoderMask]] as const) {
      if (m !== undefined && m.length !== n) {
        throw new ModelInputError(
          `PretrainVisionTransformer: ${what} mask has ${m.length} entries, expected B·N = ${batchSize}·${this.numTokens} = ${n}`,
        );
      }
    }
    const vis = keptIndices(encoderMask, batchSize);
    if (vis.perSample === 0) throw new ModelInputError("PretrainVisionTransformer: the encoder mask hides every token");
    const keep = keptIndices(decoderMask ?? encoderMask.map((v) => 1 - v), batchSize);
    if (keep.perSample === 0) throw new ModelInputError("PretrainVisionTransformer: the decoder mask keeps no token");
    return {
      visible: indexTensor(vis.indices, batchSize, vis.perSample),
      decoderKept: indexTensor(keep.indices, batchSize, keep.perSample),
    };
  }

  /** Encoder features of the visible tokens: [B, N_vis, D] (after `encoder.norm`). */
  forwardEncoder(x: Tensor, encoderMask: Uint8Array): Tensor {
    return tidy(() => {
      this.encoder.patch_embed.checkInput(x);
      const { visible } = this.selectTokens(x.shape[0]!, encoderMask);
      return this.encoder.forward(x, visible);
    });
  }

  /**
   * Predicted target pixels for every decoder-kept position: [B, N_keep, 3·tubelet·p²]
   * (channel-fastest per-patch layout, see loss.ts).
   */
  forward(x: Tensor, encoderMask: Uint8Array, decoderMask?: Uint8Array): Tensor {
    return tidy(() => {
      this.encoder.patch_embed.checkInput(x);
      const sel = this.selectTokens(x.shape[0]!, encoderMask, decoderMask);
      return this.forwardSelected(x, sel);
    });
  }

  /** `forward` with precomputed index tensors. */
  forwardSelected(x: Tensor, sel: TokenSelection): Tensor {
    return tidy(() => {
      const xVis = this.encoder_to_decoder.forward(this.encoder.forward(x, sel.visible)); // [B, N_vis, D_dec]
      const pos = posFor(this.pos_embed, xVis); // [1, N, D_dec]
      const posVis = gatherTokens(pos, sel.visible); // [B, N_vis, D_dec]
      const posKept = gatherTokens(pos, sel.decoderKept); // [B, N_keep, D_dec]
      const full = cat([xVis.add(posVis), this.mask_token.add(posKept)], 1); // [B, N_vis + N_keep, D_dec]
      return this.decoder.forward(full, posKept.shape[1]!); // [B, N_keep, out]
    });
  }
}
