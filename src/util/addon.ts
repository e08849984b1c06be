/**
 * Where the compiled addon lives, and a quiet way to load it. src/torch/native.ts loads it eagerly
 * for the tensor layer (and fails loudly without it); modules that only use an optional part of
 * it (the video decoder, the loader's resize kernel) load it on first use through here, without
 * the tensor layer's start-up (thread count, OpenBLAS core choice), and treat a missing or old
 * addon as "not available". Node loads a native module once per file, so every path shares one
 * instance.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

/** VIDEOMAE_ADDON overrides the compiled addon's path (e.g. a copy kept while native/ is rebuilt). */
export const ADDON_PATH = process.env.VIDEOMAE_ADDON || join(root, "native/build/Release/videomae_native.node");

/** The addon's exports; throws what `require` throws (missing file, wrong ABI, missing library). */
export function requireAddon(): Record<string, unknown> {
  return createRequire(import.meta.url)(ADDON_PATH) as Record<string, unknown>;
}
