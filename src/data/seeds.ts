/**
 * Per-sample random streams. A sample's randomness is a pure function of
 * (run seed, epoch, position in the epoch, attempt, stream, view) — never of which worker
 * decoded it, how many workers there are, or timing — so a run gives identical batches with
 * 0, 1 or N workers, and an epoch can be resumed in the middle.
 *
 * The key words are hashed (MurmurHash3's 32-bit mixing, four lanes with different salts)
 * into the 128-bit state of an Rng.
 */
import { Rng } from "../util/rng.ts";

/** What each stream draws; separate streams keep, e.g., the masks independent of how many numbers the crop used. */
export const Stream = {
  /** Temporal sampling (frame indices) of the decoded clip. */
  clip: 1,
  /** Spatial augmentation of view v. */
  view: 2,
  /** Masks of view v. */
  mask: 3,
  /** Which item replaces a bad one. */
  replace: 4,
  /** The epoch's sample order. */
  order: 5,
  /** Hybrid mixing: which entries of a down-weighted source take part in the epoch. */
  mix: 6,
} as const;

/** Identifies one sample draw. `attempt` 0 is the item the epoch order asked for; k ≥ 1 are replacements. */
export interface SampleKey {
  seed: number;
  epoch: number;
  position: number;
  attempt: number;
}

/** An Rng seeded from the given integer words (each may be any safe integer, negative included). */
export function rngFromKeys(...keys: number[]): Rng {
  const words: number[] = [];
  for (const k of keys) {
    if (!Number.isSafeInteger(k)) throw new RangeError(`rngFromKeys: keys must be safe integers, got ${k}`);
    words.push(k >>> 0, Math.floor(k / 2 ** 32) >>> 0);
  }
  const state: [number, number, number, number] = [0, 0, 0, 0];
  const salts = [0x9e3779b9, 0x85ebca6b, 0xc2b2ae35, 0x27d4eb2f];
  for (let lane = 0; lane < 4; lane++) {
    let h = salts[lane]!;
    for (const w of words) h = mix(h, w);
    state[lane] = fmix(h ^ (words.length * 4));
  }
  if (state.every((w) => w === 0)) state[0] = 1;
  return new Rng(state);
}

/** The Rng of one stream (and view) of a sample. */
export function sampleRng(key: SampleKey, stream: number, view = 0): Rng {
  return rngFromKeys(key.seed, key.epoch, key.position, key.attempt, stream, view);
}

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) >>> 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
