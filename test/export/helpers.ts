/** Shared by the export tests. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { manifest } from "../models/reference-data.ts";

/** The tiny reference ViT's architecture (test/fixtures/checkpoints/vit_model_fp32.pth) in official config fields. */
export function tinyConfigFile(where: string): string {
  const c = manifest.cases.vit.config;
  const file = join(where, "tiny_cfg.json");
  writeFileSync(
    file,
    JSON.stringify({
      img_size: c.imgSize, patch_size: c.patchSize, num_frames: c.numFrames, tubelet_size: c.tubeletSize,
      embed_dim: c.embedDim, depth: c.depth, num_heads: c.numHeads, mlp_ratio: c.mlpRatio,
    }),
  );
  return file;
}
