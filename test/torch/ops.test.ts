import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { arange, cat, F, stack, tensor, where, zeros } from "../../src/torch/index.ts";
import { assertClose } from "../helpers.ts";

const m23 = () => tensor([[1, 2, 3], [4, 5, 6]]);

describe("views and shape", () => {
  test("reshape, permute, transpose, contiguous", () => {
    const t = arange(6).reshape([2, 3]);
    assert.deepEqual(t.transpose(0, 1).toArray(), [0, 3, 1, 4, 2, 5]);
    assert.equal(t.transpose(0, 1).isContiguous, false);
    assert.equal(t.transpose(0, 1).contiguous().isContiguous, true);
    assert.deepEqual(arange(24).reshape([2, 3, 4]).permute([2, 0, 1]).shape, [4, 2, 3]);
    assert.deepEqual(t.reshape([-1]).shape, [6]);
    assert.deepEqual(t.flatten().shape, [6]);
    assert.deepEqual(t.unsqueeze(0).shape, [1, 2, 3]);
    assert.deepEqual(t.unsqueeze(0).squeeze(0).shape, [2, 3]);
    assert.throws(() => t.transpose(0, 1).view([6]), /view/);
  });

  test("slice, narrow, select, expand, repeat, flip", () => {
    const t = arange(10);
    assert.deepEqual(t.slice(0, 2, 8, 3).toArray(), [2, 5]);
    assert.deepEqual(t.narrow(0, 7, 3).toArray(), [7, 8, 9]);
    assert.deepEqual(m23().select(1, 2).toArray(), [3, 6]);
    assert.deepEqual(tensor([[1], [2]]).expand([2, 3]).toArray(), [1, 1, 1, 2, 2, 2]);
    assert.deepEqual(tensor([1, 2]).repeat([2]).toArray(), [1, 2, 1, 2]);
    assert.deepEqual(tensor([1, 2, 3]).flip([0]).toArray(), [3, 2, 1]);
  });

  test("cat, stack, split, chunk", () => {
    assert.deepEqual(cat([m23(), m23()], 1).shape, [2, 6]);
    assert.deepEqual(stack([m23(), m23()], 0).shape, [2, 2, 3]);
    const parts = arange(7).split(3);
    assert.deepEqual(parts.map((p) => p.toArray()), [[0, 1, 2], [3, 4, 5], [6]]);
    assert.deepEqual(arange(6).split([1, 5]).map((p) => p.numel), [1, 5]);
    assert.equal(arange(6).chunk(3).length, 3);
  });
});

describe("indexing", () => {
  test("indexSelect, gather, scatter, masked ops", () => {
    const t = m23();
    assert.deepEqual(t.indexSelect(1, tensor([2, 0], { dtype: "int64" })).toArray(), [3, 1, 6, 4]);
    assert.deepEqual(t.gather(1, tensor([[0, 0], [2, 1]], { dtype: "int64" })).toArray(), [1, 1, 6, 5]);
    const s = zeros([2, 3]).scatter(1, tensor([[2], [0]], { dtype: "int64" }), tensor([[9], [8]]));
    assert.deepEqual(s.toArray(), [0, 0, 9, 8, 0, 0]);
    const sa = zeros([3]).scatterAdd(0, tensor([0, 0, 2], { dtype: "int64" }), tensor([1, 2, 3]));
    assert.deepEqual(sa.toArray(), [3, 0, 3]);
    const mask = t.gt(2.5);
    assert.deepEqual(t.maskedSelect(mask).toArray(), [3, 4, 5, 6]);
    assert.deepEqual(t.maskedFill(mask, 0).toArray(), [1, 2, 0, 0, 0, 0]);
  });

  test("boolean and long advanced indexing", () => {
    const t = arange(12).reshape([3, 4]);
    assert.deepEqual(t.index([tensor([true, false, true])]).toArray(), [0, 1, 2, 3, 8, 9, 10, 11]);
    assert.deepEqual(t.index([null, tensor([3, 0], { dtype: "int64" })]).toArray(), [3, 0, 7, 4, 11, 8]);
    const put = zeros([4]).indexPut([tensor([1, 3], { dtype: "int64" })], tensor([5, 6]));
    assert.deepEqual(put.toArray(), [0, 5, 0, 6]);
    assert.deepEqual(tensor([0, 3, 0, 2]).nonzero().toArray(), [1, 3]);
  });
});

describe("math", () => {
  test("broadcast arithmetic and scalar promotion like PyTorch", () => {
    const t = m23();
    assert.deepEqual(t.add(tensor([10, 20, 30])).toArray(), [11, 22, 33, 14, 25, 36]);
    assert.deepEqual(t.sub(1, 2).toArray(), [-1, 0, 1, 2, 3, 4]);
    assert.deepEqual(t.rsub(10).toArray(), [9, 8, 7, 6, 5, 4]);
    assert.deepEqual(t.div(tensor([[1], [2]])).toArray(), [1, 2, 3, 2, 2.5, 3]);
    assert.deepEqual(t.pow(2).toArray(), [1, 4, 9, 16, 25, 36]);
    // an int tensor times a float number gives the default float dtype (not float64)
    assert.equal(arange(3).mul(0.5).dtype, "float32");
    assert.equal(arange(3).mul(2).dtype, "int64");
    // a float16 tensor stays float16 when combined with a number
    assert.equal(tensor([1, 2], { dtype: "float16" }).add(1.5).dtype, "float16");
    assert.deepEqual(tensor([-1, 2]).clamp(0, 1).toArray(), [0, 1]);
    assert.deepEqual(tensor([1, 5]).maximum(tensor([3, 2])).toArray(), [3, 5]);
    assertClose(tensor([0, 1]).exp().toArray(), [1, Math.E], 1e-6);
    assertClose(tensor([1, 4]).sqrt().toArray(), [1, 2]);
    assertClose(tensor([0.5]).erfinv().toArray(), [0.4769362762044699], 1e-6);
    assertClose(tensor([0, 1, -1]).gelu().toArray(), [0, 0.8413447460685429, -0.15865525393145707], 1e-6);
    assertClose(tensor([1]).gelu("tanh").toArray(), [0.8411919906082768], 1e-6);
    assert.deepEqual(tensor([1, 2]).lerp(tensor([3, 6]), 0.5).toArray(), [2, 4]);
  });

  test("comparisons and where", () => {
    const t = tensor([1, 2, 3]);
    assert.deepEqual(t.eq(2).toArray(), [0, 1, 0]);
    assert.deepEqual(t.ge(tensor([0, 2, 4])).toArray(), [1, 1, 0]);
    assert.equal(t.lt(2).dtype, "bool");
    assert.deepEqual(where(t.gt(1), t, -1).toArray(), [-1, 2, 3]);
    assert.deepEqual(t.gt(1).logicalAnd(t.lt(3)).toArray(), [0, 1, 0]);
    assert.deepEqual(tensor([NaN, 1, Infinity]).isfinite().toArray(), [0, 1, 0]);
    assert.ok(t.allclose(tensor([1, 2, 3.000001])));
    assert.ok(t.equal(tensor([1, 2, 3])));
  });

  test("reductions", () => {
    const t = m23();
    assert.equal(t.sum().item(), 21);
    assert.deepEqual(t.sum(0).toArray(), [5, 7, 9]);
    assert.deepEqual(t.sum(1, true).shape, [2, 1]);
    assert.deepEqual(t.mean(1).toArray(), [2, 5]);
    // torch.var is unbiased by default: var([1,2,3]) = 1; biased = 2/3
    assertClose(t.var(1).toArray(), [1, 1]);
    assertClose(t.var(1, { unbiased: false }).toArray(), [2 / 3, 2 / 3]);
    assertClose(t.std(1).toArray(), [1, 1]);
    assert.equal(t.max().item(), 6);
    const [v, i] = t.maxDim(1);
    assert.deepEqual([v.toArray(), i.toArray()], [[3, 6], [2, 2]]);
    assert.deepEqual(t.argmax(0).toArray(), [1, 1, 1]);
    const [tv, ti] = tensor([0.1, 0.7, 0.2, 0.9]).topk(2);
    assertClose(tv.toArray(), [0.9, 0.7]);
    assert.deepEqual(ti.toArray(), [3, 1]);
    assertClose(tensor([1, 2, 3]).softmax(0).sum().toArray(), [1], 1e-6);
    assertClose(tensor([1, 2]).logSoftmax(0).exp().toArray(), [0.2689414, 0.7310586], 1e-6);
    assertClose(tensor([3, 4]).norm().toArray(), [5]);
    assert.equal(tensor([1, 0]).any().item(), 1);
    assert.equal(tensor([1, 0]).all().item(), 0);
    assertClose(tensor([1, 2, 3]).cumsum(0).toArray(), [1, 3, 6]);
  });

  test("linear algebra", () => {
    const a = m23();
    const b = tensor([[1, 0], [0, 1], [1, 1]]);
    assert.deepEqual(a.matmul(b).toArray(), [4, 5, 10, 11]);
    assert.deepEqual(a.mm(b).toArray(), [4, 5, 10, 11]);
    assert.deepEqual(stack([a, a]).bmm(stack([b, b])).shape, [2, 2, 2]);
    assert.deepEqual(F.linear(a, b.transpose(0, 1), tensor([1, 1])).toArray(), [5, 6, 11, 12]);
    assert.deepEqual(F.addmm(tensor([1, 1]), a, b, 2, 1).toArray(), [6, 7, 12, 13]);
  });

  test("dtype casts", () => {
    const t = tensor([1.7, -1.2]);
    assert.deepEqual(t.to("int32").toArray(), [1, -1]);
    assert.equal(t.to("bfloat16").dtype, "bfloat16");
    assertClose(t.to("float16").toArray(), [1.7, -1.2], 1e-3);
    assert.deepEqual(t.to("bool").toArray(), [1, 1]);
    assert.equal(t.long().dtype, "int64");
  });
});
