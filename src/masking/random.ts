/**
 * Uniform random masking without tube structure (`RandomMaskingGenerator`, V1 and V2): exactly
 * k = trunc(ratio · N) of the N tokens removed, uniformly at random. The official V2 transform
 * never selects it (spec §3.1) — it is here for ablations.
 */
import type { Rng } from "../util/rng.ts";
import { BaseMaskGenerator, MaskingError, checkRatio, checkWindow, shuffledBinary, type MaskWindow } from "./common.ts";

export class RandomMaskGenerator extends BaseMaskGenerator {
  readonly numTokens: number;
  readonly ratio: number;
  readonly numMasked: number;

  /** `size` is the token count N or a window [T', h', w'] (N = T'·h'·w'). */
  constructor(size: number | MaskWindow, ratio: number) {
    super();
    if (typeof size === "number") {
      if (!Number.isInteger(size) || size < 1) {
        throw new MaskingError(`RandomMaskGenerator: numTokens must be a positive integer, got ${size}`);
      }
      this.numTokens = size;
    } else {
      checkWindow(size, "RandomMaskGenerator");
      this.numTokens = size[0] * size[1] * size[2];
    }
    checkRatio(ratio, "RandomMaskGenerator");
    this.ratio = ratio;
    this.numMasked = Math.trunc(ratio * this.numTokens);
  }

  fill(out: Uint8Array, rng: Rng): void {
    this.checkOut(out, "RandomMaskGenerator.fill");
    shuffledBinary(out, this.numTokens, this.numMasked, rng);
  }
}
