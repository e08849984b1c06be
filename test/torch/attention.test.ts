/**
 * The fused attention op against softmax(QKᵀ/√d)V computed in float64, forward and backward.
 * Tolerances are first-order float32 error bounds (attentionErrorBounds below), not numbers tuned
 * to one machine: any correct float32 kernel — ours with any ISA/GEMM, libtorch's composition
 * with any BLAS — stays inside them.
 * The kernel build, tile GEMM and bf16 kernel start from VIDEOMAE_ATTN_ISA / _GEMM / _BF16, so
 * the last test re-runs this file in child processes for the other builds.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { F, Generator, randn, tidy } from "../../src/torch/index.ts";
import { attentionErrorBounds, assertWithin, U32, U_BF16 } from "./attention-bounds.ts";

function compare(B: number, N: number, H: number, d: number, seed: number, scale?: number, magnitude = 1.5) {
  tidy(() => {
    const g = new Generator(seed);
    const qkv = randn([B, N, 3 * H * d], { generator: g }).mul(magnitude);
    const dout = randn([B, N, H * d], { generator: g });
    const x = qkv.clone().requiresGrad_();
    const fused = F.packedAttention(x, H, scale);
    assert.deepEqual(fused.shape, [B, N, H * d]);
    assert.equal(fused.isfinite().all().item(), 1);
    fused.backward(dout);
    const x64 = qkv.to("float64").requiresGrad_();
    F.packedAttentionReference(x64, H, scale).backward(dout.to("float64"));
    const bound = attentionErrorBounds(qkv, dout, H, scale);
    const tag = `B${B} N${N} H${H} d${d} ×${magnitude}`;
    assertWithin(fused, F.packedAttentionReference(qkv.to("float64"), H, scale), bound.out, U32, `forward ${tag}`);
    assertWithin(x.grad!, x64.grad!, bound.grad, U32, `backward ${tag}`);
    return undefined;
  });
}

describe("packedAttention (fused)", () => {
  test("reports its kernel", () => {
    const info = F.attentionKernelInfo();
    assert.match(info.isa, /^avx(2|512)$/);
    assert.equal(info.bf16, process.env.VIDEOMAE_ATTN_BF16 ?? (info.cpu.avx512bf16 && info.isa === "avx512" ? "dpbf16" : "fp32"));
    if (process.env.VIDEOMAE_ATTN_ISA) assert.equal(info.isa, process.env.VIDEOMAE_ATTN_ISA);
    const gemm = process.env.VIDEOMAE_ATTN_GEMM ?? "micro";
    assert.equal(info.gemm, gemm);
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
  test("every micro-kernel block shape: head dims around the 16/8-lane vectors and 64-wide panels", () => {
    // d picks the column panels of the P·V, dV, dK, dQ products (whole vectors, masked tails,
    // more than one panel); N (= the rows of every product) walks through all 6-row tails.
    for (const [d, seed] of [[1, 20], [7, 21], [15, 22], [17, 23], [40, 24], [72, 25], [80, 26], [96, 27]] as const) {
      compare(1, 19 + d, 2, d, seed);
    }
    for (let N = 70; N <= 75; N++) compare(1, N, 1, 8, 30 + N); // N mod 6 = 4, 5, 0, 1, 2, 3
  });
  test("query tiles of balanced height (128-row forward tiles, 64 × 64 backward tiles)", () => {
    compare(1, 129, 1, 16, 40); // 2 × 80 forward rows
    compare(2, 160, 2, 32, 41); // the ViT pre-training encoder length (2 × 80)
    compare(1, 300, 1, 64, 42); // 3 × 112 with a short last tile
  });
  test("large logits stay finite and accurate (online softmax rescaling)", () => {
    // Scores of several hundred: exp without the running-max shift would overflow.
    compare(1, 100, 1, 16, 9, undefined, 30);
    compare(2, 70, 2, 16, 19, undefined, 30);
  });
  test("bfloat16 input, forward and backward, within bf16 bounds (the bf16 dot-product kernel where the CPU has it)", () => {
    // bf16 in and out; with AVX512-BF16 the products take bf16 operands (P and dS rounded to bf16),
    // otherwise the kernel widens to float32. Either way: the float32 bound, plus the operand
    // rounding of the bf16 kernel (P, dS, the saved O), plus rounding the results to bf16. Inputs
    // are bf16 values, so the float64 reference sees exactly what the kernel sees.
    const info = F.attentionKernelInfo();
    // rounding a value to bf16 (8-bit significand, nearest even) is off by ≤ 2⁻⁸ relative (= 2·U_BF16)
    const rounded = info.bf16 === "dpbf16" ? 2 * U_BF16 : 0;
    for (const [B, N, H, d, seed] of [
      [1, 1, 1, 4, 50],
      [2, 5, 3, 8, 51],
      [1, 37, 2, 16, 52], // odd N: padded key and query pairs
      [1, 65, 2, 64, 53], // crosses a 64-key tile with one key left (an odd last tile)
      [2, 130, 3, 24, 54],
      [1, 257, 1, 64, 55], // 3 forward query tiles, odd key tail
      [1, 40, 2, 7, 56], // odd head size: the float32 kernel even where bf16 dot products exist
    ] as const) {
      tidy(() => {
        const g = new Generator(seed);
        const qkv = randn([B, N, 3 * H * d], { generator: g }).mul(1.5).to("bfloat16");
        const dout = randn([B, N, H * d], { generator: g }).to("bfloat16");
        const x = qkv.clone().requiresGrad_();
        const out = F.packedAttention(x, H);
        assert.equal(out.dtype, "bfloat16");
        out.backward(dout);
        assert.equal(x.grad!.dtype, "bfloat16");
        const x64 = qkv.to("float64").requiresGrad_();
        const ref = F.packedAttentionReference(x64, H);
        ref.backward(dout.to("float64"));
        const bound = attentionErrorBounds(qkv.float(), dout.float(), H, undefined, {
          roundedOperands: d % 2 === 0 ? rounded : 0,
          roundedOutput: 2 * U_BF16, // either kernel saves O in bf16 and computes D from it
        });
        const tag = `bf16 B${B} N${N} H${H} d${d} (${info.bf16})`;
        assertWithin(out, ref, bound.out, U_BF16, `forward ${tag}`);
        assertWithin(x.grad!, x64.grad!, bound.grad, U_BF16, `backward ${tag}`);
        return undefined;
      });
    }
  });
  test("the bound catches a wrong bf16 kernel: a 2⁻⁶ relative perturbation of P·V fails it", () => {
    tidy(() => {
      const g = new Generator(57);
      const qkv = randn([1, 65, 3 * 2 * 64], { generator: g }).mul(1.5).to("bfloat16");
      const ref = F.packedAttentionReference(qkv.to("float64"), 2);
      const bound = attentionErrorBounds(qkv.float(), randn([1, 65, 128], { generator: g }), 2, undefined, { roundedOperands: 2 * U_BF16 });
      assert.throws(() => assertWithin(ref.mul(1 + 2 ** -6), ref, bound.out, U_BF16, "perturbed"), /bound/);
      return undefined;
    });
  });
  test("bad shapes are rejected", () => {
    assert.throws(() => F.packedAttention(randn([2, 3, 10]), 2), /packedAttention.*is not 3 × heads/);
    assert.throws(() => F.packedAttention(randn([3, 12]), 2), /must be \[B, N, 3·D\]/);
  });
});

// The other kernel builds on this machine: AVX2 (forced on AVX-512 CPUs) and the same algorithm
// with its tile products through BLAS / ATen instead of the micro-kernels.
describe("packedAttention (fused), other builds", { skip: process.env.VIDEOMAE_ATTN_CHILD === "1" }, () => {
  const builds: Record<string, string>[] = [
    { VIDEOMAE_ATTN_ISA: "avx2" },
    { VIDEOMAE_ATTN_GEMM: "blas" },
    { VIDEOMAE_ATTN_ISA: "avx2", VIDEOMAE_ATTN_GEMM: "aten" },
    // bf16 inputs widened to float32 (the path of CPUs without AVX512-BF16)
    { VIDEOMAE_ATTN_BF16: "fp32" },
  ];
  for (const env of builds) {
    test(JSON.stringify(env), () => {
      // Without NODE_TEST_CONTEXT the child is a test run of its own, not a subtest of this one.
      const { NODE_TEST_CONTEXT: _, ...parentEnv } = process.env;
      const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-reporter=tap", fileURLToPath(import.meta.url)], {
        encoding: "utf8",
        env: { ...parentEnv, ...env, VIDEOMAE_ATTN_CHILD: "1" },
      });
      const passed = Number(/^# pass (\d+)$/m.exec(r.stdout)?.[1] ?? 0);
      assert.ok(r.status === 0 && passed >= 8, `${JSON.stringify(env)}: exit ${r.status}, ${passed} passed\n${r.stdout}\n${r.stderr}`);
    });
  }
});
