/**
 * Encoder tube masking (spec §3.1, `TubeMaskingGenerator`): one random spatial mask with
 * k = trunc(ratio · h'·w') removed positions, repeated over all T' temporal slices, so every
 * removed position is a full-length "tube" and no slice can copy a visible neighbour in time.
 * ViT-B at 16×224², ratio 0.9: 176 of 196 removed per slice → 160 visible tokens in total.
 */
import type { Rng } from "../util/rng.ts";
import { BaseMaskGenerator, checkRatio, checkWindow, shuffledBinary, type MaskWindow } from "./common.ts";

export class TubeMaskGenerator extends BaseMaskGenerator {
  readonly window: MaskWindow;
  readonly ratio: number;
  /** h'·w'. */
  readonly tokensPerSlice: number;
  /** k = trunc(ratio · h'·w'), computed in this order like `int(mask_ratio * num_patches_per_frame)`. */
  readonly maskedPerSlice: number;
  readonly numTokens: number;
  readonly numMasked: number;

  constructor(window: MaskWindow, ratio: number) {
    super();
    checkWindow(window, "TubeMaskGenerator");
    checkRatio(ratio, "TubeMaskGenerator");
    this.window = Object.freeze([...window]) as unknown as MaskWindow;
    this.ratio = ratio;
    this.tokensPerSlice = window[1] * window[2];
    this.maskedPerSlice = Math.trunc(ratio * this.tokensPerSlice);
    this.numTokens = window[0] * this.tokensPerSlice;
    this.numMasked = window[0] * this.maskedPerSlice;
  }

  fill(out: Uint8Array, rng: Rng): void {
    this.checkOut(out, "TubeMaskGenerator.fill");
    const hw = this.tokensPerSlice;
    shuffledBinary(out, hw, this.maskedPerSlice, rng);
    // Slice 0 holds the pattern; copy it to slices 1..T'-1 (np.tile over frames).
    for (let t = 1; t < this.window[0]; t++) out.copyWithin(t * hw, 0, hw);
  }
}
