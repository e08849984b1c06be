// The pre-training model (spec §2.1, §2.2, §1.5, §6.3) against the PyTorch reference of
// tools/reference/videomae_reference.py, plus structure, masking integration and input checks.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createConfig, PRETRAIN_MODEL_NAMES, tinyTestPretrainConfig, type PretrainConfig } from "../../src/models/config.ts";
import { countParams, stateDictShapes } from "../../src/models/counting.ts";
import { ModelInputError } from "../../src/models/blocks.ts";
import { pretrainLoss, targetOptions } from "../../src/models/loss.ts";
import { PretrainVisionTransformer } from "../../src/models/pretrain.ts";
import { sinusoidTable } from "../../src/models/position.ts";
import { DualMaskGenerator, MaskingError } from "../../src/masking/index.ts";
import { Generator, noGrad, randn, tidy, type Tensor } from "../../src/torch/index.ts";
import { Rng } from "../../src/util/rng.ts";
import { assertClose } from "../helpers.ts";
import { assertGradClose, refArray, refCase, refMask, refStateDict, refTensor } from "./reference-data.ts";

function refPretrainConfig(): PretrainConfig {
  return createConfig("tiny_test_pretrain", refCase("pretrain").config) as PretrainConfig;
}

function refModel(fusedAttention = true): PretrainVisionTransformer {
  const model = new PretrainVisionTransformer(refPretrainConfig(), { fusedAttention });
  model.loadStateDict(refStateDict("pretrain")); // strict
  return model;
}

function keysAndShapes(sd: Map<string, Tensor>): [string, number[]][] {
  return [...sd].map(([k, t]) => [k, t.shape]);
}

describe("PretrainVisionTransformer vs the PyTorch reference", () => {
  const c = refCase("pretrain");
  const enc = refMask(c.encoder_mask);
  const dec = refMask(c.decoder_mask);

  for (const fused of [true, false]) {
    test(`encoder features and decoder predictions match to 1e-5 (${fused ? "fused" : "plain"} attention)`, () => {
      tidy(() => {
        const model = refModel(fused);
        const x = refTensor("pretrain/input");
        noGrad(() => {
          const feats = model.forwardEncoder(x, enc);
          assert.deepEqual(feats.shape, [2, 16, 32]); // 4 visible per slice × 4 slices
          assertClose(feats.toArray(), refArray("pretrain/encoder"), 1e-5, 1e-5, "encoder features");
          const pred = model.forward(x, enc, dec);
          assert.deepEqual(pred.shape, [2, 32, 96]); // N_keep = 50 % of 64, out 3·2·4²
          assertClose(pred.toArray(), refArray("pretrain/pred"), 1e-5, 1e-5, "predictions");
        });
        model.dispose();
      });
    });
  }

  test("V1 mode (no decoder mask): predictions for exactly the encoder-masked tokens match", () => {
    tidy(() => {
      const model = refModel();
      const pred = noGrad(() => model.forward(refTensor("pretrain/input"), enc));
      assert.deepEqual(pred.shape, [2, 48, 96]);
      assertClose(pred.toArray(), refArray("pretrain/pred_v1"), 1e-5, 1e-5, "V1 predictions");
      model.dispose();
    });
  });

  test("loss gradients w.r.t. encoder, decoder, mask_token and encoder_to_decoder match to 1e-4", () => {
    tidy(() => {
      const model = refModel();
      const x = refTensor("pretrain/input");
      const pred = model.forward(x, enc, dec);
      const { loss, numLossTokens } = pretrainLoss(x, pred, enc, dec, targetOptions(model.config));
      assert.equal(numLossTokens, c.loss_tokens);
      assertClose([loss.item()], [c.loss], 1e-5, 1e-5, "loss");
      loss.backward();
      const params = new Map(model.namedParameters());
      for (const name of c.grads) assertGradClose(params.get(name)!.grad!.toArray(), refArray(`pretrain/grad/${name}`), `d loss / d ${name}`);
      model.dispose();
    });
  });

  test("the decoder position table is the numpy table of width D_dec; neither table is in the state dict", () => {
    const model = refModel();
    assert.deepEqual(Array.from(model.pos_embed.toFloat32Array()), Array.from(refArray("pretrain/decoder_pos_embed")));
    assert.deepEqual(Array.from(model.encoder.pos_embed.toFloat32Array()), Array.from(sinusoidTable(64, 32)));
    assert.deepEqual(model.namedBuffers().map(([k]) => k), ["pos_embed", "encoder.pos_embed"]);
    for (const k of model.stateDict().keys()) assert.ok(!k.includes("pos_embed"), k);
    model.dispose();
  });
});

describe("structure (spec §6.3)", () => {
  test("S and B built in full: 218 keys, order and shapes equal stateDictShapes; numParameters equals countParams", () => {
    for (const name of ["pretrain_videomae_small_patch16_224", "pretrain_videomae_base_patch16_224"] as const) {
      const cfg = createConfig(name);
      const model = new PretrainVisionTransformer(cfg);
      const sd = model.stateDict();
      assert.equal(sd.size, 218, name);
      assert.deepEqual(keysAndShapes(sd), stateDictShapes(cfg).map(([k, s]) => [k, [...s]]), name);
      assert.equal(model.numParameters(), countParams(cfg).total, name);
      model.dispose();
    }
  });

  test("every size (depth 1, decoder depth 1): keys and shapes equal stateDictShapes, incl. giant's 2234 / 1176", () => {
    for (const name of PRETRAIN_MODEL_NAMES) {
      const cfg = createConfig(name, { depth: 1, decoderDepth: 1 });
      const model = new PretrainVisionTransformer(cfg);
      assert.deepEqual(keysAndShapes(model.stateDict()), stateDictShapes(cfg).map(([k, s]) => [k, [...s]]), name);
      assert.equal(model.stateDict().size, 2 * 13 + 10, name);
      if (name.includes("giant")) {
        assert.equal(model.decoder.blocks[0]!.mlp.fc1.outFeatures, 2234);
        assert.equal(model.decoder.head.outFeatures, 1176);
      }
      model.dispose();
    }
  });
});

describe("initialisation (spec §1.5)", () => {
  test("xavier-uniform Linears in encoder and decoder, zero biases, LN 1/0; encoder_to_decoder default; mask_token within ±0.02", () => {
    const cfg = createConfig("pretrain_videomae_small_patch16_224", { depth: 1, decoderDepth: 1 });
    const model = new PretrainVisionTransformer(cfg, { generator: new Generator(11) });
    const p = new Map(model.namedParameters());
    const maxAbs = (k: string) => p.get(k)!.toArray().reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (const [k, fanIn, fanOut] of [
      ["encoder.blocks.0.attn.qkv.weight", 384, 1152],
      ["encoder.blocks.0.mlp.fc1.weight", 384, 1536],
      ["decoder.blocks.0.attn.proj.weight", 192, 192],
      ["decoder.head.weight", 192, 1536],
    ] as const) {
      const bound = Math.sqrt(6 / (fanIn + fanOut));
      assert.ok(maxAbs(k) <= bound && maxAbs(k) > 0.99 * bound, `${k}: max ${maxAbs(k)} vs xavier bound ${bound}`);
    }
    for (const k of ["encoder.blocks.0.mlp.fc1.bias", "decoder.head.bias", "decoder.blocks.0.attn.proj.bias", "encoder.norm.bias"]) assert.equal(maxAbs(k), 0, k);
    for (const k of ["encoder.norm.weight", "decoder.norm.weight", "decoder.blocks.0.norm1.weight"]) assert.ok(p.get(k)!.toArray().every((v) => v === 1), k);
    const e2d = 1 / Math.sqrt(384); // PyTorch default Linear init, not xavier (bound √(6/576) ≈ 0.102)
    assert.ok(maxAbs("encoder_to_decoder.weight") <= e2d && maxAbs("encoder_to_decoder.weight") > 0.95 * e2d);
    const mt = p.get("mask_token")!.toArray();
    assert.ok(mt.every((v) => Math.abs(v) <= 0.02) && mt.some((v) => v !== 0), "mask_token trunc-normal at ±0.02");
    model.dispose();
  });
});

describe("masking integration", () => {
  test("DualMaskGenerator (tube 0.9 + running cell 0.5) on the tiny config: [B, N_keep, 3·2·p²] and the loss count", () => {
    tidy(() => {
      const cfg = tinyTestPretrainConfig({ numFrames: 8, imgSize: 64 }); // grid [4, 8, 8]
      const model = new PretrainVisionTransformer(cfg, { generator: new Generator(0) });
      const masks = new DualMaskGenerator({ window: [4, 8, 8], encoderRatio: 0.9, decoder: "run_cell", decoderRatio: 0.5 });
      const batch = masks.generate(3, new Rng(5));
      const x = randn([3, 3, 8, 64, 64], { generator: new Generator(1) });
      const pred = model.forward(x, batch.encoder, batch.decoder);
      assert.deepEqual(pred.shape, [3, batch.numDecoderKept, 3 * 2 * 8 * 8]);
      assert.equal(batch.numDecoderKept, 128);
      assert.equal(model.forwardEncoder(x, batch.encoder).shape[1], batch.numVisible);
      const { loss, numLossTokens } = pretrainLoss(x, pred, batch.encoder, batch.decoder, targetOptions(cfg));
      assert.equal(numLossTokens, batch.numLoss);
      assert.ok(Number.isFinite(loss.item()) && loss.item() > 0);
      model.dispose();
    });
  });

  test("V1 mode (decoder 'none'): N_keep = the encoder-masked count, same as omitting the decoder mask", () => {
    tidy(() => {
      const cfg = tinyTestPretrainConfig(); // grid [2, 4, 4]
      const model = new PretrainVisionTransformer(cfg, { generator: new Generator(0) }).eval();
      const masks = new DualMaskGenerator({ window: [2, 4, 4], encoderRatio: 0.75, decoder: "none" });
      const batch = masks.generate(2, new Rng(3));
      const x = randn([2, 3, 4, 32, 32], { generator: new Generator(1) });
      const a = noGrad(() => model.forward(x, batch.encoder, batch.decoder));
      const b = noGrad(() => model.forward(x, batch.encoder));
      assert.deepEqual(a.shape, [2, 24, 384]); // 12 masked per slice × 2 slices
      assert.equal(batch.numDecoderKept, 24);
      assert.deepEqual(a.toArray(), b.toArray());
      model.dispose();
    });
  });

  test("prediction row k belongs to the k-th decoder-kept position (ascending), carrying its decoder pos row", () => {
    tidy(() => {
      const cfg = tinyTestPretrainConfig({ decoderDepth: 1 });
      const model = new PretrainVisionTransformer(cfg, { generator: new Generator(2) }).eval();
      // Zeroed decoder blocks are the identity (every branch outputs 0), so each output row is
      // head(norm(mask_token + pos[p])) for its position p alone.
      noGrad(() => {
        for (const blk of model.decoder.blocks) for (const t of blk.parameters()) t.fill_(0);
      });
      const x = randn([1, 3, 4, 32, 32], { generator: new Generator(3) });
      const enc = new Uint8Array(32).fill(1);
      [0, 5, 10, 15, 16, 21, 26, 31].forEach((i) => (enc[i] = 0));
      const kept = [1, 2, 7, 20, 30];
      const only = (ps: number[]) => {
        const d = new Uint8Array(32).fill(1);
        for (const p of ps) d[p] = 0;
        return d;
      };
      const rows = noGrad(() => model.forward(x, enc, only(kept)));
      assert.deepEqual(rows.shape, [1, 5, 384]);
      const single = kept.map((p) => noGrad(() => model.forward(x, enc, only([p]))).toArray());
      assertClose(rows.toArray(), single.flat(), 1e-6, 1e-6, "row k = position kept[k]");
      // …and positions differ, so a misordering would show.
      assert.notDeepEqual(single[0], single[1]);
      model.dispose();
    });
  });
});

describe("input checks", () => {
  const model = new PretrainVisionTransformer(tinyTestPretrainConfig(), { generator: new Generator(0) });
  const enc = new Uint8Array(64).fill(1).map((v, i) => (i % 4 === 0 ? 0 : v));

  test("wrong frame count or size → ModelInputError naming expected vs got", () => {
    tidy(() => {
      assert.throws(() => model.forward(randn([2, 3, 8, 32, 32]), enc), (e: Error) => e instanceof ModelInputError && /expected 4 frames.*got 8/.test(e.message));
      assert.throws(() => model.forward(randn([2, 3, 4, 48, 32]), enc), (e: Error) => e instanceof ModelInputError && /input size \(48\*32\) doesn't match model \(32\*32\)/.test(e.message));
    });
  });

  test("masks of the wrong length, or keeping different counts per sample, are rejected", () => {
    tidy(() => {
      const x = randn([2, 3, 4, 32, 32]);
      assert.throws(() => model.forward(x, enc.subarray(0, 32)), (e: Error) => e instanceof ModelInputError && /encoder mask has 32 entries, expected B·N = 2·32 = 64/.test(e.message));
      assert.throws(() => model.forward(x, enc, new Uint8Array(10)), /decoder mask has 10 entries/);
      const uneven = enc.slice();
      uneven[1] = 0;
      assert.throws(() => model.forward(x, uneven), MaskingError);
      assert.throws(() => model.forward(x, new Uint8Array(64).fill(1)), /hides every token/);
    });
  });
});
