// bfloat16 linear layers for CPU autocast: `linearBf16(x, weight, bias?)` computes
// y = bf16(x)·bf16(W)ᵀ + bf16(b) with float32 accumulation and a bfloat16 output — what
// at::linear computes under torch.autocast("cpu", bfloat16) — as a custom autograd function,
// by one of three routes:
//   sgemm  float32 GEMMs on the bf16-rounded operands. A bf16 value widens to float32 exactly and a
//          float32 GEMM accumulates in float32, so this is the same computation (up to summation
//          order). Fastest where the CPU's bf16 dot product (vdpbf16ps) runs at or below the fp32
//          FMA rate: Sapphire Rapids vCPUs without AMX (~93 vs ~190 GFLOP/s per core), Zen 4.
//   aten   bf16 GEMMs through ATen (oneDNN: vdpbf16ps, or AMX tiles). Fastest where vdpbf16ps runs
//          faster than fp32 FMA: Zen 5 measured ~2.1× (295 vs 137 GFLOP/s on 2 threads).
//   dnnl   bf16 GEMMs through oneDNN's gemm API (dnnl_gemm_bf16bf16f32) with float32 results: the
//          same instruction, no bf16 rounding of dX/dW before they are widened, no primitive set-up.
// Which wins is measured on the machine (src/torch/tune.ts), not assumed. Either way the op keeps
// a reference to the float32 master weight (not a bf16 copy of every weight from forward to
// backward, as autocast's weight cache does) and re-rounds it in backward; x is saved in bf16.
// Inputs may be float32 or bfloat16: they are rounded to bf16 first (round-to-nearest-even, as
// autocast's cast), and each gradient comes back in the dtype of its input (dX = dY·W,
// dW = dYᵀ·X, db = Σ dY).
//
// `linearAutocast(x, W, b?)` is the layer entry point: under CPU autocast with bfloat16 it is
// linearBf16, otherwise plain at::linear.
// VIDEOMAE_BF16_LINEAR=sgemm|aten|dnnl fixes the route; default: the tuner's choice, else sgemm unless
// the CPU has AMX-BF16.
#include <ATen/autocast_mode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <cpuid.h>
#include <torch/csrc/autograd/custom_function.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "args.h"
#include "compat.h"
#include "ops/dnnl_gemm.h"
#include "ops/linear_routes.h"

namespace vm {
namespace {

bool cpuHasAmxBf16() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return (d >> 22) & 1u;  // CPUID.(EAX=7,ECX=0):EDX[22] = AMX-BF16
}

// The route of the bf16 linear (see the top of this file); initially VIDEOMAE_BF16_LINEAR, else sgemm
// unless the CPU has AMX-BF16. The tuner (src/torch/tune.ts) may set it from measured rates before
// the first model runs (setBf16LinearRoute). Read per call; each op records the route it took, so
// its backward matches its forward even if the route changes in between.
enum Route : int { kSgemm = 0, kAten = 1, kDnnl = 2 };
const char* const kRouteNames[] = {"sgemm", "aten", "dnnl"};

Route routeNamed(const std::string& want, const char* what) {
  if (want == "sgemm") return kSgemm;
  if (want == "aten") return kAten;
  if (want == "dnnl") {
    if (!dnnl::gemms().gemmBf16) throw std::runtime_error(std::string(what) + "=dnnl, but this libtorch's oneDNN has no dnnl_gemm_bf16bf16f32");
    return kDnnl;
  }
  throw std::runtime_error(std::string(what) + " must be sgemm, aten or dnnl, got '" + want + "'");
}

std::atomic<int>& routeFlag() {
  static std::atomic<int> v{[] {
    const char* e = std::getenv("VIDEOMAE_BF16_LINEAR");
    if (e && *e) return static_cast<int>(routeNamed(e, "VIDEOMAE_BF16_LINEAR"));
    return static_cast<int>(cpuHasAmxBf16() ? kAten : kSgemm);
  }()};
  return v;
}
Route route() { return static_cast<Route>(routeFlag().load(std::memory_order_relaxed)); }

// C[M×N] (float32, contiguous) = op(A)·op(B) (+ C when accumulate) for bf16 A and B.
void gemmBf16(char ta, char tb, int64_t M, int64_t N, int64_t K, const at::Tensor& A, int64_t lda, const at::Tensor& B,
              int64_t ldb, at::Tensor& C, bool accumulate) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate) C.zero_();
    return;
  }
  const auto* a = reinterpret_cast<const uint16_t*>(A.data_ptr<at::BFloat16>());
  const auto* b = reinterpret_cast<const uint16_t*>(B.data_ptr<at::BFloat16>());
  dnnl::check(dnnl::gemms().gemmBf16(ta, tb, M, N, K, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, C.data_ptr<float>(), N),
              "linearBf16 (dnnl route)");
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
  const Route r = route();
  at::Tensor xb = x.to(at::kBFloat16).reshape({-1, K});
  at::Tensor y;
  if (r == kSgemm) {
    at::Tensor wb = w.to(at::kBFloat16);
    at::Tensor y32;
    {  // the float32 copies of the operands are released before the output is converted
      at::Tensor x32 = xb.to(at::kFloat).contiguous();
      at::Tensor w32 = wb.to(at::kFloat).contiguous();
      y32 = b ? at::addmm(roundedF32(*b), x32, w32.t()) : at::mm(x32, w32.t());
    }
    y = y32.to(at::kBFloat16);
  } else if (r == kAten) {
    // bf16 GEMM (float32 accumulation inside oneDNN), bf16 out. The bf16 weight is a transient of
    // this call: no per-region cache of weight copies as autocast's at::linear keeps.
    at::Tensor wb = w.to(at::kBFloat16);
    y = b ? at::addmm(b->to(at::kBFloat16), xb, wb.t()) : at::mm(xb, wb.t());
  } else {
    // dnnl_gemm_bf16bf16f32: bf16 operands, float32 result (+ the bf16-rounded bias), then bf16.
    xb = xb.contiguous();
    at::Tensor wb = w.to(at::kBFloat16).contiguous();
    const int64_t M = xb.size(0);
    at::Tensor y32 = b ? roundedF32(*b).reshape({1, N}).expand({M, N}).contiguous() : at::empty({M, N}, xb.options().dtype(at::kFloat));
    gemmBf16('N', 'T', M, N, K, xb, K, wb, K, y32, b != nullptr);
    y = y32.to(at::kBFloat16);
  }
  // Backward needs bf16 x (half the memory of a float32 copy) and bf16 W. W is usually the float32
  // master weight, alive anyway: keep a reference to it and round it again in backward (one
  // conversion pass) instead of holding a bf16 copy of every weight from forward to backward.
  ctx->save_for_backward({xb, w});
  ctx->saved_data["xshape"] = x.sizes().vec();
  ctx->saved_data["xdtype"] = static_cast<int64_t>(x.scalar_type());
  ctx->saved_data["wdtype"] = static_cast<int64_t>(w.scalar_type());
  ctx->saved_data["bdtype"] = static_cast<int64_t>(b ? b->scalar_type() : at::kFloat);
  ctx->saved_data["route"] = static_cast<int64_t>(r);
  std::vector<int64_t> outShape = x.sizes().vec();
  outShape.back() = N;
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
  const auto r = static_cast<Route>(ctx->saved_data["route"].toInt());
  const auto xshape = ctx->saved_data["xshape"].toIntVector();
  if (r == kSgemm) {
    at::Tensor g32 = grads[0].reshape({-1, N}).to(at::kFloat).contiguous();
    if (ctx->needs_input_grad(0)) dx = at::mm(g32, roundedF32(w)).to(dtypeOf("xdtype")).view(xshape);
    if (ctx->needs_input_grad(1)) dw = at::mm(g32.t(), xb.to(at::kFloat)).to(dtypeOf("wdtype"));
    if (hasBias && ctx->needs_input_grad(2)) db = g32.sum(0).to(dtypeOf("bdtype"));
  } else if (r == kAten) {
    // bf16 GEMMs with bf16 results, as autocast's at::linear backward computes them; db summed in float32.
    at::Tensor gb = grads[0].reshape({-1, N}).to(at::kBFloat16).contiguous();
    if (ctx->needs_input_grad(0)) dx = at::mm(gb, w.to(at::kBFloat16)).to(dtypeOf("xdtype")).view(xshape);
    if (ctx->needs_input_grad(1)) dw = at::mm(gb.t(), xb).to(dtypeOf("wdtype"));
    if (hasBias && ctx->needs_input_grad(2)) db = gb.sum(0, false, at::kFloat).to(dtypeOf("bdtype"));
  } else {
    // bf16 operands, float32 results (dW is not rounded to bf16, unlike the aten route).
    at::Tensor gb = grads[0].reshape({-1, N}).to(at::kBFloat16).contiguous();
    const int64_t M = gb.size(0), K = w.size(1);
    if (ctx->needs_input_grad(0)) {
      at::Tensor wb = w.to(at::kBFloat16).contiguous();
      at::Tensor dx32 = at::empty({M, K}, gb.options().dtype(at::kFloat));
      gemmBf16('N', 'N', M, K, N, gb, N, wb, K, dx32, false);
      dx = dx32.to(dtypeOf("xdtype")).view(xshape);
    }
    if (ctx->needs_input_grad(1)) {
      at::Tensor xc = xb.contiguous();
      at::Tensor dw32 = at::empty({N, K}, gb.options().dtype(at::kFloat));
      gemmBf16('T', 'N', N, K, M, gb, N, xc, K, dw32, false);
      dw = dw32.to(dtypeOf("wdtype"));
    }
    if (hasBias && ctx->needs_input_grad(2)) db = gb.sum(0, false, at::kFloat).to(dtypeOf("bdtype"));
  }
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
    // linearAutocast(x, weight, bias?): linearBf16 under CPU bf16 autocast (either route), else at::linear
    {"linearAutocast", [](const Args& a) {
       const at::Tensor& x = a.t(0);
       if (x.is_cpu() && autocastBf16() && at::isFloatingType(x.scalar_type())) {
         return a.ret(linearBf16(x, a.t(1), a.optT(2)));
       }
       if (x.is_cpu() && fp32DnnlRoute() && x.scalar_type() == at::kFloat && a.t(1).scalar_type() == at::kFloat) {
         return a.ret(linearF32Dnnl(x, a.t(1), a.optT(2)));
       }
       return a.ret(at::linear(x, a.t(1), a.optT(2)));
     }},
    // bf16LinearInfo() -> {route: "sgemm"|"aten", amxBf16, autocast: {enabled, bf16}}
    {"bf16LinearInfo", [](const Args& a) -> Napi::Value {
       auto o = Napi::Object::New(a.env);
       o.Set("route", kRouteNames[route()]);
       o.Set("amxBf16", cpuHasAmxBf16());
       o.Set("envOverride", std::getenv("VIDEOMAE_BF16_LINEAR") != nullptr);
       o.Set("autocastBf16", autocastBf16());
       return o;
     }},
    // setBf16LinearRoute("sgemm" | "aten" | "dnnl"): the route of every later bf16 linear (see routeFlag)
    {"setBf16LinearRoute", [](const Args& a) -> Napi::Value {
       routeFlag().store(static_cast<int>(routeNamed(a.s(0), "bf16 linear route")));
       return a.env.Undefined();
     }},
});

}  // namespace
}  // namespace vm
