// Prints the compiler/linker settings for the addon, one list per call, for binding.gyp.
// Usage: node config.mjs include|libdir|defines|ldflags|libav-cflags|libav-libs
//
// Default libtorch is Debian's libtorch-dev (headers in /usr/include, libs in the multiarch dir).
// LIBTORCH=<prefix> selects another libtorch >= 1.13 laid out as <prefix>/include and
// <prefix>/lib (e.g. the `torch` folder of a pip install, or an unpacked libtorch zip).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";

const what = process.argv[2];
const prefix = process.env.LIBTORCH;
const multiarch = "/usr/lib/x86_64-linux-gnu";

function libdir() {
  return prefix ? join(prefix, "lib") : multiarch;
}

function includes() {
  const base = prefix ? join(prefix, "include") : "/usr/include";
  return [base, join(base, "torch/csrc/api/include")];
}

// pip wheels before torch 2.6 were built with the pre-C++11 std::string ABI; the addon must match.
function cxx11Abi() {
  const c10 = readdirSync(libdir()).find((f) => /^libc10\.so/.test(f));
  if (!c10) return 1;
  try {
    const syms = execFileSync("nm", ["-DC", join(libdir(), c10)], { encoding: "utf8", maxBuffer: 256 << 20 });
    return syms.includes("std::__cxx11::basic_string") ? 1 : 0;
  } catch {
    return 1;
  }
}

// Debian's torch links libblas.so.3/libopenblas.so.0 through the alternatives system, which
// prefers the pthreads OpenBLAS. Its thread pool fights torch's OpenMP pool on few cores (up to
// 3x slower training), so the addon carries an old-style RPATH (which, unlike RUNPATH, also
// applies to the dependencies of libtorch) pointing at the OpenMP build when it is installed.
function rpaths() {
  const dirs = [];
  const omp = join(multiarch, "openblas-openmp");
  if (!prefix && existsSync(join(omp, "libblas.so.3"))) dirs.push(omp);
  dirs.push(libdir());
  return dirs;
}

// c10d's gloo backend: its headers include <gloo/...>, which Debian ships in libgloo-dev (the
// library itself is already a dependency of libtorch_cpu); pip wheels carry them in include/.
function glooDefines() {
  return includes().some((d) => existsSync(join(d, "gloo/algorithm.h"))) ? ["USE_C10D_GLOO"] : [];
}

// FFmpeg's libraries for the in-process video decoder (native/src/video/): found through
// pkg-config (Debian: libavformat-dev libavcodec-dev libswscale-dev libavutil-dev). Without
// them the addon still builds, with the video binding reporting how to get them.
const LIBAV = ["libavformat", "libavcodec", "libswscale", "libavutil"];
function pkgConfig(args) {
  try {
    return execFileSync("pkg-config", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}
let libavFound;
function libav() {
  if (libavFound === undefined) libavFound = process.env.VIDEOMAE_NO_LIBAV ? false : pkgConfig(["--exists", ...LIBAV]) !== undefined;
  return libavFound;
}
function libavDefines() {
  if (!libav()) return [];
  // The versions go into the define list, so the build stamp changes when FFmpeg is upgraded.
  const [a, b, c] = (pkgConfig(["--modversion", "libavcodec"]) ?? "0.0.0").split(".").map((x) => Number(x) || 0);
  return ["VM_HAVE_LIBAV", `VM_LIBAVCODEC_VERSION_INT=${((a ?? 0) << 16) | ((b ?? 0) << 8) | (c ?? 0)}`];
}

// CUDA: a libtorch with libtorch_cuda.so plus the CUDA runtime's headers and library (Debian:
// nvidia-cuda-toolkit/nvidia-cuda-dev; a pip wheel: its nvidia/cuda_runtime package; a toolkit:
// CUDA_HOME or /usr/local/cuda). Then the addon gets VM_HAVE_CUDA: GPU memory statistics and the
// side copy stream (native/src/core/device.cc). Everything else on CUDA goes through ATen and
// works without it; VIDEOMAE_NO_CUDA=1 builds without.
let cudaFound;
function cuda() {
  if (cudaFound !== undefined) return cudaFound;
  cudaFound = false;
  if (process.env.VIDEOMAE_NO_CUDA || !existsSync(join(libdir(), "libtorch_cuda.so"))) return cudaFound;
  const homes = [process.env.CUDA_HOME, process.env.CUDA_PATH, "/usr/local/cuda"].filter(Boolean);
  // pip layout: <site-packages>/torch is the prefix, the runtime sits in <site-packages>/nvidia/.
  const pip = prefix ? join(prefix, "..", "nvidia", "cuda_runtime") : undefined;
  const includeDirs = [...homes.map((h) => join(h, "include")), ...(pip ? [join(pip, "include")] : []), "/usr/include"];
  const include = includeDirs.find((d) => existsSync(join(d, "cuda_runtime_api.h")));
  const libDirs = [libdir(), ...homes.flatMap((h) => [join(h, "lib64"), join(h, "lib")]), ...(pip ? [join(pip, "lib")] : []), multiarch];
  let cudart;
  for (const d of libDirs) {
    if (!existsSync(d)) continue;
    const f = readdirSync(d).filter((n) => /^libcudart\.so(\.\d+)*$/.test(n)).sort()[0];
    if (f) {
      cudart = join(d, f);
      break;
    }
  }
  if (include && cudart) cudaFound = { include, cudart, cudartDir: dirname(cudart) };
  return cudaFound;
}

// c10d's NCCL backend (ProcessGroupNCCL): a CUDA libtorch whose headers have it, plus NCCL's own
// header (Debian: libnccl-dev; a pip wheel: its nvidia/nccl package). Then the addon defines
// USE_C10D_NCCL and `--backend nccl` works (native/src/distributed.cc).
let ncclFound;
function nccl() {
  if (ncclFound !== undefined) return ncclFound;
  ncclFound = false;
  if (!cuda() || !includes().some((d) => existsSync(join(d, "torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp")))) return ncclFound;
  const pip = prefix ? [join(prefix, "..", "nvidia", "nccl", "include")] : [];
  const dirs = [...includes(), cuda().include, ...pip, "/usr/include"];
  const include = dirs.find((d) => existsSync(join(d, "nccl.h")));
  if (include) ncclFound = { include };
  return ncclFound;
}

const out = {
  include: () => [...includes(), ...(cuda() ? [cuda().include] : []), ...(nccl() ? [nccl().include] : [])],
  libdir: () => [libdir()],
  defines: () => [`_GLIBCXX_USE_CXX11_ABI=${cxx11Abi()}`, ...glooDefines(), ...libavDefines(), ...(cuda() ? ["VM_HAVE_CUDA"] : []), ...(nccl() ? ["USE_C10D_NCCL"] : [])],
  ldflags: () => [
    "-Wl,--disable-new-dtags",
    ...rpaths().map((d) => `-Wl,-rpath,${d}`),
    // --no-as-needed: nothing in the addon calls into libtorch_cuda directly, but it must be loaded
    // for ATen's CUDA hooks (and kernels) to register.
    ...(cuda() ? ["-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", cuda().cudart, `-Wl,-rpath,${cuda().cudartDir}`, "-Wl,--as-needed"] : []),
  ],
  "libav-cflags": () => (libav() ? (pkgConfig(["--cflags", ...LIBAV]) ?? "").split(/\s+/).filter(Boolean) : []),
  "libav-libs": () => (libav() ? (pkgConfig(["--libs", ...LIBAV]) ?? "").split(/\s+/).filter(Boolean) : []),
}[what];
if (!out) {
  console.error(`config.mjs: unknown query '${what}' (use include|libdir|defines|ldflags|libav-cflags|libav-libs)`);
  process.exit(2);
}
console.log(out().join(" "));
