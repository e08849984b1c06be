// Model configurations (spec §1.1, §2.1): registry, derived quantities, overrides, validation.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigError,
  MODEL_NAMES,
  OFFICIAL_MODEL_NAMES,
  PRETRAIN_MODEL_NAMES,
  VIT_MODEL_NAMES,
  createConfig,
  decoderHeadDim,
  decoderMlpHidden,
  encoderMlpHidden,
  gridSize,
  headDim,
  mlpHidden,
  numPatches,
  patchVolume,
  tinyTestPretrainConfig,
  tinyTestVitConfig,
  validateConfig,
  withOverrides,
  type PretrainConfig,
  type VitConfig,
} from "../../src/models/config.ts";

test("the registry holds exactly the official names of spec §1.1 / §2.1 (plus the clearly named test presets)", () => {
  assert.deepEqual(
    [...VIT_MODEL_NAMES],
    ["vit_small_patch16_224", "vit_base_patch16_224", "vit_large_patch16_224", "vit_huge_patch16_224", "vit_giant_patch14_224"],
  );
  assert.deepEqual(
    [...PRETRAIN_MODEL_NAMES],
    [
      "pretrain_videomae_small_patch16_224",
      "pretrain_videomae_base_patch16_224",
      "pretrain_videomae_large_patch16_224",
      "pretrain_videomae_huge_patch16_224",
      "pretrain_videomae_giant_patch14_224",
    ],
  );
  assert.equal(OFFICIAL_MODEL_NAMES.length, 10);
  assert.deepEqual(MODEL_NAMES.slice(10), ["tiny_test_vit", "tiny_test_pretrain"]);
  assert.throws(() => createConfig("vit_base_patch16_384"), /unknown model "vit_base_patch16_384"; known models: vit_small_patch16_224/);
});

// name → D, depth, heads, head dim, MLP hidden, patch, grid, tokens (spec §1.1 table)
const SIZE_TABLE: [string, number, number, number, number, number, number, [number, number, number], number][] = [
  ["vit_small_patch16_224", 384, 12, 6, 64, 1536, 16, [8, 14, 14], 1568],
  ["vit_base_patch16_224", 768, 12, 12, 64, 3072, 16, [8, 14, 14], 1568],
  ["vit_large_patch16_224", 1024, 24, 16, 64, 4096, 16, [8, 14, 14], 1568],
  ["vit_huge_patch16_224", 1280, 32, 16, 80, 5120, 16, [8, 14, 14], 1568],
  ["vit_giant_patch14_224", 1408, 40, 16, 88, 6144, 14, [8, 16, 16], 2048],
];

test("size table: width, depth, heads, head dim, MLP hidden, patch, grid and token count", () => {
  for (const [name, D, depth, heads, hd, hidden, p, grid, n] of SIZE_TABLE) {
    const c = createConfig(name) as VitConfig;
    assert.equal(c.kind, "vit");
    assert.equal(c.embedDim, D, name);
    assert.equal(c.depth, depth, name);
    assert.equal(c.numHeads, heads, name);
    assert.equal(headDim(c), hd, name);
    assert.equal(encoderMlpHidden(c), hidden, name);
    assert.equal(c.patchSize, p, name);
    assert.equal(c.tubeletSize, 2);
    assert.deepEqual(gridSize(c), grid, name);
    assert.equal(numPatches(c), n, name);
    // All sizes (spec §1.1): q/v bias, eps 1e-6, no layer scale, fixed sinusoid table, mean pooling.
    assert.equal(c.qkvBias, true);
    assert.equal(c.layerNormEps, 1e-6);
    assert.equal(c.initValues, 0);
    assert.equal(c.useLearnablePosEmb, false);
    assert.equal(c.cosAttn, false);
    assert.equal(c.useMeanPooling, true);
    assert.equal(c.imgSize, 224);
    assert.equal(c.numFrames, 16);
  }
});

test("fine-tune defaults are run_class_finetuning.py's: 400 classes, drop path 0.1, init scale 0.001", () => {
  const c = createConfig("vit_base_patch16_224");
  assert.equal(c.numClasses, 400);
  assert.equal(c.dropPathRate, 0.1);
  assert.equal(c.initScale, 0.001);
  assert.equal(c.headDropRate, 0);
  assert.equal(c.dropRate, 0);
  assert.equal(c.attnDropRate, 0);
});

test("MLP hidden = trunc(D·ratio): giant 1408·48/11 = 6144, giant decoder 512·48/11 → 2234", () => {
  const g = createConfig("vit_giant_patch14_224");
  assert.equal(g.mlpRatio, 48 / 11);
  assert.equal(mlpHidden(1408, 48 / 11), 6144);
  assert.equal(mlpHidden(512, 48 / 11), 2234);
  assert.equal(mlpHidden(768, 4), 3072);
  assert.equal(decoderMlpHidden(createConfig("pretrain_videomae_giant_patch14_224")), 2234);
  assert.equal(decoderMlpHidden(createConfig("pretrain_videomae_base_patch16_224")), 1536);
});

// name → decoder D, heads, MLP hidden, depth, head out (spec §2.1 table)
const DECODER_TABLE: [string, string, number, number, number, number, number][] = [
  ["pretrain_videomae_small_patch16_224", "vit_small_patch16_224", 192, 3, 768, 4, 1536],
  ["pretrain_videomae_base_patch16_224", "vit_base_patch16_224", 384, 6, 1536, 4, 1536],
  ["pretrain_videomae_large_patch16_224", "vit_large_patch16_224", 512, 8, 2048, 4, 1536],
  ["pretrain_videomae_huge_patch16_224", "vit_huge_patch16_224", 512, 8, 2048, 4, 1536],
  ["pretrain_videomae_giant_patch14_224", "vit_giant_patch14_224", 512, 8, 2234, 4, 1176],
];

test("pre-training configs: encoder = the matching ViT, decoder per spec §2.1, head dim 64, out 3·2·p²", () => {
  for (const [name, vitName, dD, dHeads, dHidden, dDepth, out] of DECODER_TABLE) {
    const c = createConfig(name) as PretrainConfig;
    const vit = createConfig(vitName) as VitConfig;
    assert.equal(c.kind, "pretrain");
    for (const k of ["embedDim", "depth", "numHeads", "mlpRatio", "patchSize", "tubeletSize", "imgSize", "numFrames", "layerNormEps", "qkvBias"] as const) {
      assert.equal(c.encoder[k], vit[k], `${name}.${k}`);
    }
    assert.equal(c.encoder.dropPathRate, 0, "run_mae_pretraining.py default drop path");
    assert.equal(c.decoderEmbedDim, dD, name);
    assert.equal(c.decoderNumHeads, dHeads, name);
    assert.equal(decoderHeadDim(c), 64, name);
    assert.equal(decoderMlpHidden(c), dHidden, name);
    assert.equal(c.decoderDepth, dDepth, name);
    assert.equal(c.decoderNumClasses, out, name);
    assert.equal(patchVolume(c), out, name);
    assert.equal(c.normalizeTarget, true);
    assert.deepEqual(gridSize(c), gridSize(vit));
  }
});

test("overrides: frame count, resolution, classes, decoder depth; the decoder output follows tubelet/patch", () => {
  const v = createConfig("vit_base_patch16_224", { numFrames: 8, numClasses: 174, imgSize: 160 });
  assert.deepEqual(gridSize(v), [4, 10, 10]);
  assert.equal(numPatches(v), 400);
  assert.equal(v.numClasses, 174);
  const p = createConfig("pretrain_videomae_large_patch16_224", { decoderDepth: 12, numFrames: 32 });
  assert.equal(p.decoderDepth, 12);
  assert.equal(p.encoder.numFrames, 32);
  assert.deepEqual(gridSize(p), [16, 14, 14]);
  const t1 = createConfig("pretrain_videomae_base_patch16_224", { tubeletSize: 1 });
  assert.equal(t1.decoderNumClasses, 768);
  // Undefined values leave the default in place (handy for CLI flags that were not given).
  assert.equal(createConfig("vit_small_patch16_224", { numClasses: undefined }).numClasses, 400);
});

test("configs are frozen", () => {
  const v = createConfig("vit_base_patch16_224");
  assert.ok(Object.isFrozen(v));
  const p = createConfig("pretrain_videomae_base_patch16_224");
  assert.ok(Object.isFrozen(p) && Object.isFrozen(p.encoder));
  assert.throws(() => {
    (v as { embedDim: number }).embedDim = 1;
  }, TypeError);
});

test("validation errors are specific", () => {
  assert.throws(() => createConfig("vit_base_patch16_224", { numFrames: 15 }), /numFrames 15 is not divisible by tubeletSize 2/);
  assert.throws(() => createConfig("vit_base_patch16_224", { imgSize: 200 }), /imgSize 200 is not divisible by patchSize 16/);
  assert.throws(() => createConfig("vit_base_patch16_224", { numHeads: 5 }), /embedDim 768 is not divisible by numHeads 5/);
  assert.throws(() => createConfig("pretrain_videomae_base_patch16_224", { decoderNumClasses: 1176 }), /decoderNumClasses 1176 must equal 3·tubeletSize·patchSize² = 3·2·16² = 1536/);
  assert.throws(() => createConfig("pretrain_videomae_base_patch16_224", { decoderNumHeads: 5 }), /decoderEmbedDim 384 is not divisible by decoderNumHeads 5/);
  assert.throws(() => createConfig("pretrain_videomae_base_patch16_224", { inChans: 1 }), /inChans must be 3/);
  assert.throws(() => createConfig("vit_base_patch16_224", { depth: 0 }), /vit.depth must be a positive integer, got 0/);
  assert.throws(() => createConfig("vit_base_patch16_224", { dropPathRate: 1 }), /dropPathRate must be a number in \[0, 1\)/);
  assert.throws(() => createConfig("vit_base_patch16_224", { numClasses: -1 }), /numClasses must be a non-negative integer/);
  assert.throws(() => createConfig("vit_base_patch16_224", { layerNormEps: 0 }), /layerNormEps must be a finite number > 0/);
  assert.throws(() => createConfig("vit_base_patch16_224", { qkvBias: "yes" } as unknown as { qkvBias: boolean }), /qkvBias must be a boolean/);
  assert.throws(() => createConfig("vit_base_patch16_224", { decoderDepth: 4 } as never), /unknown config option "decoderDepth"/);
  assert.throws(() => createConfig("pretrain_videomae_base_patch16_224", { numClasses: 10 } as never), /unknown config option "numClasses"/);
  assert.throws(() => createConfig("vit_base_patch16_224", { embedDim: 12, numHeads: 12, mlpRatio: 0.01 }), /empty MLP/);
  for (const name of OFFICIAL_MODEL_NAMES) assert.doesNotThrow(() => validateConfig(createConfig(name)));
  assert.ok(new ConfigError("x") instanceof Error);
});

test("tiny test presets: 32×32 px, 4 frames, patch 8, width 32, depth 2, 2 heads; decoder 16 wide, depth 1", () => {
  const v = tinyTestVitConfig();
  assert.deepEqual(
    [v.imgSize, v.numFrames, v.tubeletSize, v.patchSize, v.embedDim, v.depth, v.numHeads, v.numClasses],
    [32, 4, 2, 8, 32, 2, 2, 10],
  );
  assert.deepEqual(gridSize(v), [2, 4, 4]);
  assert.equal(numPatches(v), 32);
  assert.equal(headDim(v), 16);
  assert.equal(encoderMlpHidden(v), 128);
  const p = tinyTestPretrainConfig();
  assert.deepEqual([p.decoderEmbedDim, p.decoderDepth, p.decoderNumHeads, p.decoderNumClasses], [16, 1, 2, 384]);
  assert.equal(p.encoder.embedDim, 32);
  assert.deepEqual(createConfig("tiny_test_vit"), v);
  assert.equal(v.dropPathRate, 0);
  assert.equal(tinyTestVitConfig({ numClasses: 3 }).numClasses, 3);
  assert.equal(tinyTestPretrainConfig({ decoderDepth: 2 }).decoderDepth, 2);
});

test("withOverrides: null/undefined keep the base, encoder/decoder keys routed, decoder width re-derived, unknown keys refused", () => {
  const vit = withOverrides(tinyTestVitConfig(), { depth: null, numClasses: 3, embedDim: undefined });
  assert.equal(vit.depth, tinyTestVitConfig().depth);
  assert.equal(vit.numClasses, 3);
  assert.ok(Object.isFrozen(vit));
  const pre = withOverrides(tinyTestPretrainConfig(), { tubeletSize: 1, decoderDepth: 2 });
  assert.equal(pre.encoder.tubeletSize, 1);
  assert.equal(pre.decoderDepth, 2);
  assert.equal(pre.decoderNumClasses, 3 * 1 * pre.encoder.patchSize ** 2);
  assert.throws(() => withOverrides(tinyTestVitConfig(), { decoderDepth: 1 }, "mine"), (e: unknown) => e instanceof ConfigError && /mine: unknown config option "decoderDepth"/.test((e as Error).message));
});
