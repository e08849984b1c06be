// Op table, part 3: neural-network ops (convolution, normalisation, activations, resampling,
// losses) and fused optimizer updates.
#include <ATen/Parallel.h>

#include <cmath>

#include "args.h"
#include "compat.h"
#include "ops/adamw_kernel.h"

namespace vm {
namespace {

// AdamW update of one parameter, fused into a single pass over memory (PyTorch's for-each
// AdamW does ~6 passes). Same arithmetic as torch.optim.AdamW (decoupled weight decay first,
// bias-corrected moments, eps added to the corrected sqrt of the second moment); fp32 state.
//   adamwStep(param, grad, expAvg, expAvgSq, lr, beta1, beta2, eps, weightDecay, step)
void adamwStep(const Args& a) {
  at::Tensor p = a.t(0), g = a.t(1), m = a.t(2), v = a.t(3);
  const double lr = a.d(4), b1 = a.d(5), b2 = a.d(6), eps = a.d(7), wd = a.d(8);
  const int64_t step = a.i(9);
  TORCH_CHECK(p.scalar_type() == at::kFloat && g.scalar_type() == at::kFloat && m.scalar_type() == at::kFloat &&
                  v.scalar_type() == at::kFloat,
              "adamwStep needs float32 param/grad/state, got ", shapeString(p), " ", shapeString(g));
  TORCH_CHECK(p.is_contiguous() && m.is_contiguous() && v.is_contiguous(), "adamwStep needs contiguous param/state");
  TORCH_CHECK(p.numel() == g.numel() && p.numel() == m.numel() && p.numel() == v.numel(),
              "adamwStep: param, grad and state sizes differ");
  if (!p.is_cpu()) {
    // On a GPU: ATen's fused AdamW kernel where libtorch has it (≥ 2.0; the step count goes in
    // as a 0-d tensor on the device), else the same update as an ATen composition.
    if (compat::kHasFusedAdamW) {
      at::Tensor steps = at::full({}, static_cast<double>(step), p.options());
      compat::fusedAdamW({p}, {g}, {m}, {v}, {steps}, lr, b1, b2, wd, eps);
      return;
    }
    p.mul_(1.0 - lr * wd);
    m.lerp_(g, 1.0 - b1);
    v.mul_(b2).addcmul_(g, g, 1.0 - b2);
    at::Tensor denom = (v.sqrt() / std::sqrt(1.0 - std::pow(b2, static_cast<double>(step)))).add_(eps);
    p.addcdiv_(m, denom, -lr / (1.0 - std::pow(b1, static_cast<double>(step))));
    return;
  }
  at::Tensor gc = g.contiguous();
  const double bc1 = 1.0 - std::pow(b1, static_cast<double>(step));
  const double bc2sqrt = std::sqrt(1.0 - std::pow(b2, static_cast<double>(step)));
  // Coefficients are formed in double and rounded once, as PyTorch passes them as scalars.
  const AdamWCoefficients c{static_cast<float>(1.0 - lr * wd), static_cast<float>(1.0 - b1), static_cast<float>(b2),
                            static_cast<float>(1.0 - b2),       static_cast<float>(bc2sqrt),  static_cast<float>(eps),
                            static_cast<float>(lr / bc1)};
  // Distinct buffers (checked sizes above; the optimizer never aliases them).
  float* P = p.data_ptr<float>();
  const float* G = gc.data_ptr<float>();
  float* M = m.data_ptr<float>();
  float* V = v.data_ptr<float>();
  at::parallel_for(0, p.numel(), 16384, [&](int64_t begin, int64_t end) { adamwKernel(P, G, M, V, begin, end, c); });
}

// A convolution whose stride equals its kernel and has no padding (the patch embedding) is a
// matrix product over non-overlapping patches: x [B,C,T,H,W] → rows [B·T'·H'·W', C·kt·kh·kw] ·
// Wᵀ [C·kt·kh·kw, O] + b → [B,O,T',H',W'], differentiable through ATen's own ops.
at::Tensor patchConv3d(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b) {
  const int64_t B = x.size(0), C = x.size(1), kt = w.size(2), kh = w.size(3), kw = w.size(4), O = w.size(0);
  const int64_t T = x.size(2) / kt, H = x.size(3) / kh, W = x.size(4) / kw;
  at::Tensor rows = x.narrow(2, 0, T * kt).narrow(3, 0, H * kh).narrow(4, 0, W * kw)
                        .reshape({B, C, T, kt, H, kh, W, kw})
                        .permute({0, 2, 4, 6, 1, 3, 5, 7})
                        .reshape({B * T * H * W, C * kt * kh * kw});
  at::Tensor out = at::linear(rows, w.reshape({O, C * kt * kh * kw}), b);  // [B·T'·H'·W', O]
  return out.reshape({B, T, H, W, O}).permute({0, 4, 1, 2, 3}).contiguous();
}

OpRegistrar nn({
    // conv3d(x[B,C,T,H,W], w[O,C,kt,kh,kw], bias?, stride[3], padding[3])
    {"conv3d", [](const Args& a) {
       std::vector<int64_t> stride = a.has(3) ? a.ints(3) : std::vector<int64_t>{1, 1, 1};
       std::vector<int64_t> pad = a.has(4) ? a.ints(4) : std::vector<int64_t>{0, 0, 0};
       const at::Tensor& x = a.t(0);
       const at::Tensor& w = a.t(1);
       // libtorch 2.6's CPU conv3d (Debian's build) returns a wrong float32 input gradient for
       // small kernels such as (2, 6, 6) or (2, 3, 3) (off by O(1) against the float64 one; 1.13
       // is right): the patch-embedding case takes the equivalent matrix product there.
       if (compat::kConv3dPatchesAsMatmul && x.is_cpu() && x.dim() == 5 && w.dim() == 5 && pad == std::vector<int64_t>{0, 0, 0} &&
           stride == std::vector<int64_t>{w.size(2), w.size(3), w.size(4)}) {
         return a.ret(patchConv3d(x, w, a.optT(2)));
       }
       return a.ret(at::conv3d(x, w, a.optT(2), stride, pad));
     }},
    // layerNorm(x, normalizedShape, weight?, bias?, eps)
    {"layerNorm", [](const Args& a) {
       return a.ret(at::layer_norm(a.t(0), a.ints(1), a.optT(2), a.optT(3), a.d(4)));
     }},
    // dropout(x, p, train, generator?): inverted dropout; with a generator the mask is drawn from
    // it, so runs are reproducible independently of the global seed.
    {"dropout", [](const Args& a) {
       const at::Tensor& x = a.t(0);
       const double p = a.d(1);
       if (!a.b(2) || p == 0) return a.ret(x);
       if (!a.has(3)) return a.ret(at::dropout(x, p, true));
       if (p >= 1) return a.ret(x * 0);
       at::Tensor keep = at::empty_like(x, x.options().requires_grad(false)).bernoulli_(1 - p, a.gen(3));
       return a.ret(x * keep.div_(1 - p));
     }},
    // interpolate(x[B,C,H,W], [outH,outW], mode "bilinear"|"bicubic"|"nearest", alignCorners)
    {"interpolate", [](const Args& a) {
       const std::string mode = a.s(2);
       auto size = a.ints(1);
       const bool ac = a.b(3);
       if (mode == "bilinear") return a.ret(at::upsample_bilinear2d(a.t(0), size, ac, c10::nullopt, c10::nullopt));
       if (mode == "bicubic") return a.ret(at::upsample_bicubic2d(a.t(0), size, ac, c10::nullopt, c10::nullopt));
       if (mode == "nearest") return a.ret(at::upsample_nearest2d(a.t(0), size, c10::nullopt, c10::nullopt));
       if (mode == "trilinear") return a.ret(at::upsample_trilinear3d(a.t(0), size, ac, c10::nullopt, c10::nullopt, c10::nullopt));
       throw std::invalid_argument("interpolate: unknown mode '" + mode + "' (bilinear, bicubic, nearest, trilinear)");
     }},
    // crossEntropy(logits[B,K], target[B] long or [B,K] probabilities, labelSmoothing)
    {"crossEntropy", [](const Args& a) {
       return a.ret(at::cross_entropy_loss(a.t(0), a.t(1), c10::nullopt, at::Reduction::Mean, -100, a.has(2) ? a.d(2) : 0.0));
     }},
    // mseLoss(a, b, reduction "mean"|"none"|"sum")
    {"mseLoss", [](const Args& a) {
       std::string r = a.has(2) ? a.s(2) : "mean";
       int64_t red = r == "none" ? at::Reduction::None : r == "sum" ? at::Reduction::Sum : at::Reduction::Mean;
       return a.ret(at::mse_loss(a.t(0), a.t(1), red));
     }},
    {"adamwStep", [](const Args& a) { adamwStep(a); return a.none(); }},
});

}  // namespace
}  // namespace vm
