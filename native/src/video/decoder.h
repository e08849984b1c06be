// The libav part of the in-process video decoder (no N-API; the binding is video.cc): one video
// file kept open between requests (Video), with its demuxer, decoder and scaler.
//
// Frame selection mirrors the ffmpeg-CLI reader (src/video/ffmpeg-reader.ts), so both readers
// return the same frames:
//   - timestamp mode (constant-rate video): the index of a decoded frame is
//     round((t − streamStart)·rate), t its best-effort timestamp (what the CLI's select filter
//     sees under -copyts); an optional seek is done the way `ffmpeg -ss` does it;
//   - count mode: the index is the number of frames the decoder output before it, from the start
//     of the file (the select filter's `n`).
// Colour conversion + resize are one swscale pass with the options ffmpeg's
// `scale=W:H:flags=bilinear,format=rgb24` uses (chroma position, colourspace and range from
// the frame), after the rotation ffmpeg's autorotate applies (transpose/hflip/vflip), so where
// the CLI reader does the same conversion the bytes are identical.
//
// Built only with FFmpeg's development libraries (VM_HAVE_LIBAV, set by native/config.mjs).
#pragma once

#ifdef VM_HAVE_LIBAV
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
}

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace vm {
namespace video {

// Corrupt, truncated, unsupported or non-video input; `timeout` when the request ran out of time.
struct DecodeError : std::runtime_error {
  bool timeout;
  explicit DecodeError(const std::string& m, bool t = false) : std::runtime_error(m), timeout(t) {}
};

struct FormatCloser {
  void operator()(AVFormatContext* p) const { avformat_close_input(&p); }
};
struct CodecFreer {
  void operator()(AVCodecContext* p) const { avcodec_free_context(&p); }
};
struct FrameFreer {
  void operator()(AVFrame* p) const { av_frame_free(&p); }
};
struct PacketFreer {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsFreer {
  void operator()(SwsContext* p) const { sws_freeContext(p); }
};
using FormatPtr = std::unique_ptr<AVFormatContext, FormatCloser>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecFreer>;
using FramePtr = std::unique_ptr<AVFrame, FrameFreer>;
using PacketPtr = std::unique_ptr<AVPacket, PacketFreer>;
using SwsPtr = std::unique_ptr<SwsContext, SwsFreer>;

// What ffprobe would print for the video stream and the container (raw values; the rules that
// turn them into VideoInfo live in src/video/probe.ts and are shared by both readers).
struct ProbeResult {
  std::string formatName;
  int64_t formatStart = AV_NOPTS_VALUE;
  int64_t formatDuration = AV_NOPTS_VALUE;
  int streamIndex = -1;
  std::string codec;
  int width = 0, height = 0;
  AVRational rFrameRate{0, 1}, avgFrameRate{0, 1}, timeBase{0, 1};
  int64_t start = AV_NOPTS_VALUE, duration = AV_NOPTS_VALUE, nbFrames = 0;
  bool hasDisplayMatrix = false;
  double displayRotation = 0;  // av_display_rotation_get: counter-clockwise degrees
  std::string rotateTag;
  int64_t packets = -1;  // packets of the stream (demuxed, not decoded), when asked
  int64_t frames = -1;   // frames the decoder outputs, when asked
};

struct ReadSpec {
  std::vector<int64_t> indices;  // distinct, increasing
  int width = 0, height = 0;
  bool countMode = true;
  int64_t seekUs = -1;  // timestamp mode: seek like `-ss`, microseconds after the container start; -1: none
  double startSec = 0;  // timestamp mode: the stream start time the index formula subtracts
  double rateNum = 0, rateDen = 1;
};

struct ReadResult {
  // `found` frames of width·height·3 bytes, in index order (`size` bytes). Not zero-filled, and
  // handed to JavaScript as the Buffer's own memory: a 16-frame 720p clip is 44 MB, and a
  // memset plus a copy of it cost ~8% of a read.
  std::unique_ptr<uint8_t[]> data;
  size_t size = 0;
  int64_t found = 0;
  int64_t totalFrames = -1;  // count mode ran to the end: frames the decoder output in all
};

// How ffmpeg's autorotate turns a frame for display: transpose direction (vf_transpose's `dir`,
// -1 for none) and flips.
struct Orientation {
  int transpose = -1;
  bool hflip = false, vflip = false;
  bool any() const { return transpose >= 0 || hflip || vflip; }
};

class Video {
 public:
  Video(std::string path, int threads) : path_(std::move(path)), threads_(threads) {}
  ~Video() { reset(); }

  void setDeadline(int64_t timeoutMs);

  // Frees the demuxer, decoder and scaler; the next request reopens the file.
  void reset();

  ProbeResult probe(bool countPackets, bool countFrames);
  ReadResult read(const ReadSpec& s);

 private:
  // Frames a timestamp-mode request may decode through to reach its first frame, instead of seeking.
  static constexpr int64_t kContinueFrames = 48;

  enum class Session {
    None,       // nothing open, or the position is unknown
    Start,      // just opened: the next frame is the first of the file
    Count,      // decoding from the start in count mode; counted_ frames so far
    Timestamp,  // timestamp mode; lastIndex_ is the index of the last frame output
  };

  static int interrupt(void* opaque);
  void checkDeadline() const;
  const int32_t* displayMatrix() const;

  // A fresh demuxer and decoder at the start of the file.
  void open();

  // Seeks like `ffmpeg -ss` (input option): to the container start + seekUs, 3/23 s earlier for
  // formats that seek by dts when a stream has B-frames. False when the container cannot seek.
  bool seek(int64_t seekUs);

  // The next frame the decoder outputs (into frame_), false at the end of the stream. Packets
  // that do not decode are skipped and read errors end the stream, as the ffmpeg program does.
  bool nextFrame();

  // Whether a packet may hold a wanted frame (timestamp mode): keyframes and packets without a
  // timestamp always count as wanted.
  bool wanted(const ReadSpec& s, const AVPacket* p) const;

  // ffmpeg 5.1's autorotate (ffmpeg_filter.c): transpose for ±90°, flips for 180°.
  static Orientation orientationOf(const int32_t* m);

  // Transposes/flips every plane of `in` into turned_ (same pixel format).
  const AVFrame* orient(const AVFrame* in);
  const AVFrame* toYuv444(const AVFrame* in);

  // Rotation (if any), then colour conversion + resize to RGB24 width×height in one swscale
  // pass, configured like ffmpeg's scale filter; rows are copied out of an aligned frame, as the
  // filter's output buffers are aligned.
  void convert(const AVFrame* f, int width, int height, uint8_t* dst);

  std::string path_;
  int threads_;
  std::atomic<int64_t> deadline_{0};
  FormatPtr fmt_;
  CodecPtr codec_;
  FramePtr frame_, turned_, scaled_, yuv444_;
  PacketPtr pkt_;
  SwsPtr sws_, pre_;
  int swsKey_[5] = {0, 0, -1, 0, 0};
  Orientation orientation_;
  int stream_ = -1;
  bool draining_ = false, ended_ = false;
  int errorsInARow_ = 0;
  Session session_ = Session::None;
  int64_t counted_ = 0;
  int64_t lastIndex_ = -1;
  const ReadSpec* skip_ = nullptr;  // timestamp-mode request being served: skip what it does not want
};

}  // namespace video
}  // namespace vm

#endif  // VM_HAVE_LIBAV
