// The fused attention kernels, compiled once per instruction set (attention_avx512.cc,
// attention_avx2.cc); see attention_kernel.inc for the algorithm and layouts.
#pragma once
#include <cstdint>

namespace vm {
namespace attn {

using GemmFn = void (*)(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                        int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
struct Dims {
  int64_t B, N, H, d;
  int64_t D() const { return H * d; }
};

// `gemm` may be null: the ISA build's own register-blocked tile GEMM (the default); otherwise an
// external one (BLAS or ATen) with the same row-major contract.
#define VM_ATTN_DECLARE(isa)                                                                                    \
  namespace isa {                                                                                              \
  void forward(const Dims& s, GemmFn gemm, float scale, const float* qkv, float* out, float* lse);            \
  void backward(const Dims& s, GemmFn gemm, float scale, const float* qkv, const float* out, const float* dout, \
                const float* lse, float* dqkv);                                                                \
  }
VM_ATTN_DECLARE(avx512)
VM_ATTN_DECLARE(avx2)
VM_ATTN_DECLARE(avx512bf16)
#undef VM_ATTN_DECLARE

// The bfloat16 kernels (attention_bf16.inc), AVX512-BF16 build only: qkv/out/dout bf16 (as
// uint16_t), lse float32, dqkv a float32 accumulator (zero-initialised); head size d even.
namespace avx512bf16 {
void forwardBf16(const Dims& s, float scale, const uint16_t* qkv, uint16_t* out, float* lse);
void backwardBf16(const Dims& s, float scale, const uint16_t* qkv, const uint16_t* out, const uint16_t* dout,
                  const float* lse, float* dqkv);
}  // namespace avx512bf16

}  // namespace attn
}  // namespace vm
