import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  arange, empty, eye, full, Generator, linspace, manualSeed, ones, rand, randint, randn, randperm, tensor, zeros,
  type DType,
} from "../../src/torch/index.ts";

describe("creation", () => {
  test("nested arrays infer shape and float32", () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(t.dtype, "float32");
    assert.deepEqual(t.toArray(), [1, 2, 3, 4, 5, 6]);
    assert.equal(tensor([true, false]).dtype, "bool");
    assert.throws(() => tensor([[1, 2], [3]]), /ragged/);
  });

  test("every dtype round-trips through TypedArrays", () => {
    const values = [0, 1, 2, 3, 100, 7];
    const dtypes: DType[] = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8"];
    for (const dtype of dtypes) {
      const t = tensor(values, { dtype, shape: [2, 3] });
      assert.equal(t.dtype, dtype);
      assert.deepEqual(t.shape, [2, 3]);
      assert.deepEqual(t.toArray(), values, dtype);
    }
    const b = tensor([1, 0, 1], { dtype: "bool" });
    assert.deepEqual(b.toArray(), [1, 0, 1]);
    assert.ok(b.data() instanceof Uint8Array);
    assert.ok(tensor([1, 2], { dtype: "int64" }).data() instanceof BigInt64Array);
    // float16 data comes back as raw half words: 1.0 = 0x3c00, bfloat16 1.0 = 0x3f80.
    assert.equal((tensor([1], { dtype: "float16" }).data() as Uint16Array)[0], 0x3c00);
    assert.equal((tensor([1], { dtype: "bfloat16" }).data() as Uint16Array)[0], 0x3f80);
    // raw half words go in unchanged
    assert.deepEqual(tensor(new Uint16Array([0x3c00, 0x4000]), { dtype: "float16" }).toArray(), [1, 2]);
  });

  test("typed arrays are copied (later writes do not change the tensor)", () => {
    const src = new Float32Array([1, 2, 3, 4]);
    const t = tensor(src, { shape: [2, 2] });
    src[0] = 99;
    assert.deepEqual(t.toArray(), [1, 2, 3, 4]);
    assert.throws(() => tensor(src, { shape: [3, 2] }), /16 bytes but shape and dtype need 24/);
  });

  test("dataView is zero-copy and keeps memory alive after dispose", () => {
    const t = arange(0, 6, 1, { dtype: "float32" });
    const view = t.dataView() as Float32Array;
    t.mul_(2);
    assert.deepEqual(Array.from(view), [0, 2, 4, 6, 8, 10]);
    t.dispose();
    assert.equal(view[5], 10);
  });

  test("constants and ranges", () => {
    assert.deepEqual(zeros([2, 2]).toArray(), [0, 0, 0, 0]);
    assert.deepEqual(ones([3], { dtype: "int32" }).toArray(), [1, 1, 1]);
    assert.deepEqual(full([2], 7.5).toArray(), [7.5, 7.5]);
    assert.deepEqual(eye(2).toArray(), [1, 0, 0, 1]);
    assert.deepEqual(empty([2, 3]).shape, [2, 3]);
    assert.equal(arange(5).dtype, "int64");
    assert.deepEqual(arange(2, 8, 2).toArray(), [2, 4, 6]);
    assert.deepEqual(arange(0, 1, 0.25).toArray(), [0, 0.25, 0.5, 0.75]);
    // linspace includes both ends, like numpy
    assert.deepEqual(linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
  });

  test("random draws are reproducible from a Generator or the global seed", () => {
    const a = randn([100], { generator: new Generator(7) }).toArray();
    const b = randn([100], { generator: new Generator(7) }).toArray();
    const c = randn([100], { generator: new Generator(8) }).toArray();
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    manualSeed(3);
    const d = rand([50]).toArray();
    manualSeed(3);
    assert.deepEqual(rand([50]).toArray(), d);
    assert.ok(d.every((v) => v >= 0 && v < 1));
    const r = randint(2, 5, [1000], { generator: new Generator(1) }).toArray();
    assert.ok(r.every((v) => v >= 2 && v < 5));
    assert.deepEqual(new Set(r), new Set([2, 3, 4]));
    assert.deepEqual(randperm(6, { generator: new Generator(2) }).toArray().sort(), [0, 1, 2, 3, 4, 5]);
    // standard normal statistics
    const big = randn([20000], { generator: new Generator(5) });
    assert.ok(Math.abs(big.mean().item()) < 0.03);
    assert.ok(Math.abs(big.std().item() - 1) < 0.03);
  });

  test("generator state can be saved and restored exactly", () => {
    const g = new Generator(11);
    randn([10], { generator: g });
    const state = g.getState();
    const first = randn([10], { generator: g }).toArray();
    g.setState(state);
    assert.deepEqual(randn([10], { generator: g }).toArray(), first);
  });
});
