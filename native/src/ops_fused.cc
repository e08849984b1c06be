// Op table, part 6: fused forms of small-op chains that the profile showed costing more than the
// math they do. Each has a plain composition in src/ that the tests compare it with.
//
//   patchTargets(videos[B,C,T,H,W] f32, mean[C], std[C], tubelet, patch, rows[B,k] i64, normalize)
//       -> [B, k, P·C] f32, P = tubelet·patch²
//     The pre-training reconstruction target of tokens `rows` (src/models/loss.ts
//     reconstructionTarget + selectDecoderKept): un-normalise (x·std + mean), cut the token's
//     tubelet·patch·patch pixels, and per channel (v − mean)/(sqrt(unbiased var) + 1e-6), written
//     channel-fastest: element ((t_in·p + y_in)·p + x_in)·C + c. One pass per token instead of
//     ~8 passes over the whole clip; only the requested tokens are computed.
#include <ATen/Parallel.h>

#include <cmath>
#include <vector>

#include "args.h"

namespace vm {
namespace {

constexpr float kTargetStdEps = 1e-6f;  // added to the std, as engine_for_pretraining.py

at::Tensor patchTargets(const at::Tensor& videosIn, const std::vector<double>& mean, const std::vector<double>& stdev, int64_t tu, int64_t p,
                        const at::Tensor& rowsIn, bool normalize) {
  requireCpu(videosIn, "patchTargets");
  TORCH_CHECK(videosIn.dim() == 5, "patchTargets: videos must be [B, C, T, H, W], got ", shapeString(videosIn));
  const at::Tensor videos = videosIn.to(at::kFloat).contiguous();
  const int64_t B = videos.size(0), C = videos.size(1), T = videos.size(2), H = videos.size(3), W = videos.size(4);
  TORCH_CHECK(static_cast<int64_t>(mean.size()) == C && static_cast<int64_t>(stdev.size()) == C, "patchTargets: mean/std need ", C, " values");
  TORCH_CHECK(tu > 0 && p > 0 && T % tu == 0 && H % p == 0 && W % p == 0, "patchTargets: video ", shapeString(videosIn), " does not split into ", tu,
              "×", p, "×", p, " patches");
  const at::Tensor rows = rowsIn.to(at::kLong).contiguous();
  TORCH_CHECK(rows.dim() == 2 && rows.size(0) == B, "patchTargets: rows must be [B, k], got ", shapeString(rowsIn));
  const int64_t k = rows.size(1);
  const int64_t gt = T / tu, gh = H / p, gw = W / p, N = gt * gh * gw;
  const int64_t P = tu * p * p;
  TORCH_CHECK(!normalize || P > 1, "patchTargets: the unbiased variance needs more than one pixel per patch");
  at::Tensor out = at::empty({B, k, P * C}, videos.options());
  const float* V = videos.data_ptr<float>();
  const int64_t* R = rows.data_ptr<int64_t>();
  float* O = out.data_ptr<float>();
  for (int64_t i = 0; i < B * k; i++) TORCH_CHECK(R[i] >= 0 && R[i] < N, "patchTargets: token index ", R[i], " outside 0..", N - 1);
  std::vector<float> fm(mean.begin(), mean.end()), fs(stdev.begin(), stdev.end());

  at::parallel_for(0, B * k, 8, [&](int64_t begin, int64_t end) {
    std::vector<float> pix(P);
    for (int64_t r = begin; r < end; r++) {
      const int64_t b = r / k, tok = R[r];
      const int64_t t0 = (tok / (gh * gw)) * tu, y0 = ((tok / gw) % gh) * p, x0 = (tok % gw) * p;
      float* dst = O + r * P * C;
      for (int64_t c = 0; c < C; c++) {
        // Pixels of this token and channel, un-normalised with the two roundings of x·s + m.
        const float s = fs[c], m = fm[c];
        int64_t j = 0;
        for (int64_t ti = 0; ti < tu; ti++)
          for (int64_t yi = 0; yi < p; yi++) {
            const float* src = V + (((b * C + c) * T + t0 + ti) * H + y0 + yi) * W + x0;
            for (int64_t xi = 0; xi < p; xi++) {
              const float scaled = src[xi] * s;
              pix[j++] = scaled + m;
            }
          }
        if (!normalize) {
          for (int64_t q = 0; q < P; q++) dst[q * C + c] = pix[q];
          continue;
        }
        // Mean and unbiased variance in double (two passes), then the float formula.
        double sum = 0;
        for (int64_t q = 0; q < P; q++) sum += pix[q];
        const double mu = sum / static_cast<double>(P);
        double ss = 0;
        for (int64_t q = 0; q < P; q++) {
          const double d = pix[q] - mu;
          ss += d * d;
        }
        const float muf = static_cast<float>(mu);
        const float denom = std::sqrt(static_cast<float>(ss / static_cast<double>(P - 1))) + kTargetStdEps;
        for (int64_t q = 0; q < P; q++) dst[q * C + c] = (pix[q] - muf) / denom;
      }
    }
  });
  return out;
}

OpRegistrar fused({
    {"patchTargets", [](const Args& a) {
       auto list = [&](size_t i) {
         std::vector<double> v;
         Napi::Array arr = a[i].As<Napi::Array>();
         for (uint32_t j = 0; j < arr.Length(); j++) v.push_back(arr.Get(j).As<Napi::Number>().DoubleValue());
         return v;
       };
       return a.ret(patchTargets(a.t(0), list(1), list(2), a.i(3), a.i(4), a.t(5), a.b(6)));
     }},
});

}  // namespace
}  // namespace vm
