/** Bad input gives a JS error naming the op and the shapes, never a crash. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { F, Generator, native, ones, randn, tensor, zeros } from "../../src/torch/index.ts";

describe("errors", () => {
  test("shape mismatch names the op and shapes", () => {
    assert.throws(() => zeros([2, 3]).matmul(zeros([4, 5])), /^Error: matmul\(\[2,3\]:Float, \[4,5\]:Float\): .*cannot be multiplied/);
    assert.throws(() => zeros([2, 3]).add(zeros([4])), /add\(\[2,3\]:Float, \[4\]:Float.*size of tensor a \(3\) must match/);
    assert.throws(() => F.conv3d(zeros([1, 3, 4, 8, 8]), zeros([5, 2, 2, 2, 2])), /conv3d\(.*expected input.*to have 2 channels/s);
  });

  test("wrong dtype", () => {
    assert.throws(() => zeros([2]).gather(0, zeros([2])), /gather\(.*Expected dtype int64 for index/);
    assert.throws(() => F.crossEntropy(zeros([2, 3]), zeros([2], { dtype: "int32" })), /crossEntropy/);
    assert.throws(() => F.adamwStep(zeros([2], { dtype: "float64" }), zeros([2]), zeros([2]), zeros([2]), {
      lr: 1, beta1: 0.9, beta2: 0.9, eps: 1e-8, weightDecay: 0, step: 1,
    }), /adamwStep needs float32/);
  });

  test("disposed tensors", () => {
    const t = ones([2]);
    t.dispose();
    assert.equal(t.isDisposed, true);
    assert.throws(() => t.add(1), /add\(<disposed>.*was disposed/);
    assert.throws(() => t.toArray(), /disposed/);
    t.dispose(); // disposing twice is harmless
  });

  test("wrong argument kinds are rejected, not crashing", () => {
    const g = new Generator(1);
    assert.throws(() => native.ops.add(g.handle, 1), /argument 0 is not a tensor/);
    assert.throws(() => native.ops.add({}, 1), /argument 0 is not a tensor/);
    assert.throws(() => native.ops.reshape(zeros([2]).handle, "x"), /argument 1 must be an array of integers/);
    assert.throws(() => randn([2], { generator: { handle: zeros([1]).handle } as any }), /not a Generator/);
    assert.throws(() => tensor(new Float32Array(3), { shape: [2, 2] }), /12 bytes but shape and dtype need 16/);
    assert.throws(() => zeros([3]).item(), /item\(\) needs a tensor with one element/);
    assert.throws(() => zeros([2]).backward(), /needs a scalar/);
  });
});
