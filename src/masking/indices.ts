/**
 * Turning (B, N) masks into gather indices and loss weights for the model (spec §2.2, §2.4).
 * The official code selects with boolean indexing, which keeps ascending token order within each
 * sample; these helpers produce exactly that order so a gather reproduces `x[~mask].reshape(B, -1, D)`.
 */
import { MaskingError } from "./common.ts";

export interface MaskIndices {
  /** (B, k) row-major token indices, ascending within each sample. */
  readonly indices: Int32Array;
  /** k, the same for every sample. */
  readonly perSample: number;
}

function select(mask: Uint8Array, batchSize: number, value: 0 | 1, who: string): MaskIndices {
  if (!Number.isInteger(batchSize) || batchSize < 1 || mask.length % batchSize !== 0) {
    throw new MaskingError(`${who}: mask of length ${mask.length} does not split into ${batchSize} samples`);
  }
  const n = mask.length / batchSize;
  let perSample = -1;
  for (let b = 0; b < batchSize; b++) {
    let c = 0;
    for (let i = 0; i < n; i++) if (mask[b * n + i] === value) c++;
    if (perSample === -1) perSample = c;
    else if (c !== perSample) {
      throw new MaskingError(
        `${who}: sample ${b} selects ${c} tokens but sample 0 selects ${perSample}; ` +
          `every sample must select the same number to reshape to (B, k, D)`,
      );
    }
  }
  const indices = new Int32Array(batchSize * perSample);
  let o = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let i = 0; i < n; i++) if (mask[b * n + i] === value) indices[o++] = i;
  }
  return { indices, perSample };
}

/** Positions with mask = 0: the encoder's visible tokens, or the decoder's mask-token slots. */
export function keptIndices(mask: Uint8Array, batchSize: number): MaskIndices {
  return select(mask, batchSize, 0, "keptIndices");
}

/** Positions with mask = 1. */
export function removedIndices(mask: Uint8Array, batchSize: number): MaskIndices {
  return select(mask, batchSize, 1, "removedIndices");
}

/**
 * (B, N_keep) 0/1 loss weights in decoder-output order: 1 where the decoder-kept position was
 * masked for the encoder (`M_e` restricted to the decoder-kept positions).
 */
export function lossWeights(encoder: Uint8Array, decoder: Uint8Array, batchSize: number): Uint8Array {
  if (encoder.length !== decoder.length) {
    throw new MaskingError(`lossWeights: encoder mask has ${encoder.length} entries, decoder mask ${decoder.length}`);
  }
  const { indices, perSample } = keptIndices(decoder, batchSize);
  const n = encoder.length / batchSize;
  const out = new Uint8Array(indices.length);
  for (let b = 0; b < batchSize; b++) {
    for (let k = 0; k < perSample; k++) out[b * perSample + k] = encoder[b * n + indices[b * perSample + k]!]!;
  }
  return out;
}
