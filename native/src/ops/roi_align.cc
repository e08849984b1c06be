// ROIAlign (He et al., Mask R-CNN) with torchvision's `roi_align` semantics, forward and backward,
// as an autograd op: the pooler of the AVA detection head (src/models/detection.ts).
//
//   roiAlign(features [N, C, H, W] f32|f64, rois [K, 5] (batch_index, x1, y1, x2, y2) in input
//            pixels, pooledH, pooledW, spatialScale, samplingRatio, aligned) -> [K, C, pooledH, pooledW]
//
// Semantics (torchvision.ops.roi_align, as documented and as the AVA reference calls it):
//  * box corners are scaled by spatialScale; with aligned=false there is no −0.5 pixel shift and
//    the box width/height are clamped to ≥ 1 (so tiny and degenerate boxes still pool one pixel);
//  * each of the pooledH×pooledW bins averages gridH×gridW bilinear samples placed at the bin's
//    sub-cell centres; samplingRatio ≤ 0 picks the grid adaptively: ceil(roi_size / pooled);
//  * a sample with y < −1, y > H, x < −1 or x > W contributes 0 (but still counts in the average);
//    otherwise its coordinates are clamped into [0, H−1]×[0, W−1] before the bilinear weights.
// The gradient flows to the features only (box coordinates are data, as in torchvision).
//
// Parallel over (roi, channel) in forward; over channels in backward, so that every thread writes
// its own feature planes and the summation order (hence the result) does not depend on threads.
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <vector>

#include "../args.h"

namespace vm {
namespace {

struct RoiGeometry {
  int64_t N, C, H, W, K, PH, PW;
  double scale;
  int64_t sampling;
  bool aligned;
};

// One bilinear sample: up to four (index into the H·W plane, weight) pairs; none when outside.
struct Sample {
  int64_t idx[4];
  double w[4];
  bool valid;
};

Sample bilinear(double y, double x, int64_t H, int64_t W) {
  Sample s{};
  if (y < -1.0 || y > static_cast<double>(H) || x < -1.0 || x > static_cast<double>(W)) return s;
  if (y <= 0) y = 0;
  if (x <= 0) x = 0;
  int64_t y0 = static_cast<int64_t>(y), x0 = static_cast<int64_t>(x), y1, x1;
  if (y0 >= H - 1) {
    y0 = y1 = H - 1;
    y = static_cast<double>(y0);
  } else {
    y1 = y0 + 1;
  }
  if (x0 >= W - 1) {
    x0 = x1 = W - 1;
    x = static_cast<double>(x0);
  } else {
    x1 = x0 + 1;
  }
  const double ly = y - y0, lx = x - x0, hy = 1 - ly, hx = 1 - lx;
  s.idx[0] = y0 * W + x0, s.w[0] = hy * hx;
  s.idx[1] = y0 * W + x1, s.w[1] = hy * lx;
  s.idx[2] = y1 * W + x0, s.w[2] = ly * hx;
  s.idx[3] = y1 * W + x1, s.w[3] = ly * lx;
  s.valid = true;
  return s;
}

// Calls visit(bin, sample, 1/count) for every sample of every bin of roi `r` (row of 5 doubles).
template <typename F>
void forEachSample(const RoiGeometry& g, const double* roi, F&& visit) {
  const double off = g.aligned ? 0.5 : 0.0;
  const double x1 = roi[1] * g.scale - off, y1 = roi[2] * g.scale - off;
  double rw = roi[3] * g.scale - off - x1, rh = roi[4] * g.scale - off - y1;
  if (!g.aligned) rw = std::max(rw, 1.0), rh = std::max(rh, 1.0);
  const double bh = rh / g.PH, bw = rw / g.PW;
  const int64_t gh = g.sampling > 0 ? g.sampling : static_cast<int64_t>(std::ceil(rh / g.PH));
  const int64_t gw = g.sampling > 0 ? g.sampling : static_cast<int64_t>(std::ceil(rw / g.PW));
  const double inv = 1.0 / static_cast<double>(std::max<int64_t>(gh * gw, 1));
  for (int64_t ph = 0; ph < g.PH; ph++)
    for (int64_t pw = 0; pw < g.PW; pw++)
      for (int64_t iy = 0; iy < gh; iy++) {
        const double y = y1 + ph * bh + (iy + 0.5) * bh / gh;
        for (int64_t ix = 0; ix < gw; ix++) {
          const double x = x1 + pw * bw + (ix + 0.5) * bw / gw;
          visit(ph * g.PW + pw, bilinear(y, x, g.H, g.W), inv);
        }
      }
}

RoiGeometry check(const at::Tensor& x, const at::Tensor& rois, int64_t PH, int64_t PW, double scale, int64_t sampling, bool aligned) {
  TORCH_CHECK(x.dim() == 4, "roiAlign: features must be [N, C, H, W], got ", shapeString(x));
  TORCH_CHECK(x.device().is_cpu(), "roiAlign: only CPU tensors are supported");
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble, "roiAlign: features must be float32 or float64");
  TORCH_CHECK(rois.dim() == 2 && rois.size(1) == 5, "roiAlign: rois must be [K, 5] (batch_index, x1, y1, x2, y2), got ", shapeString(rois));
  TORCH_CHECK(PH > 0 && PW > 0, "roiAlign: output size must be positive");
  TORCH_CHECK(x.size(2) > 0 && x.size(3) > 0, "roiAlign: empty feature map ", shapeString(x));
  return RoiGeometry{x.size(0), x.size(1), x.size(2), x.size(3), rois.size(0), PH, PW, scale, sampling, aligned};
}

// rois as contiguous float64 with validated batch indices.
at::Tensor roiTable(const RoiGeometry& g, const at::Tensor& rois) {
  at::Tensor r = rois.to(at::kDouble).contiguous();
  const double* R = r.data_ptr<double>();
  for (int64_t k = 0; k < g.K; k++) {
    const double b = R[k * 5];
    TORCH_CHECK(b >= 0 && b < g.N && b == std::floor(b), "roiAlign: roi ", k, " has batch index ", b, ", need an integer in 0..", g.N - 1);
  }
  return r;
}

template <typename T>
void forwardKernel(const RoiGeometry& g, const T* X, const double* R, T* Y) {
  const int64_t P = g.PH * g.PW;
  at::parallel_for(0, g.K * g.C, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(P);
    for (int64_t kc = begin; kc < end; kc++) {
      const int64_t k = kc / g.C, c = kc % g.C;
      const double* roi = R + k * 5;
      const T* plane = X + (static_cast<int64_t>(roi[0]) * g.C + c) * g.H * g.W;
      std::fill(acc.begin(), acc.end(), 0.0);
      forEachSample(g, roi, [&](int64_t bin, const Sample& s, double inv) {
        if (!s.valid) return;
        double v = 0;
        for (int q = 0; q < 4; q++) v += s.w[q] * static_cast<double>(plane[s.idx[q]]);
        acc[bin] += v * inv;
      });
      for (int64_t b = 0; b < P; b++) Y[kc * P + b] = static_cast<T>(acc[b]);
    }
  });
}

template <typename T>
void backwardKernel(const RoiGeometry& g, const T* dY, const double* R, T* dX) {
  const int64_t P = g.PH * g.PW, HW = g.H * g.W;
  at::parallel_for(0, g.C, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; c++)
      for (int64_t k = 0; k < g.K; k++) {
        const double* roi = R + k * 5;
        T* plane = dX + (static_cast<int64_t>(roi[0]) * g.C + c) * HW;
        const T* gout = dY + (k * g.C + c) * P;
        forEachSample(g, roi, [&](int64_t bin, const Sample& s, double inv) {
          if (!s.valid) return;
          const double gb = static_cast<double>(gout[bin]) * inv;
          for (int q = 0; q < 4; q++) plane[s.idx[q]] += static_cast<T>(gb * s.w[q]);
        });
      }
  });
}

at::Tensor forward(const RoiGeometry& g, const at::Tensor& xIn, const at::Tensor& rois) {
  at::Tensor x = xIn.contiguous();
  at::Tensor r = roiTable(g, rois);
  at::Tensor y = at::zeros({g.K, g.C, g.PH, g.PW}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "roiAlign", [&] { forwardKernel<scalar_t>(g, x.data_ptr<scalar_t>(), r.data_ptr<double>(), y.data_ptr<scalar_t>()); });
  return y;
}

at::Tensor backward(const RoiGeometry& g, const at::Tensor& gradIn, const at::Tensor& rois, at::ScalarType dtype) {
  at::Tensor grad = gradIn.to(dtype).contiguous();
  at::Tensor r = roiTable(g, rois);
  at::Tensor dx = at::zeros({g.N, g.C, g.H, g.W}, grad.options());
  AT_DISPATCH_FLOATING_TYPES(dtype, "roiAlignBackward", [&] { backwardKernel<scalar_t>(g, grad.data_ptr<scalar_t>(), r.data_ptr<double>(), dx.data_ptr<scalar_t>()); });
  return dx;
}

class RoiAlign : public torch::autograd::Function<RoiAlign> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& rois, int64_t PH, int64_t PW,
                            double scale, int64_t sampling, bool aligned) {
    const RoiGeometry g = check(x, rois, PH, PW, scale, sampling, aligned);
    ctx->save_for_backward({rois.detach()});
    ctx->saved_data["shape"] = x.sizes().vec();
    ctx->saved_data["dtype"] = static_cast<int64_t>(x.scalar_type());
    ctx->saved_data["pooled"] = std::vector<int64_t>{PH, PW};
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["sampling"] = sampling;
    ctx->saved_data["aligned"] = aligned;
    return vm::forward(g, x, rois);
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    const at::Tensor rois = ctx->get_saved_variables()[0];
    const auto shape = ctx->saved_data["shape"].toIntVector();
    const auto pooled = ctx->saved_data["pooled"].toIntVector();
    const RoiGeometry g{shape[0], shape[1], shape[2], shape[3], rois.size(0), pooled[0], pooled[1], ctx->saved_data["scale"].toDouble(),
                        ctx->saved_data["sampling"].toInt(), ctx->saved_data["aligned"].toBool()};
    const auto dtype = static_cast<at::ScalarType>(ctx->saved_data["dtype"].toInt());
    at::Tensor dx = grads[0].defined() ? vm::backward(g, grads[0], rois, dtype) : at::Tensor();
    return {dx, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

OpRegistrar roiOps({
    // roiAlign(features [N,C,H,W], rois [K,5], pooledH, pooledW, spatialScale, samplingRatio, aligned) -> [K,C,pooledH,pooledW]
    {"roiAlign", [](const Args& a) {
       requireCpu(a.t(0), "roiAlign");
       return a.ret(RoiAlign::apply(a.t(0), a.t(1), a.i(2), a.i(3), a.d(4), a.i(5), a.b(6)));
     }},
});

}  // namespace
}  // namespace vm
