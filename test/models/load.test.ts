/** Official-format .pth checkpoints into our models (tools/reference/make_checkpoint_fixtures.py). */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { createModel, describeLoad, loadCheckpointInto, PretrainVisionTransformer, VisionTransformer } from "../../src/models/index.ts";
import { StateDictError } from "../../src/nn/index.ts";
import { noGrad } from "../../src/torch/index.ts";
import { assertClose, fixtures, readJson } from "../helpers.ts";
import { manifest, refArray, refTensor } from "./reference-data.ts";

const ck = (name: string) => join(fixtures, "checkpoints", name);
const expected = readJson<{ fp16_logits: number[]; label_map: number[] }>("checkpoints", "expected.json");
const vitConfig = manifest.cases.vit.config;
const pretrainConfig = manifest.cases.pretrain.config;

function vit(numClasses = 5): VisionTransformer {
  return createModel("tiny_test_vit", { ...vitConfig, numClasses, dropPathRate: 0 } as never) as VisionTransformer;
}

function logitsOf(m: VisionTransformer): number[] {
  m.eval();
  return noGrad(() => m.forward(refTensor("vit/input")).toArray());
}

describe("loading official checkpoints", () => {
  test("fp32 wrapped in `model` (with epoch/args entries) reproduces the reference logits", async () => {
    const m = vit();
    const r = await loadCheckpointInto(m, ck("vit_model_fp32.pth"));
    assert.equal(r.wrapper, "model");
    assert.equal(r.head, "loaded");
    assert.deepEqual(r.dtypes, ["float32"]);
    assert.equal(r.loaded.length, m.stateDict().size);
    assertClose(logitsOf(m), Array.from(refArray("vit/logits")), 1e-5, 1e-5, "logits");
    assert.match(describeLoad(r), /tensors loaded from "model"/);
  });

  test("bare fp16 weights are upcast to float32 and match PyTorch on the same rounded weights", async () => {
    const m = vit();
    const r = await loadCheckpointInto(m, ck("vit_bare_fp16.pth"));
    assert.equal(r.wrapper, null);
    assert.deepEqual(r.dtypes, ["float16"]);
    assert.equal(m.head!.weight.dtype, "float32");
    assertClose(logitsOf(m), expected.fp16_logits, 1e-5, 1e-5, "fp16 logits");
  });

  test("a 7-class head is row-gathered through a label map; without one it stays fresh", async () => {
    const m = vit();
    const r = await loadCheckpointInto(m, ck("vit_head7.pth"), { labelMap: expected.label_map });
    assert.equal(r.wrapper, "module");
    assert.equal(r.head, "remapped");
    assertClose(logitsOf(m), Array.from(refArray("vit/logits")), 1e-5, 1e-5, "remapped logits");
    const fresh = vit();
    const before = fresh.head!.weight.toArray();
    const r2 = await loadCheckpointInto(fresh, ck("vit_head7.pth"));
    assert.equal(r2.head, "fresh");
    assert.deepEqual(fresh.head!.weight.toArray(), before);
    await assert.rejects(loadCheckpointInto(vit(), ck("vit_head7.pth"), { labelMap: [0, 1] }), /label map has 2 entries but the model has 5 classes/);
  });

  test("a torch.compile'd pretraining checkpoint loads strictly into the pretraining model", async () => {
    const m = createModel("tiny_test_pretrain", pretrainConfig as never) as PretrainVisionTransformer;
    const r = await loadCheckpointInto(m, ck("pretrain_compiled.pth"));
    assert.deepEqual(r.stripped, ["_orig_mod."]);
    assert.equal(r.loaded.length, m.stateDict().size);
    assert.deepEqual(m.mask_token.toArray(), Array.from(refArray("pretrain/sd/mask_token")));
  });

  test("the same pretraining checkpoint initialises a fine-tune ViT: encoder kept, decoder ignored, fc_norm/head fresh", async () => {
    const { decoderEmbedDim, decoderDepth, decoderNumHeads, ...backbone } = pretrainConfig as Record<string, unknown>;
    void [decoderEmbedDim, decoderDepth, decoderNumHeads];
    const m = createModel("tiny_test_vit", { ...backbone, numClasses: 3 } as never) as VisionTransformer;
    const r = await loadCheckpointInto(m, ck("pretrain_compiled.pth"));
    assert.deepEqual(r.stripped, ["_orig_mod.", "encoder."]);
    assert.ok(r.ignored.includes("mask_token") && r.ignored.includes("norm.weight") && r.ignored.some((k) => k.startsWith("decoder.")));
    assert.deepEqual(r.fresh, ["fc_norm.weight", "fc_norm.bias", "head.weight", "head.bias"]);
    assert.deepEqual(m.blocks[1]!.attn.q_bias!.toArray(), Array.from(refArray("pretrain/sd/encoder.blocks.1.attn.q_bias")));
  });

  test("mangled checkpoints give clear errors", async () => {
    await assert.rejects(
      loadCheckpointInto(vit(), ck("vit_bad.pth")),
      (e: unknown) =>
        e instanceof StateDictError &&
        /blocks\.0\.mlp\.fc1\.weight: model \[128, 32\] vs checkpoint \[7, 32\]/.test(e.message) &&
        /unexpected \(1\):\n\s+extra\.weight/.test(e.message),
    );
    const r = await loadCheckpointInto(vit(), ck("vit_bad.pth"), { strict: false });
    assert.equal(r.mismatched.length, 1);
    const dir = mkdtempSync(join(tmpdir(), "vm-ck-"));
    const cut = join(dir, "cut.pth");
    copyFileSync(ck("vit_model_fp32.pth"), cut);
    truncateSync(cut, Math.floor(statSync(cut).size * 0.6));
    await assert.rejects(loadCheckpointInto(vit(), cut), /cut\.pth.*(truncated|corrupt|zip)/is);
    await assert.rejects(loadCheckpointInto(vit(), join(dir, "missing.pth")), /missing\.pth/);
  });
});
