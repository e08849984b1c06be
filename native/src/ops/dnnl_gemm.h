// oneDNN's BLAS-like GEMMs, found at run time in the libdnnl that libtorch already loaded
// (Debian's libtorch links the system libdnnl.so.2; a libtorch with oneDNN linked in statically
// hides them, and then these are null and the routes that need them are unavailable).
//   dnnl_sgemm             float32 × float32 → float32 (JIT kernels for the CPU's widest ISA: AVX-512
//                          where OpenBLAS may be held to AVX2 by a preset OPENBLAS_CORETYPE)
//   dnnl_gemm_bf16bf16f32  bf16 × bf16 → float32 (vdpbf16ps / AMX)
// Both are row-major: C = alpha·op(A)·op(B) + beta·C, op = 'N' or 'T'; they run on the OpenMP pool
// libtorch sizes (at::set_num_threads).
#pragma once
#include <cstdint>

namespace vm {
namespace dnnl {

using Sgemm = int (*)(char transA, char transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                      const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
using GemmBf16 = int (*)(char transA, char transB, int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* A,
                         int64_t lda, const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc);

struct Gemms {
  Sgemm sgemm = nullptr;
  GemmBf16 gemmBf16 = nullptr;
};

// Looked up once; members null where not found.
const Gemms& gemms();

// Throws naming the call if oneDNN reports an error (a status other than dnnl_success = 0).
void check(int status, const char* what);

}  // namespace dnnl
}  // namespace vm
