// The C heap, set up for tensor work: freed tensor memory is kept and reused instead of being
// handed back to the kernel and faulted in again.
//
// Every CPU tensor comes from glibc's malloc (c10's CPU allocator is posix_memalign). By default
// glibc serves blocks above a threshold (128 KiB, adapting upwards to the largest block freed, at
// most 32 MiB) with their own mmap and returns them to the kernel on free, and it trims the top of
// the heap once 2× that much is free there. A training step allocates and frees hundreds of such
// blocks (activations, bf16 copies of weights, gradients, GEMM outputs), so each one costs fresh
// pages: a page fault and the kernel zeroing every 4 KiB of it, again on every step. On a ViT-B
// pre-training step that was ~15–20 % of the CPU time as system time.
//
// configureHeap() fixes the mmap threshold at its maximum (32 MiB: smaller blocks come from the
// heap and are reused) and raises the trim threshold to 1 GiB (freed memory stays mapped for the
// next step). Peak memory is what the program holds at once, so the peak does not grow; what
// changes is that the process keeps its pages between steps. Blocks above 32 MiB keep their own
// mmap as before.
//
// Left alone when the user tunes malloc (GLIBC_TUNABLES with glibc.malloc.*, or MALLOC_*_ variables)
// or sets VIDEOMAE_HEAP=default; glibc only.
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

extern char** environ;

namespace vm {

namespace {
constexpr int kMmapThreshold = 32 << 20;  // glibc's largest allowed value (HEAP_MAX_SIZE / 2)
constexpr int kTrimThreshold = 1 << 30;
bool configured = false;

bool userTunesMalloc() {
  const char* t = std::getenv("GLIBC_TUNABLES");
  if (t && std::strstr(t, "glibc.malloc.")) return true;
  for (char** e = environ; e && *e; e++) {
    if (std::strncmp(*e, "MALLOC_", 7) == 0) return true;
  }
  return false;
}
}  // namespace

// Sets the heap up once per process (the addon's initialisation; a worker thread loading the
// addon again finds it done). Returns whether it is set up (false: glibc's defaults or the user's).
bool configureHeap() {
#if defined(__GLIBC__)
  static const bool done = [] {
    const char* mode = std::getenv("VIDEOMAE_HEAP");
    if ((mode && std::strcmp(mode, "default") == 0) || userTunesMalloc()) return false;
    return mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1;
  }();
  configured = done;
#endif
  return configured;
}

bool heapConfigured() { return configured; }

}  // namespace vm
