/** AdamW with groups, gradient clipping and the cosine schedule against PyTorch 1.13. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AdamW, clipGradNorm, cosineSchedule, layerDecay, parameterGroups } from "../../src/optim/index.ts";
import { keep, noGrad, tidy, zeros, type Tensor } from "../../src/torch/index.ts";
import { assertClose, ramp, readJson } from "../helpers.ts";

const ref = readJson<{
  lr_schedule: number[];
  wd_schedule: number[];
  steps: { loss: number; grad_norm: number; w: number[]; b: number[]; w2: number[] }[];
}>("reference", "adamw.json");

describe("cosine schedule", () => {
  test("matches the official cosine_scheduler (warm-up from 0, linspace endpoints)", () => {
    const lr = cosineSchedule({ base: 1e-2, final: 1e-4, epochs: 4, itersPerEpoch: 5, warmupEpochs: 1 });
    assertClose(lr, ref.lr_schedule, 1e-15, 1e-12);
    assert.equal(lr[0], 0);
    assert.equal(lr[4], 1e-2);
    const wd = cosineSchedule({ base: 0.05, final: 0.1, epochs: 4, itersPerEpoch: 5 });
    assertClose(wd, ref.wd_schedule, 1e-15, 1e-12);
    assert.throws(() => cosineSchedule({ base: 1, final: 0, epochs: 1, itersPerEpoch: 2, warmupEpochs: 2 }), /exceed/);
  });
});

describe("AdamW", () => {
  test("20 steps with two groups, lr scales, scheduled wd and clipping match torch.optim.AdamW", () => {
    const w = keep(ramp([4, 3], 0.5)).requiresGrad_();
    const b = keep(ramp([4], 0.1, 1)).requiresGrad_();
    const w2 = keep(ramp([2, 4], 0.3, 2)).requiresGrad_();
    const opt = new AdamW(
      [
        { params: [w, w2], weightDecay: 0.05, lrScale: 0.5 },
        { params: [b], weightDecay: 0, lrScale: 1 },
      ],
      { lr: 1e-2, betas: [0.9, 0.95], eps: 1e-8 },
    );
    ref.steps.forEach((expected, it) => {
      opt.lr = ref.lr_schedule[it]!;
      opt.weightDecay = ref.wd_schedule[it]!;
      const loss = tidy(() => {
        const x = ramp([5, 3], 1, 0.1 * it);
        const y = x.matmul(w.transpose(0, 1)).add(b).tanh().matmul(w2.transpose(0, 1));
        const l = y.square().mean().add(y.sum().mul(0.1));
        opt.zeroGrad();
        l.backward();
        return l.item();
      });
      const norm = clipGradNorm([w, b, w2], 0.5);
      opt.step();
      assertClose([loss], [expected.loss], 1e-6, 1e-5, `loss at step ${it}`);
      assertClose([norm], [expected.grad_norm], 1e-6, 1e-5, `grad norm at step ${it}`);
      assertClose(w.toArray(), expected.w, 1e-6, 1e-5, `w at step ${it}`);
      assertClose(b.toArray(), expected.b, 1e-6, 1e-5, `b at step ${it}`);
      assertClose(w2.toArray(), expected.w2, 1e-6, 1e-5, `w2 at step ${it}`);
    });
  });

  test("state round-trips: a restored optimizer continues identically", () => {
    const make = () => keep(ramp([3, 3], 1, 0.3)).requiresGrad_();
    const run = (p: Tensor, opt: AdamW, steps: number) => {
      for (let i = 0; i < steps; i++) {
        tidy(() => {
          opt.zeroGrad();
          p.square().sum().backward();
        });
        opt.step();
      }
    };
    const p1 = make();
    const o1 = new AdamW([p1], { lr: 0.1 });
    run(p1, o1, 5);
    const p2 = make();
    noGrad(() => p2.copy_(p1));
    const o2 = new AdamW([p2], { lr: 0.1 });
    o2.loadStateDict(o1.stateDict());
    run(p1, o1, 3);
    run(p2, o2, 3);
    assert.deepEqual(p2.toArray(), p1.toArray());
  });

  test("rejects non-float32 parameters and duplicates", () => {
    const p = zeros([2]).requiresGrad_();
    assert.throws(() => new AdamW([{ params: [p] }, { params: [p] }], { lr: 1 }), /two groups/);
    assert.throws(() => new AdamW([zeros([2], { dtype: "float64" })], { lr: 1 }), /float32 master weights/);
  });
});

describe("parameter groups", () => {
  test("no decay for 1-D, .bias, skip list; layer decay scales", () => {
    const named: [string, Tensor][] = [
      ["patch_embed.proj.weight", zeros([4, 3, 2, 2, 2]).requiresGrad_()],
      ["blocks.0.attn.q_bias", zeros([4]).requiresGrad_()],
      ["blocks.0.mlp.fc1.weight", zeros([8, 4]).requiresGrad_()],
      ["blocks.1.mlp.fc1.weight", zeros([8, 4]).requiresGrad_()],
      ["mask_token", zeros([1, 1, 4]).requiresGrad_()],
      ["head.weight", zeros([3, 4]).requiresGrad_()],
    ];
    const ld = layerDecay(2, 0.75);
    assert.deepEqual(ld.layerScales, [0.75 ** 3, 0.75 ** 2, 0.75, 1]);
    const groups = parameterGroups(named, { weightDecay: 0.05, skip: ["mask_token"], ...ld });
    const byName = Object.fromEntries(groups.map((g) => [g.name, g]));
    assert.equal(byName["layer_0_decay"]!.params.length, 1);
    assert.equal(byName["layer_0_no_decay"]!.params.length, 1); // mask_token
    assert.equal(byName["layer_1_no_decay"]!.weightDecay, 0);
    assert.equal(byName["layer_2_decay"]!.lrScale, 0.75);
    assert.equal(byName["layer_3_decay"]!.lrScale, 1);
    assert.equal(ld.layerId("encoder.blocks.1.attn.qkv.weight"), 2);
  });
});
