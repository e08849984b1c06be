/** The fused attention op against the plain composition softmax(QKᵀ/√d)V, forward and backward. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { F, Generator, randn, tidy } from "../../src/torch/index.ts";
import { assertClose } from "../helpers.ts";

function compare(B: number, N: number, H: number, d: number, seed: number, scale?: number) {
  tidy(() => {
    const g = new Generator(seed);
    const qkv = randn([B, N, 3 * H * d], { generator: g }).mul(1.5);
    const dout = randn([B, N, H * d], { generator: g });
    const x1 = qkv.clone().requiresGrad_();
    const x2 = qkv.clone().requiresGrad_();
    const fused = F.packedAttention(x1, H, scale);
    const ref = F.packedAttentionReference(x2, H, scale);
    assert.deepEqual(fused.shape, [B, N, H * d]);
    assertClose(fused.toArray(), ref.toArray(), 2e-5, 1e-4, `forward B${B} N${N} H${H} d${d}`);
    fused.backward(dout);
    ref.backward(dout);
    assertClose(x1.grad!.toArray(), x2.grad!.toArray(), 5e-5, 1e-3, `backward B${B} N${N} H${H} d${d}`);
    return undefined;
  });
}

describe("packedAttention (fused)", () => {
  test("reports its kernel", () => {
    const info = F.attentionKernelInfo();
    assert.match(info.isa, /^avx(2|512)$/);
    assert.ok(info.gemm.length > 0);
  });
  test("tiny and odd sizes", () => {
    compare(1, 1, 1, 4, 1);
    compare(2, 5, 3, 8, 2);
    compare(1, 37, 2, 16, 3);
  });
  test("sizes that cross tile edges (64 rows / 128 columns)", () => {
    compare(1, 63, 1, 32, 4);
    compare(1, 65, 2, 64, 5);
    compare(2, 130, 3, 24, 6, 0.3);
    compare(1, 257, 1, 64, 7);
  });
  test("large logits stay finite (online softmax rescaling)", () => {
    tidy(() => {
      const qkv = randn([1, 100, 3 * 16], { generator: new Generator(9) }).mul(30);
      const out = F.packedAttention(qkv, 1);
      assert.equal(out.isfinite().all().item(), 1);
      assertClose(out.toArray(), F.packedAttentionReference(qkv, 1).toArray(), 1e-4, 1e-3, "large logits");
      return undefined;
    });
  });
  test("bfloat16 input: computed in float32, returned as bfloat16", () => {
    tidy(() => {
      const qkv = randn([2, 50, 3 * 2 * 16], { generator: new Generator(10) }).to("bfloat16");
      const out = F.packedAttention(qkv, 2);
      assert.equal(out.dtype, "bfloat16");
      const ref = F.packedAttentionReference(qkv.float(), 2);
      assertClose(out.toFloat32Array(), ref.toFloat32Array(), 2e-2, 2e-2, "bf16");
      const x = qkv.clone().requiresGrad_();
      F.packedAttention(x, 2).float().sum().backward();
      assert.equal(x.grad!.dtype, "bfloat16");
      return undefined;
    });
  });
  test("bad shapes are rejected", () => {
    assert.throws(() => F.packedAttention(randn([2, 3, 10]), 2), /packedAttention.*is not 3 × heads/);
    assert.throws(() => F.packedAttention(randn([3, 12]), 2), /must be \[B, N, 3·D\]/);
  });
});
