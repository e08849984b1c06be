// In-process video decoding for src/video/libav-reader.ts, through FFmpeg's libraries.
//
// A Decoder is one video file kept open between requests: demuxer, decoder and scaler stay
// alive, so a request that starts after the frames the previous one stopped at continues
// decoding instead of starting over. Every request (probe, read) runs as an N-API AsyncWorker
// on the libuv thread pool; JavaScript serialises the requests of one Decoder (and the native
// side refuses overlapping ones). Each request has a deadline, enforced through libavformat's
// interrupt callback and between packets. Any failure frees the demuxer/decoder (the next
// request reopens the file); everything is owned by RAII holders, so every error path frees it.
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
#include "video.h"

#ifdef VM_HAVE_LIBAV
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace vm {
namespace video {
namespace {

using Clock = std::chrono::steady_clock;

// Corrupt, truncated, unsupported or non-video input; `timeout` when the request ran out of time.
struct DecodeError : std::runtime_error {
  bool timeout;
  explicit DecodeError(const std::string& m, bool t = false) : std::runtime_error(m), timeout(t) {}
};

std::string averr(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

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

FramePtr newFrame() {
  AVFrame* f = av_frame_alloc();
  if (!f) throw std::bad_alloc();
  return FramePtr(f);
}

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
  std::vector<uint8_t> data;  // `found` frames of width·height·3 bytes, in index order
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

  void setDeadline(int64_t timeoutMs) {
    deadline_.store(timeoutMs > 0 ? (Clock::now() + std::chrono::milliseconds(timeoutMs)).time_since_epoch().count() : 0);
  }

  // Frees the demuxer, decoder and scaler; the next request reopens the file.
  void reset() {
    sws_.reset();
    codec_.reset();
    fmt_.reset();
    frame_.reset();
    turned_.reset();
    scaled_.reset();
    pkt_.reset();
    session_ = Session::None;
    stream_ = -1;
  }

  ProbeResult probe(bool countPackets, bool countFrames) {
    if (!fmt_) open();
    ProbeResult p;
    AVFormatContext* ic = fmt_.get();
    AVStream* st = ic->streams[stream_];
    p.formatName = ic->iformat && ic->iformat->name ? ic->iformat->name : "";
    p.formatStart = ic->start_time;
    p.formatDuration = ic->duration;
    p.streamIndex = stream_;
    p.codec = avcodec_get_name(st->codecpar->codec_id);
    p.width = st->codecpar->width;
    p.height = st->codecpar->height;
    p.rFrameRate = st->r_frame_rate;
    p.avgFrameRate = st->avg_frame_rate;
    p.timeBase = st->time_base;
    p.start = st->start_time;
    p.duration = st->duration;
    p.nbFrames = st->nb_frames;
    if (const auto* m = displayMatrix()) {
      p.hasDisplayMatrix = true;
      p.displayRotation = av_display_rotation_get(m);
    }
    if (const AVDictionaryEntry* e = av_dict_get(st->metadata, "rotate", nullptr, 0)) p.rotateTag = e->value;
    if (countFrames) {
      // Every frame the decoder outputs, from the start (what count mode indexes).
      if (session_ != Session::Start) open();
      int64_t n = 0;
      while (nextFrame()) {
        av_frame_unref(frame_.get());
        n++;
      }
      p.frames = n;
      session_ = Session::None;
    }
    if (countPackets) {
      // Packets of the stream, demuxed without decoding (ffprobe -count_packets).
      open();
      int64_t n = 0;
      for (;;) {
        checkDeadline();
        int r = av_read_frame(fmt_.get(), pkt_.get());
        if (r < 0) {
          checkDeadline();
          break;
        }
        if (pkt_->stream_index == stream_) n++;
        av_packet_unref(pkt_.get());
      }
      p.packets = n;
      session_ = Session::None;
    }
    return p;
  }

  ReadResult read(const ReadSpec& s) {
    if (s.indices.empty()) return {};
    if (s.width <= 0 || s.height <= 0) throw std::invalid_argument("read: output size must be positive");
    const int64_t first = s.indices.front();
    const size_t frameBytes = static_cast<size_t>(s.width) * s.height * 3;
    ReadResult out;
    out.data.resize(frameBytes * s.indices.size());

    if (s.countMode) {
      const bool cont = fmt_ && (session_ == Session::Start || (session_ == Session::Count && counted_ <= first));
      if (!cont) open();
      if (session_ == Session::Start) counted_ = 0;
      session_ = Session::Count;
    } else {
      // Continue forward when the wanted frames are close ahead; otherwise seek (or start over).
      const bool cont = fmt_ && ((session_ == Session::Timestamp && lastIndex_ < first && first - lastIndex_ <= kContinueFrames) ||
                                 (session_ == Session::Start && s.seekUs < 0));
      if (!cont) {
        if (s.seekUs >= 0) {
          if (!fmt_) open();
          if (!seek(s.seekUs)) open();
        } else {
          open();
        }
        lastIndex_ = -1;
      } else if (session_ == Session::Start) {
        lastIndex_ = -1;
      }
      session_ = Session::Timestamp;
    }

    const AVRational tb = fmt_->streams[stream_]->time_base;
    // Timestamp mode knows a packet's frame index before decoding it: non-reference frames that
    // are not wanted need not be decoded at all (they cannot change any other frame).
    skip_ = s.countMode ? nullptr : &s;
    struct SkipOff {
      Video* v;
      ~SkipOff() {
        v->skip_ = nullptr;
        if (v->codec_) v->codec_->skip_frame = AVDISCARD_DEFAULT;
      }
    } skipOff{this};
    size_t k = 0;
    while (k < s.indices.size()) {
      if (!nextFrame()) break;
      int64_t idx;
      if (s.countMode) {
        idx = counted_++;
      } else {
        const int64_t ts = frame_->best_effort_timestamp;
        if (ts == AV_NOPTS_VALUE) {  // the select filter sees t = NAN and keeps nothing
          av_frame_unref(frame_.get());
          continue;
        }
        const double t = static_cast<double>(ts) * av_q2d(tb);
        idx = static_cast<int64_t>(std::round((t - s.startSec) * s.rateNum / s.rateDen));
        lastIndex_ = idx;
        if (idx > s.indices[k]) {  // a wanted frame never came (the seek landed after it): incomplete
          av_frame_unref(frame_.get());
          break;
        }
      }
      if (idx == s.indices[k]) {
        convert(frame_.get(), s.width, s.height, out.data.data() + k * frameBytes);
        k++;
      }
      av_frame_unref(frame_.get());
    }
    out.found = static_cast<int64_t>(k);
    out.data.resize(k * frameBytes);
    if (s.countMode && ended_) out.totalFrames = counted_;
    return out;
  }

 private:
  // Frames a timestamp-mode request may decode through to reach its first frame, instead of seeking.
  static constexpr int64_t kContinueFrames = 48;

  enum class Session {
    None,       // nothing open, or the position is unknown
    Start,      // just opened: the next frame is the first of the file
    Count,      // decoding from the start in count mode; counted_ frames so far
    Timestamp,  // timestamp mode; lastIndex_ is the index of the last frame output
  };

  static int interrupt(void* opaque) {
    const auto* v = static_cast<const Video*>(opaque);
    const int64_t d = v->deadline_.load();
    return d != 0 && Clock::now().time_since_epoch().count() > d;
  }

  void checkDeadline() const {
    if (interrupt(const_cast<Video*>(this))) throw DecodeError("decoding took longer than the time limit", true);
  }

  const int32_t* displayMatrix() const {
    size_t size = 0;
    const uint8_t* sd = av_stream_get_side_data(fmt_->streams[stream_], AV_PKT_DATA_DISPLAYMATRIX, &size);
    return sd && size >= 9 * sizeof(int32_t) ? reinterpret_cast<const int32_t*>(sd) : nullptr;
  }

  // A fresh demuxer and decoder at the start of the file.
  void open() {
    reset();
    frame_ = newFrame();
    pkt_.reset(av_packet_alloc());
    if (!pkt_) throw std::bad_alloc();
    AVFormatContext* ic = avformat_alloc_context();
    if (!ic) throw std::bad_alloc();
    ic->interrupt_callback.callback = &Video::interrupt;
    ic->interrupt_callback.opaque = this;
    int r = avformat_open_input(&ic, path_.c_str(), nullptr, nullptr);  // frees ic on failure
    if (r < 0) {
      checkDeadline();
      throw DecodeError("cannot open the file as a video (" + averr(r) + ")");
    }
    fmt_.reset(ic);
    r = avformat_find_stream_info(ic, nullptr);
    if (r < 0) {
      checkDeadline();
      throw DecodeError("cannot read the stream parameters (" + averr(r) + ")");
    }
    stream_ = -1;
    for (unsigned i = 0; i < ic->nb_streams; i++) {
      const AVStream* st = ic->streams[i];
      if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(st->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
        stream_ = static_cast<int>(i);
        break;
      }
    }
    if (stream_ < 0) throw DecodeError("no video stream found");
    for (unsigned i = 0; i < ic->nb_streams; i++) {
      if (static_cast<int>(i) != stream_) ic->streams[i]->discard = AVDISCARD_ALL;
    }
    AVStream* st = ic->streams[stream_];
    if (st->codecpar->width <= 0 || st->codecpar->height <= 0) {
      throw DecodeError("the video stream has no frame size (" + std::to_string(st->codecpar->width) + "x" +
                        std::to_string(st->codecpar->height) + ")");
    }
    const AVCodec* dec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!dec) throw DecodeError(std::string("no decoder for codec ") + avcodec_get_name(st->codecpar->codec_id));
    codec_.reset(avcodec_alloc_context3(dec));
    if (!codec_) throw std::bad_alloc();
    r = avcodec_parameters_to_context(codec_.get(), st->codecpar);
    if (r < 0) throw DecodeError("bad codec parameters (" + averr(r) + ")");
    codec_->pkt_timebase = st->time_base;
    codec_->thread_count = threads_;
    r = avcodec_open2(codec_.get(), dec, nullptr);
    if (r < 0) throw DecodeError(std::string("cannot open the ") + dec->name + " decoder (" + averr(r) + ")");
    orientation_ = orientationOf(displayMatrix());
    draining_ = ended_ = false;
    errorsInARow_ = 0;
    session_ = Session::Start;
  }

  // Seeks like `ffmpeg -ss` (input option): to the container start + seekUs, 3/23 s earlier for
  // formats that seek by dts when a stream has B-frames. False when the container cannot seek.
  bool seek(int64_t seekUs) {
    AVFormatContext* ic = fmt_.get();
    int64_t ts = seekUs;
    if (ic->start_time != AV_NOPTS_VALUE) ts += ic->start_time;
    if (!(ic->iformat->flags & AVFMT_SEEK_TO_PTS)) {
      for (unsigned i = 0; i < ic->nb_streams; i++) {
        if (ic->streams[i]->codecpar->video_delay) {
          ts -= 3 * AV_TIME_BASE / 23;
          break;
        }
      }
    }
    const int r = avformat_seek_file(ic, -1, INT64_MIN, ts, ts, 0);
    checkDeadline();
    if (r < 0) return false;
    avcodec_flush_buffers(codec_.get());
    draining_ = ended_ = false;
    errorsInARow_ = 0;
    return true;
  }

  // The next frame the decoder outputs (into frame_), false at the end of the stream. Packets
  // that do not decode are skipped and read errors end the stream, as the ffmpeg program does.
  bool nextFrame() {
    if (ended_) return false;
    for (;;) {
      int r = avcodec_receive_frame(codec_.get(), frame_.get());
      if (r >= 0) {
        errorsInARow_ = 0;
        return true;
      }
      if (r == AVERROR_EOF) {
        ended_ = true;
        return false;
      }
      if (r != AVERROR(EAGAIN)) {
        if (++errorsInARow_ > 10000) throw DecodeError("the decoder keeps failing (" + averr(r) + ")");
        continue;
      }
      if (draining_) {  // EAGAIN while draining: nothing more will come
        ended_ = true;
        return false;
      }
      checkDeadline();
      r = av_read_frame(fmt_.get(), pkt_.get());
      if (r < 0) {
        checkDeadline();
        draining_ = true;
        avcodec_send_packet(codec_.get(), nullptr);
        continue;
      }
      // Zero-size packets (e.g. AVI's empty chunks) would mean "drain"; ffmpeg skips them.
      if (pkt_->stream_index != stream_ || pkt_->size == 0) {
        av_packet_unref(pkt_.get());
        continue;
      }
      if (skip_) codec_->skip_frame = wanted(*skip_, pkt_.get()) ? AVDISCARD_DEFAULT : AVDISCARD_NONREF;
      r = avcodec_send_packet(codec_.get(), pkt_.get());
      av_packet_unref(pkt_.get());
      if (r < 0 && r != AVERROR(EAGAIN)) {
        if (++errorsInARow_ > 10000) throw DecodeError("the decoder keeps failing (" + averr(r) + ")");
      }
    }
  }

  // Whether a packet may hold a wanted frame (timestamp mode): keyframes and packets without a
  // timestamp always count as wanted.
  bool wanted(const ReadSpec& s, const AVPacket* p) const {
    if (p->pts == AV_NOPTS_VALUE || (p->flags & AV_PKT_FLAG_KEY)) return true;
    const double t = static_cast<double>(p->pts) * av_q2d(fmt_->streams[stream_]->time_base);
    const int64_t idx = static_cast<int64_t>(std::round((t - s.startSec) * s.rateNum / s.rateDen));
    return std::binary_search(s.indices.begin(), s.indices.end(), idx);
  }

  // ffmpeg 5.1's autorotate (ffmpeg_filter.c): transpose for ±90°, flips for 180°.
  static Orientation orientationOf(const int32_t* m) {
    Orientation o;
    if (!m) return o;
    double theta = -std::round(av_display_rotation_get(m));
    if (std::isnan(theta)) return o;
    theta -= 360 * std::floor(theta / 360 + 0.9 / 360);
    if (std::fabs(theta - 90) < 1.0) {
      o.transpose = m[3] > 0 ? 0 /* cclock_flip */ : 1 /* clock */;
    } else if (std::fabs(theta - 180) < 1.0) {
      o.hflip = m[0] < 0;
      o.vflip = m[4] < 0;
    } else if (std::fabs(theta - 270) < 1.0) {
      o.transpose = m[3] < 0 ? 3 /* clock_flip */ : 2 /* cclock */;
    } else if (std::fabs(theta) < 1.0) {
      o.vflip = m[4] < 0;
    }
    return o;
  }

  // Transposes/flips every plane of `in` into turned_ (same pixel format).
  const AVFrame* orient(const AVFrame* in) {
    const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(in->format));
    if (!d || (d->flags & (AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_PAL))) {
      throw DecodeError(std::string("cannot rotate frames of pixel format ") + (d ? d->name : "?"));
    }
    if (orientation_.transpose >= 0 && d->log2_chroma_w != d->log2_chroma_h) {
      // ffmpeg converts such frames before transposing; bring them to 4:4:4 the same way.
      in = toYuv444(in);
      d = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(in->format));
    }
    const bool swap = orientation_.transpose >= 0;
    const int ow = swap ? in->height : in->width, oh = swap ? in->width : in->height;
    if (!turned_ || turned_->width != ow || turned_->height != oh || turned_->format != in->format) {
      turned_ = newFrame();
      turned_->width = ow;
      turned_->height = oh;
      turned_->format = in->format;
      if (av_frame_get_buffer(turned_.get(), 0) < 0) throw std::bad_alloc();
    }
    int steps[4] = {0, 0, 0, 0};
    for (int c = 0; c < d->nb_components; c++) steps[d->comp[c].plane] = std::max(steps[d->comp[c].plane], d->comp[c].step);
    const int planes = av_pix_fmt_count_planes(static_cast<AVPixelFormat>(in->format));
    for (int p = 0; p < planes; p++) {
      const bool chroma = (p == 1 || p == 2) && !(d->flags & AV_PIX_FMT_FLAG_RGB);
      const int iw = chroma ? AV_CEIL_RSHIFT(in->width, d->log2_chroma_w) : in->width;
      const int ih = chroma ? AV_CEIL_RSHIFT(in->height, d->log2_chroma_h) : in->height;
      const int pw = swap ? ih : iw, ph = swap ? iw : ih;
      const int step = steps[p];
      const uint8_t* src = in->data[p];
      uint8_t* dst = turned_->data[p];
      const int sl = in->linesize[p], dl = turned_->linesize[p];
      const int dir = orientation_.transpose;
      for (int y = 0; y < ph; y++) {
        uint8_t* row = dst + static_cast<ptrdiff_t>(y) * dl;
        for (int x = 0; x < pw; x++) {
          int sy, sx;
          if (swap) {
            sy = (dir & 1) ? ih - 1 - x : x;
            sx = (dir & 2) ? ph - 1 - y : y;
          } else {
            sy = orientation_.vflip ? ih - 1 - y : y;
            sx = orientation_.hflip ? iw - 1 - x : x;
          }
          const uint8_t* px = src + static_cast<ptrdiff_t>(sy) * sl + static_cast<ptrdiff_t>(sx) * step;
          if (step == 1) row[x] = *px;
          else std::memcpy(row + static_cast<ptrdiff_t>(x) * step, px, step);
        }
      }
    }
    av_frame_copy_props(turned_.get(), in);
    return turned_.get();
  }

  const AVFrame* toYuv444(const AVFrame* in) {
    if (!yuv444_ || yuv444_->width != in->width || yuv444_->height != in->height) {
      yuv444_ = newFrame();
      yuv444_->width = in->width;
      yuv444_->height = in->height;
      yuv444_->format = AV_PIX_FMT_YUV444P;
      if (av_frame_get_buffer(yuv444_.get(), 0) < 0) throw std::bad_alloc();
      pre_.reset(sws_getContext(in->width, in->height, static_cast<AVPixelFormat>(in->format), in->width, in->height,
                                AV_PIX_FMT_YUV444P, SWS_BICUBIC, nullptr, nullptr, nullptr));
      if (!pre_) throw DecodeError("cannot convert the decoded pixel format");
    }
    sws_scale(pre_.get(), in->data, in->linesize, 0, in->height, yuv444_->data, yuv444_->linesize);
    av_frame_copy_props(yuv444_.get(), in);
    return yuv444_.get();
  }

  // Rotation (if any), then colour conversion + resize to RGB24 width×height in one swscale
  // pass, configured like ffmpeg's scale filter; rows are copied out of an aligned frame, as the
  // filter's output buffers are aligned.
  void convert(const AVFrame* f, int width, int height, uint8_t* dst) {
    const AVFrame* src = orientation_.any() ? orient(f) : f;
    if (!sws_ || swsKey_[0] != src->width || swsKey_[1] != src->height || swsKey_[2] != src->format || swsKey_[3] != width ||
        swsKey_[4] != height) {
      sws_.reset(sws_alloc_context());
      if (!sws_) throw std::bad_alloc();
      SwsContext* c = sws_.get();
      av_opt_set_int(c, "sws_flags", SWS_BILINEAR, 0);
      av_opt_set_int(c, "srcw", src->width, 0);
      av_opt_set_int(c, "srch", src->height, 0);
      av_opt_set_int(c, "src_format", src->format, 0);
      av_opt_set_int(c, "dstw", width, 0);
      av_opt_set_int(c, "dsth", height, 0);
      av_opt_set_int(c, "dst_format", AV_PIX_FMT_RGB24, 0);
      // MPEG-2 chroma siting for yuv420p, as the scale filter sets it.
      av_opt_set_int(c, "src_h_chr_pos", -513, 0);
      av_opt_set_int(c, "src_v_chr_pos", src->format == AV_PIX_FMT_YUV420P ? 128 : -513, 0);
      av_opt_set_int(c, "dst_h_chr_pos", -513, 0);
      av_opt_set_int(c, "dst_v_chr_pos", -513, 0);
      if (sws_init_context(c, nullptr, nullptr) < 0) {
        sws_.reset();
        const char* name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(src->format));
        throw DecodeError(std::string("cannot convert pixel format ") + (name ? name : "?") + " to RGB");
      }
      swsKey_[0] = src->width;
      swsKey_[1] = src->height;
      swsKey_[2] = src->format;
      swsKey_[3] = width;
      swsKey_[4] = height;
    }
    // The scale filter's colourspace details: matrix from the frame ("auto"), range from the frame.
    int *invTable = nullptr, *table = nullptr;
    int inFull = 0, outFull = 0, brightness = 0, contrast = 0, saturation = 0;
    if (sws_getColorspaceDetails(sws_.get(), &invTable, &inFull, &table, &outFull, &brightness, &contrast, &saturation) >= 0) {
      int cs = f->colorspace;
      if (cs < 1 || cs > 10 || cs == 8) cs = AVCOL_SPC_BT470BG;
      const int* coeffs = sws_getCoefficients(cs);
      if (f->color_range != AVCOL_RANGE_UNSPECIFIED) inFull = f->color_range == AVCOL_RANGE_JPEG;
      sws_setColorspaceDetails(sws_.get(), coeffs, inFull, coeffs, outFull, brightness, contrast, saturation);
    }
    if (!scaled_ || scaled_->width != width || scaled_->height != height) {
      scaled_ = newFrame();
      scaled_->width = width;
      scaled_->height = height;
      scaled_->format = AV_PIX_FMT_RGB24;
      if (av_frame_get_buffer(scaled_.get(), 0) < 0) throw std::bad_alloc();
    }
    const int r = sws_scale(sws_.get(), src->data, src->linesize, 0, src->height, scaled_->data, scaled_->linesize);
    if (r <= 0) throw DecodeError("colour conversion failed");
    const size_t row = static_cast<size_t>(width) * 3;
    for (int y = 0; y < height; y++) std::memcpy(dst + y * row, scaled_->data[0] + static_cast<ptrdiff_t>(y) * scaled_->linesize[0], row);
  }

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

// ---------------------------------------------------------------------------------------- N-API

// What a Decoder and its running request share. Owned jointly, so the native state outlives a
// Decoder finalised while a request still runs on the pool (e.g. a worker thread torn down).
struct Shared {
  std::unique_ptr<Video> video;
  bool busy = false;
  bool closeRequested = false;
};

// One request of a Decoder on the libuv pool; resolves/rejects a promise.
class Job : public Napi::AsyncWorker {
 public:
  Job(Napi::Env env, std::shared_ptr<Shared> shared, Napi::Object self, int64_t timeoutMs)
      : Napi::AsyncWorker(env, "videomae.video"), deferred_(Napi::Promise::Deferred::New(env)), shared_(std::move(shared)), timeoutMs_(timeoutMs) {
    self_ = Napi::Persistent(self);  // keeps the Decoder alive (no finaliser) while the job runs
  }
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  virtual void run(Video& v) = 0;
  virtual Napi::Value result(Napi::Env env) = 0;
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  void finish();
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Shared> shared_;
  Napi::ObjectReference self_;
  int64_t timeoutMs_;
  bool timeout_ = false;
};

class Decoder : public Napi::ObjectWrap<Decoder> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Decoder",
                       {InstanceMethod<&Decoder::probe>("probe"), InstanceMethod<&Decoder::read>("read"),
                        InstanceMethod<&Decoder::close>("close")});
  }

  // new Decoder(path, threads)
  Decoder(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Decoder>(info) {
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "Decoder(path, threads): path must be a string");
    int threads = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 1;
    shared_ = std::make_shared<Shared>();
    shared_->video = std::make_unique<Video>(info[0].As<Napi::String>().Utf8Value(), std::max(0, threads));
  }

 private:
  void ready(Napi::Env env) {
    if (closed_) throw Napi::Error::New(env, "this video decoder is closed");
    if (shared_->busy) throw Napi::Error::New(env, "this video decoder is busy with another request");
  }

  // probe(countPackets, countFrames, timeoutMs) -> Promise<object>
  Napi::Value probe(const Napi::CallbackInfo& info);
  // read({indices: Float64Array, width, height, countMode, seekUs, startSec, rateNum, rateDen}, timeoutMs)
  //   -> Promise<{data: Buffer, found, totalFrames}>
  Napi::Value read(const Napi::CallbackInfo& info);

  // close(): frees the native state now (or when the running request ends).
  Napi::Value close(const Napi::CallbackInfo& info) {
    closed_ = true;
    if (shared_->busy) shared_->closeRequested = true;
    else shared_->video->reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<Shared> shared_;
  bool closed_ = false;
};

void Job::Execute() {
  Video& v = *shared_->video;
  v.setDeadline(timeoutMs_);
  try {
    run(v);
  } catch (const DecodeError& e) {
    v.reset();
    timeout_ = e.timeout;
    SetError(e.what());
  } catch (const std::bad_alloc&) {
    v.reset();
    SetError("out of memory while decoding");
  } catch (const std::exception& e) {
    v.reset();
    SetError(e.what());
  }
  v.setDeadline(0);
}

void Job::finish() {
  shared_->busy = false;
  if (shared_->closeRequested) shared_->video->reset();
}

void Job::OnOK() {
  Napi::HandleScope scope(Env());
  finish();
  deferred_.Resolve(result(Env()));
  self_.Reset();
}

void Job::OnError(const Napi::Error& e) {
  Napi::HandleScope scope(Env());
  finish();
  Napi::Error err = Napi::Error::New(Env(), e.Message());
  err.Set("code", Napi::String::New(Env(), timeout_ ? "ETIMEDOUT" : "EDECODE"));
  deferred_.Reject(err.Value());
  self_.Reset();
}

Napi::Value rational(Napi::Env env, AVRational q) {
  auto a = Napi::Array::New(env, 2);
  a.Set(uint32_t(0), Napi::Number::New(env, q.num));
  a.Set(uint32_t(1), Napi::Number::New(env, q.den));
  return a;
}

Napi::Value ts(Napi::Env env, int64_t v) {
  return v == AV_NOPTS_VALUE ? env.Null() : Napi::Number::New(env, static_cast<double>(v));
}

class ProbeJob : public Job {
 public:
  ProbeJob(Napi::Env env, std::shared_ptr<Shared> shared, Napi::Object self, int64_t timeoutMs, bool packets, bool frames)
      : Job(env, std::move(shared), self, timeoutMs), packets_(packets), frames_(frames) {}

 protected:
  void run(Video& v) override { r_ = v.probe(packets_, frames_); }
  Napi::Value result(Napi::Env env) override {
    auto o = Napi::Object::New(env);
    o.Set("formatName", r_.formatName);
    o.Set("formatStart", ts(env, r_.formatStart));
    o.Set("formatDuration", ts(env, r_.formatDuration));
    o.Set("streamIndex", r_.streamIndex);
    o.Set("codec", r_.codec);
    o.Set("width", r_.width);
    o.Set("height", r_.height);
    o.Set("rFrameRate", rational(env, r_.rFrameRate));
    o.Set("avgFrameRate", rational(env, r_.avgFrameRate));
    o.Set("timeBase", rational(env, r_.timeBase));
    o.Set("start", ts(env, r_.start));
    o.Set("duration", ts(env, r_.duration));
    o.Set("nbFrames", Napi::Number::New(env, static_cast<double>(r_.nbFrames)));
    o.Set("displayRotation", r_.hasDisplayMatrix ? Napi::Number::New(env, r_.displayRotation) : env.Null());
    o.Set("rotateTag", r_.rotateTag.empty() ? env.Null() : Napi::String::New(env, r_.rotateTag));
    o.Set("packets", r_.packets < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(r_.packets)));
    o.Set("frames", r_.frames < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(r_.frames)));
    return o;
  }

 private:
  bool packets_, frames_;
  ProbeResult r_;
};

class ReadJob : public Job {
 public:
  ReadJob(Napi::Env env, std::shared_ptr<Shared> shared, Napi::Object self, int64_t timeoutMs, ReadSpec spec)
      : Job(env, std::move(shared), self, timeoutMs), spec_(std::move(spec)) {}

 protected:
  void run(Video& v) override { r_ = v.read(spec_); }
  Napi::Value result(Napi::Env env) override {
    auto o = Napi::Object::New(env);
    o.Set("data", Napi::Buffer<uint8_t>::Copy(env, r_.data.data(), r_.data.size()));
    r_.data = std::vector<uint8_t>();
    o.Set("found", Napi::Number::New(env, static_cast<double>(r_.found)));
    o.Set("totalFrames", r_.totalFrames < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(r_.totalFrames)));
    return o;
  }

 private:
  ReadSpec spec_;
  ReadResult r_;
};

Napi::Value Decoder::probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ready(env);
  const bool packets = info.Length() > 0 && info[0].ToBoolean().Value();
  const bool frames = info.Length() > 1 && info[1].ToBoolean().Value();
  const int64_t timeoutMs = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int64Value() : 0;
  auto* job = new ProbeJob(env, shared_, Value(), timeoutMs, packets, frames);
  shared_->busy = true;
  job->Queue();
  return job->promise();
}

Napi::Value Decoder::read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ready(env);
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "read(spec, timeoutMs): spec must be an object");
  auto o = info[0].As<Napi::Object>();
  ReadSpec s;
  auto list = o.Get("indices");
  if (!list.IsTypedArray() || list.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw Napi::TypeError::New(env, "read: indices must be a Float64Array");
  }
  auto arr = list.As<Napi::Float64Array>();
  s.indices.reserve(arr.ElementLength());
  for (size_t i = 0; i < arr.ElementLength(); i++) {
    const double v = arr[i];
    if (!(v >= 0) || v != std::floor(v) || (!s.indices.empty() && v <= static_cast<double>(s.indices.back()))) {
      throw Napi::RangeError::New(env, "read: indices must be distinct, increasing, non-negative integers");
    }
    s.indices.push_back(static_cast<int64_t>(v));
  }
  s.width = o.Get("width").ToNumber().Int32Value();
  s.height = o.Get("height").ToNumber().Int32Value();
  if (s.width <= 0 || s.height <= 0 || s.width > 16384 || s.height > 16384) throw Napi::RangeError::New(env, "read: bad output size");
  s.countMode = o.Get("countMode").ToBoolean().Value();
  if (!s.countMode) {
    s.seekUs = o.Has("seekUs") && o.Get("seekUs").IsNumber() ? o.Get("seekUs").As<Napi::Number>().Int64Value() : -1;
    s.startSec = o.Get("startSec").ToNumber().DoubleValue();
    s.rateNum = o.Get("rateNum").ToNumber().DoubleValue();
    s.rateDen = o.Get("rateDen").ToNumber().DoubleValue();
    if (!(s.rateNum > 0) || !(s.rateDen > 0)) throw Napi::RangeError::New(env, "read: timestamp mode needs a positive rate");
  }
  const int64_t timeoutMs = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int64Value() : 0;
  auto* job = new ReadJob(env, shared_, Value(), timeoutMs, std::move(s));
  shared_->busy = true;
  job->Queue();
  return job->promise();
}

}  // namespace

Napi::Object bindings(Napi::Env env) {
  av_log_set_level(AV_LOG_QUIET);
  auto o = Napi::Object::New(env);
  o.Set("available", true);
  auto versions = Napi::Object::New(env);
  auto ver = [](unsigned v) { return std::to_string(v >> 16) + "." + std::to_string((v >> 8) & 0xff) + "." + std::to_string(v & 0xff); };
  versions.Set("avformat", ver(avformat_version()));
  versions.Set("avcodec", ver(avcodec_version()));
  versions.Set("swscale", ver(swscale_version()));
  versions.Set("avutil", ver(avutil_version()));
  o.Set("versions", versions);
  o.Set("Decoder", Decoder::define(env));
  return o;
}

}  // namespace video
}  // namespace vm

#else  // !VM_HAVE_LIBAV

namespace vm {
namespace video {
Napi::Object bindings(Napi::Env env) {
  auto o = Napi::Object::New(env);
  o.Set("available", false);
  o.Set("reason",
        "this build of the addon has no in-process video decoder: FFmpeg's development libraries were not found "
        "(install libavformat-dev libavcodec-dev libswscale-dev libavutil-dev, e.g. with `npm run setup`, then rebuild "
        "with `node scripts/build-native.mjs --force`)");
  return o;
}
}  // namespace video
}  // namespace vm

#endif
