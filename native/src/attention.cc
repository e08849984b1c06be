// The fused attention op: `packedAttention(qkv [B, N, 3·H·d], heads, scale) → out [B, N, H·d]`,
// a custom autograd function whose forward and backward run the tiled kernels of
// attention_kernel.inc (no N×N matrix in memory). float32 compute, except bfloat16 inputs on CPUs
// with AVX512-BF16, which take the bf16 dot-product kernels of attention_bf16.inc (bf16 in and
// out, float32 accumulation and softmax statistics); other low-precision inputs are converted to
// float32 on entry and the output and gradient back to the input dtype.
// Initial choices from VIDEOMAE_ATTN_ISA=avx2|avx512, VIDEOMAE_ATTN_GEMM=micro|blas|aten and
// VIDEOMAE_ATTN_BF16=dpbf16|fp32; the kernel tuner may change them (setAttentionChoice).
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/csrc/autograd/custom_function.h>

#include "args.h"
#include "compat.h"
#include "attention_kernels.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace vm {
namespace {

using attn::Dims;
using attn::GemmFn;

// ---------------------------------------------------------------- GEMM on tiles
// Fortran BLAS sgemm_ (column-major), found in the BLAS libtorch already loaded.
using SgemmFortran = void (*)(const char*, const char*, const int*, const int*, const int*, const float*, const float*,
                              const int*, const float*, const int*, const float*, float*, const int*);
SgemmFortran sgemmPtr = nullptr;

void gemmBlas(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  // Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands.
  const char transB = tb ? 'T' : 'N', transA = ta ? 'T' : 'N';
  const int m = static_cast<int>(N), n = static_cast<int>(M), k = static_cast<int>(K);
  const int ldb_ = static_cast<int>(ldb), lda_ = static_cast<int>(lda), ldc_ = static_cast<int>(ldc);
  sgemmPtr(&transB, &transA, &m, &n, &k, &alpha, B, &ldb_, A, &lda_, &beta, C, &ldc_);
}

// Portable fallback (any libtorch, e.g. one with MKL linked in statically): ATen's addmm on
// views of the tiles. Slower per call, same results.
void gemmAten(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  c10::InferenceMode guard;
  auto opts = at::TensorOptions().dtype(at::kFloat);
  at::Tensor a = ta ? at::from_blob(const_cast<float*>(A), {M, K}, {1, lda}, opts)
                    : at::from_blob(const_cast<float*>(A), {M, K}, {lda, 1}, opts);
  at::Tensor b = tb ? at::from_blob(const_cast<float*>(B), {K, N}, {1, ldb}, opts)
                    : at::from_blob(const_cast<float*>(B), {K, N}, {ldb, 1}, opts);
  at::Tensor c = at::from_blob(C, {M, N}, {ldc, 1}, opts);
  if (beta == 0.0f) c.zero_();
  at::addmm_out(c, c, a, b, beta == 0.0f ? 1.0f : beta, alpha);
}

// The tile GEMM: null = the ISA build's own register-blocked micro-kernels (default, fastest);
// VIDEOMAE_ATTN_GEMM=blas / aten route the same tile products through BLAS sgemm_ / ATen addmm
// instead (for comparisons and debugging; BLAS serialises concurrent callers, so it does not scale).
GemmFn chooseGemm(const std::string& want) {
  if (want.empty() || want == "micro") return nullptr;
  if (want == "aten") return gemmAten;
  if (want != "blas") throw std::runtime_error("attention GEMM must be micro, blas or aten, got '" + want + "'");
  for (const char* lib : {"libblas.so.3", "libopenblas.so.0", "libmkl_rt.so"}) {
    if (void* h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD)) {
      if (auto f = reinterpret_cast<SgemmFortran>(dlsym(h, "sgemm_"))) {
        sgemmPtr = f;
        return gemmBlas;
      }
    }
  }
  return gemmAten;  // no BLAS loaded in this process (e.g. MKL linked statically)
}

struct Kernels {
  GemmFn gemm;
  decltype(&attn::avx2::forward) forward;
  decltype(&attn::avx2::backward) backward;
  const char* isa;
  // bf16 inputs: the bf16 dot-product kernels (attention_bf16.inc) instead of float32 compute.
  bool bf16Dot;
};

struct CpuIsa {
  bool avx512, avx2, avx512bf16;
};
const CpuIsa& cpuIsa() {
  static const CpuIsa c = [] {
    __builtin_cpu_init();
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    return CpuIsa{avx512, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"),
                  avx512 && __builtin_cpu_supports("avx512bf16")};
  }();
  return c;
}

std::string envChoice(const char* name) {
  const char* e = std::getenv(name);
  return e ? e : "";
}

void setIsa(Kernels& k, const std::string& want) {
  const CpuIsa& c = cpuIsa();
  if (want != "avx2" && want != "avx512") throw std::runtime_error("attention ISA must be avx2 or avx512, got '" + want + "'");
  if (want == "avx512" && !c.avx512) throw std::runtime_error("attention ISA avx512, but this CPU has no AVX-512");
  if (want == "avx512") k = Kernels{k.gemm, attn::avx512::forward, attn::avx512::backward, "avx512", k.bf16Dot};
  else k = Kernels{k.gemm, attn::avx2::forward, attn::avx2::backward, "avx2", false};
}

void setBf16(Kernels& k, const std::string& want) {
  if (want != "dpbf16" && want != "fp32") throw std::runtime_error("bf16 attention must be dpbf16 or fp32, got '" + want + "'");
  if (want == "dpbf16" && !(cpuIsa().avx512bf16 && std::string(k.isa) == "avx512")) {
    throw std::runtime_error("bf16 attention dpbf16 needs AVX512-BF16 and the avx512 kernels");
  }
  k.bf16Dot = want == "dpbf16";
}

// The process's choices. Initially: VIDEOMAE_ATTN_ISA=avx2|avx512 (default: the best the CPU has),
// VIDEOMAE_ATTN_GEMM=micro|blas|aten (default micro), VIDEOMAE_ATTN_BF16=dpbf16|fp32 (default:
// dpbf16 where the CPU has AVX512-BF16). The tuner (src/torch/tune.ts) may change them through
// setAttentionChoice before the first model runs; environment variables win there too.
Kernels& kernels() {
  static Kernels k = [] {
    const CpuIsa& c = cpuIsa();
    if (!c.avx512 && !c.avx2) throw std::runtime_error("packedAttention needs a CPU with AVX2+FMA or AVX-512");
    Kernels r{chooseGemm(envChoice("VIDEOMAE_ATTN_GEMM")), nullptr, nullptr, "", false};
    const std::string isa = envChoice("VIDEOMAE_ATTN_ISA");
    try {
      setIsa(r, isa.empty() ? (c.avx512 ? "avx512" : "avx2") : isa);
      const std::string bf16 = envChoice("VIDEOMAE_ATTN_BF16");
      if (!bf16.empty()) setBf16(r, bf16);
      else r.bf16Dot = c.avx512bf16 && std::string(r.isa) == "avx512";
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(std::string("VIDEOMAE_ATTN_ISA / VIDEOMAE_ATTN_BF16: ") + e.what());
    }
    return r;
  }();
  return k;
}

const uint16_t* bf16Ptr(const at::Tensor& t) { return reinterpret_cast<const uint16_t*>(t.data_ptr<at::BFloat16>()); }
uint16_t* bf16Ptr(at::Tensor& t) { return reinterpret_cast<uint16_t*>(t.data_ptr<at::BFloat16>()); }

Dims dimsOf(const at::Tensor& qkv, int64_t heads) {
  TORCH_CHECK(qkv.dim() == 3, "packedAttention: qkv must be [B, N, 3·D], got ", shapeString(qkv));
  TORCH_CHECK(heads > 0 && qkv.size(2) % (3 * heads) == 0, "packedAttention: last dim ", qkv.size(2),
              " is not 3 × heads (", heads, ") × head_dim");
  return Dims{qkv.size(0), qkv.size(1), heads, qkv.size(2) / (3 * heads)};
}

class PackedAttention : public torch::autograd::Function<PackedAttention> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& qkvIn, int64_t heads, double scale) {
    const Dims s = dimsOf(qkvIn, heads);
    const auto& k = kernels();
    ctx->saved_data["heads"] = heads;
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["dtype"] = static_cast<int64_t>(qkvIn.scalar_type());
    if (qkvIn.scalar_type() == at::kBFloat16 && k.bf16Dot && s.d % 2 == 0) {
      // bf16 in, bf16 dot products, bf16 out (attention_bf16.inc); the backward reads the same bf16 tensors.
      at::Tensor qkv = qkvIn.contiguous();
      at::Tensor out = at::empty({s.B, s.N, s.D()}, qkv.options());
      at::Tensor lse = at::empty({s.B, s.H, s.N}, qkv.options().dtype(at::kFloat));
      attn::avx512bf16::forwardBf16(s, static_cast<float>(scale), bf16Ptr(qkv), bf16Ptr(out), lse.data_ptr<float>());
      ctx->save_for_backward({qkv, out, lse});
      ctx->saved_data["bf16Dot"] = true;
      return out;
    }
    at::Tensor qkv = qkvIn.to(at::kFloat).contiguous();
    at::Tensor out = at::empty({s.B, s.N, s.D()}, qkv.options());
    at::Tensor lse = at::empty({s.B, s.H, s.N}, qkv.options());
    k.forward(s, k.gemm, static_cast<float>(scale), qkv.data_ptr<float>(), out.data_ptr<float>(), lse.data_ptr<float>());
    at::Tensor result = out.to(qkvIn.scalar_type());  // `out` itself for float32 input
    // Saved in the input's precision: under bf16 autocast the backward keeps bf16 copies (as the
    // plain composition would), not float32 ones of twice the size; it widens them again.
    ctx->save_for_backward({qkvIn.scalar_type() == at::kFloat ? qkv : qkvIn.contiguous(), result, lse});
    ctx->saved_data["bf16Dot"] = false;
    return result;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const int64_t heads = ctx->saved_data["heads"].toInt();
    const double scale = ctx->saved_data["scale"].toDouble();
    const auto dtype = static_cast<at::ScalarType>(ctx->saved_data["dtype"].toInt());
    const at::Tensor& lse = saved[2];
    if (ctx->saved_data["bf16Dot"].toBool()) {
      const at::Tensor& qkv = saved[0];
      const Dims s = dimsOf(qkv, heads);
      at::Tensor dout = grads[0].to(at::kBFloat16).contiguous();
      at::Tensor dqkv = at::zeros(qkv.sizes(), qkv.options().dtype(at::kFloat));  // float32 accumulator
      attn::avx512bf16::backwardBf16(s, static_cast<float>(scale), bf16Ptr(qkv), bf16Ptr(saved[1]), bf16Ptr(dout),
                                     lse.data_ptr<float>(), dqkv.data_ptr<float>());
      return {dqkv.to(dtype), at::Tensor(), at::Tensor()};
    }
    const at::Tensor qkv = saved[0].to(at::kFloat).contiguous();
    const at::Tensor out = saved[1].to(at::kFloat).contiguous();
    const Dims s = dimsOf(qkv, heads);
    at::Tensor dout = grads[0].to(at::kFloat).contiguous();
    at::Tensor dqkv = at::zeros_like(qkv);
    const auto& k = kernels();
    k.backward(s, k.gemm, static_cast<float>(scale), qkv.data_ptr<float>(), out.data_ptr<float>(), dout.data_ptr<float>(),
               lse.data_ptr<float>(), dqkv.data_ptr<float>());
    return {dqkv.to(dtype), at::Tensor(), at::Tensor()};
  }
};

OpRegistrar attentionOps({
    // packedAttention(qkv [B, N, 3·H·d], heads, scale) -> [B, N, H·d]
    // On a GPU: ATen's fused scaled_dot_product_attention (flash / memory-efficient kernels,
    // differentiable through ATen's own autograd); on the CPU: our kernel.
    {"packedAttention", [](const Args& a) {
       const at::Tensor& qkv = a.t(0);
       if (!qkv.is_cpu()) {
         const Dims s = dimsOf(qkv, a.i(1));
         // [B, N, 3·H·d] → three [B, H, N, d] views
         auto parts = qkv.view({s.B, s.N, 3, s.H, s.d}).permute({2, 0, 3, 1, 4}).unbind(0);
         at::Tensor o = compat::scaledDotProductAttention(parts[0], parts[1], parts[2], a.d(2));
         return a.ret(o.transpose(1, 2).reshape({s.B, s.N, s.H * s.d}));
       }
       return a.ret(PackedAttention::apply(qkv, a.i(1), a.d(2)));
     }},
    {"attentionKernelInfo", [](const Args& a) -> Napi::Value {
       const auto& k = kernels();
       auto o = Napi::Object::New(a.env);
       o.Set("isa", k.isa);
       o.Set("gemm", !k.gemm ? "micro" : k.gemm == gemmBlas ? "blas" : "aten");
       o.Set("bf16", k.bf16Dot ? "dpbf16" : "fp32");
       auto cpu = Napi::Object::New(a.env);
       cpu.Set("avx2", cpuIsa().avx2);
       cpu.Set("avx512", cpuIsa().avx512);
       cpu.Set("avx512bf16", cpuIsa().avx512bf16);
       o.Set("cpu", cpu);
       return o;
     }},
    // setAttentionChoice(key: "isa" | "gemm" | "bf16", value): see kernels(); throws on a choice the CPU lacks.
    {"setAttentionChoice", [](const Args& a) -> Napi::Value {
       const std::string key = a.s(0), value = a.s(1);
       Kernels k = kernels();
       if (key == "isa") setIsa(k, value);
       else if (key == "gemm") k.gemm = chooseGemm(value);
       else if (key == "bf16") setBf16(k, value);
       else throw std::runtime_error("setAttentionChoice: unknown key '" + key + "' (isa, gemm or bf16)");
       kernels() = k;
       return a.env.Undefined();
     }},
});

}  // namespace
}  // namespace vm
