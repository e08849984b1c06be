// Dual masking for pre-training (spec §2.2, §3.3): batch API, fixed per-sample counts, V1 mode,
// gather indices and loss weights.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/util/rng.ts";
import {
  DualMaskGenerator,
  MaskingError,
  keptIndices,
  lossWeights,
  removedIndices,
  type DualMaskBatch,
} from "../../src/masking/index.ts";

const V2_B = { window: [8, 14, 14], encoder: "tube", encoderRatio: 0.9, decoder: "run_cell", decoderRatio: 0.5 } as const;
const V2_G = { ...V2_B, window: [8, 16, 16] } as const;

/** Per-sample counts recomputed from the raw masks. */
function checkBatch(b: DualMaskBatch): void {
  const n = b.numTokens;
  assert.equal(b.encoder.length, b.batchSize * n);
  assert.equal(b.decoder.length, b.batchSize * n);
  let total = 0;
  for (let s = 0; s < b.batchSize; s++) {
    let visible = 0;
    let kept = 0;
    let loss = 0;
    for (let i = s * n; i < (s + 1) * n; i++) {
      if (b.encoder[i] === 0) visible++;
      if (b.decoder[i] === 0) kept++;
      if (b.decoder[i] === 0 && b.encoder[i] === 1) loss++;
    }
    assert.equal(visible, b.numVisible, `sample ${s} visible`);
    assert.equal(kept, b.numDecoderKept, `sample ${s} kept`);
    assert.equal(loss, b.lossCounts[s], `sample ${s} loss`);
    total += loss;
  }
  assert.equal(total, b.numLoss);
}

test("ViT-B V2 masking: 160 visible, 784 kept, decoder sequence 944, 704 loss tokens for every sample and seed", () => {
  const g = new DualMaskGenerator(V2_B);
  assert.deepEqual(g.counts, {
    numTokens: 1568,
    numVisible: 160,
    numDecoderKept: 784,
    decoderSeqLen: 944,
    lossTokensPerSample: 704,
  });
  for (let seed = 0; seed < 25; seed++) {
    const b = g.generate(8, new Rng(seed));
    checkBatch(b);
    assert.equal(b.batchSize, 8);
    assert.ok(b.lossCounts.every((c) => c === 704), `seed ${seed}: ${b.lossCounts}`);
    assert.equal(b.numLoss, 8 * 704);
  }
});

test("ViT-g V2 masking: 208 visible, 1024 kept, sequence 1232, 920 loss tokens always", () => {
  const g = new DualMaskGenerator(V2_G);
  assert.equal(g.counts.numTokens, 2048);
  assert.equal(g.counts.numVisible, 208);
  assert.equal(g.counts.numDecoderKept, 1024);
  assert.equal(g.counts.decoderSeqLen, 1232);
  assert.equal(g.counts.lossTokensPerSample, 920);
  for (let seed = 100; seed < 110; seed++) {
    const b = g.generate(4, new Rng(seed));
    checkBatch(b);
    assert.ok(b.lossCounts.every((c) => c === 920));
  }
});

test("V1 mode ('none'): decoder mask = complement of encoder mask, 1408 kept, sequence 1568, all kept tokens in the loss", () => {
  const g = new DualMaskGenerator({ window: [8, 14, 14], encoder: "tube", encoderRatio: 0.9, decoder: "none" });
  assert.equal(g.decoderGenerator, null);
  assert.equal(g.counts.numVisible, 160);
  assert.equal(g.counts.numDecoderKept, 1408);
  assert.equal(g.counts.decoderSeqLen, 1568);
  assert.equal(g.counts.lossTokensPerSample, 1408);
  const b = g.generate(3, new Rng(5));
  checkBatch(b);
  for (let i = 0; i < b.encoder.length; i++) assert.equal(b.decoder[i], 1 - b.encoder[i]!);
  assert.ok(b.lossCounts.every((c) => c === 1408));
  // Explicit ratio 0 is the same as no ratio (the official default decoder_mask_ratio).
  assert.equal(new DualMaskGenerator({ window: [8, 14, 14], encoderRatio: 0.9, decoder: "none", decoderRatio: 0 }).counts.numDecoderKept, 1408);
});

test("encoder masks are tubes and decoder masks are running-cell volumes in the batch", () => {
  const g = new DualMaskGenerator(V2_B);
  const b = g.generate(6, new Rng(9));
  const n = 1568;
  for (let s = 0; s < 6; s++) {
    const enc = b.encoder.subarray(s * n, (s + 1) * n);
    for (let t = 1; t < 8; t++) assert.deepEqual(enc.subarray(t * 196, (t + 1) * 196), enc.subarray(0, 196));
    const dec = b.decoder.subarray(s * n, (s + 1) * n);
    assert.ok(g.decoderGenerator!.volumes.some((v) => v.every((x, i) => x === dec[i])));
  }
});

test("deterministic: same seed → same batch; different seeds → different masks", () => {
  const g = new DualMaskGenerator(V2_B);
  const a = g.generate(4, new Rng(1234));
  const b = g.generate(4, new Rng(1234));
  assert.deepEqual(a.encoder, b.encoder);
  assert.deepEqual(a.decoder, b.decoder);
  const c = g.generate(4, new Rng(1235));
  assert.notDeepEqual(a.encoder, c.encoder);
  // Resuming from a saved RNG state reproduces the continuation exactly.
  const rng = new Rng(77);
  g.generate(2, rng);
  const state = rng.getState();
  const next = g.generate(2, rng);
  const again = g.generate(2, new Rng(state));
  assert.deepEqual(next.encoder, again.encoder);
  assert.deepEqual(next.decoder, again.decoder);
});

test("loss count varies when T' is not a multiple of 4 (tiny 4-frame grid) or with a random encoder mask", () => {
  const tiny = new DualMaskGenerator({ window: [2, 4, 4], encoderRatio: 0.9, decoder: "run_cell", decoderRatio: 0.5 });
  assert.equal(tiny.counts.numVisible, 4); // trunc(0.9·16) = 14 removed per slice → 2 visible × 2 slices
  assert.equal(tiny.counts.numDecoderKept, 16);
  assert.equal(tiny.counts.decoderSeqLen, 20);
  assert.equal(tiny.counts.lossTokensPerSample, null);
  const seen = new Set<number>();
  for (let seed = 0; seed < 50; seed++) {
    const b = tiny.generate(4, new Rng(seed));
    checkBatch(b);
    for (const c of b.lossCounts) seen.add(c);
  }
  assert.ok(seen.size > 1, `loss counts seen: ${[...seen]}`);

  const random = new DualMaskGenerator({ window: [8, 14, 14], encoder: "random", encoderRatio: 0.9, decoder: "run_cell", decoderRatio: 0.5 });
  assert.equal(random.counts.numVisible, 1568 - 1411);
  assert.equal(random.counts.lossTokensPerSample, null);
  checkBatch(random.generate(3, new Rng(2)));

  // T' = 4 is enough for a fixed count: every location kept in 2 of 4 slices.
  const t4 = new DualMaskGenerator({ window: [4, 4, 4], encoderRatio: 0.75, decoder: "run_cell", decoderRatio: 0.5 });
  assert.equal(t4.counts.lossTokensPerSample, 32 - 2 * 4);
  for (let seed = 0; seed < 10; seed++) assert.ok(t4.generate(3, new Rng(seed)).lossCounts.every((c) => c === 24));
});

test("gather indices are ascending per sample and reshape to (B, N_vis) / (B, N_keep)", () => {
  const g = new DualMaskGenerator(V2_B);
  const b = g.generate(3, new Rng(8));
  const vis = keptIndices(b.encoder, 3);
  assert.equal(vis.perSample, 160);
  assert.equal(vis.indices.length, 3 * 160);
  const kept = keptIndices(b.decoder, 3);
  assert.equal(kept.perSample, 784);
  const masked = removedIndices(b.encoder, 3);
  assert.equal(masked.perSample, 1408);
  for (const { indices, perSample } of [vis, kept, masked]) {
    for (let s = 0; s < 3; s++) {
      for (let k = 1; k < perSample; k++) assert.ok(indices[s * perSample + k]! > indices[s * perSample + k - 1]!);
    }
  }
  for (let s = 0; s < 3; s++) {
    for (let k = 0; k < 160; k++) assert.equal(b.encoder[s * 1568 + vis.indices[s * 160 + k]!], 0);
  }
});

test("loss weights: encoder mask restricted to decoder-kept positions, in decoder-output order", () => {
  const g = new DualMaskGenerator(V2_B);
  const b = g.generate(4, new Rng(21));
  const w = lossWeights(b.encoder, b.decoder, 4);
  assert.equal(w.length, 4 * 784);
  const kept = keptIndices(b.decoder, 4);
  for (let s = 0; s < 4; s++) {
    let c = 0;
    for (let k = 0; k < 784; k++) {
      const wk = w[s * 784 + k]!;
      assert.equal(wk, b.encoder[s * 1568 + kept.indices[s * 784 + k]!]);
      c += wk;
    }
    assert.equal(c, 704);
  }
  // Hand-made example: N = 4, kept = {0, 2, 3}, encoder-masked = {1, 2}.
  assert.deepEqual(lossWeights(Uint8Array.of(0, 1, 1, 0), Uint8Array.of(0, 1, 0, 0), 1), Uint8Array.of(0, 1, 0));
});

test("index helpers reject ragged batches", () => {
  assert.throws(() => keptIndices(Uint8Array.of(0, 1, 0, 0), 2), /sample 1 selects 2 tokens but sample 0 selects 1/);
  assert.throws(() => keptIndices(Uint8Array.of(0, 1, 0), 2), /does not split into 2 samples/);
  assert.throws(() => lossWeights(new Uint8Array(4), new Uint8Array(6), 2), /4 entries.*6/);
});

test("fromOfficialArgs follows the official transform: ratio 0 → complement, ratio > 0 → run_cell, tube only", () => {
  const v2 = DualMaskGenerator.fromOfficialArgs({ window_size: [8, 14, 14], mask_ratio: 0.9, decoder_mask_type: "run_cell", decoder_mask_ratio: 0.5 });
  assert.equal(v2.decoderType, "run_cell");
  assert.equal(v2.counts.lossTokensPerSample, 704);
  const v1 = DualMaskGenerator.fromOfficialArgs({ window_size: [8, 14, 14], mask_ratio: 0.9 });
  assert.equal(v1.decoderType, "none");
  assert.equal(v1.counts.numDecoderKept, 1408);
  assert.throws(() => DualMaskGenerator.fromOfficialArgs({ window_size: [8, 14, 14], mask_type: "random", mask_ratio: 0.9 }), /only "tube"/);
  assert.throws(
    () => DualMaskGenerator.fromOfficialArgs({ window_size: [8, 14, 14], mask_ratio: 0.9, decoder_mask_type: "random", decoder_mask_ratio: 0.5 }),
    /only "run_cell"/,
  );
});

test("option errors are clear", () => {
  assert.throws(() => new DualMaskGenerator({ window: [8, 14, 14], encoderRatio: 0.9, decoder: "run_cell" }), /needs decoderRatio > 0/);
  assert.throws(() => new DualMaskGenerator({ window: [8, 14, 14], encoderRatio: 0.9, decoder: "none", decoderRatio: 0.5 }), /takes no decoderRatio/);
  assert.throws(() => new DualMaskGenerator({ window: [8, 7, 7], encoderRatio: 0.9, decoder: "run_cell", decoderRatio: 0.5 }), /even height and width/);
  assert.throws(() => new DualMaskGenerator({ window: [8, 14, 14], encoderRatio: 1, decoder: "run_cell", decoderRatio: 0.5 }), /no visible token/);
  assert.throws(() => new DualMaskGenerator({ window: [8, 14, 14], encoderRatio: 0, decoder: "none" }), /keeps no token/);
  assert.throws(
    () => new DualMaskGenerator({ window: [8, 14, 14], encoder: "block" as "tube", encoderRatio: 0.9, decoder: "none" }),
    /unknown encoder mask type "block"/,
  );
  assert.throws(
    () => new DualMaskGenerator({ window: [8, 14, 14], encoderRatio: 0.9, decoder: "frame" as "none" }),
    /unknown decoder mask type "frame"/,
  );
  const g = new DualMaskGenerator(V2_B);
  assert.throws(() => g.generate(0, new Rng(0)), MaskingError);
  assert.throws(() => g.generate(1.5, new Rng(0)), /positive integer/);
});
