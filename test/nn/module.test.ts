import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Conv3d, Dropout, DropPath, GELU, LayerNorm, Linear, Module, Sequential, StateDictError, init } from "../../src/nn/index.ts";
import { Generator, manualSeed, ones, randn, tensor, zeros, type Tensor } from "../../src/torch/index.ts";
import { assertClose } from "../helpers.ts";

class Block extends Module {
  readonly norm1 = new LayerNorm(4, 1e-6);
  readonly fc = new Linear(4, 4);
  readonly q_bias: Tensor;
  readonly table: Tensor;
  constructor() {
    super();
    this.q_bias = this.param("q_bias", zeros([4]));
    this.table = this.buffer("table", ones([2]), false); // not persistent: not in the state dict
  }
}
class Net extends Module {
  readonly blocks = [new Block(), new Block()];
  readonly head = new Linear(4, 3);
}

describe("Module", () => {
  test("parameter names follow the property tree, like PyTorch", () => {
    const names = new Net().namedParameters().map(([n]) => n);
    assert.deepEqual(names, [
      "blocks.0.q_bias", "blocks.0.norm1.weight", "blocks.0.norm1.bias", "blocks.0.fc.weight", "blocks.0.fc.bias",
      "blocks.1.q_bias", "blocks.1.norm1.weight", "blocks.1.norm1.bias", "blocks.1.fc.weight", "blocks.1.fc.bias",
      "head.weight", "head.bias",
    ]);
    const net = new Net();
    assert.equal(net.numParameters(), 2 * (4 + 8 + 20) + 15);
    assert.ok(!net.stateDict().has("blocks.0.table"));
    assert.deepEqual(net.namedBuffers().map(([n]) => n), ["blocks.0.table", "blocks.1.table"]);
  });

  test("strict loading lists missing, unexpected and mis-shaped keys", () => {
    const a = new Net();
    const sd = new Map(a.stateDict());
    sd.delete("head.bias");
    sd.set("extra.weight", zeros([1]));
    sd.set("head.weight", zeros([5, 4]));
    const b = new Net();
    const before = b.head.weight.toArray();
    assert.throws(
      () => b.loadStateDict(sd),
      (e: unknown) =>
        e instanceof StateDictError &&
        e.report.missing.join() === "head.bias" &&
        e.report.unexpected.join() === "extra.weight" &&
        e.report.mismatched[0]!.key === "head.weight" &&
        /head\.weight: model \[3, 4\] vs checkpoint \[5, 4\]/.test(e.message),
    );
    assert.deepEqual(b.head.weight.toArray(), before, "strict failure copies nothing");
    const report = b.loadStateDict(sd, { strict: false });
    assert.equal(report.loaded.length, 10);
    assert.deepEqual(b.blocks[1]!.fc.weight.toArray(), a.blocks[1]!.fc.weight.toArray());
  });

  test("loading casts dtype (fp16 checkpoint into fp32 weights) in place", () => {
    const l = new Linear(2, 2);
    const w = l.weight;
    l.loadStateDict({ weight: tensor([[1, 2], [3, 4]], { dtype: "float16" }), bias: tensor([0.5, 0.25], { dtype: "bfloat16" }) });
    assert.equal(l.weight, w);
    assert.equal(w.dtype, "float32");
    assert.deepEqual(w.toArray(), [1, 2, 3, 4]);
    assert.deepEqual(l.bias!.toArray(), [0.5, 0.25]);
  });

  test("train/eval propagate; dropout and drop path only act in training", () => {
    const d = new Dropout(0.5, new Generator(0));
    const seq = new Sequential(new Linear(8, 8), d, new GELU());
    seq.eval();
    assert.equal(d.training, false);
    const x = ones([4, 8]);
    assert.deepEqual(d.forward(x).toArray(), x.toArray());
    seq.train();
    const y = d.forward(ones([1000])).toArray();
    assert.ok(y.every((v) => v === 0 || v === 2));
    const kept = y.filter((v) => v === 2).length;
    assert.ok(kept > 420 && kept < 580, `kept ${kept}`);
    assert.deepEqual(seq.forward(x).shape, [4, 8]);
  });

  test("DropPath drops whole samples and rescales the rest", () => {
    const dp = new DropPath(0.25, new Generator(1));
    const out = dp.forward(ones([2000, 3, 2]));
    const perSample = out.reshape([2000, 6]);
    const mins = perSample.minDim(1)[0].toArray();
    const maxs = perSample.maxDim(1)[0].toArray();
    assert.deepEqual(mins, maxs, "one decision per sample");
    const kept = mins.filter((v) => Math.abs(v - 1 / 0.75) < 1e-6).length;
    assert.equal(mins.filter((v) => v === 0).length + kept, 2000);
    assert.ok(kept > 1420 && kept < 1580, `kept ${kept}`);
    dp.eval();
    assert.deepEqual(dp.forward(ones([3])).toArray(), [1, 1, 1]);
  });

  test("layers compute what PyTorch computes", () => {
    const l = new Linear(3, 2);
    l.loadStateDict({ weight: tensor([[1, 0, 1], [0, 2, 0]]), bias: tensor([1, -1]) });
    assert.deepEqual(l.forward(tensor([[1, 2, 3]])).toArray(), [5, 3]);
    const ln = new LayerNorm(4, 1e-6);
    const y = ln.forward(tensor([[1, 2, 3, 4]]));
    assertClose(y.toArray(), [-1.3416404, -0.4472135, 0.4472135, 1.3416404], 1e-5);
    const conv = new Conv3d(3, 8, [2, 4, 4], { stride: [2, 4, 4] });
    assert.deepEqual(conv.forward(zeros([1, 3, 4, 8, 8])).shape, [1, 8, 2, 2, 2]);
    assert.equal(new Linear(2, 2, { bias: false }).bias, undefined);
  });

  test("initialisers: PyTorch default bounds, xavier, truncated normal", () => {
    manualSeed(0);
    const l = new Linear(100, 50);
    const bound = 1 / Math.sqrt(100);
    assert.ok(l.weight.abs().max().item() <= bound);
    assert.ok(l.weight.abs().max().item() > 0.9 * bound);
    const w = init.xavierUniform(zeros([300, 200]), new Generator(2));
    const xb = Math.sqrt(6 / 500);
    assert.ok(w.abs().max().item() <= xb && w.abs().max().item() > 0.99 * xb);
    // trunc normal at ±1 std (as the pretraining mask token): bounded, std of the truncated law
    const t = init.truncNormal(zeros([100000]), 0.02, -0.02, 0.02, 0, new Generator(3));
    assert.ok(t.abs().max().item() <= 0.02);
    assertClose([t.std().item()], [0.02 * 0.5376], 3e-4); // std of N(0,1) truncated to ±1 is 0.5376
    const wide = init.truncNormal(zeros([100000]), 0.02, -2, 2, 0, new Generator(4));
    assertClose([wide.std().item()], [0.02], 3e-4);
    assertClose([init.erf(0.5), init.erf(-2.5), init.erf(3)], [0.5204998778130465, -0.9995930479825550, 0.9999779095030014], 1e-13);
    assert.deepEqual(randn([2]).shape, [2]);
  });
});
