// In-process video decoding through FFmpeg's libraries (libavformat, libavcodec, libswscale,
// libavutil): its own binding table, exported by addon.cc as `video`.
#pragma once
#include <napi.h>

namespace vm {
namespace video {

// { available, reason, versions, Decoder } when built with the FFmpeg libraries (VM_HAVE_LIBAV);
// { available: false, reason } otherwise.
Napi::Object bindings(Napi::Env env);

}  // namespace video
}  // namespace vm
