/**
 * The fine-tune / inference model, `VisionTransformer` of `models/modeling_finetune.py`
 * (spec §1.2, §1.5, §6.2):
 *
 *   video (B, C, T, H, W), ImageNet-normalised
 *     → patch_embed            Conv3d (tubelet, p, p) → (B, N, D), token n = t·h'·w' + y·w' + x
 *     → + sinusoid table       fixed 1-D table over the N tokens (not in the state dict)
 *     → pos_drop → blocks      depth pre-norm blocks, drop path linspace(0, rate, depth)
 *     → mean over tokens → fc_norm            (no CLS token)
 *     → head_dropout → head    Linear D → classes (Identity when numClasses = 0)
 *
 * State-dict keys are exactly the official ones (`stateDictShapes`): 13·depth + 6 for a model with
 * a head.
 */
import { Dropout, LayerNorm, Linear, Module } from "../nn/index.ts";
import { tidy, type Tensor } from "../torch/index.ts";
import { numPatches, type VitConfig } from "./config.ts";
import {
  Block,
  PatchEmbed,
  initWeights,
  learnablePosEmbed,
  makeBlocks,
  posFor,
  scaleInPlace,
  sinusoidTensor,
  type ModelOptions,
} from "./blocks.ts";

export class VisionTransformer extends Module {
  readonly config: VitConfig;
  readonly numTokens: number;
  /** [1, N, D]: the fixed sinusoid table (non-persistent buffer) or, if configured, a learnable parameter. */
  readonly pos_embed: Tensor;
  readonly patch_embed: PatchEmbed;
  readonly pos_drop: Dropout;
  readonly blocks: Block[];
  /** Only without mean pooling (then applied to token 0 — the first patch; there is no CLS token). */
  readonly norm: LayerNorm | null;
  /** With mean pooling (every released model): LayerNorm after the token mean. */
  readonly fc_norm: LayerNorm | null;
  readonly head_dropout: Dropout;
  /** null = Identity (numClasses 0): `forward` returns the pooled features. */
  readonly head: Linear | null;

  constructor(cfg: VitConfig, opts: ModelOptions = {}) {
    super();
    this.config = cfg;
    const D = cfg.embedDim;
    this.numTokens = numPatches(cfg);
    this.pos_embed = cfg.useLearnablePosEmb
      ? this.param("pos_embed", learnablePosEmbed(this.numTokens, D, opts.generator))
      : this.buffer("pos_embed", sinusoidTensor(this.numTokens, D), false);
    this.patch_embed = new PatchEmbed(cfg, opts);
    this.pos_drop = new Dropout(cfg.dropRate, opts.dropGenerator);
    this.blocks = makeBlocks(cfg, { dim: D, depth: cfg.depth, numHeads: cfg.numHeads }, opts);
    this.norm = cfg.useMeanPooling ? null : new LayerNorm(D, cfg.layerNormEps);
    this.fc_norm = cfg.useMeanPooling ? new LayerNorm(D, cfg.layerNormEps) : null;
    this.head_dropout = new Dropout(cfg.headDropRate, opts.dropGenerator);
    this.head = cfg.numClasses > 0 ? new Linear(D, cfg.numClasses, { generator: opts.generator }) : null;

    // `self.apply(self._init_weights)` (trunc-normal 0.02 Linears, LN 1/0; the Conv3d keeps
    // PyTorch's default), then the head is scaled by init_scale (0.001 in the fine-tune script).
    initWeights(this, "truncNormal", opts.generator);
    if (this.head) {
      scaleInPlace(this.head.weight, cfg.initScale);
      scaleInPlace(this.head.bias!, cfg.initScale);
    }
  }

  static fromConfig(cfg: VitConfig, opts: ModelOptions = {}): VisionTransformer {
    return new VisionTransformer(cfg, opts);
  }

  /** Token features after the last block: (B, C, T, H, W) → [B, N, D]. */
  forwardTokens(x: Tensor): Tensor {
    return tidy(() => {
      let h = this.patch_embed.forward(x); // [B, N, D]
      // The official code adds `pos_embed...clone().detach()`: even a learnable table gets no
      // gradient through this path (a quirk of the never-used learnable option, kept as is).
      h = h.add(posFor(this.pos_embed, h).detach()); // [B, N, D]
      h = this.pos_drop.forward(h);
      for (const blk of this.blocks) h = blk.forward(h); // [B, N, D]
      return h;
    });
  }

  /** Pooled, normalised clip features: (B, C, T, H, W) → [B, D]. */
  forwardFeatures(x: Tensor): Tensor {
    return tidy(() => {
      const h = this.forwardTokens(x); // [B, N, D]
      if (this.fc_norm) return this.fc_norm.forward(h.mean(1)); // [B, D]
      return this.norm!.forward(h.select(1, 0)); // [B, D]
    });
  }

  /** Class logits [B, numClasses], or the features [B, D] when the head is an Identity. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const f = this.head_dropout.forward(this.forwardFeatures(x)); // [B, D]
      return this.head ? this.head.forward(f) : f; // [B, classes]
    });
  }
}
