// State-dict layout (spec §6.2 / §6.3), parameter counts (§1.1, §6.1) and MAC counts (§1.1, §2.2).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createConfig, OFFICIAL_MODEL_NAMES, PRETRAIN_MODEL_NAMES, VIT_MODEL_NAMES } from "../../src/models/config.ts";
import {
  blockMacs,
  countParams,
  formatModelReport,
  inferenceMacs,
  modelReport,
  numel,
  pretrainMacs,
  stateDictShapes,
} from "../../src/models/counting.ts";

const shapeOf = (entries: ReturnType<typeof stateDictShapes>, key: string) => entries.find(([k]) => k === key)?.[1];

test("parameter counts without head match spec §1.1 exactly", () => {
  const want: Record<string, number> = {
    vit_small_patch16_224: 21_879_936,
    vit_base_patch16_224: 86_227_200,
    vit_large_patch16_224: 303_860_736,
    vit_huge_patch16_224: 631_607_040,
    vit_giant_patch14_224: 1_011_610_752,
  };
  for (const name of VIT_MODEL_NAMES) {
    assert.equal(countParams(createConfig(name)).withoutHead, want[name], name);
    assert.equal(countParams(createConfig(name, { numClasses: 0 })).total, want[name], `${name} with numClasses 0`);
  }
});

test("ViT-B + 400-class head = 86,534,800 (the n_parameters printed in OpenGVLab/VideoMAEv2#38)", () => {
  assert.equal(countParams(createConfig("vit_base_patch16_224", { numClasses: 400 })).total, 86_534_800);
});

test("released checkpoints (spec §6.1): element counts of the published files", () => {
  assert.equal(countParams(createConfig("pretrain_videomae_giant_patch14_224")).total, 1_026_306_560);
  assert.equal(countParams(createConfig("vit_giant_patch14_224", { numClasses: 710 })).total, 1_012_611_142);
  assert.equal(countParams(createConfig("vit_small_patch16_224", { numClasses: 710 })).total, 22_153_286);
  assert.equal(countParams(createConfig("vit_base_patch16_224", { numClasses: 710 })).total, 86_773_190);
});

test("state-dict key counts: 13·L + 6 (fine-tune) and 13·L + 62 (pre-training)", () => {
  const vit: Record<string, number> = {
    vit_small_patch16_224: 162,
    vit_base_patch16_224: 162,
    vit_large_patch16_224: 318,
    vit_huge_patch16_224: 422,
    vit_giant_patch14_224: 526,
  };
  for (const name of VIT_MODEL_NAMES) assert.equal(stateDictShapes(createConfig(name)).length, vit[name], name);
  const pre = [218, 218, 374, 478, 582];
  PRETRAIN_MODEL_NAMES.forEach((name, i) => assert.equal(stateDictShapes(createConfig(name)).length, pre[i], name));
});

test("fine-tune state dict: exact key names and order of spec §6.2", () => {
  const e = stateDictShapes(createConfig("vit_base_patch16_224"));
  const keys = e.map(([k]) => k);
  assert.deepEqual(keys.slice(0, 15), [
    "patch_embed.proj.weight",
    "patch_embed.proj.bias",
    "blocks.0.norm1.weight",
    "blocks.0.norm1.bias",
    "blocks.0.attn.q_bias",
    "blocks.0.attn.v_bias",
    "blocks.0.attn.qkv.weight",
    "blocks.0.attn.proj.weight",
    "blocks.0.attn.proj.bias",
    "blocks.0.norm2.weight",
    "blocks.0.norm2.bias",
    "blocks.0.mlp.fc1.weight",
    "blocks.0.mlp.fc1.bias",
    "blocks.0.mlp.fc2.weight",
    "blocks.0.mlp.fc2.bias",
  ]);
  assert.deepEqual(keys.slice(-4), ["fc_norm.weight", "fc_norm.bias", "head.weight", "head.bias"]);
  assert.equal(keys[keys.length - 5], "blocks.11.mlp.fc2.bias");
  assert.equal(new Set(keys).size, keys.length);
  // No qkv.bias, pos_embed, cls_token, norm.*, gamma_*.
  for (const k of keys) assert.ok(!/qkv\.bias|pos_embed|cls_token|^norm\.|gamma/.test(k), k);
  assert.deepEqual(shapeOf(e, "patch_embed.proj.weight"), [768, 3, 2, 16, 16]);
  assert.deepEqual(shapeOf(e, "blocks.3.attn.qkv.weight"), [2304, 768]);
  assert.deepEqual(shapeOf(e, "blocks.3.attn.q_bias"), [768]);
  assert.deepEqual(shapeOf(e, "blocks.3.mlp.fc1.weight"), [3072, 768]);
  assert.deepEqual(shapeOf(e, "blocks.3.mlp.fc2.weight"), [768, 3072]);
  assert.deepEqual(shapeOf(e, "head.weight"), [400, 768]);
  const g = stateDictShapes(createConfig("vit_giant_patch14_224"));
  assert.deepEqual(shapeOf(g, "patch_embed.proj.weight"), [1408, 3, 2, 14, 14]);
  assert.deepEqual(shapeOf(g, "blocks.39.mlp.fc1.weight"), [6144, 1408]);
  assert.equal(shapeOf(stateDictShapes(createConfig("vit_base_patch16_224", { numClasses: 0 })), "head.weight"), undefined);
});

test("pre-training state dict: exact key names of spec §6.3", () => {
  const e = stateDictShapes(createConfig("pretrain_videomae_base_patch16_224"));
  const keys = e.map(([k]) => k);
  assert.equal(keys[0], "mask_token");
  assert.deepEqual(shapeOf(e, "mask_token"), [1, 1, 384]);
  assert.deepEqual(shapeOf(e, "encoder.patch_embed.proj.weight"), [768, 3, 2, 16, 16]);
  assert.deepEqual(shapeOf(e, "encoder.blocks.11.attn.qkv.weight"), [2304, 768]);
  assert.deepEqual(shapeOf(e, "encoder.norm.weight"), [768]);
  assert.deepEqual(shapeOf(e, "decoder.blocks.0.attn.qkv.weight"), [1152, 384]);
  assert.deepEqual(shapeOf(e, "decoder.blocks.3.attn.v_bias"), [384]);
  assert.deepEqual(shapeOf(e, "decoder.norm.bias"), [384]);
  assert.deepEqual(shapeOf(e, "decoder.head.weight"), [1536, 384]);
  assert.deepEqual(shapeOf(e, "decoder.head.bias"), [1536]);
  assert.deepEqual(shapeOf(e, "encoder_to_decoder.weight"), [384, 768]);
  assert.equal(keys.at(-1), "encoder_to_decoder.weight");
  for (const k of keys) assert.ok(!/qkv\.bias|pos_embed|fc_norm|encoder\.head|encoder_to_decoder\.bias|decoder\.blocks\.4/.test(k), k);
  const perBlock = keys.filter((k) => k.startsWith("encoder.blocks.0.")).map((k) => k.slice("encoder.blocks.0.".length));
  const perDecBlock = keys.filter((k) => k.startsWith("decoder.blocks.0.")).map((k) => k.slice("decoder.blocks.0.".length));
  assert.equal(perBlock.length, 13);
  assert.deepEqual(perDecBlock, perBlock);
  const g = stateDictShapes(createConfig("pretrain_videomae_giant_patch14_224"));
  assert.deepEqual(shapeOf(g, "decoder.blocks.0.mlp.fc1.weight"), [2234, 512]);
  assert.deepEqual(shapeOf(g, "decoder.head.weight"), [1176, 512]);
  assert.deepEqual(shapeOf(g, "encoder_to_decoder.weight"), [512, 1408]);
});

test("unused options change the layout the way the official modules would", () => {
  const noBias = stateDictShapes(createConfig("vit_small_patch16_224", { qkvBias: false }));
  assert.equal(noBias.length, 162 - 2 * 12);
  const ls = stateDictShapes(createConfig("vit_small_patch16_224", { initValues: 0.1 }));
  assert.deepEqual(ls.slice(2, 4).map(([k]) => k), ["blocks.0.gamma_1", "blocks.0.gamma_2"]);
  const cls = stateDictShapes(createConfig("vit_small_patch16_224", { useMeanPooling: false }));
  assert.ok(cls.some(([k]) => k === "norm.weight") && !cls.some(([k]) => k.startsWith("fc_norm")));
  const learn = stateDictShapes(createConfig("vit_small_patch16_224", { useLearnablePosEmb: true }));
  assert.deepEqual(learn[0], ["pos_embed", [1, 1568, 384]]);
  const cos = stateDictShapes(createConfig("vit_small_patch16_224", { cosAttn: true }));
  assert.deepEqual(shapeOf(cos, "blocks.0.attn.scale"), [6, 1, 1]);
});

test("param counts are the sum over the state-dict listing", () => {
  for (const name of OFFICIAL_MODEL_NAMES) {
    const cfg = createConfig(name);
    const p = countParams(cfg);
    assert.equal(p.total, stateDictShapes(cfg).reduce((s, [, shape]) => s + numel(shape), 0), name);
    assert.equal(p.stateDictKeys, stateDictShapes(cfg).length);
  }
  const pre = countParams(createConfig("pretrain_videomae_base_patch16_224"));
  // The encoder part of a pre-training model = the fine-tune backbone (encoder.norm replaces fc_norm).
  assert.equal(pre.encoder, 86_227_200);
  assert.equal(pre.total - pre.withoutHead, 1536 * 384 + 1536);
});

const round = (x: number, digits: number) => Number((x / 1e9).toFixed(digits));

test("inference GMACs per 16×224² view: S 56.9, B 180.3, L 596.8, H 1191.0, g 2542.8", () => {
  const want: Record<string, number> = {
    vit_small_patch16_224: 56.9,
    vit_base_patch16_224: 180.3,
    vit_large_patch16_224: 596.8,
    vit_huge_patch16_224: 1191.0,
    vit_giant_patch14_224: 2542.8,
  };
  for (const name of VIT_MODEL_NAMES) {
    const macs = inferenceMacs(createConfig(name));
    assert.equal(round(macs.total, 1), want[name], name);
    // The head is negligible: the figure is the same with or without it, for any class count.
    assert.equal(round(inferenceMacs(createConfig(name, { numClasses: 0 })).total, 1), want[name]);
    assert.equal(round(inferenceMacs(createConfig(name, { numClasses: 710 })).total, 1), want[name]);
  }
  // Exact breakdown for ViT-B.
  const b = inferenceMacs(createConfig("vit_base_patch16_224", { numClasses: 0 }));
  assert.equal(b.patchEmbed, 1568 * 768 * 1536);
  assert.equal(b.encoderBlocks, 12 * (1568 * (4 * 768 * 768 + 2 * 768 * 3072) + 2 * 1568 * 1568 * 768));
  assert.equal(b.total, 180_344_586_240);
});

test("ViT-B pre-training GMACs: 35.44 without decoder masking (sequence 1568), 25.84 with running cell 0.5 (944)", () => {
  const cfg = createConfig("pretrain_videomae_base_patch16_224");
  assert.equal(round(pretrainMacs(cfg, { numVisible: 160, numDecoderKept: 1408 }).total, 2), 35.44);
  assert.equal(round(pretrainMacs(cfg, { numVisible: 160, numDecoderKept: 784 }).total, 2), 25.84);
  // The reading the spec rejects (mask tokens only at encoder-invisible kept positions): 24.78.
  assert.equal(round(pretrainMacs(cfg, { numVisible: 160, numDecoderKept: 704 }).total, 2), 24.78);
  const m = pretrainMacs(cfg, { numVisible: 160, numDecoderKept: 784 });
  assert.equal(m.patchEmbed, 1568 * 768 * 1536); // all N tokens are embedded before masking
  assert.equal(m.encoderToDecoder, 160 * 768 * 384);
  assert.equal(m.decoderBlocks, 4 * blockMacs(944, 384, 1536));
  assert.equal(m.decoderHead, 784 * 384 * 1536); // the head sees only the mask-token slots
  assert.equal(m.head, 0);
});

test("model report for `videomae info`", () => {
  const b = modelReport("vit_base_patch16_224");
  assert.equal(b.kind, "vit");
  assert.equal(b.params, 86_534_800);
  assert.equal(b.paramsWithoutHead, 86_227_200);
  assert.equal(b.numTokens, 1568);
  assert.deepEqual(b.grid, [8, 14, 14]);
  assert.equal(b.encoderSeqLen, 1568);
  assert.equal(b.decoderSeqLen, null);
  assert.equal(b.stateDictKeys, 162);
  assert.equal(Number(b.gmacs.toFixed(1)), 180.3);
  assert.equal(b.encoder.mlpHidden, 3072);

  const p = modelReport("pretrain_videomae_base_patch16_224");
  assert.equal(p.encoderSeqLen, 160);
  assert.equal(p.numDecoderKept, 784);
  assert.equal(p.decoderSeqLen, 944);
  assert.equal(p.lossTokensPerSample, 704);
  assert.equal(Number(p.gmacs.toFixed(2)), 25.84);
  assert.deepEqual(p.masking, { encoder: "tube", encoderRatio: 0.9, decoder: "run_cell", decoderRatio: 0.5 });
  const v1 = modelReport("pretrain_videomae_base_patch16_224", { decoderRatio: 0 });
  assert.equal(v1.decoderSeqLen, 1568);
  assert.equal(Number(v1.gmacs.toFixed(2)), 35.44);

  const g = modelReport("pretrain_videomae_giant_patch14_224");
  assert.deepEqual([g.encoderSeqLen, g.numDecoderKept, g.decoderSeqLen, g.lossTokensPerSample], [208, 1024, 1232, 920]);
  assert.equal(g.params, 1_026_306_560);
  assert.equal(g.decoder?.mlpHidden, 2234);

  // A config object works too, and the report is plain JSON.
  const custom = modelReport(createConfig("vit_small_patch16_224", { numFrames: 8 }));
  assert.equal(custom.name, null);
  assert.equal(custom.numTokens, 784);
  const json = JSON.parse(JSON.stringify(modelReport("vit_giant_patch14_224")));
  assert.equal(json.paramsWithoutHead, 1_011_610_752);

  const text = formatModelReport(b);
  assert.match(text, /vit_base_patch16_224/);
  assert.match(text, /86,534,800/);
  assert.match(text, /GMACs per view\s+180\.3/);
  assert.match(formatModelReport(p), /decoder 944 \(784 mask tokens\), loss tokens 704/);
  assert.match(formatModelReport(modelReport("tiny_test_pretrain")), /loss tokens varies/);
  assert.throws(() => modelReport("vit_tiny"), /unknown model/);
});
