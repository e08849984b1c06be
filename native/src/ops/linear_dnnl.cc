// Linear layers through oneDNN's GEMMs (dnnl_gemm.h), as custom autograd functions:
//   linearF32Dnnl(x [..., K], W [N, K], b? [N]) → float32 [..., N]: y = x·Wᵀ + b by dnnl_sgemm;
//     backward dX = dY·W, dW = dYᵀ·X (dnnl_sgemm), db = Σ dY. The same function as at::linear, by
//     another GEMM: where OpenBLAS is held to AVX2 kernels (a preset OPENBLAS_CORETYPE=Haswell on an
//     AVX-512 CPU), oneDNN's AVX-512 JIT kernels run the token-row shapes of a ViT up to ~2× faster.
//   The "fp32 linear" route is "blas" (at::linear) or "dnnl" (this), chosen by the kernel tuner
//   (src/torch/tune.ts) from measured rates; VIDEOMAE_FP32_LINEAR=blas|dnnl fixes it.
#include "dnnl_gemm.h"

#include <dlfcn.h>
#include <torch/csrc/autograd/custom_function.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "../args.h"
#include "linear_routes.h"

namespace vm {
namespace dnnl {

const Gemms& gemms() {
  static const Gemms g = [] {
    Gemms r;
    void* h = dlopen("libdnnl.so.2", RTLD_LAZY | RTLD_NOLOAD);
    if (!h) h = dlopen("libdnnl.so.3", RTLD_LAZY | RTLD_NOLOAD);
    void* scope = h ? h : RTLD_DEFAULT;
    r.sgemm = reinterpret_cast<Sgemm>(dlsym(scope, "dnnl_sgemm"));
    r.gemmBf16 = reinterpret_cast<GemmBf16>(dlsym(scope, "dnnl_gemm_bf16bf16f32"));
    return r;
  }();
  return g;
}

void check(int status, const char* what) {
  if (status != 0) throw std::runtime_error(std::string(what) + ": oneDNN GEMM failed with status " + std::to_string(status));
}

}  // namespace dnnl

namespace {

std::atomic<bool>& fp32DnnlFlag() {
  static std::atomic<bool> v{[] {
    const char* e = std::getenv("VIDEOMAE_FP32_LINEAR");
    const std::string want = e ? e : "";
    if (want == "dnnl") {
      if (!dnnl::gemms().sgemm) throw std::runtime_error("VIDEOMAE_FP32_LINEAR=dnnl, but this libtorch's oneDNN has no dnnl_sgemm");
      return true;
    }
    if (!want.empty() && want != "blas") throw std::runtime_error("VIDEOMAE_FP32_LINEAR must be blas or dnnl, got '" + want + "'");
    return false;  // at::linear until measured otherwise
  }()};
  return v;
}

// C[M×N] (row-major, contiguous) = op(A)·op(B) (+ C when accumulate).
void sgemm(char ta, char tb, int64_t M, int64_t N, int64_t K, const at::Tensor& A, int64_t lda, const at::Tensor& B,
           int64_t ldb, at::Tensor& C, bool accumulate) {
  dnnl::check(dnnl::gemms().sgemm(ta, tb, M, N, K, 1.0f, A.data_ptr<float>(), lda, B.data_ptr<float>(), ldb,
                                  accumulate ? 1.0f : 0.0f, C.data_ptr<float>(), N),
              "linearF32Dnnl");
}

at::Tensor forwardF32(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, const at::Tensor* b) {
  TORCH_CHECK(x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat && (!b || b->scalar_type() == at::kFloat),
              "linearF32Dnnl: float32 tensors only");
  TORCH_CHECK(w.dim() == 2 && x.dim() >= 1 && x.size(-1) == w.size(1), "linearF32Dnnl: x ", shapeString(x),
              " does not match weight ", shapeString(w));
  TORCH_CHECK(!b || (b->dim() == 1 && b->size(0) == w.size(0)), "linearF32Dnnl: bias must be [", w.size(0), "]");
  const int64_t K = w.size(1), N = w.size(0);
  at::Tensor x2 = x.reshape({-1, K}).contiguous();
  at::Tensor wc = w.contiguous();
  const int64_t M = x2.size(0);
  at::Tensor y = b ? b->reshape({1, N}).expand({M, N}).contiguous() : at::empty({M, N}, x2.options());
  if (M > 0 && N > 0) {
    if (K > 0) sgemm('N', 'T', M, N, K, x2, K, wc, K, y, b != nullptr);
    else if (!b) y.zero_();
  }
  ctx->save_for_backward({x2, wc});
  ctx->saved_data["xshape"] = x.sizes().vec();
  std::vector<int64_t> outShape = x.sizes().vec();
  outShape.back() = N;
  return y.view(outShape);
}

torch::autograd::tensor_list backwardF32(torch::autograd::AutogradContext* ctx, const torch::autograd::tensor_list& grads,
                                         bool hasBias) {
  auto saved = ctx->get_saved_variables();
  const at::Tensor& x2 = saved[0];
  const at::Tensor& w = saved[1];
  const int64_t M = x2.size(0), K = x2.size(1), N = w.size(0);
  at::Tensor dx, dw, db;
  if (!grads[0].defined()) return {dx, dw, db};
  at::Tensor g = grads[0].reshape({M, N}).to(at::kFloat).contiguous();
  const bool empty = M == 0 || K == 0 || N == 0;  // a zero-size product: the gradients are zeros
  if (ctx->needs_input_grad(0)) {
    dx = empty ? at::zeros({M, K}, g.options()) : at::empty({M, K}, g.options());
    if (!empty) sgemm('N', 'N', M, K, N, g, N, w, K, dx, false);
    dx = dx.view(ctx->saved_data["xshape"].toIntVector());
  }
  if (ctx->needs_input_grad(1)) {
    dw = empty ? at::zeros({N, K}, g.options()) : at::empty({N, K}, g.options());
    if (!empty) sgemm('T', 'N', N, K, M, g, N, x2, K, dw, false);
  }
  if (hasBias && ctx->needs_input_grad(2)) db = g.sum(0);
  return {dx, dw, db};
}

class LinearF32Dnnl : public torch::autograd::Function<LinearF32Dnnl> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                            const at::Tensor& b) {
    return forwardF32(ctx, x, w, &b);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    return backwardF32(ctx, grads, true);
  }
};

class LinearF32DnnlNoBias : public torch::autograd::Function<LinearF32DnnlNoBias> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w) {
    return forwardF32(ctx, x, w, nullptr);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    auto g = backwardF32(ctx, grads, false);
    g.pop_back();
    return g;
  }
};

OpRegistrar linearDnnlOps({
    // linearF32Dnnl(x [..., K], weight [N, K], bias? [N]) -> float32 [..., N] (dnnl_sgemm)
    {"linearF32Dnnl", [](const Args& a) { return a.ret(linearF32Dnnl(a.t(0), a.t(1), a.optT(2))); }},
    // setFp32LinearRoute("blas" | "dnnl"): how later float32 CPU linears run (F.linear outside autocast)
    {"setFp32LinearRoute", [](const Args& a) -> Napi::Value {
       const std::string want = a.s(0);
       if (want != "blas" && want != "dnnl") throw std::runtime_error("fp32 linear route must be blas or dnnl, got '" + want + "'");
       if (want == "dnnl" && !dnnl::gemms().sgemm) throw std::runtime_error("fp32 linear route dnnl: this libtorch's oneDNN has no dnnl_sgemm");
       fp32DnnlFlag().store(want == "dnnl");
       return a.env.Undefined();
     }},
    // linearRoutes() -> {fp32: "blas"|"dnnl", dnnl: {sgemm, gemmBf16}} (which oneDNN GEMMs this process found)
    {"linearRoutes", [](const Args& a) -> Napi::Value {
       auto o = Napi::Object::New(a.env);
       o.Set("fp32", fp32DnnlRoute() ? "dnnl" : "blas");
       auto d = Napi::Object::New(a.env);
       d.Set("sgemm", dnnl::gemms().sgemm != nullptr);
       d.Set("gemmBf16", dnnl::gemms().gemmBf16 != nullptr);
       o.Set("dnnl", d);
       o.Set("fp32EnvOverride", std::getenv("VIDEOMAE_FP32_LINEAR") != nullptr);
       return o;
     }},
});

}  // namespace

bool fp32DnnlRoute() { return fp32DnnlFlag().load(std::memory_order_relaxed); }

at::Tensor linearF32Dnnl(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b) {
  requireCpu(x, "linearF32Dnnl");
  TORCH_CHECK(dnnl::gemms().sgemm, "linearF32Dnnl: this libtorch's oneDNN has no dnnl_sgemm");
  return b.has_value() ? LinearF32Dnnl::apply(x, w, *b) : LinearF32DnnlNoBias::apply(x, w);
}

}  // namespace vm
