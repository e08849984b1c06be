/**
 * Dual masking for pre-training (spec §2.2, §3.3): an encoder mask (tube, ratio 0.9) and a
 * decoder mask (running cell, ratio 0.5) per sample, or — the V1 "none" mode, what the official
 * code does when `decoder_mask_ratio` is 0 — the decoder mask is the complement of the encoder
 * mask, so the decoder reconstructs exactly the encoder-masked tokens.
 *
 * How the model uses the two (True/1 = removed):
 *   encoder input      = tokens with encoder = 0           (numVisible per sample)
 *   decoder mask slots = positions with decoder = 0        (numDecoderKept; includes positions
 *                                                           the encoder saw)
 *   decoder sequence   = numVisible + numDecoderKept
 *   loss tokens        = decoder = 0 AND encoder = 1       (kept ∩ encoder-masked)
 *
 * Every sample has the same numVisible and numDecoderKept, so gathered tokens reshape to
 * (B, N_vis, D) and (B, N_keep, D). ViT-B 16×224²: 160 visible, 784 kept, sequence 944, and
 * 704 loss tokens in every sample (each visible tube is decoder-kept in exactly 4 of 8 slices).
 */
import type { Rng } from "../util/rng.ts";
import { MaskingError, checkWindow, type MaskGenerator, type MaskWindow } from "./common.ts";
import { RandomMaskGenerator } from "./random.ts";
import { RunningCellMaskGenerator } from "./running-cell.ts";
import { TubeMaskGenerator } from "./tube.ts";

export type EncoderMaskType = "tube" | "random";
export type DecoderMaskType = "run_cell" | "none";

export interface DualMaskOptions {
  /** Token grid [T', h', w']. */
  readonly window: MaskWindow;
  /** Encoder masking; default "tube" (the only type the official V2 transform builds). */
  readonly encoder?: EncoderMaskType;
  /** Fraction removed from the encoder (0.9 in every V2 script). */
  readonly encoderRatio: number;
  /** "run_cell" (V2) or "none" (V1: decoder reconstructs exactly the encoder-masked tokens). */
  readonly decoder: DecoderMaskType;
  /** Fraction removed by the decoder mask; required for "run_cell" (0.5 in every V2 script), must be absent or 0 for "none". */
  readonly decoderRatio?: number;
}

/** Per-sample token counts that do not depend on the random draw. */
export interface DualMaskCounts {
  readonly numTokens: number;
  /** Encoder input length N_vis. */
  readonly numVisible: number;
  /** Mask-token slots / prediction targets per sample, N_keep. */
  readonly numDecoderKept: number;
  /** N_vis + N_keep. */
  readonly decoderSeqLen: number;
  /**
   * Loss tokens (decoder-kept ∩ encoder-masked) per sample when the structure makes it the same
   * for every sample and seed (tube + running cell with T' a multiple of 4, or "none"); null when
   * it varies (e.g. T' = 2, or a random encoder mask).
   */
  readonly lossTokensPerSample: number | null;
}

export interface DualMaskBatch extends DualMaskCounts {
  readonly batchSize: number;
  /** (B, N) row-major, 1 = hidden from the encoder. */
  readonly encoder: Uint8Array;
  /** (B, N) row-major, 1 = not reconstructed (no mask token at that position). */
  readonly decoder: Uint8Array;
  /** Loss tokens of each sample. */
  readonly lossCounts: Int32Array;
  /** Σ lossCounts — the denominator of the batch loss (Σ weighted MSE / Σ weights). */
  readonly numLoss: number;
}

/** Official argument names (`run_mae_pretraining.py`) for `DualMaskGenerator.fromOfficialArgs`. */
export interface OfficialMaskArgs {
  readonly window_size: MaskWindow;
  readonly mask_type?: string;
  readonly mask_ratio: number;
  readonly decoder_mask_type?: string;
  readonly decoder_mask_ratio?: number;
}

export class DualMaskGenerator {
  readonly window: MaskWindow;
  readonly encoderType: EncoderMaskType;
  readonly decoderType: DecoderMaskType;
  readonly encoderGenerator: TubeMaskGenerator | RandomMaskGenerator;
  /** null in "none" mode. */
  readonly decoderGenerator: RunningCellMaskGenerator | null;
  readonly counts: DualMaskCounts;

  constructor(options: DualMaskOptions) {
    const { window, encoderRatio, decoderRatio } = options;
    const encoder = options.encoder ?? "tube";
    const decoder = options.decoder;
    checkWindow(window, "DualMaskGenerator");
    if (encoder === "tube") this.encoderGenerator = new TubeMaskGenerator(window, encoderRatio);
    else if (encoder === "random") this.encoderGenerator = new RandomMaskGenerator(window, encoderRatio);
    else throw new MaskingError(`DualMaskGenerator: unknown encoder mask type "${String(encoder)}" (use "tube" or "random")`);

    if (decoder === "run_cell") {
      if (decoderRatio === undefined || decoderRatio === 0) {
        throw new MaskingError(
          `DualMaskGenerator: decoder "run_cell" needs decoderRatio > 0 (0.5 in V2); use decoder "none" for V1 behaviour`,
        );
      }
      this.decoderGenerator = new RunningCellMaskGenerator(window, decoderRatio);
    } else if (decoder === "none") {
      if (decoderRatio !== undefined && decoderRatio !== 0) {
        throw new MaskingError(
          `DualMaskGenerator: decoder "none" reconstructs all encoder-masked tokens and takes no decoderRatio (got ${decoderRatio})`,
        );
      }
      this.decoderGenerator = null;
    } else {
      throw new MaskingError(`DualMaskGenerator: unknown decoder mask type "${String(decoder)}" (use "run_cell" or "none")`);
    }
    this.window = Object.freeze([...window]) as unknown as MaskWindow;
    this.encoderType = encoder;
    this.decoderType = decoder;
    this.counts = Object.freeze(computeCounts(this.encoderGenerator, this.decoderGenerator));
    if (this.counts.numVisible < 1) {
      throw new MaskingError(`DualMaskGenerator: encoder ratio ${encoderRatio} leaves no visible token in a ${window.join("×")} grid`);
    }
    if (this.counts.numDecoderKept < 1) {
      throw new MaskingError(`DualMaskGenerator: the decoder mask keeps no token (encoder ratio ${encoderRatio} hides nothing)`);
    }
  }

  /**
   * The official rule (`DataAugmentationForVideoMAEv2`): encoder `mask_type` must be "tube";
   * a decoder mask exists only when `decoder_mask_ratio > 0`, and then only "run_cell";
   * otherwise the decoder mask is `1 - encoder_mask`.
   */
  static fromOfficialArgs(args: OfficialMaskArgs): DualMaskGenerator {
    const maskType = args.mask_type ?? "tube";
    if (maskType !== "tube") throw new MaskingError(`unsupported encoder masking strategy "${maskType}" (official V2 supports only "tube")`);
    const ratio = args.decoder_mask_ratio ?? 0;
    if (ratio > 0) {
      const type = args.decoder_mask_type ?? "run_cell";
      if (type !== "run_cell") throw new MaskingError(`unsupported decoder masking strategy "${type}" (official V2 supports only "run_cell")`);
      return new DualMaskGenerator({ window: args.window_size, encoderRatio: args.mask_ratio, decoder: "run_cell", decoderRatio: ratio });
    }
    return new DualMaskGenerator({ window: args.window_size, encoderRatio: args.mask_ratio, decoder: "none" });
  }

  get numTokens(): number {
    return this.counts.numTokens;
  }

  /** Masks for `batchSize` samples, drawn in sample order (encoder then decoder) from `rng`. */
  generate(batchSize: number, rng: Rng): DualMaskBatch {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new MaskingError(`DualMaskGenerator.generate: batchSize must be a positive integer, got ${batchSize}`);
    }
    const n = this.counts.numTokens;
    const encoder = new Uint8Array(batchSize * n);
    const decoder = new Uint8Array(batchSize * n);
    const lossCounts = new Int32Array(batchSize);
    let numLoss = 0;
    for (let b = 0; b < batchSize; b++) {
      const enc = encoder.subarray(b * n, (b + 1) * n);
      const dec = decoder.subarray(b * n, (b + 1) * n);
      this.encoderGenerator.fill(enc, rng);
      if (this.decoderGenerator) this.decoderGenerator.fill(dec, rng);
      else for (let i = 0; i < n; i++) dec[i] = 1 - enc[i]!;
      let loss = 0;
      for (let i = 0; i < n; i++) loss += enc[i]! & (1 - dec[i]!);
      lossCounts[b] = loss;
      numLoss += loss;
    }
    return { ...this.counts, batchSize, encoder, decoder, lossCounts, numLoss };
  }
}

function computeCounts(enc: MaskGenerator, dec: RunningCellMaskGenerator | null): DualMaskCounts {
  const numTokens = enc.numTokens;
  const numVisible = numTokens - enc.numMasked;
  const numDecoderKept = dec ? numTokens - dec.numMasked : enc.numMasked;
  return {
    numTokens,
    numVisible,
    numDecoderKept,
    decoderSeqLen: numVisible + numDecoderKept,
    lossTokensPerSample: dec ? fixedLossCount(enc, dec, numVisible, numDecoderKept) : numDecoderKept,
  };
}

/**
 * Loss tokens = N_keep − |kept ∩ visible|. With a tube mask, |kept ∩ visible| = Σ over the visible
 * spatial locations of K_s(y, x), the number of slices in which location (y, x) is decoder-kept
 * for start offset s. That sum is the same for every draw iff no location is visible, all are,
 * or K_s is one constant for every location and offset (true when T' is a multiple of 4).
 */
function fixedLossCount(enc: MaskGenerator, dec: RunningCellMaskGenerator, numVisible: number, numKept: number): number | null {
  if (numVisible === 0) return numKept;
  if (numVisible === enc.numTokens) return 0;
  if (!(enc instanceof TubeMaskGenerator)) return null;
  const [frames, height, width] = dec.window;
  const hw = height * width;
  let k: number | null = null;
  for (const vol of dec.volumes) {
    for (let loc = 0; loc < hw; loc++) {
      let kept = 0;
      for (let t = 0; t < frames; t++) kept += 1 - vol[t * hw + loc]!;
      if (k === null) k = kept;
      else if (kept !== k) return null;
    }
  }
  return numKept - (numVisible / frames) * k!;
}
