// Pre-training target and loss (spec §2.3, §2.4) and their inverse: hand-computed values, the
// PyTorch reference (tools/reference/videomae_reference.py) and the masking of the loss.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  IMAGENET_DEFAULT_MEAN,
  IMAGENET_DEFAULT_STD,
  LossInputError,
  denormalizePrediction,
  normalizePatches,
  patchify,
  pretrainLoss,
  reconstructVideo,
  reconstructionTarget,
  selectDecoderKept,
  unnormalizeVideo,
  unpatchify,
  weightedMse,
} from "../../src/models/loss.ts";
import { F, Generator, noGrad, randn, tensor, tidy, zeros } from "../../src/torch/index.ts";
import { assertClose, ramp } from "../helpers.ts";
import { refArray, refCase, refMask, refTensor } from "./reference-data.ts";

/** The spec's target, element by element in float64: x = videos (B, C, T, H, W) flat. */
function handTarget(x: ArrayLike<number>, [B, C, T, H, W]: number[], tu: number, p: number, normalize: boolean): number[] {
  const [t, h, w] = [T / tu, H / p, W / p];
  const P = tu * p * p;
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < t * h * w; n++) {
      const [tt, yy, xx] = [Math.floor(n / (h * w)), Math.floor(n / w) % h, n % w];
      const px: number[][] = []; // [c][pixel (t_in, y_in, x_in)]
      for (let c = 0; c < C; c++) {
        px.push([]);
        for (let ti = 0; ti < tu; ti++)
          for (let yi = 0; yi < p; yi++)
            for (let xi = 0; xi < p; xi++) {
              const v = x[((((b * C + c) * T + tt * tu + ti) * H + yy * p + yi) * W) + xx * p + xi]!;
              px[c]!.push(v * IMAGENET_DEFAULT_STD[c]! + IMAGENET_DEFAULT_MEAN[c]!);
            }
      }
      const norm = px.map((vals) => {
        if (!normalize) return vals;
        const mean = vals.reduce((a, v) => a + v, 0) / P;
        const variance = vals.reduce((a, v) => a + (v - mean) ** 2, 0) / (P - 1); // unbiased
        return vals.map((v) => (v - mean) / (Math.sqrt(variance) + 1e-6)); // eps on the std
      });
      for (let i = 0; i < P; i++) for (let c = 0; c < C; c++) out.push(norm[c]![i]!); // channel fastest
    }
  }
  return out;
}

describe("reconstruction target", () => {
  const shape = [2, 3, 4, 4, 6]; // B, C, T, H, W → grid [2, 2, 3], P = 2·2·2 = 8
  const geom = { tubeletSize: 2, patchSize: 2 };

  test("normalised target = hand-computed (unbiased variance, eps on the std, channel-fastest, token order t·h'w' + y·w' + x)", () => {
    tidy(() => {
      const x = ramp(shape, 1.3, 0.2);
      const got = reconstructionTarget(x, { ...geom, normalize: true });
      assert.deepEqual(got.shape, [2, 12, 24]);
      assertClose(got.toArray(), handTarget(x.toArray(), shape, 2, 2, true), 2e-5, 2e-5, "normalised target");
    });
  });

  test("raw target (normalize false) = the [0, 1] pixels in the same order", () => {
    tidy(() => {
      const x = ramp(shape, 1.3, 0.2);
      assertClose(reconstructionTarget(x, { ...geom, normalize: false }).toArray(), handTarget(x.toArray(), shape, 2, 2, false), 1e-6, 1e-6, "raw");
    });
  });

  test("eps goes on the std: a patch-channel with std ≈ 5e-7 gives ±0.315, not ±0.935 (no eps) or ±5e-4 (eps on var)", () => {
    tidy(() => {
      // One token, P = 8, C = 3: channel 0 alternates 0 / 2^-20, channels 1 and 2 are ordinary.
      const d = 2 ** -20;
      const vals: number[] = [];
      for (let i = 0; i < 8; i++) vals.push(i % 2 ? d : 0, i / 8, (i * i) / 64);
      const out = normalizePatches(tensor(vals, { shape: [1, 1, 8, 3] })).toArray();
      const mean = d / 2;
      const std = Math.sqrt((8 * (d / 2) ** 2) / 7);
      for (let i = 0; i < 8; i++) assertClose([out[i * 3]!], [((i % 2 ? d : 0) - mean) / (std + 1e-6)], 1e-6, 1e-5, `pixel ${i}`);
      assertClose([Math.abs(out[0]!)], [0.3153], 1e-3, 0, "magnitude");
    });
  });

  test("patchify / unpatchify are inverse; patchify puts pixel (t_in, y_in, x_in) of token (t, y, x) where the spec says", () => {
    tidy(() => {
      const v = ramp([2, 3, 4, 8, 12], 1);
      const g = { tubeletSize: 2, patchSize: 4 };
      const patches = patchify(v, g); // [2, 2·2·3, 32, 3]
      assert.deepEqual(patches.shape, [2, 12, 32, 3]);
      assert.deepEqual(unpatchify(patches, g, [2, 2, 3]).toArray(), v.toArray());
      assert.deepEqual(unpatchify(patches.flatten(2), g, [2, 2, 3]).toArray(), v.toArray());
      // token n = 1·6 + 1·3 + 2 = 11 (t=1, y=1, x=2); pixel (t_in 1, y_in 2, x_in 3) = 1·16 + 2·4 + 3 = 27; channel 2; sample 1.
      const flat = v.toArray();
      const want = flat[((((1 * 3 + 2) * 4 + 1 * 2 + 1) * 8 + 1 * 4 + 2) * 12) + 2 * 4 + 3]!;
      assert.equal(patches.toArray()[((1 * 12 + 11) * 32 + 27) * 3 + 2], want);
      assert.throws(() => patchify(v, { tubeletSize: 3, patchSize: 4 }), LossInputError);
      assert.throws(() => unpatchify(patches, g, [2, 2, 2]), /unpatchify: expected \[B, 8, 32, 3\]/);
    });
  });

  test("un-normalisation uses timm's ImageNet mean/std per channel", () => {
    tidy(() => {
      const px = unnormalizeVideo(zeros([1, 3, 1, 1, 1]).add(1)).toArray();
      assertClose(px, [0.485 + 0.229, 0.456 + 0.224, 0.406 + 0.225], 1e-7, 0, "x·std + mean");
    });
  });
});

describe("loss vs the PyTorch reference", () => {
  const c = refCase("pretrain");
  const enc = refMask(c.encoder_mask);
  const dec = refMask(c.decoder_mask);
  const opts = { tubeletSize: 2, patchSize: 4 };

  test("labels (target rows at decoder-kept positions) and the loss match (1e-5); raw-pixel and V1 variants too", () => {
    tidy(() => {
      const x = refTensor("pretrain/input");
      const pred = refTensor("pretrain/pred");
      const r = pretrainLoss(x, pred, enc, dec, { ...opts, normalize: true });
      assertClose(r.labels.toArray(), refArray("pretrain/labels"), 1e-5, 1e-5, "labels");
      assertClose([r.loss.item()], [c.loss], 1e-6, 1e-6, "loss");
      assert.equal(r.numLossTokens, c.loss_tokens);
      const raw = pretrainLoss(x, pred, enc, dec, { ...opts, normalize: false });
      assertClose([raw.loss.item()], [c.loss_raw!], 1e-6, 1e-6, "raw-pixel loss");
      const v1 = pretrainLoss(x, refTensor("pretrain/pred_v1"), enc, undefined, { ...opts, normalize: true });
      assertClose([v1.loss.item()], [c.loss_v1!], 1e-6, 1e-6, "V1 loss");
      assert.equal(v1.numLossTokens, 96); // every encoder-masked token counts
    });
  });
});

describe("loss masking", () => {
  test("weightedMse: Σ w·mean(err²) / Σ w over the flagged tokens only; no gradient to the others", () => {
    tidy(() => {
      const pred = randn([2, 3, 4], { generator: new Generator(1) }).requiresGrad_();
      const labels = randn([2, 3, 4], { generator: new Generator(2) });
      const w = Uint8Array.from([1, 0, 0, 0, 1, 1]);
      const loss = weightedMse(pred, labels, w);
      const p = pred.toArray();
      const l = labels.toArray();
      let want = 0;
      for (let k = 0; k < 6; k++) {
        if (!w[k]) continue;
        for (let j = 0; j < 4; j++) want += (p[k * 4 + j]! - l[k * 4 + j]!) ** 2 / 4;
      }
      assertClose([loss.item()], [want / 3], 1e-6, 1e-6, "weighted mse");
      loss.backward();
      const g = pred.grad!.toArray();
      for (let k = 0; k < 6; k++) {
        for (let j = 0; j < 4; j++) {
          const want = w[k] ? (2 * (p[k * 4 + j]! - l[k * 4 + j]!)) / 4 / 3 : 0;
          assertClose([g[k * 4 + j]!], [want], 1e-6, 1e-5, `grad token ${k}`);
        }
      }
      assert.throws(() => weightedMse(pred, labels, new Uint8Array(5)), LossInputError);
      assert.throws(() => weightedMse(pred, labels.narrow(1, 0, 2), w), /must be equal/);
      // All rows flagged (V1) and none (0/0 = NaN, as the official code).
      assertClose([weightedMse(pred, labels, new Uint8Array(6).fill(1)).item()], [pred.sub(labels).square().mean().item()], 1e-7, 1e-6, "all rows");
      assert.ok(Number.isNaN(weightedMse(pred, labels, new Uint8Array(6)).item()));
    });
  });

  test("fused patchTargets = the plain composition (selectDecoderKept ∘ reconstructionTarget), incl. flat and noisy patches", () => {
    tidy(() => {
      const g = { tubeletSize: 2, patchSize: 4 };
      const x = randn([2, 3, 4, 8, 12], { generator: new Generator(7) }); // grid [2, 2, 3]: 12 tokens
      // Token 11 of clip 0 nearly flat (variance ≪ eps²·P): the eps-dominated regime.
      const flat = x.narrow(0, 0, 1).narrow(2, 2, 2).narrow(3, 4, 4).narrow(4, 8, 4);
      flat.copy_(flat.mul(0).add(0.3).add(randn(flat.shape, { generator: new Generator(8) }).mul(1e-7)));
      const dec = new Uint8Array(24);
      for (let i = 0; i < 24; i++) dec[i] = i % 3 === 1 ? 1 : 0; // keep 8 of 12 per clip, incl. token 11
      const rows = tensor(Int32Array.from([0, 2, 3, 5, 6, 8, 9, 11, 0, 2, 3, 5, 6, 8, 9, 11]), { shape: [2, 8] }).to("int64");
      for (const normalize of [true, false]) {
        const want = selectDecoderKept(reconstructionTarget(x, { ...g, normalize }), dec).toArray();
        const got = F.patchTargets(x, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, g.tubeletSize, g.patchSize, rows, normalize);
        assert.deepEqual(got.shape, [2, 8, 96]);
        // Statistics are summed in double here, in float32 by the composition: relative 1e-5,
        // except in the flat patch where (v − mean) is itself rounding noise.
        const arr = got.toArray();
        const flatRow = 7; // clip 0, kept row 7 = token 11
        for (let i = 0; i < arr.length; i++) {
          if (normalize && i >= flatRow * 96 && i < (flatRow + 1) * 96) continue;
          assert.ok(Math.abs(arr[i]! - want[i]!) <= 1e-5 * (1 + Math.abs(want[i]!)), `${normalize ? "normalised" : "raw"} element ${i}: ${arr[i]} vs ${want[i]}`);
        }
        if (normalize) for (let i = flatRow * 96; i < (flatRow + 1) * 96; i++) assert.ok(Math.abs(arr[i]!) < 1, `flat patch values stay small: ${arr[i]}`);
      }
      assert.throws(() => F.patchTargets(x, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, 3, 4, rows, true), /does not split/);
      assert.throws(() => F.patchTargets(x, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, 2, 4, rows.add(12), true), /outside 0\.\.11/);
    });
  });

  test("only decoder-kept ∩ encoder-masked tokens count: errors at encoder-visible kept positions are ignored", () => {
    tidy(() => {
      const shape = [1, 3, 4, 32, 32]; // tiny grid [2, 4, 4], N = 32, out 384
      const x = ramp(shape, 1.1);
      const enc = new Uint8Array(32).fill(1);
      [0, 3, 9, 14, 16, 19, 25, 30].forEach((i) => (enc[i] = 0)); // visible
      const dec = new Uint8Array(32).fill(1);
      const kept = [0, 1, 3, 9, 10, 11, 20, 30]; // 0, 3, 9, 30 are visible → not in the loss
      kept.forEach((i) => (dec[i] = 0));
      const opts = { tubeletSize: 2, patchSize: 8, normalize: true };
      const labels = selectDecoderKept(reconstructionTarget(x, opts), dec); // [1, 8, 384]
      const offsets = tensor(kept.map((i) => (enc[i] ? 0.5 : 7)), { shape: [1, 8, 1] });
      const r = pretrainLoss(x, labels.add(offsets), enc, dec, opts);
      assert.equal(r.numLossTokens, 4);
      assertClose([r.loss.item()], [0.25], 1e-6, 1e-6, "loss sees only the 0.5 offsets");
    });
  });
});

describe("inverse: predictions back to video", () => {
  const c = refCase("pretrain");
  const dec = refMask(c.decoder_mask);
  const opts = { tubeletSize: 2, patchSize: 4, normalize: true };

  test("de-normalising the labels themselves gives back the input pixels (patch mean/std, eps included)", () => {
    tidy(() => {
      const x = refTensor("pretrain/input");
      const labels = selectDecoderKept(reconstructionTarget(x, opts), dec);
      const pixels = unnormalizeVideo(x);
      const back = denormalizePrediction(labels, x, dec, opts); // [2, 32, 96]
      assertClose(back.toArray(), selectDecoderKept(patchify(pixels, opts).flatten(2), dec).toArray(), 1e-5, 1e-5, "rows");
      assertClose(reconstructVideo(x, labels, dec, opts).toArray(), pixels.toArray(), 1e-5, 1e-5, "video");
      assertClose(reconstructVideo(x, selectDecoderKept(reconstructionTarget(x, { ...opts, normalize: false }), dec), dec, { ...opts, normalize: false }).toArray(), pixels.toArray(), 1e-6, 1e-6, "raw");
    });
  });

  test("a zero prediction paints kept patches with their per-channel means and leaves the rest untouched", () => {
    tidy(() => {
      const x = refTensor("pretrain/input");
      const out = noGrad(() => reconstructVideo(x, zeros([2, 32, 96]), dec, opts));
      const got = patchify(out, opts).toArray(); // [2, 64, 32, 3]
      const orig = patchify(unnormalizeVideo(x), opts);
      const means = orig.mean(2).toArray(); // [2, 64, 3]
      const o = orig.toArray();
      for (let b = 0; b < 2; b++) {
        for (let n = 0; n < 64; n++) {
          for (let i = 0; i < 32; i += 7) {
            for (let ch = 0; ch < 3; ch++) {
              const at = ((b * 64 + n) * 32 + i) * 3 + ch;
              const want = dec[b * 64 + n] ? o[at]! : means[(b * 64 + n) * 3 + ch]!;
              assertClose([got[at]!], [want], 1e-6, 1e-5, `b${b} n${n} i${i} c${ch}`);
            }
          }
        }
      }
      assert.throws(() => reconstructVideo(x, zeros([2, 31, 96]), dec, opts), /keeps 32 tokens per sample but the prediction has 31 rows/);
    });
  });
});
