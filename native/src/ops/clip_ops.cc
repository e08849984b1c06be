// Op table: the loader's clip kernel (ops/clip_kernels.h) on typed arrays, for the Node side of
// src/data/transforms (registered there by transforms/native.ts). Arguments are checked here so a
// wrong size is a thrown error, never an out-of-bounds read.
#include <cmath>
#include <stdexcept>
#include <string>

#include "../args.h"
#include "clip_kernels.h"

namespace vm {
namespace {

// The bytes of a Uint8Array argument, and how many.
std::pair<const uint8_t*, size_t> uint8Data(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw std::invalid_argument(std::string(what) + " must be a Uint8Array");
  }
  auto ta = v.As<Napi::TypedArray>();
  return {static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset(), ta.ElementLength()};
}

int64_t nonNegative(const Args& a, size_t i, const char* what) {
  const double v = a[i].IsNumber() ? a[i].As<Napi::Number>().DoubleValue() : -1;
  if (!(v >= 0 && v <= 9007199254740992.0) || v != std::floor(v)) throw std::invalid_argument(std::string(what) + " must be a non-negative integer");
  return static_cast<int64_t>(v);
}

OpRegistrar clipOps({
    // pilResizeU8(src, frames, height, width, bx, by, bw, bh, outW, outH) -> Uint8Array (frames, outH, outW, 3)
    {"pilResizeU8", [](const Args& a) -> Napi::Value {
       auto [src, n] = uint8Data(a[0], "pilResizeU8: src");
       const int64_t T = nonNegative(a, 1, "frames"), H = nonNegative(a, 2, "height"), W = nonNegative(a, 3, "width");
       const int64_t bx = nonNegative(a, 4, "box x"), by = nonNegative(a, 5, "box y"), bw = nonNegative(a, 6, "box width"),
                     bh = nonNegative(a, 7, "box height"), outW = nonNegative(a, 8, "output width"), outH = nonNegative(a, 9, "output height");
       if (static_cast<__int128>(T) * H * W * 3 != static_cast<__int128>(n)) throw std::invalid_argument("pilResizeU8: src has " + std::to_string(n) + " bytes, expected frames·height·width·3");
       if (bw < 1 || bh < 1 || bx + bw > W || by + bh > H) throw std::invalid_argument("pilResizeU8: the box lies outside the frame");
       if (outW < 1 || outH < 1) throw std::invalid_argument("pilResizeU8: output size must be positive");
       if (static_cast<__int128>(T) * outH * outW * 3 > (static_cast<__int128>(1) << 40)) throw std::invalid_argument("pilResizeU8: output too large");
       auto out = Napi::Uint8Array::New(a.env, static_cast<size_t>(T * outH * outW * 3));
       pilResize(src, T, H, W, bx, by, bw, bh, outW, outH, out.Data());
       return out;
     }},
});

}  // namespace
}  // namespace vm
