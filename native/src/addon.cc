// Entry point of the videomae native addon: exports every registered op as `ops.<name>`, plus
// the functions that are not tensor ops (threads, seeds, grad mode, buffers, disposal).
#include <ATen/Parallel.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>
#include <torch/version.h>

#include <cstring>
#include <mutex>

#include "args.h"
#include "compat.h"
#include "video/video.h"

namespace vm {
bool configureHeap();   // core/heap.cc
bool heapConfigured();

namespace {

// Every op goes through here: run it, and turn any C++ exception into a JS Error that names the
// op and its argument shapes ("matmul([2,3]:Float, [4,5]:Float): ... cannot be multiplied").
Napi::Value dispatch(const Napi::CallbackInfo& info) {
  const auto* def = static_cast<const OpDef*>(info.Data());
  Args args(info);
  try {
    return def->fn(args);
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), def->name + "(" + args.describe() + "): " + e.what_without_backtrace());
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), def->name + "(" + args.describe() + "): " + e.what());
  }
}

template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* name, F&& f) {
  try {
    return f();
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), std::string(name) + ": " + e.what_without_backtrace());
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string(name) + ": " + e.what());
  }
}

// fromBuffer(typedArray, shape, dtypeCode): one copy into a fresh libtorch-owned tensor.
// (Zero-copy would need the ArrayBuffer kept alive from libtorch's deleter, which may run on
// an autograd or OpenMP thread where N-API calls are not allowed.)
Napi::Value fromBuffer(const Napi::CallbackInfo& info) {
  Args a(info);
  return guarded(info, "fromBuffer", [&]() {
    if (!info[0].IsTypedArray()) throw std::invalid_argument("fromBuffer: first argument must be a TypedArray");
    auto ta = info[0].As<Napi::TypedArray>();
    auto shape = a.ints(1);
    auto dtype = a.dtype(2);
    int64_t numel = 1;
    for (auto d : shape) {
      if (d < 0) throw std::invalid_argument("fromBuffer: negative dimension in shape");
      numel *= d;
    }
    const size_t bytes = static_cast<size_t>(numel) * c10::elementSize(dtype);
    if (ta.ByteLength() != bytes) {
      throw std::invalid_argument("fromBuffer: data has " + std::to_string(ta.ByteLength()) + " bytes but shape and dtype need " +
                                  std::to_string(bytes));
    }
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (bytes) {
      auto* base = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      std::memcpy(t.data_ptr(), base, bytes);
    }
    return wrapTensor(info.Env(), t);
  });
}

// toBuffer(t): a fresh ArrayBuffer with the tensor's elements in row-major order (one copy).
Napi::Value toBuffer(const Napi::CallbackInfo& info) {
  Args a(info);
  return guarded(info, "toBuffer", [&]() {
    // From a GPU: one copy to the host first (so checkpoints are written device-independent).
    at::Tensor t = a.t(0).detach().to(at::kCPU).contiguous();
    const size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
    auto buf = Napi::ArrayBuffer::New(info.Env(), bytes);
    if (bytes) std::memcpy(buf.Data(), t.data_ptr(), bytes);
    return buf;
  });
}

// dataView(t): zero-copy ArrayBuffer over a contiguous tensor's memory. The buffer holds its
// own reference to the tensor, released by V8's finalizer on the main thread, so the memory
// stays valid for as long as the buffer is reachable even if the tensor is disposed.
Napi::Value dataView(const Napi::CallbackInfo& info) {
  Args a(info);
  return guarded(info, "dataView", [&]() {
    const at::Tensor& src = a.t(0);
    if (!src.is_contiguous()) throw std::invalid_argument("dataView needs a contiguous tensor (call contiguous() first)");
    if (!src.is_cpu()) throw std::invalid_argument("dataView needs a CPU tensor, got one on " + src.device().str() + " (use toBuffer, which copies)");
    auto* keep = new at::Tensor(src);
    const size_t bytes = static_cast<size_t>(src.numel()) * src.element_size();
    return Napi::ArrayBuffer::New(info.Env(), keep->data_ptr(), bytes, [](Napi::BasicEnv, void*, at::Tensor* t) { delete t; }, keep);
  });
}

Napi::Value dispose(const Napi::CallbackInfo& info) {
  return guarded(info, "dispose", [&]() {
    auto* box = unwrapBox(info.Env(), info[0], "dispose argument");
    disposeBox(info.Env(), box);
    return info.Env().Undefined();
  });
}

Napi::Value isDisposed(const Napi::CallbackInfo& info) {
  return guarded(info, "isDisposed", [&]() {
    return Napi::Boolean::New(info.Env(), !unwrapBox(info.Env(), info[0], "argument")->t.defined());
  });
}

// accountedBytes(t): bytes this handle reported to V8 (0 for views); for tests and diagnostics.
Napi::Value accountedBytes(const Napi::CallbackInfo& info) {
  return guarded(info, "accountedBytes", [&]() {
    return Napi::Number::New(info.Env(), static_cast<double>(unwrapBox(info.Env(), info[0], "argument")->accounted));
  });
}

Napi::Value setNumThreads(const Napi::CallbackInfo& info) {
  Args a(info);
  return guarded(info, "setNumThreads", [&]() {
    const int64_t n = a.i(0);
    if (n < 1) throw std::invalid_argument("setNumThreads: need at least 1 thread");
    at::set_num_threads(static_cast<int>(n));
    return info.Env().Undefined();
  });
}

Napi::Value getNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value setNumInteropThreads(const Napi::CallbackInfo& info) {
  Args a(info);
  return guarded(info, "setNumInteropThreads", [&]() {
    at::set_num_interop_threads(static_cast<int>(a.i(0)));
    return info.Env().Undefined();
  });
}

// manualSeed(seed): seeds libtorch's default CPU generator (what ops use without a generator).
Napi::Value manualSeed(const Napi::CallbackInfo& info) {
  Args a(info);
  return guarded(info, "manualSeed", [&]() {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(static_cast<uint64_t>(a.i(0)));
    return info.Env().Undefined();
  });
}

// newGenerator(seed): an independent CPU generator for reproducible streams.
Napi::Value newGenerator(const Napi::CallbackInfo& info) {
  Args a(info);
  return guarded(info, "newGenerator", [&]() {
    return wrapGenerator(info.Env(), at::detail::createCPUGenerator(static_cast<uint64_t>(a.i(0))));
  });
}

// defaultGenerator(): libtorch's default CPU generator (what ops use without one), as a handle, so
// that its state can be saved and restored like any generator's (activation checkpointing
// replays dropout draws).
Napi::Value defaultGenerator(const Napi::CallbackInfo& info) {
  return guarded(info, "defaultGenerator", [&]() { return wrapGenerator(info.Env(), at::detail::getDefaultCPUGenerator()); });
}

// generatorState(gen) / setGeneratorState(gen, state): save and restore a stream exactly (for
// bit-for-bit resume of training).
Napi::Value generatorState(const Napi::CallbackInfo& info) {
  return guarded(info, "generatorState", [&]() {
    auto& g = unwrapGenerator(info.Env(), info[0]);
    std::lock_guard<std::mutex> lock(g.mutex());
    return wrapTensor(info.Env(), g.get_state());
  });
}

Napi::Value setGeneratorState(const Napi::CallbackInfo& info) {
  Args a(info);
  return guarded(info, "setGeneratorState", [&]() {
    auto& g = unwrapGenerator(info.Env(), info[0]);
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_state(a.t(1));
    return info.Env().Undefined();
  });
}

// setGradEnabled(bool) -> previous value. Grad mode is thread-local in libtorch; every JS
// call runs on the main thread, so this matches PyTorch's torch.no_grad() semantics.
Napi::Value setGradEnabled(const Napi::CallbackInfo& info) {
  const bool prev = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(info[0].ToBoolean().Value());
  return Napi::Boolean::New(info.Env(), prev);
}

// autocastEnter(dtypeCode, device = "cpu") / autocastExit(prevEnabled, prevDtypeCode, device):
// autocast as torch.autocast(device, dtype) does it — matmul/linear/conv run in the low-precision
// dtype, reductions/norms/softmax stay float32, casts of the same weight are cached within the
// region. `device` is the device type ("cpu" or "cuda").
at::DeviceType autocastDevice(const Args& a, size_t i) {
  if (!a.has(i)) return at::kCPU;
  const std::string d = a.s(i);
  if (d == "cpu") return at::kCPU;
  if (d == "cuda") return at::kCUDA;
  throw std::invalid_argument("autocast device must be cpu or cuda, got '" + d + "'");
}

Napi::Value autocastEnter(const Napi::CallbackInfo& info) {
  Args a(info);
  return guarded(info, "autocastEnter", [&]() {
    const at::DeviceType dev = autocastDevice(a, 1);
    auto prev = Napi::Object::New(info.Env());
    prev.Set("enabled", compat::autocastEnabled(dev));
    prev.Set("dtype", codeFromDtype(compat::autocastDtype(dev)));
    // Dtype first: 1.13 rejects anything but bf16 on the CPU, and must not leave autocast on.
    compat::setAutocastDtype(dev, a.dtype(0));
    compat::setAutocastEnabled(dev, true);
    at::autocast::increment_nesting();
    return prev;
  });
}

Napi::Value autocastExit(const Napi::CallbackInfo& info) {
  Args a(info);
  return guarded(info, "autocastExit", [&]() {
    const at::DeviceType dev = autocastDevice(a, 2);
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    compat::setAutocastEnabled(dev, a.b(0));
    compat::setAutocastDtype(dev, a.dtype(1));
    return info.Env().Undefined();
  });
}

// autocastState(device = "cpu") -> {enabled, dtype}: a device type's autocast state, to re-enter it
// later (activation checkpointing recomputes a block in the autocast state of its forward).
Napi::Value autocastState(const Napi::CallbackInfo& info) {
  Args a(info);
  return guarded(info, "autocastState", [&]() {
    const at::DeviceType dev = autocastDevice(a, 0);
    auto o = Napi::Object::New(info.Env());
    o.Set("enabled", compat::autocastEnabled(dev));
    o.Set("dtype", codeFromDtype(compat::autocastDtype(dev)));
    return o;
  });
}

// setAutocastEnabled(on, device = "cpu") -> previous: switches a device type's autocast off (or
// back on) without entering a region; for running a region recorded outside autocast inside one.
Napi::Value setAutocastEnabled(const Napi::CallbackInfo& info) {
  Args a(info);
  return guarded(info, "setAutocastEnabled", [&]() {
    const at::DeviceType dev = autocastDevice(a, 1);
    const bool prev = compat::autocastEnabled(dev);
    compat::setAutocastEnabled(dev, a.b(0));
    return Napi::Boolean::New(info.Env(), prev);
  });
}

Napi::Value isGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
}

Napi::Value buildInfo(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("torchVersion", std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                            std::to_string(TORCH_VERSION_PATCH));
  o.Set("parallelInfo", at::get_parallel_info());
  o.Set("config", at::show_config());
  // Whether core/heap.cc set malloc up to keep freed tensor memory (false: glibc's defaults).
  o.Set("heapReuse", heapConfigured());
  return o;
}

}  // namespace
}  // namespace vm

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  using namespace vm;
  configureHeap();  // before any tensor exists
  auto ops = Napi::Object::New(env);
  for (const auto& def : opRegistry()) {
    ops.Set(def.name, Napi::Function::New(env, dispatch, def.name, const_cast<OpDef*>(&def)));
  }
  exports.Set("ops", ops);
  exports.Set("fromBuffer", Napi::Function::New(env, fromBuffer, "fromBuffer"));
  exports.Set("toBuffer", Napi::Function::New(env, toBuffer, "toBuffer"));
  exports.Set("dataView", Napi::Function::New(env, dataView, "dataView"));
  exports.Set("dispose", Napi::Function::New(env, dispose, "dispose"));
  exports.Set("isDisposed", Napi::Function::New(env, isDisposed, "isDisposed"));
  exports.Set("accountedBytes", Napi::Function::New(env, accountedBytes, "accountedBytes"));
  exports.Set("setNumThreads", Napi::Function::New(env, setNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, getNumThreads, "getNumThreads"));
  exports.Set("setNumInteropThreads", Napi::Function::New(env, setNumInteropThreads, "setNumInteropThreads"));
  exports.Set("manualSeed", Napi::Function::New(env, manualSeed, "manualSeed"));
  exports.Set("newGenerator", Napi::Function::New(env, newGenerator, "newGenerator"));
  exports.Set("defaultGenerator", Napi::Function::New(env, defaultGenerator, "defaultGenerator"));
  exports.Set("generatorState", Napi::Function::New(env, generatorState, "generatorState"));
  exports.Set("setGeneratorState", Napi::Function::New(env, setGeneratorState, "setGeneratorState"));
  exports.Set("setGradEnabled", Napi::Function::New(env, setGradEnabled, "setGradEnabled"));
  exports.Set("autocastEnter", Napi::Function::New(env, autocastEnter, "autocastEnter"));
  exports.Set("autocastExit", Napi::Function::New(env, autocastExit, "autocastExit"));
  exports.Set("autocastState", Napi::Function::New(env, autocastState, "autocastState"));
  exports.Set("setAutocastEnabled", Napi::Function::New(env, setAutocastEnabled, "setAutocastEnabled"));
  exports.Set("isGradEnabled", Napi::Function::New(env, isGradEnabled, "isGradEnabled"));
  exports.Set("buildInfo", Napi::Function::New(env, buildInfo, "buildInfo"));
  // Binding tables of the other native folders.
  exports.Set("video", vm::video::bindings(env));
  return exports;
}

NODE_API_MODULE(videomae_native, InitAddon)
