/**
 * The building blocks shared by the fine-tune ViT and the pre-training encoder/decoder
 * (spec §1.2–§1.5, `models/modeling_finetune.py`): `PatchEmbed`, `Attention` (with the
 * q_bias / v_bias scheme, and the unused `CosAttention` variant), `Mlp`, `Block`, plus the fixed
 * sinusoid table as a tensor, the stochastic-depth schedule, the two weight-init schemes and the
 * token gather the pre-training model uses in place of boolean indexing.
 *
 * Property names are the official attribute names, so state-dict keys come out as
 * `patch_embed.proj.weight`, `blocks.0.attn.q_bias`, `blocks.0.mlp.fc1.bias`, ….
 */
import { checkpointModules, Conv3d, DropPath, Dropout, GELU, LayerNorm, Linear, Module, init } from "../nn/index.ts";
import { F, cat, full, linspace, noGrad, tensor, tidy, zeros, type GeneratorLike, type Tensor } from "../torch/index.ts";
import { gridSize, mlpHidden, type BackboneConfig } from "./config.ts";
import { sinusoidTable } from "./position.ts";

/** A forward pass got a tensor (or mask) of the wrong shape; the message names expected vs got. */
export class ModelInputError extends Error {
  override name = "ModelInputError";
}

/** Randomness sources of a model. Both default to libtorch's global generator (`manualSeed`). */
export interface ModelOptions {
  /** Draws the initial weights. */
  readonly generator?: GeneratorLike;
  /** Draws dropout and drop-path masks in training mode. */
  readonly dropGenerator?: GeneratorLike;
  /**
   * Use the addon's fused attention kernel (`F.packedAttention`: no N×N score matrix in memory)
   * whenever no attention dropout is active; default true. false = the plain composition
   * softmax(q·scale·Kᵀ)·V exactly as the official code writes it. Both agree to float rounding.
   */
  readonly fusedAttention?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Patch embedding

/**
 * Conv3d with kernel = stride = (tubelet, p, p) and bias: (B, C, T, H, W) → (B, N, D) with
 * token n = t·h'·w' + y·w' + x. The official module asserts H and W; T is not checked there, but
 * a wrong frame count only fails later against the position table, so it is checked here too.
 */
export class PatchEmbed extends Module {
  readonly proj: Conv3d;
  /** [T', h', w']. */
  readonly grid: readonly [number, number, number];
  readonly numPatches: number;

  constructor(
    readonly cfg: BackboneConfig,
    opts: ModelOptions = {},
  ) {
    super();
    const { tubeletSize: t, patchSize: p } = cfg;
    this.proj = new Conv3d(cfg.inChans, cfg.embedDim, [t, p, p], { stride: [t, p, p], bias: true, generator: opts.generator });
    this.grid = gridSize(cfg);
    this.numPatches = this.grid[0] * this.grid[1] * this.grid[2];
  }

  /** Throws a ModelInputError unless x is (B, inChans, numFrames, imgSize, imgSize). */
  checkInput(x: Tensor): void {
    const c = this.cfg;
    const s = x.shape;
    const want = `(B, ${c.inChans}, ${c.numFrames}, ${c.imgSize}, ${c.imgSize})`;
    if (s.length !== 5) {
      throw new ModelInputError(`PatchEmbed: expected a 5-D video tensor ${want} (B, C, T, H, W), got [${s.join(", ")}]`);
    }
    const [, C, T, H, W] = s as [number, number, number, number, number];
    if (H !== c.imgSize || W !== c.imgSize) {
      throw new ModelInputError(`PatchEmbed: input size (${H}*${W}) doesn't match model (${c.imgSize}*${c.imgSize})`);
    }
    if (C !== c.inChans) throw new ModelInputError(`PatchEmbed: expected ${c.inChans} channels, got ${C} (input [${s.join(", ")}])`);
    if (T !== c.numFrames) {
      throw new ModelInputError(
        `PatchEmbed: expected ${c.numFrames} frames (the position table has ${this.numPatches} rows), got ${T}; ` +
          `build the model with numFrames ${T} to regenerate the table`,
      );
    }
  }

  forward(x: Tensor): Tensor {
    this.checkInput(x);
    return tidy(() => this.proj.forward(x).flatten(2).transpose(1, 2)); // [B, D, T', h', w'] → [B, N, D]
  }

  /**
   * Embeds only the tokens `idx` [B, k] (int64): the same numbers as `forward(x)` gathered at
   * `idx`, computed for those tokens alone. A convolution whose kernel equals its stride is one
   * linear map per patch, so the ~90 % of patches the pre-training encoder never sees need not
   * be embedded (nor back-propagated through).
   */
  forwardTokens(x: Tensor, idx: Tensor): Tensor {
    this.checkInput(x);
    const [B, C] = x.shape as [number, number];
    const [t, h, w] = this.grid;
    const { tubeletSize: tu, patchSize: p } = this.cfg;
    return tidy(() => {
      const patches = x
        .reshape([B, C, t, tu, h, p, w, p]) // [B, C, t, tu, h, p, w, p]
        .permute([0, 2, 4, 6, 1, 3, 5, 7]) // [B, t, h, w, C, tu, p, p]: the conv weight's (C, tu, p, p) order
        .reshape([B, t * h * w, C * tu * p * p]); // [B, N, K]
      const selected = gatherTokens(patches, idx); // [B, k, K]
      return F.linear(selected, this.proj.weight.flatten(1), this.proj.bias); // [B, k, D]
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Transformer block

/** What one `Block` needs (the decoder passes its own width/heads with the encoder's ratios). */
export interface BlockConfig {
  readonly dim: number;
  readonly numHeads: number;
  readonly mlpRatio: number;
  readonly qkvBias: boolean;
  readonly drop: number;
  readonly attnDrop: number;
  readonly dropPath: number;
  readonly initValues: number;
  readonly eps: number;
  readonly cosAttn: boolean;
}

/** `torch.clamp(self.scale, max=4.6052)` in CosAttention: ln(1 / 0.01), written as a literal there. */
const COS_ATTN_MAX_LOG_SCALE = 4.6052;

/**
 * Multi-head self-attention with one bias-free fused `qkv` Linear; the bias actually used is
 * [q_bias, 0, v_bias] (the key projection has none). Rows [0, D) of qkv are Q, [D, 2D) K,
 * [2D, 3D) V, each head-major. With `cosAttn`, CosAttention: cosine logits times
 * exp(min(scale, 4.6052)), `scale` a learnable (heads, 1, 1) tensor initialised to ln 10.
 */
export class Attention extends Module {
  readonly numHeads: number;
  readonly headDim: number;
  /** head_dim^-0.5, multiplied into Q (scaled dot-product attention only). */
  readonly qkScale: number;
  readonly logitScale?: Tensor;
  readonly fused: boolean;
  readonly q_bias?: Tensor;
  readonly v_bias?: Tensor;
  readonly qkv: Linear;
  readonly attn_drop: Dropout;
  readonly proj: Linear;
  readonly proj_drop: Dropout;

  constructor(cfg: BlockConfig, opts: ModelOptions = {}) {
    super();
    const D = cfg.dim;
    this.numHeads = cfg.numHeads;
    this.headDim = Math.floor(D / cfg.numHeads);
    this.qkScale = this.headDim ** -0.5;
    this.fused = opts.fusedAttention ?? true;
    // Registration order as in the official __init__: CosAttention's `scale`, then q_bias, v_bias.
    if (cfg.cosAttn) this.logitScale = this.param("scale", full([cfg.numHeads, 1, 1], Math.log(10)));
    this.qkv = new Linear(D, 3 * D, { bias: false, generator: opts.generator });
    if (cfg.qkvBias) {
      this.q_bias = this.param("q_bias", zeros([D]));
      this.v_bias = this.param("v_bias", zeros([D]));
    }
    this.attn_drop = new Dropout(cfg.attnDrop, opts.dropGenerator);
    this.proj = new Linear(D, D, { generator: opts.generator });
    this.proj_drop = new Dropout(cfg.drop, opts.dropGenerator);
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const bias = this.q_bias && this.v_bias ? cat([this.q_bias, zeros(this.v_bias.shape, { dtype: this.v_bias.dtype }), this.v_bias]) : undefined; // [3D]
      const packed = F.linear(x, this.qkv.weight, bias); // [B, N, 3D]
      const logitScale = this.logitScale;
      const out =
        this.fused && !logitScale && (this.attn_drop.p === 0 || !this.training)
          ? F.packedAttention(packed, this.numHeads, this.qkScale) // [B, N, D], fused kernel
          : F.packedAttentionReference(packed, this.numHeads, this.qkScale, {
              // CosAttention: cosine similarity times a learnt, clamped per-head scale.
              scores: logitScale
                ? (q, k) => l2normalize(q).matmul(l2normalize(k).transpose(-2, -1)).mul(logitScale.clamp(undefined, COS_ATTN_MAX_LOG_SCALE).exp()) // [B, h, N, N]
                : undefined,
              probs: (attn) => this.attn_drop.forward(attn),
            }); // [B, N, D]
      return this.proj_drop.forward(this.proj.forward(out)); // [B, N, D]
    });
  }
}

/** F.normalize(x, dim=-1): x / max(‖x‖₂, 1e-12). */
function l2normalize(x: Tensor): Tensor {
  return x.div(x.norm(2, -1, true).clamp(1e-12));
}

/** fc1 → exact GELU → fc2 → dropout (the dropout after GELU is commented out officially). */
export class Mlp extends Module {
  readonly fc1: Linear;
  readonly act: GELU;
  readonly fc2: Linear;
  readonly drop: Dropout;

  constructor(dim: number, hidden: number, drop: number, opts: ModelOptions = {}) {
    super();
    this.fc1 = new Linear(dim, hidden, { generator: opts.generator });
    this.act = new GELU();
    this.fc2 = new Linear(hidden, dim, { generator: opts.generator });
    this.drop = new Dropout(drop, opts.dropGenerator);
  }

  forward(x: Tensor): Tensor {
    return tidy(() => this.drop.forward(this.fc2.forward(this.act.forward(this.fc1.forward(x))))); // [B, N, D]
  }
}

/**
 * Pre-norm block: x + DropPath(γ₁·Attn(LN₁(x))), then x + DropPath(γ₂·MLP(LN₂(x))). γ (layer
 * scale, `gamma_1`/`gamma_2`) exists only when initValues > 0 — never in a released model.
 */
export class Block extends Module {
  readonly gamma_1?: Tensor;
  readonly gamma_2?: Tensor;
  readonly norm1: LayerNorm;
  readonly attn: Attention;
  readonly drop_path: DropPath;
  readonly norm2: LayerNorm;
  readonly mlp: Mlp;

  constructor(cfg: BlockConfig, opts: ModelOptions = {}) {
    super();
    if (cfg.initValues > 0) {
      this.gamma_1 = this.param("gamma_1", full([cfg.dim], cfg.initValues));
      this.gamma_2 = this.param("gamma_2", full([cfg.dim], cfg.initValues));
    }
    this.norm1 = new LayerNorm(cfg.dim, cfg.eps);
    this.attn = new Attention(cfg, opts);
    this.drop_path = new DropPath(cfg.dropPath, opts.dropGenerator);
    this.norm2 = new LayerNorm(cfg.dim, cfg.eps);
    this.mlp = new Mlp(cfg.dim, mlpHidden(cfg.dim, cfg.mlpRatio), cfg.drop, opts);
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      let a = this.attn.forward(this.norm1.forward(x)); // [B, N, D]
      if (this.gamma_1) a = a.mul(this.gamma_1);
      const h = x.add(this.drop_path.forward(a)); // [B, N, D]
      let m = this.mlp.forward(this.norm2.forward(h)); // [B, N, D]
      if (this.gamma_2) m = m.mul(this.gamma_2);
      return h.add(this.drop_path.forward(m)); // [B, N, D]
    });
  }
}

/**
 * Activation checkpointing per transformer block (`--grad-checkpoint`): every Block of `model`
 * (fine-tune ViT, pre-training encoder and decoder alike) keeps only its input through the
 * forward and is recomputed in backward; train with `backward(loss)` of src/nn/checkpoint.ts.
 * Returns the number of blocks.
 */
export function checkpointBlocks(model: Module): number {
  return checkpointModules(model, (m) => m instanceof Block);
}

/** `depth` Blocks of one tower with drop-path rates linspace(0, rate, depth). */
export function makeBlocks(
  b: BackboneConfig,
  tower: { dim: number; depth: number; numHeads: number },
  opts: ModelOptions = {},
): Block[] {
  return dropPathRates(b.dropPathRate, tower.depth).map(
    (dropPath) =>
      new Block(
        {
          dim: tower.dim,
          numHeads: tower.numHeads,
          mlpRatio: b.mlpRatio,
          qkvBias: b.qkvBias,
          drop: b.dropRate,
          attnDrop: b.attnDropRate,
          dropPath,
          initValues: b.initValues,
          eps: b.layerNormEps,
          cosAttn: b.cosAttn,
        },
        opts,
      ),
  );
}

// ---------------------------------------------------------------------------------------------
// Schedules, tables, init

/**
 * `[x.item() for x in torch.linspace(0, rate, depth)]`: computed by libtorch in float32, so the
 * rates are the same float32 values the official code gets (e.g. 0.1·5/11 rounded to float32).
 */
export function dropPathRates(rate: number, depth: number): number[] {
  return tidy(() => linspace(0, rate, depth).toArray());
}

/** The fixed sinusoid table (spec §1.4) as a float32 [1, n, d] tensor. */
export function sinusoidTensor(n: number, d: number): Tensor {
  return tensor(sinusoidTable(n, d), { shape: [1, n, d] });
}

/** The (non-learned) table cast to the activations' dtype, as `.type_as(x)` does. */
export function posFor(table: Tensor, x: Tensor): Tensor {
  return table.dtype === x.dtype ? table : table.to(x.dtype);
}

/**
 * `self.apply(self._init_weights)`: every Linear weight ← trunc-normal(0.02, ±2) (fine-tune
 * model) or xavier-uniform (pre-training encoder/decoder), Linear bias ← 0; LayerNorm 1 / 0.
 * Conv3d keeps PyTorch's default init; other parameters (q_bias, v_bias, gamma) are untouched.
 */
export function initWeights(root: Module, scheme: "truncNormal" | "xavier", generator?: GeneratorLike): void {
  for (const [, m] of root.namedModules()) {
    if (m instanceof Linear) {
      if (scheme === "truncNormal") init.truncNormal(m.weight, 0.02, -2, 2, 0, generator);
      else init.xavierUniform(m.weight, generator);
      if (m.bias) init.constant(m.bias, 0);
    } else if (m instanceof LayerNorm) {
      init.constant(m.weight, 1);
      init.constant(m.bias, 0);
    }
  }
}

/** Multiplies a tensor in place without recording gradients. */
export function scaleInPlace(t: Tensor, factor: number): void {
  noGrad(() => t.mul_(factor));
}

/** A learnable [1, n, d] position embedding (the unused `use_learnable_pos_emb` path), trunc-normal 0.02. */
export function learnablePosEmbed(n: number, d: number, generator?: GeneratorLike): Tensor {
  return init.truncNormal(zeros([1, n, d]), 0.02, -2, 2, 0, generator);
}

// ---------------------------------------------------------------------------------------------
// Token selection

/** Row-major (B, k) token indices as an int64 tensor. */
export function indexTensor(indices: Int32Array, batchSize: number, perSample: number): Tensor {
  return tensor(indices, { shape: [batchSize, perSample], dtype: "int64" });
}

/**
 * x[b, idx[b, i], :] → (B, k, D): what the official `x[~mask].reshape(B, -1, D)` selects when the
 * indices are the mask's kept positions in ascending order. x may be broadcast over B ([1, N, D]).
 */
export function gatherTokens(x: Tensor, idx: Tensor): Tensor {
  const [B, k] = idx.shape as [number, number];
  const D = x.shape[2]!;
  const src = x.shape[0] === B ? x : x.expand([B, x.shape[1]!, D]);
  // Indices are made on the CPU from the masks; on a GPU they follow the activations.
  const device = x.device;
  const onDevice = device === "cpu" ? idx : idx.toDevice(device);
  const out = src.gather(1, onDevice.unsqueeze(-1).expand([B, k, D])); // [B, k, D]
  if (onDevice !== idx) onDevice.dispose();
  return out;
}

