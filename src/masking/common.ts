/**
 * Shared types for the masking generators (spec §3).
 *
 * A mask is a `Uint8Array` over the flattened token grid with **1 = removed** (hidden from the
 * encoder, or not reconstructed by the decoder) and 0 = kept, matching the official boolean
 * masks where True = removed. Token n = t·h'·w' + y·w' + x, the same order as the patch
 * embedding's flatten (spec §1.2). A batch of masks is B such rows back to back: (B, N) row-major.
 */
import type { Rng } from "../util/rng.ts";

/** Token grid [T', h', w'] = (frames / tubelet, H / p, W / p), e.g. [8, 14, 14]. */
export type MaskWindow = readonly [frames: number, height: number, width: number];

export class MaskingError extends Error {
  override name = "MaskingError";
}

export function checkWindow(window: MaskWindow, who: string): void {
  if (!Array.isArray(window) || window.length !== 3 || !window.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new MaskingError(`${who}: window must be three positive integers [T', h', w'], got ${JSON.stringify(window)}`);
  }
}

export function checkRatio(ratio: number, who: string): void {
  if (typeof ratio !== "number" || !(ratio >= 0 && ratio <= 1)) {
    throw new MaskingError(`${who}: mask ratio must be a number in [0, 1], got ${String(ratio)}`);
  }
}

/** One sample's mask with a fixed number of removed tokens. */
export interface MaskGenerator {
  /** N, the length of one mask. */
  readonly numTokens: number;
  /** Tokens set to 1 in every mask this generator produces. */
  readonly numMasked: number;
  /** Writes one mask into `out[0 .. numTokens)` (a subarray view is fine), drawing from `rng`. */
  fill(out: Uint8Array, rng: Rng): void;
  /** A fresh mask. */
  generate(rng: Rng): Uint8Array;
}

export abstract class BaseMaskGenerator implements MaskGenerator {
  abstract readonly numTokens: number;
  abstract readonly numMasked: number;
  abstract fill(out: Uint8Array, rng: Rng): void;

  generate(rng: Rng): Uint8Array {
    const out = new Uint8Array(this.numTokens);
    this.fill(out, rng);
    return out;
  }

  protected checkOut(out: Uint8Array, who: string): void {
    if (out.length < this.numTokens) {
      throw new MaskingError(`${who}: output has ${out.length} entries, need ${this.numTokens}`);
    }
  }
}

/**
 * k zeros… then ones, shuffled uniformly (Fisher–Yates) — the construction every official
 * generator uses: `np.hstack([zeros(n - k), ones(k)])` then `np.random.shuffle`.
 */
export function shuffledBinary(out: Uint8Array, n: number, numOnes: number, rng: Rng): void {
  out.fill(0, 0, n - numOnes);
  out.fill(1, n - numOnes, n);
  rng.shuffle(out.subarray(0, n));
}
