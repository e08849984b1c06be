// AdamW inner loop (see adamw_kernel.h). One clone per ISA (AVX-512, AVX2, baseline), picked by the
// loader at run time (GCC target_clones → ifunc). `-ffp-contract=off` (binding.gyp) keeps the
// arithmetic exactly the scalar one: no fused multiply-adds, so every clone rounds the same way
// as torch.optim.AdamW's separate operations.
#include "adamw_kernel.h"

#include <cmath>

namespace vm {

__attribute__((target_clones("avx512f", "avx2", "default"))) void adamwKernel(float* __restrict P, const float* __restrict G,
                                                                             float* __restrict M, float* __restrict V, int64_t begin,
                                                                             int64_t end, const AdamWCoefficients& c) {
  const float decay = c.decay, omb1 = c.oneMinusB1, b2 = c.b2, omb2 = c.oneMinusB2, bc2sqrt = c.bc2sqrt, eps = c.eps;
  const float step = c.stepSize;
#pragma omp simd
  for (int64_t k = begin; k < end; k++) {
    const float gk = G[k];
    const float m = M[k] + omb1 * (gk - M[k]);  // exp_avg.lerp_(grad, 1-beta1)
    const float v = V[k] * b2 + omb2 * (gk * gk);  // exp_avg_sq.mul_(beta2).addcmul_(g, g, 1-beta2)
    const float denom = std::sqrt(v) / bc2sqrt + eps;
    M[k] = m;
    V[k] = v;
    P[k] = P[k] * decay + -step * (m / denom);  // param.mul_(1-lr·wd), then addcdiv_(exp_avg, denom, -step_size)
  }
}

}  // namespace vm
