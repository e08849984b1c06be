// See clip_kernels.h. The coefficient computation follows resize.ts pilCoeffs line by line
// (double arithmetic, truncation toward zero), so the fixed-point weights are the same integers.
#include "clip_kernels.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace vm {
namespace {

constexpr int kPrec = 22;  // Pillow: PRECISION_BITS = 32 − 8 − 2
constexpr int32_t kHalf = 1 << (kPrec - 1);

struct PilCoeffs {
  int64_t ksize = 0;
  std::vector<int32_t> bounds;  // per output index: first input index, tap count
  std::vector<int32_t> kk;      // ksize weights per output index
};

PilCoeffs pilCoeffs(int64_t inSize, int64_t outSize) {
  const double scale = static_cast<double>(inSize) / static_cast<double>(outSize);
  const double filterscale = std::max(scale, 1.0);
  const double support = filterscale;
  PilCoeffs c;
  c.ksize = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  c.bounds.assign(outSize * 2, 0);
  c.kk.assign(outSize * c.ksize, 0);
  std::vector<double> w(c.ksize);
  for (int64_t xx = 0; xx < outSize; xx++) {
    const double center = (static_cast<double>(xx) + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int64_t xmin = static_cast<int64_t>(std::trunc(center - support + 0.5));
    if (xmin < 0) xmin = 0;
    int64_t xmax = static_cast<int64_t>(std::trunc(center + support + 0.5));
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    double ww = 0;
    for (int64_t x = 0; x < xmax; x++) {
      const double a = std::fabs((static_cast<double>(x + xmin) - center + 0.5) * ss);
      w[x] = a < 1 ? 1 - a : 0;
      ww += w[x];
    }
    for (int64_t x = 0; x < xmax; x++) {
      const double v = ww != 0 ? w[x] / ww : w[x];
      c.kk[xx * c.ksize + x] = static_cast<int32_t>(v < 0 ? std::trunc(-0.5 + v * (1 << kPrec)) : std::trunc(0.5 + v * (1 << kPrec)));
    }
    c.bounds[xx * 2] = static_cast<int32_t>(xmin);
    c.bounds[xx * 2 + 1] = static_cast<int32_t>(xmax);
  }
  return c;
}

inline uint8_t clip8(int32_t s) {
  const int32_t v = s >> kPrec;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// `rows` rows at src + r·stride (3 channels) → outW pixels each, packed in dst.
__attribute__((target_clones("avx2", "default"))) void horizontal(const uint8_t* src, int64_t stride, int64_t rows,
                                                                  const PilCoeffs& c, int64_t outW, uint8_t* dst) {
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t* row = src + r * stride;
    uint8_t* o = dst + r * outW * 3;
    for (int64_t xx = 0; xx < outW; xx++, o += 3) {
      const int32_t n = c.bounds[xx * 2 + 1];
      const uint8_t* p = row + static_cast<int64_t>(c.bounds[xx * 2]) * 3;
      const int32_t* k = c.kk.data() + xx * c.ksize;
      int32_t s0 = kHalf, s1 = kHalf, s2 = kHalf;
      for (int32_t x = 0; x < n; x++, p += 3) {
        s0 += p[0] * k[x];
        s1 += p[1] * k[x];
        s2 += p[2] * k[x];
      }
      o[0] = clip8(s0);
      o[1] = clip8(s1);
      o[2] = clip8(s2);
    }
  }
}

// Output row yy mixes box rows bounds[2yy].. ; src holds box rows from `firstRow` on (row stride
// `stride`, `len` bytes each).
__attribute__((target_clones("avx2", "default"))) void vertical(const uint8_t* src, int64_t firstRow, int64_t stride, int64_t len,
                                                                const PilCoeffs& c, int64_t outH, uint8_t* dst, int32_t* acc) {
  for (int64_t yy = 0; yy < outH; yy++) {
    const int32_t ymin = c.bounds[yy * 2], n = c.bounds[yy * 2 + 1];
    std::fill(acc, acc + len, kHalf);
    for (int32_t y = 0; y < n; y++) {
      const int32_t w = c.kk[yy * c.ksize + y];
      const uint8_t* row = src + (static_cast<int64_t>(ymin + y) - firstRow) * stride;
      for (int64_t i = 0; i < len; i++) acc[i] += row[i] * w;
    }
    uint8_t* o = dst + yy * len;
    for (int64_t i = 0; i < len; i++) o[i] = clip8(acc[i]);
  }
}

}  // namespace

void pilResize(const uint8_t* src, int64_t frames, int64_t H, int64_t W, int64_t bx, int64_t by, int64_t bw, int64_t bh,
               int64_t outW, int64_t outH, uint8_t* dst) {
  const bool needH = bw != outW, needV = bh != outH;
  const int64_t stride = W * 3, inFrame = H * W * 3, outFrame = outH * outW * 3;
  const PilCoeffs ch = needH ? pilCoeffs(bw, outW) : PilCoeffs();
  const PilCoeffs cv = needV ? pilCoeffs(bh, outH) : PilCoeffs();
  // Rows of the box the vertical pass reads (all of them when there is none).
  const int64_t first = needV ? cv.bounds[0] : 0;
  const int64_t last = needV ? cv.bounds[outH * 2 - 2] + cv.bounds[outH * 2 - 1] : bh;
  std::vector<uint8_t> tmp(needH && needV ? (last - first) * outW * 3 : 0);
  std::vector<int32_t> acc(outW * 3);
  for (int64_t t = 0; t < frames; t++) {
    const uint8_t* box = src + t * inFrame + (by * W + bx) * 3;
    uint8_t* out = dst + t * outFrame;
    if (!needH && !needV) {
      for (int64_t y = 0; y < outH; y++) std::copy(box + y * stride, box + y * stride + outW * 3, out + y * outW * 3);
    } else if (!needV) {
      horizontal(box, stride, outH, ch, outW, out);
    } else if (!needH) {
      vertical(box, 0, stride, outW * 3, cv, outH, out, acc.data());
    } else {
      horizontal(box + first * stride, stride, last - first, ch, outW, tmp.data());
      vertical(tmp.data(), first, outW * 3, outW * 3, cv, outH, out, acc.data());
    }
  }
}

}  // namespace vm
