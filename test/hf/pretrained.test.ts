/**
 * The Hugging Face-shaped API: fromPretrained on the transformers layout (test/fixtures/hf/, made
 * by tools/reference/make_hf_fixtures.py from the reference weights with transformers' key
 * names), on the Hub's V2 layout and on official weights; savePretrained round trips; the
 * processor. Same weights and the same ops as loading the official keys: logits must be equal
 * bit for bit; against the PyTorch reference, the tolerance of the model tests (1e-5).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { VideoMAEForPreTraining, VideoMAEForVideoClassification, VideoMAEImageProcessor, VideoMAEModel } from "../../src/hf/index.ts";
import { openSafetensors } from "../../src/io/safetensors.ts";
import { openStateDict } from "../../src/io/state_dict.ts";
import { createModel, loadCheckpointInto } from "../../src/models/index.ts";
import { noGrad, tidy } from "../../src/torch/index.ts";
import { assertClose, fixtures } from "../helpers.ts";
import { refArray, refCase, refMask, refTensor } from "../models/reference-data.ts";

const hf = (name: string) => join(fixtures, "hf", name);
const official = join(fixtures, "checkpoints", "vit_model_fp32.pth");
const out = mkdtempSync(join(tmpdir(), "vm-hf-"));
after(() => rmSync(out, { recursive: true, force: true }));

/** The reference input (B, C, T, H, W) in transformers' layout (B, T, C, H, W). */
const hfInput = (name: string) => refTensor(name).permute([0, 2, 1, 3, 4]).contiguous();

function ourVit() {
  const c = refCase("vit").config;
  return createModel("vit_base_patch16_224", { ...c, dropPathRate: 0 } as never);
}

describe("transformers layout", () => {
  test("VideoMAEForVideoClassification.fromPretrained(pytorch_model.bin) = official weights, bit for bit; = PyTorch reference", async () => {
    const model = await VideoMAEForVideoClassification.fromPretrained(hf("classifier"));
    const ours = ourVit();
    await loadCheckpointInto(ours, official);
    ours.eval();
    const viaHf = noGrad(() => tidy(() => model.forward(hfInput("vit/input")).logits.toArray()));
    const viaOfficial = noGrad(() => tidy(() => ours.forward(refTensor("vit/input")).toArray()));
    assert.deepEqual(viaHf, viaOfficial);
    assertClose(viaHf, refArray("vit/logits"), 1e-5, 1e-5, "logits");
    assert.deepEqual(model.id2label, ["archery", "bowling", "cycling", "diving", "juggling"]);
    assert.match(model.loadReport, /transformers layout/);
    model.dispose();
    ours.dispose();
  });

  test("VideoMAEForPreTraining.fromPretrained(model.safetensors): masked-token predictions of the reference (V1 decoder)", async () => {
    const mae = await VideoMAEForPreTraining.fromPretrained(hf("pretraining"));
    const mask = refMask(refCase("pretrain").encoder_mask);
    const pred = noGrad(() => tidy(() => mae.forward(hfInput("pretrain/input"), mask).logits.toArray()));
    assertClose(pred, refArray("pretrain/pred_v1"), 1e-5, 1e-5, "V1 predictions");
    mae.dispose();
  });

  test("the encoder of a pre-training folder: decoder ignored, its final LayerNorm kept (use_mean_pooling false, as transformers)", async () => {
    const enc = await VideoMAEModel.fromPretrained(hf("pretraining"));
    assert.match(enc.loadReport, /ignored .*decoder/s);
    assert.doesNotMatch(enc.loadReport, /freshly initialised/);
    assert.ok(enc.model.norm && !enc.model.fc_norm);
    enc.dispose();
    await assert.rejects(VideoMAEForVideoClassification.fromPretrained(hf("pretraining")), /classes/);
  });

  test("savePretrained writes transformers' names and config; fromPretrained of it gives the same logits", async () => {
    const model = await VideoMAEForVideoClassification.fromPretrained(hf("classifier"));
    const dir = join(out, "saved");
    await model.savePretrained(dir);
    const fixture = await openStateDict(join(hf("classifier"), "pytorch_model.bin"));
    const written = await openSafetensors(join(dir, "model.safetensors"));
    try {
      assert.deepEqual([...written.tensors.keys()].sort(), [...fixture.tensors.keys()].sort());
      for (const [k, lazy] of fixture.tensors) assert.deepEqual(Array.from((await written.tensors.get(k)!.read()).data as Float32Array), Array.from((await lazy.read()).data as Float32Array), k);
    } finally {
      await fixture.close();
      await written.close();
    }
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    const expected = JSON.parse(readFileSync(join(hf("classifier"), "config.json"), "utf8"));
    for (const k of Object.keys(expected)) if (!["torch_dtype", "transformers_version"].includes(k)) assert.deepEqual(config[k], expected[k], k);
    assert.ok(existsSync(join(dir, "preprocessor_config.json")));
    const again = await VideoMAEForVideoClassification.fromPretrained(dir);
    const a = noGrad(() => tidy(() => model.forward(hfInput("vit/input")).logits.toArray()));
    const b = noGrad(() => tidy(() => again.forward(hfInput("vit/input")).logits.toArray()));
    assert.deepEqual(b, a);
    model.dispose();
    again.dispose();
  });

  test("VideoMAEModel saves a bare encoder (no videomae. prefix, no classifier) and reads it back", async () => {
    const enc = await VideoMAEModel.fromPretrained(hf("classifier"));
    const dir = join(out, "bare");
    await enc.savePretrained(dir);
    const st = await openSafetensors(join(dir, "model.safetensors"));
    const keys = [...st.tensors.keys()];
    await st.close();
    assert.ok(keys.includes("encoder.layer.0.attention.attention.query.weight"), keys.join(" "));
    assert.ok(!keys.some((k) => k.startsWith("videomae.") || k.startsWith("classifier.")));
    const again = await VideoMAEModel.fromPretrained(dir);
    const a = noGrad(() => tidy(() => enc.forward(hfInput("vit/input")).pooledOutput.toArray()));
    const b = noGrad(() => tidy(() => again.forward(hfInput("vit/input")).pooledOutput.toArray()));
    assert.deepEqual(b, a);
    assertClose(a, refArray("vit/features"), 1e-5, 1e-5, "pooled features");
    enc.dispose();
    again.dispose();
  });
});

describe("other layouts", () => {
  test("the Hub's V2 encoder-only folder (model_config + model.-prefixed keys) gives the reference features", async () => {
    const enc = await VideoMAEModel.fromPretrained(hf("v2_hub"));
    const { pooledOutput, lastHiddenState } = noGrad(() => enc.forward(hfInput("vit/input")));
    assertClose(pooledOutput.toArray(), refArray("vit/features"), 1e-5, 1e-5, "features");
    assert.deepEqual(lastHiddenState.shape, [refTensor("vit/input").shape[0], enc.model.numTokens, refCase("vit").config.embedDim]);
    pooledOutput.dispose();
    lastHiddenState.dispose();
    enc.dispose();
  });

  test("official .pth with { model } or { configFile }; a missing architecture is a clear error", async () => {
    await assert.rejects(VideoMAEForVideoClassification.fromPretrained(official), /--model NAME|--config/);
    const cfg = join(out, "official.json");
    const c = refCase("vit").config;
    const { writeFileSync } = await import("node:fs");
    writeFileSync(cfg, JSON.stringify({ img_size: c.imgSize, patch_size: c.patchSize, num_frames: c.numFrames, tubelet_size: c.tubeletSize, embed_dim: c.embedDim, depth: c.depth, num_heads: c.numHeads, mlp_ratio: c.mlpRatio }));
    const model = await VideoMAEForVideoClassification.fromPretrained(official, { configFile: cfg });
    assertClose(noGrad(() => tidy(() => model.forward(hfInput("vit/input")).logits.toArray())), refArray("vit/logits"), 1e-5, 1e-5, "logits");
    model.dispose();
  });
});

describe("VideoMAEImageProcessor", () => {
  test("size and crop from the config, (B, T, C, H, W) out, ImageNet-normalised", () => {
    const p = VideoMAEImageProcessor.fromDict({ size: { shortest_edge: 20 }, crop_size: { height: 16, width: 16 }, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] });
    const clip = { data: new Uint8Array(4 * 20 * 30 * 3).fill(255), frames: 4, height: 20, width: 30 };
    const { pixelValues } = p.preprocess([clip, clip]);
    assert.deepEqual(pixelValues.shape, [2, 4, 3, 16, 16]);
    // 255 → 1.0 → (1 − 0.5) / 0.5 = 1 everywhere.
    assert.ok(pixelValues.toArray().every((v) => Math.abs(v - 1) < 1e-6));
    pixelValues.dispose();
    const fromModel = VideoMAEImageProcessor.fromConfig(createModel("tiny_test_vit").config);
    assert.equal(fromModel.options.cropSize, 32);
    assert.deepEqual(fromModel.options.imageMean, [0.485, 0.456, 0.406]);
  });
});
