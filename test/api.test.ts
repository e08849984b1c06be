/** The public library API and the task pipeline. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import * as videomae from "../src/index.ts";
import { fixtures } from "./helpers.ts";
import { manifest } from "./models/reference-data.ts";

describe("library API", () => {
  test("exports every layer", () => {
    for (const k of ["torch", "nn", "optim", "models", "masking", "io", "video", "data", "train"] as const) assert.equal(typeof videomae[k], "object", k);
    assert.equal(typeof videomae.torch.tensor, "function");
    assert.equal(typeof videomae.models.createModel, "function");
    assert.equal(typeof videomae.pretrain, "function");
  });

  test("videoClassification returns {label, score} lists", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vm-api-"));
    const video = join(dir, "clip.mp4");
    execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=48x32:rate=25:duration=1", "-pix_fmt", "yuv420p", video]);
    const c = manifest.cases.vit.config;
    const cfg = join(dir, "cfg.json");
    writeFileSync(cfg, JSON.stringify({ img_size: c.imgSize, patch_size: c.patchSize, num_frames: c.numFrames, tubelet_size: c.tubeletSize, embed_dim: c.embedDim, depth: c.depth, num_heads: c.numHeads, mlp_ratio: c.mlpRatio }));
    const labels = join(dir, "labels.txt");
    writeFileSync(labels, "a\nb\nc\nd\ne\n");
    const classify = await videomae.videoClassification({ checkpoint: join(fixtures, "checkpoints", "vit_model_fp32.pth"), configFile: cfg, labelsFile: labels });
    const out = await classify(video, { topK: 2, rate: 2 });
    assert.equal(out.length, 2);
    assert.ok(["a", "b", "c", "d", "e"].includes(out[0]!.label));
    assert.ok(out[0]!.score >= out[1]!.score);
    const features = await videomae.featureExtraction({ checkpoint: join(fixtures, "checkpoints", "vit_model_fp32.pth"), configFile: cfg });
    const f = await features(video, { stride: 4 });
    assert.equal(f.dim, c.embedDim);
    assert.equal(f.windows, Math.ceil((25 - Number(c.numFrames) + 1) / 4));
  });
});
