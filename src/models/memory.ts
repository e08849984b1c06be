/**
 * Memory of one training step, estimated from the configuration alone (`videomae info --model X
 * --batch-size B`), so a batch size can be chosen before renting accelerators: what autograd
 * keeps for backward (activations), with and without activation checkpointing, beside the
 * weights, gradients and AdamW's two moments. float32 throughout, our fused attention (no N×N
 * score matrix), no dropout inside the blocks (drop path keeps one number per clip).
 *
 * What a Block saves for backward, per token (D width, M MLP width, h heads), as counted from
 * the ops of src/models/blocks.ts:
 *   LayerNorm 1 input (the block input) D, its output (qkv Linear's input) D, mean/rstd 2,
 *   packed qkv (attention's input) 3D, attention output (proj's input) D, log-sum-exp h,
 *   residual h (LayerNorm 2 input) D, its output (fc1's input) D, mean/rstd 2,
 *   fc1 output (GELU's input) M, GELU output (fc2's input) M          → 8D + 2M + h + 4 floats
 * With checkpointing a block keeps only its input (D per token) through the forward; backward
 * recomputes one block at a time, so one block's full set, the gradient arriving at its output
 * and the one leaving its input (2D) are alive at once on top.
 * Outside the blocks: the patch embedding keeps its input patches (K = 3·tubelet·p² per embedded
 * token), the pre-training loss its prediction and target (2·K' per loss-side token, K' the
 * decoder's output width); a fine-tuning head keeps next to nothing.
 *
 * Backward also needs short-lived workspace (the largest gradient buffers of one op, e.g. the
 * fc1-output gradient, M per token of one block) — included once. Measured peak RSS above the
 * process's start (bench --memory, CPU, batch 2) came out 6 % below to 12 % above this: ViT-L
 * fine-tuning 9.45 GiB (estimate 9.20) plain, 5.41 (5.10) checkpointed; ViT-B fine-tuning 3.28
 * (3.07) and 1.81 (1.61); ViT-B pre-training 1.68 (1.78) and 1.56 (1.50). Repeated runs of one
 * setting varied by ±4 %.
 */
import type { BackboneConfig } from "./config.ts";
import type { ModelReport } from "./counting.ts";

const F32 = 4;

export interface TowerMemory {
  /** Tokens through the tower per step (batch × sequence length). */
  tokens: number;
  depth: number;
  /** Bytes one block saves for backward, all tokens. */
  blockBytes: number;
  /** Bytes the tower keeps with every block checkpointed (block inputs only). */
  checkpointedBytes: number;
}

export interface MemoryEstimate {
  batchSize: number;
  /** Bytes of float32 weights, of their gradients, and of AdamW's two moments. */
  weights: number;
  gradients: number;
  optimizer: number;
  towers: { encoder: TowerMemory; decoder: TowerMemory | null };
  /** Activations kept for backward at the end of the forward (the peak), without / with checkpointing. */
  activations: { plain: number; checkpointed: number };
  /** Weights + gradients + optimizer + activations: the step's peak, without / with checkpointing. */
  total: { plain: number; checkpointed: number };
}

function tower(tokens: number, dim: number, depth: number, hidden: number, heads: number): TowerMemory {
  const perToken = 8 * dim + 2 * hidden + heads + 4;
  return { tokens, depth, blockBytes: tokens * perToken * F32, checkpointedBytes: tokens * dim * depth * F32 };
}

/** The estimate for a training step of `batchSize` clips of the model `r` describes (pre-training masking as in `r`). */
export function trainingMemory(r: ModelReport, batchSize: number): MemoryEstimate {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  const b: BackboneConfig = r.kind === "vit" ? (r.config as BackboneConfig) : (r.config as { encoder: BackboneConfig }).encoder;
  const K = b.inChans * b.tubeletSize * b.patchSize * b.patchSize;
  const e = r.encoder;
  const encoder = tower(batchSize * r.encoderSeqLen, e.embedDim, e.depth, e.mlpHidden, e.numHeads);
  let decoder: TowerMemory | null = null;
  let outside = batchSize * r.encoderSeqLen * K * F32; // patch-embedding input
  if (r.decoder) {
    const d = r.decoder;
    decoder = tower(batchSize * (r.decoderSeqLen ?? 0), d.embedDim, d.depth, d.mlpHidden, d.numHeads);
    outside += 2 * batchSize * (r.numDecoderKept ?? 0) * d.outDim * F32; // prediction + target of the loss tokens
  }
  const towers = [encoder, ...(decoder ? [decoder] : [])];
  const blocks = towers.reduce((s, t) => s + t.depth * t.blockBytes, 0);
  // Recompute: the largest single block, plus the gradients at its output and input.
  const widest = Math.max(...towers.map((t) => t.blockBytes + (2 * t.checkpointedBytes) / Math.max(t.depth, 1)));
  const kept = towers.reduce((s, t) => s + t.checkpointedBytes, 0);
  const workspace = Math.max(...towers.map((t, i) => t.tokens * (i === 0 ? e.mlpHidden : r.decoder!.mlpHidden) * F32));
  const plain = blocks + outside + workspace;
  const checkpointed = kept + widest + outside + workspace;
  const weights = r.params * F32;
  const fixed = 4 * weights; // weights, gradients, 2 AdamW moments
  return {
    batchSize,
    weights,
    gradients: weights,
    optimizer: 2 * weights,
    towers: { encoder, decoder },
    activations: { plain, checkpointed },
    total: { plain: fixed + plain, checkpointed: fixed + checkpointed },
  };
}

const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;

/** The memory lines of `videomae info --batch-size B`. */
export function formatTrainingMemory(m: MemoryEstimate, r: ModelReport): string {
  const step = r.kind === "vit" ? "fine-tuning step" : "pre-training step";
  return [
    `memory (estimate, float32, one ${step} of batch ${m.batchSize})`,
    `  weights ${gib(m.weights)}, gradients ${gib(m.gradients)}, AdamW moments ${gib(m.optimizer)}`,
    `  activations      ${gib(m.activations.plain)} plain, ${gib(m.activations.checkpointed)} with --grad-checkpoint (${((100 * m.activations.checkpointed) / m.activations.plain).toFixed(0)} %)`,
    `  step peak        ${gib(m.total.plain)} plain, ${gib(m.total.checkpointed)} with --grad-checkpoint (${((100 * m.total.checkpointed) / m.total.plain).toFixed(0)} %)`,
  ].join("\n");
}
