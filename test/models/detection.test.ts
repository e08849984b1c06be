/**
 * The AVA detector (src/models/detection.ts): the reference key layout (a float16 "ViT-g-shaped"
 * file made by tools/reference/detection_reference.py), its logits on a padded non-square clip
 * with odd boxes, initialisation from our pre-trained and fine-tuned backbones, and the loss.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { createConfig, type VitConfig } from "../../src/models/config.ts";
import { ActionDetector, detectionConfig, detectionLoss } from "../../src/models/detection.ts";
import { loadCheckpointInto } from "../../src/models/index.ts";
import { stateDictShapes } from "../../src/models/counting.ts";
import { F, noGrad, tensor } from "../../src/torch/index.ts";
import { assertClose, fixtures, ramp, readJson } from "../helpers.ts";
import { manifest } from "./reference-data.ts";

const ref = readJson("detection", "expected.json");

/** The fixture's tiny backbone: vit_giant_patch14_224's architecture (patch 14, mlp 48/11) at width 22, depth 2. */
function fixtureDetector(): ActionDetector {
  const { imgSize, numFrames, embedDim, depth, numHeads } = ref.config;
  const backbone = createConfig("vit_giant_patch14_224", { imgSize, numFrames, embedDim, depth, numHeads, dropPathRate: 0 }) as VitConfig;
  return new ActionDetector(detectionConfig(backbone));
}

function fixtureInput() {
  return noGrad(() => {
    const x = ramp(ref.inputShape, 1, 0);
    x.select(0, 1).narrow(2, 28, 14).fill_(0); // clip 1 is 28 rows tall, zero-padded to 42
    return x;
  });
}

describe("ActionDetector", () => {
  test("state dict: the reference layout (norm, head [80, C], no prefix, no position table)", () => {
    const m = fixtureDetector();
    const ours = Object.fromEntries([...m.stateDict()].map(([k, t]) => [k, t.shape]));
    assert.deepEqual(ours, ref.keys);
    assert.ok(!("fc_norm.weight" in ours) && !("pos_embed" in ours));
    // The real ViT-g: the same key set with these shapes (no weights allocated).
    const giant = new Map(stateDictShapes(detectionConfig(createConfig("vit_giant_patch14_224"))));
    assert.deepEqual(giant.get("patch_embed.proj.weight"), [1408, 3, 2, 14, 14]);
    assert.deepEqual(giant.get("blocks.39.mlp.fc1.weight"), [6144, 1408]);
    assert.deepEqual(giant.get("head.weight"), [80, 1408]);
    assert.ok(giant.has("norm.weight") && !giant.has("fc_norm.weight"));
  });

  test("a float16 file in the reference layout loads strictly and reproduces the reference logits", async () => {
    const m = fixtureDetector();
    const r = await loadCheckpointInto(m, join(fixtures, "detection", "vitg_layout_tiny.pth"));
    assert.equal(r.wrapper, "model");
    assert.equal(r.head, "loaded");
    assert.deepEqual(r.dtypes, ["float16"]);
    m.eval();
    const logits = noGrad(() => m.detect(fixtureInput(), tensor(ref.rois)));
    assert.deepEqual(logits.shape, [5, 80]);
    // float32 through 2 blocks with other summation orders (GEMM, fused attention): O(1e-6)
    // relative per op, a few ops deep; ROIAlign and max pooling add no error of their own.
    assertClose(logits.toArray(), ref.logits.flat(), 2e-5, 2e-5, "logits");
  });

  test("position table: the base grid unchanged; other grids resized per time slice", () => {
    const m = fixtureDetector();
    const [t, D] = [2, ref.config.embedDim];
    assert.equal(m.positionTable(2, 2), m.pos_embed);
    const resized = m.positionTable(3, 4);
    assert.deepEqual(resized.shape, [1, t * 12, D]);
    const slice1 = noGrad(() => F.interpolate(m.pos_embed.reshape([t, 2, 2, D]).narrow(0, 1, 1).permute([0, 3, 1, 2]), [3, 4], "bicubic", false).permute([0, 2, 3, 1]).reshape([-1]));
    assertClose(resized.reshape([t, 12 * D]).select(0, 1).toArray(), slice1.toArray(), 0, 0, "slice 1");
  });

  test("inputs must be padded to the patch grid", () => {
    const m = fixtureDetector();
    assert.throws(() => m.detect(ramp([1, 3, 4, 40, 56], 1), tensor([[0, 0, 0, 5, 5]])), /multiples of the patch 14 \(pad them\)/);
  });

  test("initialises from our pre-trained encoder (norm loaded) and from a fine-tuned classifier (fc_norm unused, norm/head fresh)", async () => {
    const { decoderEmbedDim, decoderDepth, decoderNumHeads, ...backbone } = manifest.cases.pretrain.config as Record<string, unknown>;
    void [decoderEmbedDim, decoderDepth, decoderNumHeads];
    const fromPt = new ActionDetector(detectionConfig(createConfig("tiny_test_vit", { ...backbone, numClasses: 3 } as never) as VitConfig));
    const r = await loadCheckpointInto(fromPt, join(fixtures, "checkpoints", "pretrain_compiled.pth"));
    assert.ok(r.loaded.includes("norm.weight"));
    assert.deepEqual(r.fresh, ["head.weight", "head.bias"]);

    const cls = manifest.cases.vit.config as Record<string, unknown>;
    const fromFt = new ActionDetector(detectionConfig(createConfig("tiny_test_vit", { ...cls, dropPathRate: 0 } as never) as VitConfig));
    const r2 = await loadCheckpointInto(fromFt, join(fixtures, "checkpoints", "vit_model_fp32.pth"));
    assert.deepEqual(r2.fresh, ["norm.weight", "norm.bias"]);
    assert.equal(r2.head, "fresh"); // 5 classes there, 80 here
    assert.ok(r2.ignored.includes("fc_norm.weight"));
  });

  test("training: gradients reach the backbone and the head", () => {
    const m = fixtureDetector();
    m.train();
    const logits = m.detect(fixtureInput(), tensor(ref.rois));
    const target = noGrad(() => logits.detach().mul(0).add(ramp(logits.shape, 1, 0.3).gt(0.5).float()));
    detectionLoss(logits, target).backward();
    assert.ok(m.head!.weight.grad && m.blocks[0]!.attn.qkv.weight.grad && m.patch_embed.proj.weight.grad);
    assert.ok(m.patch_embed.proj.weight.grad.abs().sum().item() > 0);
  });

  test("loss: BCE with logits, mean over K×80 then × K, stable for large logits", () => {
    const x = tensor([[0.5, -2, 30], [-40, 1, 0]]);
    const y = tensor([[1, 0, 0], [0, 1, 1]]);
    const naive = [[0.5, -2, 30], [-40, 1, 0]].flat().map((v, i) => {
      const t = [1, 0, 0, 0, 1, 1][i]!;
      return v > 0 ? v - v * t + Math.log1p(Math.exp(-v)) : -v * t + Math.log1p(Math.exp(v));
    });
    const want = (naive.reduce((a, b) => a + b, 0) / 6) * 2;
    assert.ok(Math.abs(detectionLoss(x, y).item() - want) < 1e-5);
  });
});
