// The fused attention kernels compiled for avx2 (flags set in binding.gyp).
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "attention_kernels.h"

namespace vm {
namespace attn {
namespace avx2 {
namespace {
#include "attention_kernel.inc"
}  // namespace

void forward(const vm::attn::Dims& s, vm::attn::GemmFn gemm, float scale, const float* qkv, float* out, float* lse) {
  attentionForward(Dims{s.B, s.N, s.H, s.d}, gemm, scale, qkv, out, lse);
}

void backward(const vm::attn::Dims& s, vm::attn::GemmFn gemm, float scale, const float* qkv, const float* out,
              const float* dout, const float* lse, float* dqkv) {
  attentionBackward(Dims{s.B, s.N, s.H, s.d}, gemm, scale, qkv, out, dout, lse, dqkv);
}

}  // namespace avx2
}  // namespace attn
}  // namespace vm
