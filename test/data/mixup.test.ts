// Batch Mixup / CutMix (timm 0.4.12 Mixup, mode "batch") on (B, C, T, H, W) tensors, and the
// Gamma / Beta samplers behind λ.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Mixup, MixupError, mixupTargets, randBbox, sampleBeta, sampleGamma, smoothOneHot } from "../../src/data/mixup.ts";
import { tensor, tidy } from "../../src/torch/index.ts";
import { Rng } from "../../src/util/rng.ts";
import { assertClose } from "../helpers.ts";

const B = 4, C = 3, T = 2, H = 6, W = 8, K = 5;
const N = C * T * H * W;
/** Sample b holds 100·b + (position index)/1000, so every value tells where it came from. */
function batch() {
  const data = new Float32Array(B * N);
  for (let b = 0; b < B; b++) for (let i = 0; i < N; i++) data[b * N + i] = 100 * b + i / 1000;
  return tensor(data, { shape: [B, C, T, H, W] });
}
const labels = [0, 3, 1, 4];

function rowSums(t: Float32Array, k: number): number[] {
  return Array.from({ length: t.length / k }, (_, i) => t.subarray(i * k, (i + 1) * k).reduce((a, b) => a + b, 0));
}

describe("samplers", () => {
  test("Gamma and Beta moments", () => {
    const rng = new Rng(17);
    for (const [a, b] of [[0.8, 0.8], [1, 1], [2, 5], [0.3, 0.6]] as const) {
      const n = 20000;
      let s = 0, s2 = 0;
      for (let i = 0; i < n; i++) {
        const v = sampleBeta(rng, a, b);
        assert.ok(v >= 0 && v <= 1);
        s += v;
        s2 += v * v;
      }
      const mean = s / n;
      const variance = s2 / n - mean * mean;
      const em = a / (a + b);
      const ev = (a * b) / ((a + b) ** 2 * (a + b + 1));
      assert.ok(Math.abs(mean - em) < 0.01, `Beta(${a}, ${b}) mean ${mean} vs ${em}`);
      assert.ok(Math.abs(variance - ev) < 0.01, `Beta(${a}, ${b}) variance ${variance} vs ${ev}`);
    }
    let g = 0;
    for (let i = 0; i < 20000; i++) g += sampleGamma(rng, 3.5);
    assert.ok(Math.abs(g / 20000 - 3.5) < 0.06);
    assert.throws(() => sampleGamma(rng, 0), MixupError);
  });
});

describe("targets", () => {
  test("label smoothing: off = ε/K, on = 1 − ε + ε/K, rows sum to 1", () => {
    const y = smoothOneHot([2, 0], K, 0.1);
    assertClose(y, [0.02, 0.02, 0.92, 0.02, 0.02, 0.92, 0.02, 0.02, 0.02, 0.02], 1e-7);
    assert.throws(() => smoothOneHot([5], K, 0.1), MixupError);
  });

  test("mixed targets = λ·y + (1−λ)·y.flip(0), rows sum to 1", () => {
    const t = tidy(() => mixupTargets(labels, K, 0.7, 0.1).toFloat32Array());
    assertClose(rowSums(t, K), [1, 1, 1, 1], 1e-6);
    // Row 0: label 0 with 0.7, flipped partner (row 3) label 4 with 0.3.
    assertClose(t.subarray(0, K), [0.7 * 0.92 + 0.3 * 0.02, 0.02, 0.02, 0.02, 0.7 * 0.02 + 0.3 * 0.92], 1e-6);
  });
});

describe("Mixup.apply", () => {
  test("prob 0: no mixing, only smoothing", () => {
    const m = new Mixup({ numClasses: K, prob: 0 });
    tidy(() => {
      const x = batch();
      const r = m.apply(x, labels, new Rng(1));
      assert.equal(r.kind, "none");
      assert.equal(r.lam, 1);
      assert.equal(r.x, x);
      const t = r.target.toFloat32Array();
      assertClose(t.subarray(K, 2 * K), [0.02, 0.02, 0.02, 0.92, 0.02], 1e-7);
    });
  });

  test("mixup: x = λ·x + (1−λ)·x.flip(0) with the targets' λ", () => {
    const m = new Mixup({ numClasses: K, switchProb: 0 });
    tidy(() => {
      const x = batch();
      const r = m.apply(x, labels, new Rng(2));
      assert.equal(r.kind, "mixup");
      assert.ok(r.lam > 0 && r.lam < 1);
      const xs = x.toFloat32Array();
      const out = r.x.toFloat32Array();
      for (const [b, i] of [[0, 0], [1, 17], [3, N - 1]] as const) {
        const e = r.lam * xs[b * N + i]! + (1 - r.lam) * xs[(B - 1 - b) * N + i]!;
        assert.ok(Math.abs(out[b * N + i]! - e) < 1e-3, `b ${b} i ${i}`);
      }
      assertClose(rowSums(r.target.toFloat32Array(), K), [1, 1, 1, 1], 1e-6);
    });
  });

  test("cutmix: one H×W box for every channel and frame, λ = 1 − box area / (H·W)", () => {
    const m = new Mixup({ numClasses: K, switchProb: 1 });
    const rng = new Rng(5);
    let corrected = 0;
    for (let trial = 0; trial < 20; trial++) {
      tidy(() => {
        const x = batch();
        const r = m.apply(x, labels, rng);
        assert.equal(r.kind, "cutmix");
        const { y0, y1, x0, x1 } = r.box!;
        const area = (y1 - y0) * (x1 - x0);
        assert.ok(Math.abs(r.lam - (1 - area / (H * W))) < 1e-12);
        const out = r.x.toFloat32Array();
        for (let b = 0; b < B; b++) {
          for (let c = 0; c < C; c++) for (let t = 0; t < T; t++) for (let yy = 0; yy < H; yy++) for (let xx = 0; xx < W; xx++) {
            const i = ((c * T + t) * H + yy) * W + xx;
            const inBox = yy >= y0 && yy < y1 && xx >= x0 && xx < x1;
            const src = inBox ? B - 1 - b : b;
            assert.equal(out[b * N + i], Math.fround(100 * src + i / 1000));
          }
        }
        // The targets use the corrected λ.
        const tg = r.target.toFloat32Array();
        assert.ok(Math.abs(tg[0]! - (r.lam * 0.92 + (1 - r.lam) * 0.02)) < 1e-6);
        if (area > 0 && area < H * W) corrected++;
      });
    }
    assert.ok(corrected > 10);
  });

  test("rand_bbox clips a box centred at a uniform pixel", () => {
    const rng = new Rng(3);
    for (let i = 0; i < 500; i++) {
      const lam = rng.float();
      const b = randBbox(H, W, lam, rng);
      assert.ok(b.y0 >= 0 && b.y0 <= b.y1 && b.y1 <= H && b.x0 >= 0 && b.x0 <= b.x1 && b.x1 <= W);
      assert.ok(b.y1 - b.y0 <= Math.trunc(H * Math.sqrt(1 - lam)));
    }
  });

  test("deterministic under a seed; mixup/cutmix chosen about half the time each", () => {
    const m = new Mixup({ numClasses: K });
    const run = (seed: number) =>
      tidy(() => {
        const r = m.apply(batch(), labels, new Rng(seed));
        return { kind: r.kind, lam: r.lam, x: Array.from(r.x.toFloat32Array()), t: Array.from(r.target.toFloat32Array()) };
      });
    assert.deepEqual(run(11), run(11));
    const kinds = Array.from({ length: 200 }, (_, s) => run(100 + s).kind);
    const cut = kinds.filter((k) => k === "cutmix").length;
    assert.ok(cut > 70 && cut < 130, `${cut} cutmix of 200`);
    assert.ok(kinds.every((k) => k !== "none"));
  });

  test("errors: odd batch, wrong label count, labels as a tensor", () => {
    const m = new Mixup({ numClasses: K });
    tidy(() => {
      assert.throws(() => m.apply(tensor(new Float32Array(3 * 4 * 4), { shape: [3, 4, 4] }), [0, 1, 2], new Rng(0)), /even/);
      assert.throws(() => m.apply(batch(), [0, 1], new Rng(0)), /labels/);
      const r = m.apply(batch(), tensor(new Int32Array(labels), { dtype: "int32" }), new Rng(0));
      assert.deepEqual(r.target.shape, [B, K]);
    });
    assert.throws(() => new Mixup({ numClasses: K, mixupAlpha: 0, cutmixAlpha: 0 }), MixupError);
  });
});
