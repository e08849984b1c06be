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
// The decoding itself (the Video class, libav only) is decoder.h / decoder.cc; this file is the
// N-API binding.
#include "video.h"

#ifdef VM_HAVE_LIBAV
#include "decoder.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace vm {
namespace video {
namespace {

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
    // The Buffer takes the decoded memory over (freed by its finalizer), no copy.
    const size_t size = r_.size;
    uint8_t* bytes = r_.data.release();
    if (bytes) o.Set("data", Napi::Buffer<uint8_t>::New(env, bytes, size, [](Napi::Env, uint8_t* p) { delete[] p; }));
    else o.Set("data", Napi::Buffer<uint8_t>::New(env, 0));
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
