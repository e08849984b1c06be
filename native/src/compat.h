// Every difference between the libtorch versions we build against (Debian's 1.13, trixie's 2.6,
// pip wheels ≥ 2.4) lives here, so the op files read the same for all of them.
#pragma once
#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <stdexcept>

#define VM_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace c10d {
class ProcessGroup;
class Backend;
}  // namespace c10d

namespace vm {
namespace compat {

// A concrete process group (gloo, NCCL) derives from c10d::ProcessGroup in 1.13 and from
// c10d::Backend in 2.x (where ProcessGroup became a dispatcher over backends).
#if VM_TORCH_AT_LEAST(2, 0)
using C10dBackend = c10d::Backend;
#else
using C10dBackend = c10d::ProcessGroup;
#endif

// ---- autocast, per device type ----------------------------------------------------------------
// 1.13 has one switch for CPU (is_cpu_enabled) and one for CUDA (is_enabled); 2.4 replaced both
// with functions taking the device type and deprecated the old names.
inline bool autocastEnabled(at::DeviceType d) {
#if VM_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(d);
#else
  return d == at::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

inline void setAutocastEnabled(at::DeviceType d, bool on) {
#if VM_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(d, on);
#else
  if (d == at::kCPU) at::autocast::set_cpu_enabled(on);
  else at::autocast::set_enabled(on);
#endif
}

inline at::ScalarType autocastDtype(at::DeviceType d) {
#if VM_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(d);
#else
  return d == at::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
#endif
}

inline void setAutocastDtype(at::DeviceType d, at::ScalarType t) {
#if VM_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_dtype(d, t);
#else
  if (d == at::kCPU) at::autocast::set_autocast_cpu_dtype(t);
  else at::autocast::set_autocast_gpu_dtype(t);
#endif
}

// ---- fused kernels that only newer libtorch has ----------------------------------------------
// softmax(q·kᵀ·scale)·v through ATen's fused kernels (flash / memory-efficient on CUDA). The
// `scale` argument arrived in 2.1; before it the op always used 1/√d.
constexpr bool kHasSdpa = VM_TORCH_AT_LEAST(2, 1);
inline at::Tensor scaledDotProductAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale) {
#if VM_TORCH_AT_LEAST(2, 1)
  return at::scaled_dot_product_attention(q, k, v, {}, 0.0, false, scale);
#else
  (void)q, (void)k, (void)v, (void)scale;
  throw std::runtime_error("scaled_dot_product_attention needs libtorch >= 2.1 (this addon was built against " +
                           std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + ")");
#endif
}

// Non-overlapping 3-D convolutions (stride = kernel, no padding: the patch embedding) on the CPU
// as a matrix product: libtorch 2.6's conv3d gives a wrong float32 input gradient for small
// kernels (seen with Debian trixie's build: kernel (2, 6, 6), error O(1) against float64). 1.13
// keeps ATen's conv3d.
constexpr bool kConv3dPatchesAsMatmul = VM_TORCH_AT_LEAST(2, 0);

// ATen's fused AdamW (one kernel over all parameters): CUDA from 2.0, also CPU from 2.4. `steps`
// are 0-d float tensors on the parameters' device, incremented by the kernel's caller.
constexpr bool kHasFusedAdamW = VM_TORCH_AT_LEAST(2, 0);
inline void fusedAdamW(at::TensorList params, at::TensorList grads, at::TensorList expAvg, at::TensorList expAvgSq,
                       at::TensorList steps, double lr, double beta1, double beta2, double weightDecay, double eps) {
#if VM_TORCH_AT_LEAST(2, 0)
  at::_fused_adamw_(params, grads, expAvg, expAvgSq, {}, steps, lr, beta1, beta2, weightDecay, eps, false, false);
#else
  (void)params, (void)grads, (void)expAvg, (void)expAvgSq, (void)steps, (void)lr, (void)beta1, (void)beta2,
      (void)weightDecay, (void)eps;
  throw std::runtime_error("fused AdamW needs libtorch >= 2.0");
#endif
}

// ---- CUDA caching allocator ------------------------------------------------------------------
// Index of StatType::AGGREGATE in the allocator's per-pool statistics arrays: the enum moved from
// c10::cuda::CUDACachingAllocator (1.13) to c10::CachingDeviceAllocator (2.x) but kept its values.
constexpr size_t kAggregateStat = 0;

// ---- c10d --------------------------------------------------------------------------------------
// TCPStore's libuv backend became the default in 2.4, and a libtorch built without libuv (Debian's
// 2.6) then refuses to start a store at all. The classic socket backend exists in every version
// and is what 1.13 always used, so every store asks for it. (A template: no c10d include here.)
template <typename TCPStoreOptions>
void useClassicTcpStore(TCPStoreOptions& o) {
#if VM_TORCH_AT_LEAST(2, 2)
  o.useLibUV = false;
#else
  (void)o;
#endif
}

}  // namespace compat
}  // namespace vm
