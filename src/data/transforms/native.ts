/**
 * Node side of transforms/kernels.ts: installs the addon's Pillow resize when the addon has it
 * (and VIDEOMAE_NATIVE_TRANSFORMS is not "0"). The addon is loaded quietly (util/addon.ts), not
 * through the tensor layer, so a data worker importing this neither changes libtorch's thread
 * count nor fails without a built addon: it keeps the TypeScript kernel. Idempotent; called by the
 * dataset layer in every thread that builds samples (the loader's workers included). Returns
 * whether the native kernel is in use.
 */
import { requireAddon } from "../../util/addon.ts";
import { setClipKernels } from "./kernels.ts";

type PilResizeU8 = (src: Uint8Array, frames: number, height: number, width: number, bx: number, by: number, bw: number, bh: number, outW: number, outH: number) => Uint8Array;

let installed: boolean | undefined;

export function useNativeClipKernels(): boolean {
  if (installed === undefined) {
    let op: PilResizeU8 | undefined;
    if (process.env.VIDEOMAE_NATIVE_TRANSFORMS !== "0") {
      try {
        op = (requireAddon().ops as Record<string, unknown> | undefined)?.["pilResizeU8"] as PilResizeU8 | undefined;
      } catch {
        op = undefined; // no addon here: the TypeScript kernel
      }
    }
    installed = typeof op === "function";
    if (op) {
      const resize = op;
      setClipKernels({ pilResize: (src, frames, height, width, box, outW, outH) => resize(src, frames, height, width, box.x, box.y, box.w, box.h, outW, outH) });
    }
  }
  return installed;
}
