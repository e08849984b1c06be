/**
 * The distillation loss (src/train/losses.ts) against PyTorch golden values
 * (tools/reference/distill_reference.py, float64): τ²·KL with the teacher's classes gathered
 * through a label map, mixup-mixed soft targets, a saturated teacher (float32 softmax zeros),
 * and the full loss with label cross-entropy and the projected-feature MSE — values and
 * gradients. Ours computes in float32: the sums over ≤ 7 classes of O(1) terms carry a few ulp
 * (6e-8 relative) each, so 1e-6 absolute + 1e-5 relative is well above float32 rounding and far
 * below any real mistake (a missing τ² or 1/B changes values by ≥ 25 %).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { F, noGrad, tensor } from "../../src/torch/index.ts";
import { distillKL, mixRows, temperedProbs } from "../../src/train/losses.ts";
import { assertClose, ramp, readJson } from "../helpers.ts";

interface Case {
  name: string;
  tau: number;
  lam: number;
  alpha: number;
  beta: number;
  teacherScale: number;
  kd: number;
  ce: number;
  feat: number;
  loss: number;
  grad_student_logits: number[];
  grad_student_features: number[];
  grad_proj_weight: number[];
  grad_proj_bias: number[];
}
const ref = readJson<{ B: number; teacherClasses: number; studentClasses: number; studentDim: number; teacherDim: number; labelMap: number[]; labels: number[]; cases: Case[] }>("distill", "loss.json");

describe("distillation loss vs PyTorch", () => {
  for (const c of ref.cases) {
    test(`${c.name}: τ ${c.tau}, λ ${c.lam}, α ${c.alpha}, β ${c.beta} — value and gradients`, () => {
      const { B, teacherClasses: KT, studentClasses: KS, studentDim: DS, teacherDim: DT } = ref;
      const s = ramp([B, KS], 2.0, 0.1).requiresGrad_();
      const t = ramp([B, KT], c.teacherScale, 1.3);
      const fs = ramp([B, DS], 1.5, 0.7).requiresGrad_();
      const w = ramp([DT, DS], 0.4, 2.1).requiresGrad_();
      const b = ramp([DT], 0.2, 0.9).requiresGrad_();
      const ft = ramp([B, DT], 1.0, 2.7);
      const map = tensor(BigInt64Array.from(ref.labelMap, (i) => BigInt(i)), { shape: [KS], dtype: "int64" });
      const p = mixRows(temperedProbs(t.indexSelect(1, map), c.tau), c.lam);
      const kd = distillKL(s, p, c.tau);
      const ce = F.crossEntropy(s, tensor(BigInt64Array.from(ref.labels, (i) => BigInt(i)), { shape: [B], dtype: "int64" }), 0.1);
      const feat = F.mseLoss(F.linear(fs, w, b), mixRows(ft, c.lam));
      let loss = kd;
      if (c.alpha) loss = loss.add(ce.mul(c.alpha));
      if (c.beta) loss = loss.add(feat.mul(c.beta));
      loss.backward();
      const tol = [1e-6, 1e-5] as const;
      assertClose([kd.item(), ce.item(), feat.item(), loss.item()], [c.kd, c.ce, c.feat, c.loss], ...tol, "kd, ce, feat, loss");
      assertClose(s.grad!.toArray(), c.grad_student_logits, ...tol, "∂loss/∂student logits");
      const zeros = (n: number) => new Array(n).fill(0);
      assertClose(fs.grad?.toArray() ?? zeros(fs.numel), c.grad_student_features, ...tol, "∂loss/∂student features");
      assertClose(w.grad?.toArray() ?? zeros(w.numel), c.grad_proj_weight, ...tol, "∂loss/∂projector weight");
      assertClose(b.grad?.toArray() ?? zeros(b.numel), c.grad_proj_bias, ...tol, "∂loss/∂projector bias");
    });
  }

  test("KL is 0 when the student matches the teacher, and its gradient is τ·(q − p)/B", () => {
    const logits = ramp([3, 6], 2.5, 0.4);
    const tau = 3;
    noGrad(() => assert.ok(Math.abs(distillKL(logits, temperedProbs(logits, tau), tau).item()) < 1e-6));
    const s = ramp([3, 6], 1.0, 2.0).requiresGrad_();
    const p = temperedProbs(logits, tau);
    distillKL(s, p, tau).backward();
    const expected = noGrad(() => s.detach().div(tau).softmax(1).sub(p).mul(tau / 3).toArray());
    assertClose(s.grad!.toArray(), expected, 1e-7, 1e-5, "gradient");
  });

  test("a non-positive temperature is refused", () => {
    assert.throws(() => distillKL(ramp([2, 3]), temperedProbs(ramp([2, 3]), 1), 0), /temperature must be > 0/);
  });
});
