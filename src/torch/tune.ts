/**
 * Kernel choices measured on the machine, not assumed. Which float32 linear (BLAS or oneDNN's
 * sgemm), which bf16 linear (float32 GEMMs on rounded operands, or oneDNN's bf16 GEMMs through
 * ATen or its gemm API), which attention build (ISA, tile GEMM, bf16 dot
 * products or float32), and how many threads win differs from CPU to CPU: on Zen 4 vdpbf16ps runs
 * at half the fp32 FMA rate, on Zen 5 at about twice it. The tuner times the candidates on the
 * shapes the ViT models run (< 5 s), applies the winners, and caches them per machine in
 * `$XDG_CACHE_HOME/videomae/kernels.json` (default ~/.cache), keyed by CPU model and flags,
 * OpenBLAS core type, libtorch version, addon build and tuner version — a new build re-tunes.
 *
 * Environment variables keep winning: VIDEOMAE_FP32_LINEAR, VIDEOMAE_BF16_LINEAR, VIDEOMAE_ATTN_ISA, VIDEOMAE_ATTN_GEMM,
 * VIDEOMAE_ATTN_BF16, VIDEOMAE_NUM_THREADS / OMP_NUM_THREADS fix their choice; VIDEOMAE_TUNE=0
 * turns the tuner off (the static defaults of native/src/ops_bf16.cc and attention.cc). Inside the
 * test suite (VIDEOMAE_TEST=1) it neither runs nor reads the cache unless VIDEOMAE_TUNE=1.
 *
 * @example
 *   import { torch } from "videomae";
 *   const t = torch.ensureKernelChoices();   // measured once per machine, then read from the cache
 *   t.choices  // { fp32Linear: "dnnl", bf16Linear: "dnnl", attentionIsa: "avx512", attentionGemm: "micro", attentionBf16: "dpbf16", threads: 2, bf16Inference: true }
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, homedir } from "node:os";
import { dirname, join } from "node:path";
import { autocast } from "./autograd.ts";
import { randn } from "./creation.ts";
import * as F from "./functional.ts";
import { addonPath, blasInfo, getNumThreads, native, setNumThreads } from "./native.ts";
import { Generator } from "./random.ts";
import { tidy } from "./scope.ts";
import type { Tensor } from "./tensor.ts";

/** Bump when what is measured or how it is chosen changes: old cache entries are then ignored. */
export const TUNER_VERSION = 3;

export interface KernelChoices {
  /** Route of float32 CPU linears: at::linear (BLAS) or oneDNN's sgemm. */
  fp32Linear: F.Fp32LinearRoute;
  /** Route of autocast's bf16 linears (F.linearBf16). */
  bf16Linear: F.Bf16LinearRoute;
  attentionIsa: F.AttentionKernelInfo["isa"];
  attentionGemm: F.AttentionKernelInfo["gemm"];
  /** bf16 attention inputs: bf16 dot products, or widened to float32. */
  attentionBf16: F.AttentionKernelInfo["bf16"];
  /** Threads of libtorch's pool. */
  threads: number;
  /** Whether a ViT block's forward under bf16 autocast beat float32 here (false: bf16 inference runs as fp32). */
  bf16Inference: boolean;
}

/** One measurement: candidate → its rate (GFLOP/s; higher is better). */
export type Rates = Record<string, number>;

export interface TuneRecord {
  version: number;
  key: string;
  machine: MachineId;
  tunedAt: string;
  /** Wall time the tuning took. */
  seconds: number;
  choices: KernelChoices;
  /** What was measured, per choice: candidate → GFLOP/s (best of the repetitions). */
  rates: Record<keyof KernelChoices, Rates>;
}

export interface MachineId {
  cpuModel: string;
  /** The CPU flags the choices depend on. */
  flags: string[];
  logicalCpus: number;
  openblasCoretype: string | null;
  torchVersion: string;
  /** Size and mtime of the loaded addon: a rebuilt addon re-tunes. */
  addon: string;
}

export interface TuneStatus {
  /** The choices in force (after environment overrides). */
  choices: KernelChoices;
  /** Where they came from. */
  source: "tuned" | "cache" | "defaults";
  /** The record measured now or read from the cache (null with defaults). */
  record: TuneRecord | null;
  /** Choices an environment variable fixed: name → variable. */
  overridden: Partial<Record<keyof KernelChoices, string>>;
  cacheFile: string;
}

const RELEVANT_FLAGS = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16", "amx_bf16", "amx_tile"];

/** The environment variable that fixes each choice (when set, the tuner leaves that choice alone). */
const ENV_OF: Record<Exclude<keyof KernelChoices, "bf16Inference">, string[]> = {
  fp32Linear: ["VIDEOMAE_FP32_LINEAR"],
  bf16Linear: ["VIDEOMAE_BF16_LINEAR"],
  attentionIsa: ["VIDEOMAE_ATTN_ISA"],
  attentionGemm: ["VIDEOMAE_ATTN_GEMM"],
  attentionBf16: ["VIDEOMAE_ATTN_BF16"],
  threads: ["VIDEOMAE_NUM_THREADS", "OMP_NUM_THREADS"],
};

export function cacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "videomae", "kernels.json");
}

export function machineId(): MachineId {
  let model = cpus()[0]?.model ?? "unknown";
  let flags = new Set<string>();
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1]?.trim() ?? model;
    flags = new Set((/^flags\s*:(.*)$/m.exec(info)?.[1] ?? "").trim().split(/\s+/));
  } catch {
    // not Linux: the model from os.cpus() and no flags
  }
  let addon = "unknown";
  try {
    const st = statSync(addonPath);
    addon = `${st.size}@${st.mtimeMs.toFixed(0)}`;
  } catch {
    // the addon loaded, so this only fails if it was removed since
  }
  return {
    cpuModel: model,
    flags: RELEVANT_FLAGS.filter((f) => flags.has(f)),
    logicalCpus: availableParallelism(),
    openblasCoretype: blasInfo().coretype ?? null,
    torchVersion: native.buildInfo().torchVersion,
    addon,
  };
}

function keyOf(m: MachineId): string {
  return createHash("sha256").update(JSON.stringify([TUNER_VERSION, m])).digest("hex").slice(0, 16);
}

/** The choices currently in force in this process (whatever set them). */
export function currentChoices(bf16Inference = true): KernelChoices {
  const a = F.attentionKernelInfo();
  return { fp32Linear: F.linearRoutes().fp32, bf16Linear: F.bf16LinearInfo().route, attentionIsa: a.isa, attentionGemm: a.gemm, attentionBf16: a.bf16, threads: getNumThreads(), bf16Inference };
}

function overrides(): TuneStatus["overridden"] {
  const o: TuneStatus["overridden"] = {};
  for (const [choice, vars] of Object.entries(ENV_OF)) {
    const v = vars.find((name) => process.env[name]);
    if (v) o[choice as keyof KernelChoices] = v;
  }
  return o;
}

/** Applies `c` to this process, except the choices an environment variable fixes. */
export function applyChoices(c: KernelChoices): void {
  const fixed = overrides();
  if (!fixed.threads) setNumThreads(c.threads);
  const dnnl = F.linearRoutes().dnnl;
  if (!fixed.fp32Linear && (c.fp32Linear !== "dnnl" || dnnl.sgemm)) F.setFp32LinearRoute(c.fp32Linear);
  if (!fixed.bf16Linear && (c.bf16Linear !== "dnnl" || dnnl.gemmBf16)) F.setBf16LinearRoute(c.bf16Linear);
  if (!fixed.attentionIsa) F.setAttentionChoice("isa", c.attentionIsa);
  if (!fixed.attentionGemm) F.setAttentionChoice("gemm", c.attentionGemm);
  if (!fixed.attentionBf16 && (c.attentionBf16 === "fp32" || F.attentionKernelInfo().cpu.avx512bf16)) {
    F.setAttentionChoice("bf16", c.attentionBf16);
  }
}

// ------------------------------------------------------------------------------------ measuring
/** Best-of-`reps` seconds of `run` per candidate, candidates interleaved (machine noise hits all alike). */
function timeCandidates<C extends string>(candidates: readonly C[], select: (c: C) => void, run: () => void, reps = 3): Record<C, number> {
  const best = Object.fromEntries(candidates.map((c) => [c, Infinity])) as Record<C, number>;
  for (let r = 0; r <= reps; r++) {
    for (const c of candidates) {
      select(c);
      const t0 = process.hrtime.bigint();
      run();
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (r > 0) best[c] = Math.min(best[c], s); // round 0 warms up
    }
  }
  return best;
}

function toRates<C extends string>(seconds: Record<C, number>, gflop: number): Rates {
  return Object.fromEntries(Object.entries(seconds).map(([c, s]) => [c, Math.round((gflop / (s as number)) * 10) / 10]));
}

function argmax(r: Rates): string {
  return Object.entries(r).reduce((a, b) => (b[1] > a[1] ? b : a))[0];
}

/**
 * Rates within this fraction of the fastest count as a tie: a best-of-3 timing on a shared machine
 * does not separate them, so a tie goes to the candidate with other merits (CHOICE_PREFERENCE).
 */
export const TIE_MARGIN = 0.05;

/**
 * Tie-break order per choice (earlier wins a tie):
 *  - bf16 linear: `dnnl` returns float32 weight gradients (no bf16 rounding of dW) and measured the
 *    lowest peak memory in ViT-B pre-training (0.92× PyTorch vs 1.06× with `aten`, whose ATen bf16
 *    matmuls keep oneDNN primitives and bf16 dW temporaries); then `aten`, then `sgemm`.
 *  - attention tile GEMM: our micro-kernels first (no BLAS thread pool inside the attention's own
 *    parallel loop), then BLAS, then ATen.
 */
export const CHOICE_PREFERENCE: Partial<Record<keyof KernelChoices, readonly string[]>> = {
  bf16Linear: ["dnnl", "aten", "sgemm"],
  attentionGemm: ["micro", "blas", "aten"],
};

/** The fastest candidate, or among those within TIE_MARGIN of it the first in `preference`. */
export function pickCandidate(r: Rates, preference: readonly string[] = []): string {
  const best = argmax(r);
  const tied = Object.keys(r).filter((c) => r[c]! >= (1 - TIE_MARGIN) * r[best]!);
  return preference.find((c) => tied.includes(c)) ?? best;
}

/** Forward + backward of packed attention. */
function attentionStep(qkv: Tensor, dout: Tensor, heads: number): void {
  tidy(() => {
    const x = qkv.clone().requiresGrad_();
    F.packedAttention(x, heads).backward(dout);
    x.grad!.sum().item();
    return undefined;
  });
}

/** One ViT block's forward (pre-norm attention + MLP) from the tensor layer's functions. */
function blockForward(x: Tensor, w: Record<string, Tensor>, heads: number): Tensor {
  const dim = x.shape[2]!;
  const h = F.linear(F.layerNorm(x, [dim], w.n1w, w.n1b), w.qkv!, w.qkvb);
  const a = x.add(F.linear(F.packedAttention(h, heads), w.proj!, w.projb));
  const m = F.linear(F.gelu(F.linear(F.layerNorm(a, [dim], w.n2w, w.n2b), w.fc1!, w.fc1b)), w.fc2!, w.fc2b);
  return a.add(m);
}

/** Measures every choice and returns the record (does not apply or save it). */
export function measureKernelChoices(log: (s: string) => void = () => {}): TuneRecord {
  const t0 = Date.now();
  const machine = machineId();
  const start = currentChoices();
  const g = new Generator(0);
  const rates = {} as TuneRecord["rates"];
  // tidy: the measurement tensors are freed when it returns
  try {
    return tidy(() => measureAll(g, rates, t0, machine, log));
  } finally {
    applyChoices(start); // measuring leaves the process as it found it; the caller applies the winners
  }
}

function measureAll(g: Generator, rates: TuneRecord["rates"], t0: number, machine: MachineId, log: (s: string) => void): TuneRecord {
  // Threads: all logical CPUs, or one per physical core where SMT doubles them.
  const threadCands = overrides().threads ? [getNumThreads()] : [...new Set([availableParallelism(), physicalCores()])];
  const gemmX = randn([1568, 384], { generator: g });
  const gemmW = randn([1536, 384], { generator: g });
  const gemmFlop = 2 * 1568 * 384 * 1536;
  if (threadCands.length > 1) {
    const s = timeCandidates(threadCands.map(String), (c) => setNumThreads(Number(c)), () => tidy(() => void F.linearAten(gemmX, gemmW).sum().item()));
    rates.threads = toRates(s, gemmFlop / 1e9);
  } else rates.threads = { [String(threadCands[0])]: 0 };
  const threads = Number(argmax(rates.threads));
  setNumThreads(threads);

  // Attention (float32): ISA with the micro-kernels, then the tile GEMM on the winning ISA.
  const heads = 2;
  const N = 784;
  const attnFlop = (4 * N * N * 64 * heads * 3.5) / 1e9; // forward 2 products, backward 5
  const qkv = randn([1, N, 3 * heads * 64], { generator: g });
  const dout = randn([1, N, heads * 64], { generator: g });
  const info = F.attentionKernelInfo();
  const isas = info.cpu.avx512 ? (["avx512", "avx2"] as const) : (["avx2"] as const);
  F.setAttentionChoice("gemm", "micro");
  rates.attentionIsa = toRates(timeCandidates(isas, (c) => F.setAttentionChoice("isa", c), () => attentionStep(qkv, dout, heads)), attnFlop);
  F.setAttentionChoice("isa", argmax(rates.attentionIsa) as F.AttentionKernelInfo["isa"]);
  const gemms = ["micro", "blas", "aten"] as const;
  rates.attentionGemm = toRates(timeCandidates(gemms, (c) => F.setAttentionChoice("gemm", c), () => attentionStep(qkv, dout, heads)), attnFlop);
  F.setAttentionChoice("gemm", pickCandidate(rates.attentionGemm, CHOICE_PREFERENCE.attentionGemm) as F.AttentionKernelInfo["gemm"]);

  // bf16 attention: bf16 dot products vs widening to float32 (only where the CPU has them).
  const qkvB = qkv.to("bfloat16");
  const doutB = dout.to("bfloat16");
  const bf16Attn = F.attentionKernelInfo().cpu.avx512bf16 && F.attentionKernelInfo().isa === "avx512" ? (["dpbf16", "fp32"] as const) : (["fp32"] as const);
  rates.attentionBf16 = toRates(timeCandidates(bf16Attn, (c) => F.setAttentionChoice("bf16", c), () => attentionStep(qkvB, doutB, heads)), attnFlop);
  F.setAttentionChoice("bf16", argmax(rates.attentionBf16) as F.AttentionKernelInfo["bf16"]);

  // Linears, forward + backward, on a token-rows shape of inference (1568 rows) and of
  // pre-training's encoder (2 clips × 160 visible tokens).
  const shapes = [
    [1568, 384, 1152],
    [320, 768, 3072],
  ] as const;
  const operands = shapes.map(([m, k, n]) => [randn([m, k], { generator: g }).requiresGrad_(), randn([n, k], { generator: g }).requiresGrad_()] as const);
  const linFlop = shapes.reduce((s, [m, k, n]) => s + 6 * m * k * n, 0) / 1e9;
  const linStep = (linear: (x: Tensor, w: Tensor) => Tensor) => () =>
    tidy(() => {
      for (const [x, w] of operands) {
        linear(x, w).float().sum().backward();
        w.grad!.sum().item();
        x.zeroGrad();
        w.zeroGrad();
      }
      return undefined;
    });
  const dnnl = F.linearRoutes().dnnl;
  const fp32Routes = dnnl.sgemm ? (["blas", "dnnl"] as const) : (["blas"] as const);
  rates.fp32Linear = toRates(timeCandidates(fp32Routes, (c) => F.setFp32LinearRoute(c), linStep((x, w) => F.linear(x, w))), linFlop);
  F.setFp32LinearRoute(argmax(rates.fp32Linear) as F.Fp32LinearRoute);
  const routes = dnnl.gemmBf16 ? (["sgemm", "aten", "dnnl"] as const) : (["sgemm", "aten"] as const);
  rates.bf16Linear = toRates(timeCandidates(routes, (c) => F.setBf16LinearRoute(c), linStep(F.linearBf16)), linFlop);
  F.setBf16LinearRoute(pickCandidate(rates.bf16Linear, CHOICE_PREFERENCE.bf16Linear) as F.Bf16LinearRoute);

  // bf16 inference vs float32: one ViT-S block forward on 784 tokens with the winners above.
  const dim = 384;
  const bw: Record<string, Tensor> = {
    n1w: randn([dim], { generator: g }), n1b: randn([dim], { generator: g }), n2w: randn([dim], { generator: g }), n2b: randn([dim], { generator: g }),
    qkv: randn([3 * dim, dim], { generator: g }).mul(0.05), qkvb: randn([3 * dim], { generator: g }),
    proj: randn([dim, dim], { generator: g }).mul(0.05), projb: randn([dim], { generator: g }),
    fc1: randn([4 * dim, dim], { generator: g }).mul(0.05), fc1b: randn([4 * dim], { generator: g }),
    fc2: randn([dim, 4 * dim], { generator: g }).mul(0.05), fc2b: randn([dim], { generator: g }),
  };
  const bx = randn([1, 784, dim], { generator: g });
  const blockFlop = (2 * 784 * 12 * dim * dim + 4 * 784 * 784 * dim) / 1e9;
  const precisions = ["bf16", "fp32"] as const;
  let bf16 = false;
  const blockSeconds = timeCandidates(
    precisions,
    (c) => (bf16 = c === "bf16"),
    () => tidy(() => void (bf16 ? autocast(() => blockForward(bx, bw, 6)) : blockForward(bx, bw, 6)).float().sum().item()),
  );
  rates.bf16Inference = toRates(blockSeconds, blockFlop);
  const choices: KernelChoices = { ...currentChoices(), threads, bf16Inference: rates.bf16Inference.bf16! > rates.bf16Inference.fp32! };
  const seconds = (Date.now() - t0) / 1000;
  log(`tuned kernels in ${seconds.toFixed(1)} s: ${describeChoices(choices)}`);
  return { version: TUNER_VERSION, key: keyOf(machine), machine, tunedAt: new Date().toISOString(), seconds, choices, rates };
}

function physicalCores(): number {
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    const cores = new Set([...info.matchAll(/^physical id\s*:\s*(\d+)[\s\S]*?^core id\s*:\s*(\d+)/gm)].map((m) => `${m[1]}:${m[2]}`));
    return Math.min(cores.size || availableParallelism(), availableParallelism());
  } catch {
    return availableParallelism();
  }
}

export function describeChoices(c: KernelChoices): string {
  return (
    `linear fp32 ${c.fp32Linear} / bf16 ${c.bf16Linear}, attention ${c.attentionIsa}/${c.attentionGemm} (bf16: ${c.attentionBf16}), ${c.threads} threads` +
    (c.bf16Inference ? "" : ", bf16 inference slower than fp32 here")
  );
}

// ------------------------------------------------------------------------------------ the cache
interface CacheFile {
  format: 1;
  entries: Record<string, TuneRecord>;
}

function readCache(file: string): CacheFile {
  try {
    const c = JSON.parse(readFileSync(file, "utf8")) as CacheFile;
    if (c && c.format === 1 && c.entries && typeof c.entries === "object") return c;
  } catch {
    // missing or unreadable: start a new one (it is only a cache)
  }
  return { format: 1, entries: {} };
}

function validRecord(r: TuneRecord | undefined, key: string): r is TuneRecord {
  const c = r?.choices;
  return (
    !!c && r!.version === TUNER_VERSION && r!.key === key &&
    ["blas", "dnnl"].includes(c.fp32Linear) && ["sgemm", "aten", "dnnl"].includes(c.bf16Linear) && ["avx2", "avx512"].includes(c.attentionIsa) &&
    ["micro", "blas", "aten"].includes(c.attentionGemm) && ["dpbf16", "fp32"].includes(c.attentionBf16) &&
    Number.isInteger(c.threads) && c.threads >= 1 && typeof c.bf16Inference === "boolean"
  );
}

function writeCache(file: string, record: TuneRecord): void {
  const cache = readCache(file);
  cache.entries[record.key] = record;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(cache, null, 2) + "\n");
  renameSync(tmp, file); // atomic: concurrent readers see the old file or the new one
}

let status: TuneStatus | null = null;

export interface EnsureOptions {
  /** Re-measure even if the cache has this machine (doctor --tune). */
  force?: boolean;
  /** Never measure: use the cache if it has this machine, else the defaults (data-parallel ranks: `launch` tunes once before starting them). */
  cacheOnly?: boolean;
  log?: (s: string) => void;
}

/** Whether the tuner may act in this process (see the module comment). */
export function tunerEnabled(): boolean {
  if (process.env.VIDEOMAE_TUNE === "0") return false;
  if (process.env.VIDEOMAE_TEST === "1" && process.env.VIDEOMAE_TUNE !== "1") return false;
  return true;
}

/**
 * The process's kernel choices: from the cache when this machine has an entry, else measured now
 * (and cached), then applied. Idempotent: later calls return the same status (unless `force`).
 * A cache that cannot be written is not an error (the choices still apply to this process).
 */
export function ensureKernelChoices(o: EnsureOptions = {}): TuneStatus {
  if (status && !o.force) return status;
  const file = cacheFile();
  const overridden = overrides();
  if (!tunerEnabled() && !o.force) {
    status = { choices: currentChoices(), source: "defaults", record: null, overridden, cacheFile: file };
    return status;
  }
  const key = keyOf(machineId());
  const cached = readCache(file).entries[key];
  let record: TuneRecord | null = null;
  let source: TuneStatus["source"] = "defaults";
  if (!o.force && validRecord(cached, key)) [record, source] = [cached, "cache"];
  else if (!o.cacheOnly || o.force) {
    o.log?.("measuring kernel choices for this machine (once; cached in " + file + ")…");
    record = measureKernelChoices(o.log);
    source = "tuned";
    try {
      writeCache(file, record);
    } catch (e) {
      o.log?.(`could not cache the kernel choices in ${file}: ${(e as Error).message}`);
    }
  }
  if (record) applyChoices(record.choices);
  status = { choices: currentChoices(record?.choices.bf16Inference ?? true), source, record, overridden, cacheFile: file };
  return status;
}

/** The status so far, without tuning (null before ensureKernelChoices ran). */
export function kernelChoicesStatus(): TuneStatus | null {
  return status;
}

/**
 * The precision inference should run in on the CPU: bf16 asked for but measured slower than fp32
 * here → fp32, with one notice per process (through `warn`). Other devices and fp32: as asked.
 */
let warnedBf16 = false;
export function inferencePrecision<P extends string>(asked: P, deviceType: string, warn: (s: string) => void = (s) => process.stderr.write(s + "\n")): P | "fp32" {
  if (asked !== "bf16" || deviceType !== "cpu") return asked;
  const s = status ?? ensureKernelChoices();
  if (s.choices.bf16Inference) return asked;
  if (!warnedBf16) {
    const r = s.record?.rates.bf16Inference;
    warn(`--precision bf16: on this CPU a bf16 ViT block ran slower than fp32 (${r?.bf16} vs ${r?.fp32} GFLOP/s, kernel tuner); running fp32 instead`);
    warnedBf16 = true;
  }
  return "fp32";
}
