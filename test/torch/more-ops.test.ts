/** The remaining table ops, and a check that every native op is reachable from the TS API. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  arange, bernoulli, einsum, F, fullLike, Generator, native, ones, onesLike, tensor, zeros, zerosLike,
} from "../../src/torch/index.ts";
import { assertClose, gradcheck, ramp } from "../helpers.ts";

describe("more ops", () => {
  test("sorting and extrema", () => {
    const t = tensor([3, 1, 2]);
    const [v, i] = t.sort();
    assert.deepEqual([v.toArray(), i.toArray()], [[1, 2, 3], [1, 2, 0]]);
    assert.deepEqual(t.sort(0, true)[0].toArray(), [3, 2, 1]);
    assert.deepEqual(t.argsort().toArray(), [1, 2, 0]);
    assert.equal(t.min().item(), 1);
    assert.deepEqual(tensor([[3, 1], [0, 5]]).minDim(1)[1].toArray(), [1, 0]);
    assert.deepEqual(tensor([[3, 1], [0, 5]]).argmin(1).toArray(), [1, 0]);
    assert.equal(tensor([1, 0, 2]).countNonzero().item(), 2);
    assert.equal(tensor([2, 3, 4]).prod().item(), 24);
    assert.deepEqual(tensor([[1, 2], [3, 4]]).prod(1).toArray(), [2, 12]);
  });

  test("integer and misc elementwise", () => {
    assert.deepEqual(tensor([7, -7]).remainder(3).toArray(), [1, 2]); // Python-style sign
    assert.deepEqual(tensor([7, -7]).floorDivide(2).toArray(), [3, -4]);
    assertClose(tensor([1]).atan2(tensor([1])).toArray(), [Math.PI / 4]);
    assertClose(tensor([1e-8, 1]).log1p().toArray(), [1e-8, Math.log(2)], 1e-12, 1e-6);
    assert.deepEqual(tensor([1.4, -1.6]).round().toArray(), [1, -2]);
    assert.deepEqual(tensor([1.4, -1.6]).ceil().toArray(), [2, -1]);
    assert.deepEqual(tensor([-2, 0, 3]).sign().toArray(), [-1, 0, 1]);
    assert.deepEqual(tensor([true, false]).logicalNot().toArray(), [0, 1]);
    assert.deepEqual(tensor([true, false]).logicalXor(tensor([true, true])).toArray(), [0, 1]);
    assert.deepEqual(tensor([1, 2, 3, 4]).roll([1], [0]).toArray(), [4, 1, 2, 3]);
    assert.deepEqual(ones([2, 2]).tril().toArray(), [1, 0, 1, 1]);
  });

  test("linear algebra helpers", () => {
    const a = tensor([[1, 2], [3, 4]]);
    assert.deepEqual(einsum("ij,jk->ik", a, a).toArray(), [7, 10, 15, 22]);
    assert.deepEqual(einsum("ii->", a).toArray(), [5]);
    assert.deepEqual(tensor([1, 2]).outer(tensor([3, 4])).toArray(), [3, 4, 6, 8]);
    const b = F.baddbmm(ones([1, 2, 2]), a.unsqueeze(0), a.unsqueeze(0), 0.5, 2);
    assert.deepEqual(b.toArray(), [14.5, 20.5, 30.5, 44.5]);
    gradcheck((x, y) => F.baddbmm(x, y, y.transpose(1, 2), 0.5, 2), [ramp([1, 2, 2]), ramp([1, 2, 3], 1, 1)]);
  });

  test("likes, bernoulli, in-place updates", () => {
    const t = arange(4).float();
    assert.deepEqual(zerosLike(t).toArray(), [0, 0, 0, 0]);
    assert.deepEqual(onesLike(t).toArray(), [1, 1, 1, 1]);
    assert.deepEqual(fullLike(t, 2).toArray(), [2, 2, 2, 2]);
    const draws = bernoulli(zeros([4000]), 0.3, new Generator(0)).toArray();
    const frac = draws.reduce((s, v) => s + v, 0) / draws.length;
    assert.ok(frac > 0.27 && frac < 0.33, `bernoulli mean ${frac}`);
    const p = ones([3]);
    p.addcmul_(tensor([1, 2, 3]), tensor([2, 2, 2]), 0.5).addcdiv_(tensor([4, 4, 4]), tensor([2, 4, 8]), 1);
    assert.deepEqual(p.toArray(), [4, 4, 4.5]);
    p.zero_().add_(tensor([1, 1, 1]), 3).mul_(tensor([1, 2, 3])).clamp_(undefined, 6);
    assert.deepEqual(p.toArray(), [3, 6, 6]);
    p.uniform_(-1, 1, new Generator(1));
    assert.ok(p.toArray().every((v) => v >= -1 && v < 1));
    p.normal_(5, 0, new Generator(2));
    assert.deepEqual(p.toArray(), [5, 5, 5]);
    assert.deepEqual(arange(6).reshape([2, 3]).strides, [3, 1]);
  });

  test("grad accessors: set, retain on non-leaves", () => {
    const x = tensor([1, 2]).requiresGrad_();
    const y = x.mul(2);
    y.retainGrad();
    y.sum().backward();
    assert.deepEqual(y.grad!.toArray(), [1, 1]);
    x.grad = tensor([5, 5]);
    assert.deepEqual(x.grad!.toArray(), [5, 5]);
  });

  test("every native op is wrapped by the TypeScript API", () => {
    const src = ["tensor.ts", "creation.ts", "functional.ts", "distributed.ts", "device.ts", "random.ts", "op_profile.ts", "../data/transforms/native.ts"]
      .map((f) => readFileSync(join(import.meta.dirname, "../../src/torch", f), "utf8"))
      .join("\n");
    const unwrapped = Object.keys(native.ops).filter((name) => !src.includes(`ops.${name}(`) && !src.includes(`"${name}"`));
    assert.deepEqual(unwrapped, []);
  });
});
