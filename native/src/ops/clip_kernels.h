// Loader-side clip kernel (built in the vector-flagged "ops_simd" target): the same integer
// arithmetic as src/data/transforms/resize.ts resizePil, so results are byte-identical to the
// TypeScript version, which stays the reference and the browser path.
#pragma once

#include <cstdint>

namespace vm {

// Pillow's Image.resize(BILINEAR) of the box (bx, by, bw, bh) of each of `frames` (H, W, 3)
// uint8 frames to (outH, outW, 3): 22-bit fixed-point triangle filter scaled by the downscale
// factor, horizontal pass first (rounded to uint8), then vertical; an axis whose size does not
// change is not resampled. dst holds frames·outH·outW·3 bytes.
void pilResize(const uint8_t* src, int64_t frames, int64_t H, int64_t W, int64_t bx, int64_t by, int64_t bw, int64_t bh,
               int64_t outW, int64_t outH, uint8_t* dst);

}  // namespace vm
