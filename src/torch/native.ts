/**
 * Loads the libtorch addon (native/build/Release/videomae_native.node) and configures threads.
 *
 * Threads: libtorch runs its kernels on an OpenMP pool; Debian's libtorch starts with 1 thread,
 * so we set the pool to the number of cores (or VIDEOMAE_NUM_THREADS / OMP_NUM_THREADS) at load.
 * BLAS: the addon is linked with an RPATH that prefers the OpenMP build of OpenBLAS, which then
 * shares torch's OpenMP pool instead of oversubscribing the cores with its own pthreads
 * (measured: up to 3x slower fp32 training). `blasInfo()` reports which build was loaded.
 */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

import { ADDON_PATH, requireAddon } from "../util/addon.ts";

/** Opaque handle of a native tensor (a type-tagged napi External). */
export type NativeHandle = { readonly __brand: "TensorHandle" };
/** Opaque handle of a native random generator. */
export type GeneratorHandle = { readonly __brand: "GeneratorHandle" };

type OpFn = (...args: unknown[]) => any;

export interface NativeAddon {
  ops: Record<string, OpFn>;
  fromBuffer(data: ArrayBufferView, shape: readonly number[], dtypeCode: number): NativeHandle;
  toBuffer(t: NativeHandle): ArrayBuffer;
  dataView(t: NativeHandle): ArrayBuffer;
  dispose(t: NativeHandle): void;
  isDisposed(t: NativeHandle): boolean;
  /** Bytes this handle reported to V8 as external memory (0 for views). */
  accountedBytes(t: NativeHandle): number;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  setNumInteropThreads(n: number): void;
  manualSeed(seed: number): void;
  newGenerator(seed: number): GeneratorHandle;
  defaultGenerator(): GeneratorHandle;
  generatorState(g: GeneratorHandle): NativeHandle;
  setGeneratorState(g: GeneratorHandle, state: NativeHandle): void;
  setGradEnabled(on: boolean): boolean;
  isGradEnabled(): boolean;
  autocastEnter(dtypeCode: number, deviceType?: "cpu" | "cuda"): { enabled: boolean; dtype: number };
  autocastExit(prevEnabled: boolean, prevDtypeCode: number, deviceType?: "cpu" | "cuda"): void;
  autocastState(deviceType?: "cpu" | "cuda"): { enabled: boolean; dtype: number };
  setAutocastEnabled(on: boolean, deviceType?: "cpu" | "cuda"): boolean;
  /** heapReuse: malloc set up to keep freed tensor memory for reuse (native/src/core/heap.cc; VIDEOMAE_HEAP=default turns it off). */
  buildInfo(): { torchVersion: string; parallelInfo: string; config: string; heapReuse: boolean };
}

/** The compiled addon's path (VIDEOMAE_ADDON overrides it; see util/addon.ts). */
export const addonPath = ADDON_PATH;

export class NativeAddonMissingError extends Error {
  constructor(path: string, cause?: unknown) {
    super(
      `the libtorch addon is not built (${path}).\n` +
        `Run \`npm run setup\` (installs libtorch-dev with apt and compiles native/), ` +
        `or \`npm run build:native\` if libtorch is already installed.` +
        (cause instanceof Error ? `\nLoader said: ${cause.message}` : ""),
    );
    this.name = "NativeAddonMissingError";
  }
}

/**
 * OpenBLAS 0.3.21 (Debian 12) does not recognise recent CPUs (e.g. Sapphire Rapids) and falls
 * back to its generic "Prescott" SSE3 kernels: 2048² fp32 GEMM at ~65 instead of ~280 GFLOP/s
 * on 2 cores here. Unless OPENBLAS_CORETYPE is already set (the user's or the machine's choice
 * wins), pick the kernel family the CPU supports. It must happen before the addon (and with it
 * OpenBLAS) is loaded; child processes (the PyTorch bench reference) inherit the same choice.
 */
function chooseOpenBlasCore(): string | undefined {
  if (process.env.OPENBLAS_CORETYPE !== undefined) return process.env.OPENBLAS_CORETYPE;
  let flags: Set<string>;
  try {
    const line = /^flags\s*:(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "";
    flags = new Set(line.trim().split(/\s+/));
  } catch {
    return undefined;
  }
  let core: string | undefined;
  if (["avx512f", "avx512bw", "avx512vl", "avx512dq"].every((f) => flags.has(f))) core = flags.has("avx512_bf16") ? "COOPERLAKE" : "SKYLAKEX";
  else if (flags.has("avx2") && flags.has("fma")) core = "HASWELL";
  if (core) process.env.OPENBLAS_CORETYPE = core;
  return core;
}

const openBlasCore = chooseOpenBlasCore();

function load(): NativeAddon {
  if (!existsSync(addonPath)) throw new NativeAddonMissingError(addonPath);
  try {
    return requireAddon() as unknown as NativeAddon;
  } catch (e) {
    throw new NativeAddonMissingError(addonPath, e);
  }
}

export const native: NativeAddon = load();
export const ops = native.ops;

function defaultThreads(): number {
  for (const v of [process.env.VIDEOMAE_NUM_THREADS, process.env.OMP_NUM_THREADS]) {
    const n = Number(v);
    if (v && Number.isInteger(n) && n > 0) return n;
  }
  return availableParallelism();
}

native.setNumThreads(defaultThreads());

/** Sets the number of threads libtorch (and the OpenMP OpenBLAS) use for one op. */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

export interface BlasInfo {
  /** Shared libraries of the BLAS that this process loaded. */
  libraries: string[];
  /** OpenBLAS kernel family in use when chosen through OPENBLAS_CORETYPE (by us or the user). */
  coretype: string | null;
  /** "openmp" shares torch's thread pool (good); "pthreads" oversubscribes; "other" is unknown. */
  threading: "openmp" | "pthreads" | "other";
}

/** Which BLAS build the process actually loaded (read from /proc/self/maps). */
export function blasInfo(): BlasInfo {
  let maps = "";
  try {
    maps = readFileSync("/proc/self/maps", "utf8");
  } catch {
    return { libraries: [], threading: "other", coretype: openBlasCore ?? null };
  }
  const libs = [...new Set(maps.split("\n").map((l) => l.split(/\s+/).pop() ?? "").filter((p) => /blas/.test(p)))];
  const threading = libs.some((l) => l.includes("openblas-openmp"))
    ? "openmp"
    : libs.some((l) => l.includes("pthread"))
      ? "pthreads"
      : "other";
  return { libraries: libs, threading, coretype: openBlasCore ?? null };
}
