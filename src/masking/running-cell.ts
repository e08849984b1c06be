/**
 * Decoder running-cell masking (spec §3.2, `RunningCellMaskingGenerator` with its `Cell` queue).
 *
 * The token grid is cut into 2×2 cells. A 4-slot cyclic queue holds m = trunc(4·ratio) ones
 * (removed) followed by 4 − m zeros (kept). For start offset s ∈ {0,1,2,3} and slice t the
 * pointer is q = s + t + 1 (the official loop advances the pointer *before* reading it), and
 * cell slot i ∈ {0: TL, 1: TR, 2: BL, 3: BR} gets queue[(i + q) mod 4]. The same 2×2 pattern is
 * tiled over the whole (h'/2)×(w'/2) cell grid. With ratio 0.5 and s = 0 the slices read
 *   M..M ..MM .MM. MM.. M..M ..MM .MM. MM..   (TL TR BL BR; M = removed)
 * so each location is kept for two consecutive slices, then removed for two — the "running" cell.
 *
 * All four volumes are precomputed; each sample picks s uniformly at random.
 */
import type { Rng } from "../util/rng.ts";
import { BaseMaskGenerator, MaskingError, checkRatio, checkWindow, type MaskWindow } from "./common.ts";

export class RunningCellMaskGenerator extends BaseMaskGenerator {
  readonly window: MaskWindow;
  readonly ratio: number;
  /** m = trunc(4 · ratio) removed tokens per 2×2 cell (1, 2 or 3). */
  readonly maskedPerCell: number;
  readonly numTokens: number;
  readonly numMasked: number;
  /** volumes[s] is the full (T'·h'·w') mask for start offset s. */
  readonly volumes: readonly Uint8Array[];

  constructor(window: MaskWindow, ratio: number) {
    super();
    checkWindow(window, "RunningCellMaskGenerator");
    checkRatio(ratio, "RunningCellMaskGenerator");
    const [frames, height, width] = window;
    if (height % 2 !== 0 || width % 2 !== 0) {
      // The official np.tile(cell, [h // 2, w // 2]) silently builds a too-small grid here.
      throw new MaskingError(
        `RunningCellMaskGenerator: the token grid ${height}×${width} must have even height and width ` +
          `to tile 2×2 cells (e.g. 112 px with patch 16 gives 7×7)`,
      );
    }
    const m = Math.trunc(4 * ratio);
    if (m < 1 || m > 3) {
      throw new MaskingError(
        `RunningCellMaskGenerator: ratio ${ratio} removes trunc(4·ratio) = ${m} of 4 tokens per 2×2 cell; ` +
          `it must remove 1, 2 or 3 (ratio in [0.25, 1))`,
      );
    }
    this.window = Object.freeze([...window]) as unknown as MaskWindow;
    this.ratio = ratio;
    this.maskedPerCell = m;
    this.numTokens = frames * height * width;
    this.numMasked = frames * (height / 2) * (width / 2) * m;
    const queue = [0, 1, 2, 3].map((i) => (i < m ? 1 : 0));
    this.volumes = Object.freeze([0, 1, 2, 3].map((s) => runningCellVolume(window, queue, s)));
  }

  fill(out: Uint8Array, rng: Rng): void {
    this.checkOut(out, "RunningCellMaskGenerator.fill");
    out.set(this.volumes[rng.int(0, 3)]!);
  }
}

/** The 2×2 pattern [TL, TR, BL, BR] at pointer q: slot i reads queue[(i + q) mod 4]. */
export function runningCellPattern(queue: readonly number[], q: number): [number, number, number, number] {
  const at = (i: number) => queue[(((i + q) % 4) + 4) % 4]!;
  return [at(0), at(1), at(2), at(3)];
}

function runningCellVolume(window: MaskWindow, queue: readonly number[], start: number): Uint8Array {
  const [frames, height, width] = window;
  const out = new Uint8Array(frames * height * width);
  for (let t = 0; t < frames; t++) {
    const cell = runningCellPattern(queue, start + t + 1);
    const base = t * height * width;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) out[base + y * width + x] = cell[(y & 1) * 2 + (x & 1)]!;
    }
  }
  return out;
}
