// The libav decoder of decoder.h: opening, seeking, decoding, frame selection, rotation and colour
// conversion of one video file.
#include "decoder.h"

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
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

namespace vm {
namespace video {
namespace {

using Clock = std::chrono::steady_clock;

std::string averr(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

FramePtr newFrame() {
  AVFrame* f = av_frame_alloc();
  if (!f) throw std::bad_alloc();
  return FramePtr(f);
}

}  // namespace

void Video::setDeadline(int64_t timeoutMs) {
  deadline_.store(timeoutMs > 0 ? (Clock::now() + std::chrono::milliseconds(timeoutMs)).time_since_epoch().count() : 0);
}

void Video::reset() {
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

ProbeResult Video::probe(bool countPackets, bool countFrames) {
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

ReadResult Video::read(const ReadSpec& s) {
  if (s.indices.empty()) return {};
  if (s.width <= 0 || s.height <= 0) throw std::invalid_argument("read: output size must be positive");
  const int64_t first = s.indices.front();
  const size_t frameBytes = static_cast<size_t>(s.width) * s.height * 3;
  ReadResult out;
  out.data.reset(new uint8_t[frameBytes * s.indices.size()]);

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
      convert(frame_.get(), s.width, s.height, out.data.get() + k * frameBytes);
      k++;
    }
    av_frame_unref(frame_.get());
  }
  out.found = static_cast<int64_t>(k);
  out.size = k * frameBytes;
  if (s.countMode && ended_) out.totalFrames = counted_;
  return out;
}

int Video::interrupt(void* opaque) {
  const auto* v = static_cast<const Video*>(opaque);
  const int64_t d = v->deadline_.load();
  return d != 0 && Clock::now().time_since_epoch().count() > d;
}

void Video::checkDeadline() const {
  if (interrupt(const_cast<Video*>(this))) throw DecodeError("decoding took longer than the time limit", true);
}

const int32_t* Video::displayMatrix() const {
  size_t size = 0;
  const uint8_t* sd = av_stream_get_side_data(fmt_->streams[stream_], AV_PKT_DATA_DISPLAYMATRIX, &size);
  return sd && size >= 9 * sizeof(int32_t) ? reinterpret_cast<const int32_t*>(sd) : nullptr;
}

void Video::open() {
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

bool Video::seek(int64_t seekUs) {
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

bool Video::nextFrame() {
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

bool Video::wanted(const ReadSpec& s, const AVPacket* p) const {
  if (p->pts == AV_NOPTS_VALUE || (p->flags & AV_PKT_FLAG_KEY)) return true;
  const double t = static_cast<double>(p->pts) * av_q2d(fmt_->streams[stream_]->time_base);
  const int64_t idx = static_cast<int64_t>(std::round((t - s.startSec) * s.rateNum / s.rateDen));
  return std::binary_search(s.indices.begin(), s.indices.end(), idx);
}

Orientation Video::orientationOf(const int32_t* m) {
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

const AVFrame* Video::orient(const AVFrame* in) {
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

const AVFrame* Video::toYuv444(const AVFrame* in) {
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

void Video::convert(const AVFrame* f, int width, int height, uint8_t* dst) {
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

}  // namespace video
}  // namespace vm

#endif  // VM_HAVE_LIBAV
