// The linear layers' routes shared between ops_bf16.cc (the autocast entry point linearAutocast)
// and ops/linear_dnnl.cc (the oneDNN float32 linear).
#pragma once
#include <ATen/ATen.h>

namespace vm {
// Whether float32 CPU linears outside autocast take linearF32Dnnl (true) or at::linear.
bool fp32DnnlRoute();
// y = x·Wᵀ + b in float32 through dnnl_sgemm, differentiable (ops/linear_dnnl.cc).
at::Tensor linearF32Dnnl(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b);
}  // namespace vm
