/**
 * Optional native implementation of the hottest pre-training clip kernel, Pillow's bilinear resize
 * (resizePil: ~2 ms per 300²→224² frame in TypeScript, ~0.5 ms native). In Node the dataset layer
 * plugs in the addon's version (transforms/native.ts → native/src/ops/clip_kernels.cc: the same
 * integer arithmetic, byte-identical output); the browser build and any process without the addon
 * keep the TypeScript one, which stays the reference. (The uint8 → float table lookup of
 * toFloatClip was tried too: no faster natively.)
 */
import type { Box } from "./clip.ts";

export interface ClipKernels {
  /** (frames, height, width, 3) uint8, box inside the frame → (frames, outH, outW, 3) uint8. */
  pilResize(src: Uint8Array, frames: number, height: number, width: number, box: Box, outW: number, outH: number): Uint8Array;
}

let active: ClipKernels | null = null;

/** Installs (or with null removes) the native kernels for this thread. */
export function setClipKernels(k: ClipKernels | null): void {
  active = k;
}

/** The installed native kernels, or null: use the TypeScript implementation. */
export function clipKernels(): ClipKernels | null {
  return active;
}
