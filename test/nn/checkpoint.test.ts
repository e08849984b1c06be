/**
 * Activation checkpointing (src/nn/checkpoint.ts): a tiny fine-tuning ViT and a tiny
 * pre-training encoder + decoder, drop path and dropout active, give the same losses and
 * gradients with every block checkpointed as without.
 *
 * Tolerance: the replay runs the very kernels of the plain forward on bit-identical inputs (the
 * generators are rewound, so the dropout and drop-path masks are the same), and back-propagates
 * the same gradients through the same graph. The only possible difference is the order in which
 * autograd sums several contributions to one gradient, which can move a float32 sum by a few ulp
 * (relative 1e-7 each); 1e-6 of the tensor's largest gradient allows a few such roundings and
 * would still catch a wrong mask or a missing contribution by orders of magnitude.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DualMaskGenerator } from "../../src/masking/index.ts";
import { checkpointBlocks, createModel, pretrainLoss, targetOptions, type PretrainVisionTransformer, type VisionTransformer } from "../../src/models/index.ts";
import { backward, checkpoint, CheckpointError, discardCheckpoints, pendingCheckpoints } from "../../src/nn/checkpoint.ts";
import { Linear, type Module } from "../../src/nn/index.ts";
import { autocast, F, Generator, manualSeed, noGrad, randn, tensor, tidy, type Tensor } from "../../src/torch/index.ts";
import { Rng } from "../../src/util/rng.ts";

interface Run {
  losses: number[];
  /** Gradients after the last step, by parameter name. */
  grads: Map<string, Float32Array>;
}

/**
 * `steps` forward/backward passes of a fresh model from `build` (same seed each call), the
 * blocks checkpointed or not; gradients are zeroed between steps except the last, so the second
 * step also checks that the generators continue where the plain run's do.
 */
function train(build: () => { model: Module; loss: () => Tensor }, checkpointed: boolean, steps = 2): Run {
  const { model, loss } = build();
  if (checkpointed) assert.ok(checkpointBlocks(model) > 0);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    for (const p of model.parameters()) p.zeroGrad();
    tidy(() => {
      const l = loss();
      losses.push(l.item());
      backward(l);
      return undefined;
    });
    assert.equal(pendingCheckpoints(), 0);
  }
  const grads = new Map<string, Float32Array>();
  for (const [k, p] of model.namedParameters()) {
    const g = p.grad;
    if (g) grads.set(k, g.float().data() as Float32Array);
    g?.dispose();
  }
  model.dispose();
  return { losses, grads };
}

function assertSameRun(a: Run, b: Run): void {
  assert.equal(b.losses.length, a.losses.length);
  a.losses.forEach((l, i) => assert.ok(Math.abs(l - b.losses[i]!) <= 1e-6 * Math.abs(l), `loss of step ${i + 1}: ${l} vs ${b.losses[i]}`));
  assert.deepEqual([...b.grads.keys()], [...a.grads.keys()]);
  for (const [k, x] of a.grads) {
    const y = b.grads.get(k)!;
    let scale = 0;
    let worst = 0;
    for (let i = 0; i < x.length; i++) {
      scale = Math.max(scale, Math.abs(x[i]!));
      worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
    }
    assert.ok(scale > 0, `${k}: zero gradient (the test would prove nothing)`);
    assert.ok(worst <= 1e-6 * scale, `${k}: gradients differ by ${worst} (largest gradient ${scale})`);
  }
}

const vitInput = () => randn([2, 3, 4, 32, 32], { generator: new Generator(11) });

/** The tiny fine-tuning ViT with drop path 0.2 and dropout 0.1 (and attention dropout when asked). */
function tinyVit(opts: { attnDrop?: number; ownGenerator: boolean; precision?: "bf16" }) {
  return () => {
    manualSeed(7); // the default generator: dropout's stream when the model has no generator of its own
    const model = createModel(
      "tiny_test_vit",
      { dropPathRate: 0.2, dropRate: 0.1, attnDropRate: opts.attnDrop ?? 0, depth: 3 },
      { generator: new Generator(1), ...(opts.ownGenerator ? { dropGenerator: new Generator(2) } : {}) },
    ) as VisionTransformer;
    model.train();
    const x = vitInput();
    const labels = tensor(BigInt64Array.from([3n, 8n]), { shape: [2] });
    const forward = () => model.forward(x);
    return {
      model,
      loss: () => {
        const logits = opts.precision === "bf16" ? autocast(forward).float() : forward();
        return F.crossEntropy(logits, labels);
      },
    };
  };
}

describe("activation checkpointing", () => {
  test("fine-tuning ViT (fused attention, drop path + dropout from the model's generator): same losses and gradients", () => {
    const build = tinyVit({ ownGenerator: true });
    assertSameRun(train(build, false), train(build, true));
  });

  test("fine-tuning ViT (plain attention with attention dropout, default generator): same losses and gradients", () => {
    const build = tinyVit({ attnDrop: 0.1, ownGenerator: false });
    assertSameRun(train(build, false), train(build, true));
  });

  test("fine-tuning ViT under bf16 autocast: the replay recomputes in bf16 too", () => {
    const build = tinyVit({ ownGenerator: true, precision: "bf16" });
    assertSameRun(train(build, false), train(build, true));
  });

  test("pre-training encoder and decoder (dual masking, drop path + dropout): same losses and gradients", () => {
    const build = () => {
      const model = createModel("tiny_test_pretrain", { dropPathRate: 0.2, dropRate: 0.1, depth: 3 }, { generator: new Generator(1), dropGenerator: new Generator(2) }) as PretrainVisionTransformer;
      model.train();
      const cfg = model.config;
      const x = randn([2, 3, 4, 32, 32], { generator: new Generator(12) });
      const masks = new DualMaskGenerator({ window: [2, 4, 4], encoder: "tube", encoderRatio: 0.5, decoder: "run_cell", decoderRatio: 0.5 }).generate(2, new Rng(3));
      const topts = targetOptions(cfg);
      return { model, loss: () => pretrainLoss(x, model.forward(x, masks.encoder, masks.decoder), masks.encoder, masks.decoder, topts).loss };
    };
    assertSameRun(train(build, false), train(build, true));
  });

  test("gradient accumulation over two backward() calls adds up like the plain run's", () => {
    const build = tinyVit({ ownGenerator: true });
    const accumulate = (checkpointed: boolean): Run => {
      const { model, loss } = build();
      if (checkpointed) checkpointBlocks(model);
      const losses = [0, 1].map(() => tidy(() => {
        const l = loss();
        backward(l.div(2));
        return l.item();
      }));
      const grads = new Map(model.namedParameters().map(([k, p]) => [k, tidy(() => p.grad!.data() as Float32Array)]));
      model.dispose();
      return { losses, grads };
    };
    assertSameRun(accumulate(false), accumulate(true));
  });

  test("without gradient recording nothing is taped; an abandoned forward is dropped", () => {
    const lin = new Linear(4, 4, { generator: new Generator(0) });
    const x = randn([2, 4], { generator: new Generator(1) });
    noGrad(() => tidy(() => checkpoint((t) => lin.forward(t), x)));
    assert.equal(pendingCheckpoints(), 0);
    tidy(() => checkpoint((t) => lin.forward(t), x));
    assert.equal(pendingCheckpoints(), 1);
    discardCheckpoints();
    assert.equal(pendingCheckpoints(), 0);
    // A taped forward that the next loss does not use is skipped by backward().
    tidy(() => {
      checkpoint((t) => lin.forward(t), x);
      const y = checkpoint((t) => lin.forward(t), x);
      backward(y.sum());
      return undefined;
    });
    assert.equal(pendingCheckpoints(), 0);
    const g = lin.weight.grad!;
    // d(sum(x·Wᵀ + b))/dW = column sums of x, broadcast over the output rows: only one forward counted.
    const want = tidy(() => x.sum(0).unsqueeze(0).expand([4, 4]).contiguous().data() as Float32Array);
    assert.deepEqual([...(g.data() as Float32Array)], [...want]);
    assert.throws(() => tidy(() => checkpoint(() => x.argmax(1), x)), CheckpointError);
    lin.dispose();
  });
});
