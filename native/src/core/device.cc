// Op table: devices. Where tensors live (cpu, cuda:N), moving them, pinned host memory, per-device
// random generators, and what the machine's GPUs are.
//
// Everything here builds against a CPU-only libtorch too: CUDA is reached through ATen's CUDA
// hooks (a CPU-only libtorch's hooks report no devices), and the GPU description
// through the NVIDIA driver's C API opened at run time (libcuda.so.1), so `doctor` can name the
// GPUs even when the addon's libtorch cannot use them. Only the caching-allocator statistics and
// the side copy stream need CUDA headers: they are compiled when config.mjs finds a CUDA libtorch
// and the CUDA runtime headers (VM_HAVE_CUDA).
#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <dlfcn.h>

#include <mutex>

#include "../args.h"
#include "../compat.h"

#ifdef VM_HAVE_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace vm {
namespace {

const at::CUDAHooksInterface& cudaHooks() { return at::detail::getCUDAHooks(); }

// Whether this libtorch was built with CUDA: a CPU-only build's hooks throw when asked for the
// CUDA runtime version.
bool cudaBuilt() {
  try {
    (void)cudaHooks().versionCUDART();
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

int cudaDeviceCount() {
  try {
    return cudaHooks().getNumGPUs();
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

c10::Device parseDevice(const std::string& s) {
  c10::Device d(s);  // "cpu", "cuda", "cuda:1"; throws on anything else
  if (d.is_cuda()) {
    const int n = cudaDeviceCount();
    if (n == 0) {
      throw std::invalid_argument("device '" + s + "' asked for, but " +
                                  (cudaBuilt() ? std::string("no CUDA GPU is visible (check nvidia-smi and CUDA_VISIBLE_DEVICES)")
                                               : std::string("this addon's libtorch was built without CUDA (build against a CUDA "
                                                             "libtorch: see scripts/libtorch-env.sh and scripts/gpu-check.sh)")));
    }
    if (d.has_index() && d.index() >= n) {
      throw std::invalid_argument("device '" + s + "' asked for, but only " + std::to_string(n) + " CUDA device(s) are visible");
    }
    if (!d.has_index()) d = c10::Device(c10::kCUDA, 0);
  } else if (!d.is_cpu()) {
    throw std::invalid_argument("device '" + s + "' is not supported (cpu, cuda or cuda:N)");
  }
  return d;
}

namespace {

// ---- the NVIDIA driver API, opened at run time --------------------------------------------------
// Only stable C entry points with plain-int arguments are used; attribute numbers are those of
// cuda.h's CUdevice_attribute enum (75/76: compute capability major/minor).
struct Driver {
  using InitFn = int (*)(unsigned);
  using GetCountFn = int (*)(int*);
  using GetFn = int (*)(int*, int);
  using NameFn = int (*)(char*, int, int);
  using MemFn = int (*)(size_t*, int);
  using AttrFn = int (*)(int*, int, int);
  using VersionFn = int (*)(int*);
  bool ok = false;
  GetCountFn count = nullptr;
  GetFn get = nullptr;
  NameFn name = nullptr;
  MemFn totalMem = nullptr;
  AttrFn attr = nullptr;
  VersionFn version = nullptr;
};

const Driver& driver() {
  static Driver d = [] {
    Driver r;
    void* h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) return r;
    auto init = reinterpret_cast<Driver::InitFn>(dlsym(h, "cuInit"));
    r.count = reinterpret_cast<Driver::GetCountFn>(dlsym(h, "cuDeviceGetCount"));
    r.get = reinterpret_cast<Driver::GetFn>(dlsym(h, "cuDeviceGet"));
    r.name = reinterpret_cast<Driver::NameFn>(dlsym(h, "cuDeviceGetName"));
    r.totalMem = reinterpret_cast<Driver::MemFn>(dlsym(h, "cuDeviceTotalMem_v2"));
    r.attr = reinterpret_cast<Driver::AttrFn>(dlsym(h, "cuDeviceGetAttribute"));
    r.version = reinterpret_cast<Driver::VersionFn>(dlsym(h, "cuDriverGetVersion"));
    r.ok = init && r.count && r.get && r.name && r.totalMem && r.attr && init(0) == 0;
    return r;
  }();
  return d;
}

// "12.4" from CUDA's packed 12040 / cuDNN's 90100-style integers.
std::string cudaVersionString(long v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

int ncclVersion() {
  void* h = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  if (!h) h = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!h) return 0;
  auto fn = reinterpret_cast<int (*)(int*)>(dlsym(h, "ncclGetVersion"));
  int v = 0;
  return fn && fn(&v) == 0 ? v : 0;
}

Napi::Value cudaInfo(const Args& a) {
  auto o = Napi::Object::New(a.env);
  const bool built = cudaBuilt();
  const int count = cudaDeviceCount();
  o.Set("built", built);
  o.Set("available", count > 0);
  o.Set("deviceCount", count);
  if (built) {
    try {
      o.Set("cudaRuntime", cudaVersionString(cudaHooks().versionCUDART()));
      if (cudaHooks().hasCuDNN()) {
        const long v = cudaHooks().versionCuDNN();  // e.g. 90100 → 9.1.0
        o.Set("cudnn", std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100));
      }
    } catch (const std::exception&) {
    }
    const int nccl = ncclVersion();  // e.g. 22105 → 2.21.5
    if (nccl) o.Set("nccl", std::to_string(nccl / 10000) + "." + std::to_string((nccl / 100) % 100) + "." + std::to_string(nccl % 100));
  }
  // The GPUs the driver sees, whether or not this libtorch can use them.
  auto gpus = Napi::Array::New(a.env);
  const Driver& d = driver();
  if (d.ok) {
    int n = 0, v = 0;
    d.count(&n);
    if (d.version && d.version(&v) == 0) o.Set("driverCuda", cudaVersionString(v));
    for (int i = 0; i < n; i++) {
      int dev = 0, major = 0, minor = 0;
      char name[256] = {0};
      size_t mem = 0;
      if (d.get(&dev, i) != 0) continue;
      d.name(name, sizeof name - 1, dev);
      d.totalMem(&mem, dev);
      d.attr(&major, 75, dev);
      d.attr(&minor, 76, dev);
      auto g = Napi::Object::New(a.env);
      g.Set("index", i);
      g.Set("name", std::string(name));
      g.Set("memoryBytes", static_cast<double>(mem));
      g.Set("computeCapability", std::to_string(major) + "." + std::to_string(minor));
      gpus.Set(static_cast<uint32_t>(i), g);
    }
  }
  o.Set("gpus", gpus);
  o.Set("haveCudaHeaders",
#ifdef VM_HAVE_CUDA
        true
#else
        false
#endif
  );
  return o;
}

// Peak and current bytes held by tensors on a CUDA device (the caching allocator's statistics).
Napi::Value cudaMemory(const Args& a) {
#ifdef VM_HAVE_CUDA
  const auto idx = static_cast<c10::DeviceIndex>(a.i(0));
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(idx);
  const auto& bytes = stats.allocated_bytes[compat::kAggregateStat];
  if (a.b(1)) c10::cuda::CUDACachingAllocator::resetPeakStats(idx);
  auto o = Napi::Object::New(a.env);
  o.Set("allocated", static_cast<double>(bytes.current));
  o.Set("peakAllocated", static_cast<double>(bytes.peak));
  return o;
#else
  (void)a;
  throw std::runtime_error("GPU memory statistics need an addon built against a CUDA libtorch with the CUDA headers");
#endif
}

// toDeviceAll(tensors, device, nonBlocking): the batch for the next step, copied to the device.
// On CUDA the copies run on a side stream, so they overlap whatever the compute stream is doing
// (the current step); the compute stream then waits for them before it uses the tensors, and the
// caching allocator is told the tensors are used there. From pinned host memory the call returns
// before the copies finish.
Napi::Value toDeviceAll(const Args& a) {
  std::vector<at::Tensor> src = a.tensors(0);
  const c10::Device dev = parseDevice(a.s(1));
  const bool nonBlocking = a.b(2);
  std::vector<at::Tensor> out;
  out.reserve(src.size());
#ifdef VM_HAVE_CUDA
  if (dev.is_cuda()) {
    c10::cuda::CUDAGuard guard(dev);
    auto compute = c10::cuda::getCurrentCUDAStream(dev.index());
    static std::mutex m;
    static std::vector<c10::optional<c10::cuda::CUDAStream>> copyStreams(64);
    std::lock_guard<std::mutex> lock(m);
    auto& copy = copyStreams.at(dev.index());
    if (!copy) copy = c10::cuda::getStreamFromPool(false, dev.index());
    {
      c10::cuda::CUDAStreamGuard sg(*copy);
      for (auto& t : src) out.push_back(t.to(dev, /*non_blocking=*/nonBlocking));
    }
    at::cuda::CUDAEvent done;
    done.record(*copy);
    done.block(compute);
    for (auto& t : out) t.record_stream(compute);
    return a.ret(out);
  }
#endif
  for (auto& t : src) out.push_back(t.to(dev, nonBlocking));
  return a.ret(out);
}

OpRegistrar deviceOps({
    {"cudaInfo", cudaInfo},
    {"cudaMemory", cudaMemory},
    // device(t) -> "cpu" | "cuda:0"
    {"device", [](const Args& a) { return Napi::String::New(a.env, a.t(0).device().str()); }},
    // checkDevice("cuda:1") -> the canonical name, or an error saying why it cannot be used
    {"checkDevice", [](const Args& a) { return Napi::String::New(a.env, parseDevice(a.s(0)).str()); }},
    // toDevice(t, device, nonBlocking): a copy on the device (t itself when already there)
    {"toDevice", [](const Args& a) { return a.ret(a.t(0).to(parseDevice(a.s(1)), a.b(2))); }},
    {"toDeviceAll", toDeviceAll},
    // setData(param, value): replace a tensor's storage in place, keeping its identity (and its
    // autograd leaf-ness): Module.to(device) moves parameters this way, as PyTorch's does.
    {"setData", [](const Args& a) {
       a.t(0).set_data(a.t(1));
       return a.none();
     }},
    // pinMemory(t): a copy in page-locked host memory (fast, asynchronous copies to a GPU). Only
    // meaningful with CUDA; without it the tensor is returned as is.
    {"pinMemory", [](const Args& a) {
       const at::Tensor& t = a.t(0);
       if (!t.is_cpu() || cudaDeviceCount() == 0) return a.ret(t);
       return a.ret(t.pin_memory());
     }},
    {"isPinned", [](const Args& a) { return a.ret(a.t(0).is_cpu() && cudaDeviceCount() > 0 && a.t(0).is_pinned()); }},
    // synchronize(device): wait for the device's queued work (for timing); no-op on the CPU.
    {"synchronize", [](const Args& a) {
       const c10::Device d = parseDevice(a.s(0));
       if (d.is_cuda()) cudaHooks().deviceSynchronize(d.index());
       return a.none();
     }},
    // newDeviceGenerator(seed, device): an independent generator for random draws on the device
    // (CUDA kernels need a CUDA generator): a clone of the device's default one, reseeded.
    {"newDeviceGenerator", [](const Args& a) -> Napi::Value {
       const c10::Device d = parseDevice(a.s(1));
       at::Generator g = d.is_cpu() ? at::detail::createCPUGenerator(static_cast<uint64_t>(a.i(0)))
                                    : at::globalContext().defaultGenerator(d).clone();
       if (!d.is_cpu()) {
         std::lock_guard<std::mutex> lock(g.mutex());
         g.set_current_seed(static_cast<uint64_t>(a.i(0)));
       }
       return wrapGenerator(a.env, g);
     }},
});

}  // namespace
}  // namespace vm
