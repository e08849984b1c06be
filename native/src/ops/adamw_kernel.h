// The AdamW update's inner loop, built on its own with vector-friendly flags (binding.gyp target
// "ops_simd"): the rest of the addon is compiled for plain x86-64 with errno-setting sqrt, which
// kept this loop scalar (sqrtss/divss per element, ~4× slower than the memory traffic allows).
#pragma once

#include <cstdint>

namespace vm {

struct AdamWCoefficients {
  float decay;       // 1 − lr·weight_decay
  float oneMinusB1;  // 1 − β1
  float b2;          // β2
  float oneMinusB2;  // 1 − β2
  float bc2sqrt;     // √(1 − β2^step)
  float eps;
  float stepSize;  // lr / (1 − β1^step)
};

// Elements [begin, end) of one parameter: P, M, V updated in place from G (distinct buffers).
void adamwKernel(float* P, const float* G, float* M, float* V, int64_t begin, int64_t end, const AdamWCoefficients& c);

}  // namespace vm
