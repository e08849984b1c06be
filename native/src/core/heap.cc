// The C heap, set up for tensor work: freed tensor memory is kept and reused instead of being
// handed back to the kernel and faulted in again.
//
// Every CPU tensor comes from glibc's malloc (c10's CPU allocator is posix_memalign). By default
// glibc serves blocks above a threshold (128 KiB, adapting upwards to the largest block freed, at
// most 32 MiB) with their own mmap and returns them to the kernel on free, and it trims the top of
// the heap once 2× that much is free there. A training step allocates and frees hundreds of such
// blocks (activations, bf16 copies of weights, gradients, GEMM outputs), so each one costs fresh
// pages: a page fault and the kernel zeroing every 4 KiB of it, again on every step. On a ViT-B
// pre-training step that was 56–235 ms of system CPU per step (2 cores); with the set-up below,
// 4 ms, and the step's peak RSS 8 % lower.
//
// configureHeap() fixes the mmap threshold at its maximum (32 MiB: smaller blocks come from the
// heap and are reused) and raises the trim threshold to 1 GiB (freed memory stays mapped for the
// next step). Blocks above 32 MiB keep their own mmap as before.
//
// That alone fragments the heap: c10's CPU allocator asks for 64-byte alignment (posix_memalign),
// and glibc serves an aligned request by carving nb + 64 + slack out of a free block and giving
// the edges back, so a freed block is exactly too small for the next request of the same size and
// the heap grows instead (measured with posix_memalign: ViT-S fp32 inference peaked 100 MiB higher
// than with glibc's defaults; with this allocator, 75 MiB lower). So libtorch's CPU
// tensors get their memory from ReusableCpuAllocator below: a plain malloc(n + 64), aligned by
// hand, the malloc'd address stored just below the aligned one — a freed block then fits the next
// request of its size exactly. Tensors allocated before it was installed keep their own deleter.
//
// Left alone when the user tunes malloc (GLIBC_TUNABLES with glibc.malloc.*, or MALLOC_*_ variables)
// or sets VIDEOMAE_HEAP=default; glibc and libtorch 1.x only (2.x changed the Allocator interface
// and this has not been measured there).
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__) && TORCH_VERSION_MAJOR < 2
#define VM_HEAP_SETUP 1
#include <malloc.h>
#endif

extern char** environ;

namespace vm {

namespace {
#ifdef VM_HEAP_SETUP
constexpr int kMmapThreshold = 32 << 20;  // glibc's largest allowed value (HEAP_MAX_SIZE / 2)
constexpr int kTrimThreshold = 1 << 30;

constexpr size_t kAlignment = 64;  // c10's gAlignment: what vectorised kernels expect

class ReusableCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) const override {
    if (n == 0) return {nullptr, nullptr, &release, c10::Device(c10::DeviceType::CPU)};
    TORCH_CHECK(n <= SIZE_MAX - kAlignment, "CPU allocator: cannot allocate ", n, " bytes");
    void* raw = std::malloc(n + kAlignment);  // 16-byte aligned
    TORCH_CHECK(raw != nullptr, "CPU allocator: not enough memory: you tried to allocate ", n, " bytes");
    // The next 64-byte boundary strictly above raw: at least 16 bytes up, room for the pointer.
    auto* aligned = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(raw) + kAlignment) & ~(uintptr_t{kAlignment} - 1));
    static_cast<void**>(aligned)[-1] = raw;
    return {aligned, aligned, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }

 private:
  static void release(void* aligned) {
    if (aligned) std::free(static_cast<void**>(aligned)[-1]);
  }
};

bool userTunesMalloc() {
  const char* t = std::getenv("GLIBC_TUNABLES");
  if (t && std::strstr(t, "glibc.malloc.")) return true;
  for (char** e = environ; e && *e; e++) {
    if (std::strncmp(*e, "MALLOC_", 7) == 0) return true;
  }
  return false;
}
#endif  // VM_HEAP_SETUP
}  // namespace

// Sets the heap up once per process (the addon's initialisation; a worker thread loading the
// addon again finds it done). Returns whether it is set up (false: glibc's defaults or the user's).
bool configureHeap() {
#ifdef VM_HEAP_SETUP
  static const bool configured = [] {
    const char* mode = std::getenv("VIDEOMAE_HEAP");
    if ((mode && std::strcmp(mode, "default") == 0) || userTunesMalloc()) return false;
    if (mallopt(M_MMAP_THRESHOLD, kMmapThreshold) != 1 || mallopt(M_TRIM_THRESHOLD, kTrimThreshold) != 1) return false;
    static ReusableCpuAllocator allocator;  // lives as long as the process: tensors may outlive the addon
    c10::SetCPUAllocator(&allocator, /*priority=*/1);  // above c10's default (0)
    return true;
  }();
  return configured;
#else
  return false;
#endif
}

// The set-up ran at the addon's initialisation; asking again only reads its result.
bool heapConfigured() { return configureHeap(); }

}  // namespace vm
