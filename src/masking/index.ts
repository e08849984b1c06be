/** Masking generators for VideoMAE V2 dual masking (spec §3). Masks: Uint8Array, 1 = removed. */
export { MaskingError, type MaskGenerator, type MaskWindow } from "./common.ts";
export { TubeMaskGenerator } from "./tube.ts";
export { RandomMaskGenerator } from "./random.ts";
export { RunningCellMaskGenerator, runningCellPattern } from "./running-cell.ts";
export {
  DualMaskGenerator,
  type DecoderMaskType,
  type DualMaskBatch,
  type DualMaskCounts,
  type DualMaskOptions,
  type EncoderMaskType,
  type OfficialMaskArgs,
} from "./dual.ts";
export { keptIndices, lossWeights, removedIndices, type MaskIndices } from "./indices.ts";
