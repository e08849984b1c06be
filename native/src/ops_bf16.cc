// bfloat16 linear layers for CPU autocast: `linearBf16(x, weight, bias?)` computes
// y = bf16(x)·bf16(W)ᵀ + bf16(b) with float32 accumulation and a bfloat16 output — what
// at::linear computes under torch.autocast("cpu", bfloat16) — as a custom autograd function.
//
// Why not at::linear in bf16: libtorch routes bf16 GEMMs to oneDNN, whose kernels use the
// AVX512-BF16 dot product vdpbf16ps. On CPUs without AMX that instruction is no faster per FLOP
// than fp32 FMA, and on some (measured: Sapphire Rapids vCPUs, 2 cores) it runs at half rate:
// ~93 GFLOP/s per core against ~190 for vfmadd231ps, so oneDNN's bf16 GEMM tops out at
// ~180 GFLOP/s on 2 cores while OpenBLAS sgemm reaches ~320. A bf16 value widens to float32
// exactly and a float32 GEMM accumulates in float32, so running the GEMM in float32 on the
// bf16-rounded operands is the same computation (up to summation order), ~1.7x faster here.
// Inputs may be float32 (e.g. the fp32 master weight) or bfloat16: they are rounded to bf16
// first (round-to-nearest-even, as autocast's cast), and each gradient comes back in the dtype
// of its input (dX = dY·W, dW = dYᵀ·X, db = Σ dY, all float32 GEMMs on bf16-rounded operands).
//
// `linearAutocast(x, W, b?)` is the layer entry point: under CPU autocast with bfloat16 it takes
// this path (when the route is "sgemm"), otherwise it is plain at::linear.
// VIDEOMAE_BF16_LINEAR=sgemm|aten picks the route (read once); default: sgemm, unless the CPU has
// AMX-BF16 (where oneDNN's bf16 kernels are far faster than any fp32 GEMM).
#include <ATen/autocast_mode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <cpuid.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "args.h"
#include "compat.h"

namespace vm {
namespace {

bool cpuHasAmxBf16() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return (d >> 22) & 1u;  // CPUID.(EAX=7,ECX=0):EDX[22] = AMX-BF16
}

// true: float32 GEMMs on bf16-rounded operands; false: at::linear in bf16 (oneDNN).
bool sgemmRoute() {
  static const bool v = [] {
    const char* e = std::getenv("VIDEOMAE_BF16_LINEAR");
    const std::string want = e ? e : "";
    if (want == "sgemm") return true;
    if (want == "aten") return false;
    if (!want.empty()) throw std::runtime_error("VIDEOMAE_BF16_LINEAR must be sgemm or aten, got '" + want + "'");
    return !cpuHasAmxBf16();
  }();
  return v;
}

// float32 tensor holding the bf16-rounded values of t, contiguous.
at::Tensor roundedF32(const at::Tensor& t) {
  return t.to(at::kBFloat16).to(at::kFloat).contiguous();
}

// The forward/backward pair; the bias is a separate Function class because libtorch 1.13's
// custom functions do not accept an undefined tensor among their inputs.
at::Tensor linearForward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                         const at::Tensor* b) {
  // The GEMMs below are meant to run in float32 even inside an autocast region.
  c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::DispatchKey::AutocastCPU);
  TORCH_CHECK(w.dim() == 2, "linearBf16: weight must be [out, in], got ", shapeString(w));
  TORCH_CHECK(x.dim() >= 1 && x.size(-1) == w.size(1), "linearBf16: x ", shapeString(x), " does not match weight ",
              shapeString(w));
  TORCH_CHECK(!b || (b->dim() == 1 && b->size(0) == w.size(0)), "linearBf16: bias must be [", w.size(0), "], got ",
              b ? shapeString(*b) : std::string());
  TORCH_CHECK(at::isFloatingType(x.scalar_type()) && at::isFloatingType(w.scalar_type()),
              "linearBf16: x and weight must be floating point");
  const int64_t K = w.size(1), N = w.size(0);
  at::Tensor xb = x.to(at::kBFloat16).reshape({-1, K});
  at::Tensor wb = w.to(at::kBFloat16);
  at::Tensor y32;
  {  // the float32 copies of the operands are released before the output is converted
    at::Tensor x32 = xb.to(at::kFloat).contiguous();
    at::Tensor w32 = wb.to(at::kFloat).contiguous();
    y32 = b ? at::addmm(roundedF32(*b), x32, w32.t()) : at::mm(x32, w32.t());
  }
  // Backward needs bf16 x (half the memory of a float32 copy) and bf16 W. W is usually the float32
  // master weight, alive anyway: keep a reference to it and round it again in backward (one
  // conversion pass) instead of holding a bf16 copy of every weight from forward to backward.
  ctx->save_for_backward({xb, w});
  ctx->saved_data["xshape"] = x.sizes().vec();
  ctx->saved_data["xdtype"] = static_cast<int64_t>(x.scalar_type());
  ctx->saved_data["wdtype"] = static_cast<int64_t>(w.scalar_type());
  ctx->saved_data["bdtype"] = static_cast<int64_t>(b ? b->scalar_type() : at::kFloat);
  std::vector<int64_t> outShape = x.sizes().vec();
  outShape.back() = N;
  at::Tensor y = y32.to(at::kBFloat16);
  y32.reset();
  return y.view(outShape);
}

// -> {dx, dw, db} (undefined where not needed); hasBias: whether input 2 exists.
torch::autograd::tensor_list linearBackward(torch::autograd::AutogradContext* ctx,
                                            const torch::autograd::tensor_list& grads, bool hasBias) {
  c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::DispatchKey::AutocastCPU);
  auto saved = ctx->get_saved_variables();
  const at::Tensor& xb = saved[0];
  const at::Tensor& w = saved[1];  // as given: float32 master weight or bf16
  const int64_t N = w.size(0);
  const auto dtypeOf = [&](const char* key) { return static_cast<at::ScalarType>(ctx->saved_data[key].toInt()); };
  at::Tensor dx, dw, db;
  if (!grads[0].defined()) return {dx, dw, db};
  at::Tensor g32 = grads[0].reshape({-1, N}).to(at::kFloat).contiguous();
  if (ctx->needs_input_grad(0)) {
    dx = at::mm(g32, roundedF32(w)).to(dtypeOf("xdtype")).view(ctx->saved_data["xshape"].toIntVector());
  }
  if (ctx->needs_input_grad(1)) dw = at::mm(g32.t(), xb.to(at::kFloat)).to(dtypeOf("wdtype"));
  if (hasBias && ctx->needs_input_grad(2)) db = g32.sum(0).to(dtypeOf("bdtype"));
  return {dx, dw, db};
}

// x [..., K], w [N, K], b [N] -> [..., N] bfloat16
class LinearBf16 : public torch::autograd::Function<LinearBf16> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                            const at::Tensor& b) {
    return linearForward(ctx, x, w, &b);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    return linearBackward(ctx, grads, true);
  }
};

class LinearBf16NoBias : public torch::autograd::Function<LinearBf16NoBias> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w) {
    return linearForward(ctx, x, w, nullptr);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto g = linearBackward(ctx, grads, false);
    g.pop_back();
    return g;
  }
};

at::Tensor linearBf16(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b) {
  requireCpu(x, "linearBf16");
  return b.has_value() ? LinearBf16::apply(x, w, *b) : LinearBf16NoBias::apply(x, w);
}

bool autocastBf16() {
  return compat::autocastEnabled(at::kCPU) && compat::autocastDtype(at::kCPU) == at::kBFloat16;
}

OpRegistrar bf16Ops({
    // linearBf16(x [..., K], weight [N, K], bias? [N]) -> [..., N] bfloat16 (float32 accumulation)
    {"linearBf16", [](const Args& a) { return a.ret(linearBf16(a.t(0), a.t(1), a.optT(2))); }},
    // linearAutocast(x, weight, bias?): linearBf16 under CPU bf16 autocast (sgemm route), else at::linear
    {"linearAutocast", [](const Args& a) {
       if (a.t(0).is_cpu() && sgemmRoute() && autocastBf16() && at::isFloatingType(a.t(0).scalar_type())) {
         return a.ret(linearBf16(a.t(0), a.t(1), a.optT(2)));
       }
       return a.ret(at::linear(a.t(0), a.t(1), a.optT(2)));
     }},
    // bf16LinearInfo() -> {route: "sgemm"|"aten", amxBf16, autocast: {enabled, bf16}}
    {"bf16LinearInfo", [](const Args& a) -> Napi::Value {
       auto o = Napi::Object::New(a.env);
       o.Set("route", sgemmRoute() ? "sgemm" : "aten");
       o.Set("amxBf16", cpuHasAmxBf16());
       o.Set("autocastBf16", autocastBf16());
       return o;
     }},
});

}  // namespace
}  // namespace vm
