/**
 * Model benchmark: our ViT inference and pre-training iterations side by side with PyTorch
 * running the same model (the official modules, tools/reference/videomae_reference.py).
 *
 * Per workload both sides get a fresh process of their own (src/bench/model_worker.ts and
 * tools/reference/bench_server.py, one JSON-line protocol), so memory is measured alike and one
 * workload's allocator state cannot leak into the next. Repetitions interleave in rounds —
 * ours, PyTorch, ours, PyTorch … — so machine noise (other jobs on the 2 cores) hits both
 * sides alike; we report medians. Untimed warm-up iterations precede the first round (1 for
 * inference, 3 for pre-training).
 *
 * The PyTorch side loads the same BLAS as ours by default (pytorch.ts TorchBlas): with Debian's
 * default openblas-pthread its fp32 training ran 1.6–2.5× slower, which would flatter us.
 *
 * Reported per side: median seconds per iteration, ms/clip and clips/s, achieved GFLOP/s
 * (convention in workloads.ts `workPerClip`) and its share of the machine's measured GEMM peak,
 * and workload memory = peak RSS over the timed reps − RSS before the workload was built
 * (src/bench/memory.ts).
 */
import { loadavg } from "node:os";
import { autocast, F, getNumThreads, native, randn, type DType } from "../torch/index.ts";
import { siblingModule } from "../util/modules.ts";
import { JsonLineChild } from "./child.ts";
import type { MemorySample } from "./memory.ts";
import { PyTorchReference, torchUnavailableReason, type TorchBlas } from "./pytorch.ts";
import { median, nowSeconds } from "./stats.ts";
import { describeChoices, ensureKernelChoices, machineId, type KernelChoices, type MachineId, type Rates } from "../torch/tune.ts";
import { modelName, workPerClip, workloadList, workloadRequest, type BenchDtype, type ModelSize, type Workload } from "./workloads.ts";

const WORKER = siblingModule(import.meta.url, "model_worker");

export interface ModelBenchOptions {
  /** ViT-S workloads only, 1 round × 1 rep: a smoke run on the real shapes. */
  quick?: boolean;
  /** The tiny test presets instead of ViT-S/B (1 round × 1 rep): for tests; numbers mean nothing. */
  tiny?: boolean;
  /** Run the PyTorch side (default true; false = --no-torch). */
  withTorch?: boolean;
  /** The PyTorch side's BLAS (pytorch.ts TorchBlas; default "ours": the same library as ours). */
  torchBlas?: TorchBlas;
  /** Keep workloads whose id matches one of these comma-separated patterns (case-insensitive regexes). */
  only?: string;
  rounds?: number;
  /** Timed repetitions per side per round. */
  reps?: number;
  /**
   * Untimed repetitions before the first round, per side. Default 1 for inference and 3 for
   * pre-training: PyTorch's ViT-B training steps were still getting faster over the first ~5
   * iterations (allocator growth, page faults), ours are flat after one.
   */
  warmup?: number;
  threads?: number;
  log?: (s: string) => void;
  /** Called with the result so far after every workload (the CLI saves it: long runs keep partial data). */
  onProgress?: (partial: ModelBenchResult) => void;
}

export interface SideResult {
  /** Every timed repetition (seconds per iteration of `batch` clips), all rounds. */
  seconds: number[];
  medianSeconds: number;
  clipsPerSecond: number;
  msPerClip: number;
  gflops: number;
  /** gflops / measured GEMM peak of the dtype, in %. */
  pctPeak: number;
  memory: { workloadBytes: number; peakBytes: number; baseBytes: number; exact: boolean };
  /** A compatibility shim the side needed (e.g. layer_norm under bf16 autocast). */
  shim?: string;
}

export interface ModelBenchRow extends Workload {
  model: string;
  params: number | null;
  /** Tokens per clip through the encoder (N, or N_vis for pre-training). */
  encoderTokens: number;
  forwardGmacsPerClip: number;
  /** Counted FLOP per clip (2·MACs, ×3 for a training iteration). */
  gflopPerClip: number;
  ours: SideResult | null;
  torch: SideResult | null;
  oursError?: string;
  torchError?: string;
  /** ours clips/s ÷ PyTorch clips/s (> 1: we are faster). */
  speedRatio: number | null;
  /** ours workload memory ÷ PyTorch's (< 1: we use less). */
  memoryRatio: number | null;
  /** The issue's target for this workload, if any. */
  target: { speedRatio: number; memoryRatio?: number } | null;
  meetsTarget: boolean | null;
  /** 1-minute load average when the workload finished (other jobs on the machine add noise). */
  load1: number;
}

export interface ModelBenchResult {
  mode: "full" | "quick" | "tiny";
  threads: number;
  torchVersion: string | null;
  /** BLAS libraries the PyTorch process loaded. */
  torchBlas: string[];
  torchNote?: string;
  rounds: number;
  reps: number;
  /** GFLOP/s of the best n×n GEMM through our API just before the run, the "peak" of % peak (bf16: an autocast linear). */
  peakGflops: { fp32: number; bf16: number; method: string };
  /** The machine (CPU model and flags, OpenBLAS core type, libtorch) and the kernel choices our side ran with. */
  machine: MachineId;
  kernels: { choices: KernelChoices; source: string; overridden: Record<string, string>; rates: Record<string, Rates> | null };
  /** Whether our side's malloc keeps freed tensor memory for reuse (native/src/core/heap.cc) or runs glibc's defaults; absent in results saved before it existed. */
  heapReuse?: boolean;
  loadAverage: { start: number[]; end: number[] };
  conventions: string[];
  workloads: ModelBenchRow[];
}

/** The targets (issue 15): every ViT-S/B row, fp32 and bf16, inference and pre-training, ≥ 1.5× PyTorch; pre-training memory ≤ PyTorch's. */
export function targetOf(w: Workload): ModelBenchRow["target"] {
  if (w.size === "tiny") return null;
  if (w.kind === "inference") return { speedRatio: 1.5 };
  return { speedRatio: 1.5, memoryRatio: 1 };
}

export function selectWorkloads(o: Pick<ModelBenchOptions, "quick" | "tiny" | "only">): Workload[] {
  const sizes: ModelSize[] = o.tiny ? ["tiny"] : o.quick ? ["s"] : ["s", "b"];
  let list = workloadList(sizes);
  if (o.only) {
    const pats = o.only.split(",").map((p) => new RegExp(p.trim(), "i"));
    list = list.filter((w) => pats.some((p) => p.test(w.id)));
  }
  return list;
}

function measurePeak(n: number, reps: number): { fp32: number; bf16: number } {
  const out = { fp32: 0, bf16: 0 };
  for (const [key, dtype] of [["fp32", "float32"], ["bf16", "bfloat16"]] as [BenchDtype, DType][]) {
    const a = randn([n, n]).to(dtype);
    const b = randn([n, n]).to(dtype);
    let best = Infinity;
    for (let i = 0; i <= reps; i++) {
      const t = nowSeconds();
      // bf16: the path the models' linears take under autocast (F.linear; see native/src/ops_bf16.cc)
      const c = dtype === "bfloat16" ? autocast(() => F.linear(a, b)) : a.mm(b);
      const dt = nowSeconds() - t;
      c.dispose();
      if (i > 0) best = Math.min(best, dt); // i = 0 warms up
    }
    a.dispose();
    b.dispose();
    out[key] = (2 * n ** 3) / best / 1e9;
  }
  return out;
}

interface WorkloadAnswer {
  seconds: number[];
  memory: MemorySample;
  model: { params?: number; shim?: string };
}

/** Per-side accumulation over rounds. */
class Side {
  seconds: number[] = [];
  memory: MemorySample | null = null;
  info: WorkloadAnswer["model"] = {};
  error?: string;

  add(a: WorkloadAnswer): void {
    this.seconds.push(...a.seconds);
    this.info = a.model;
    // Keep the largest peak over the rounds; base is fixed per workload.
    if (!this.memory || a.memory.peak > this.memory.peak) this.memory = a.memory;
  }

  result(w: Workload, gflopPerClip: number, peak: number): SideResult | null {
    if (this.error || this.seconds.length === 0 || !this.memory) return null;
    const med = median(this.seconds);
    const clipsPerSecond = w.batch / med;
    const gflops = gflopPerClip * clipsPerSecond;
    const m = this.memory;
    return {
      seconds: this.seconds,
      medianSeconds: med,
      clipsPerSecond,
      msPerClip: (1000 * med) / w.batch,
      gflops,
      pctPeak: (100 * gflops) / peak,
      memory: { workloadBytes: m.peakExact ? m.peak - m.base : m.maxrss - m.base, peakBytes: m.peakExact ? m.peak : m.maxrss, baseBytes: m.base, exact: m.peakExact },
      ...(this.info.shim ? { shim: this.info.shim } : {}),
    };
  }
}

export async function startOurs(threads: number): Promise<JsonLineChild> {
  const env = { ...process.env, VIDEOMAE_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  const child = new JsonLineChild("our model worker", process.execPath, ["--expose-gc", ...WORKER.execArgv, WORKER.file], env);
  await child.request({ op: "hello", threads });
  return child;
}

interface RunConfig {
  rounds: number;
  reps: number;
  warmup?: number;
  threads: number;
  withTorch: boolean;
  torchBlas: TorchBlas;
  peak: { fp32: number; bf16: number };
}

async function runOne(w: Workload, o: RunConfig, log: (s: string) => void): Promise<ModelBenchRow> {
  const work = workPerClip(w);
  const ours = new Side();
  const theirs = new Side();
  const sides: [Side, { request<T>(r: object): Promise<T>; close(): Promise<void> } | null][] = [[ours, null], [theirs, null]];
  try {
    try {
      sides[0]![1] = await startOurs(o.threads);
    } catch (e) {
      ours.error = (e as Error).message;
    }
    if (o.withTorch) {
      const { ref, reason } = await PyTorchReference.start(o.threads, { blas: o.torchBlas });
      if (ref) sides[1]![1] = ref;
      else theirs.error = reason ?? "PyTorch reference did not start";
    }
    for (let r = 0; r < o.rounds; r++) {
      for (const [side, proc] of sides) {
        if (!proc || side.error) continue;
        try {
          const warmup = r > 0 ? 0 : o.warmup ?? (w.kind === "pretrain" ? 3 : 1);
          side.add(await proc.request<WorkloadAnswer>(workloadRequest(w, o.reps, warmup)));
        } catch (e) {
          side.error = (e as Error).message;
          log(`${w.id}: ${side === ours ? "ours" : "PyTorch"} failed: ${side.error}`);
        }
      }
    }
  } finally {
    await Promise.all(sides.map(([, p]) => p?.close()));
  }
  const peak = o.peak[w.dtype];
  const gflopPerClip = work.flop / 1e9;
  const a = ours.result(w, gflopPerClip, peak);
  const b = o.withTorch ? theirs.result(w, gflopPerClip, peak) : null;
  const speedRatio = a && b ? a.clipsPerSecond / b.clipsPerSecond : null;
  const memoryRatio = a && b && b.memory.workloadBytes > 0 ? a.memory.workloadBytes / b.memory.workloadBytes : null;
  const target = targetOf(w);
  const meetsTarget =
    target && speedRatio !== null ? speedRatio >= target.speedRatio && (target.memoryRatio === undefined || (memoryRatio ?? Infinity) <= target.memoryRatio) : null;
  const row: ModelBenchRow = {
    ...w,
    model: modelName(w),
    params: ours.info.params ?? theirs.info.params ?? null,
    encoderTokens: work.seqLen,
    forwardGmacsPerClip: work.forwardMacs / 1e9,
    gflopPerClip,
    ours: a,
    torch: b,
    ...(ours.error ? { oursError: ours.error } : {}),
    ...(o.withTorch && theirs.error ? { torchError: theirs.error } : {}),
    speedRatio,
    memoryRatio,
    target,
    meetsTarget,
    load1: loadavg()[0]!,
  };
  const ms = (s: SideResult | null) => (s ? `${s.msPerClip.toFixed(0)} ms/clip` : "failed");
  log(`${w.id}: ours ${ms(a)}, PyTorch ${o.withTorch ? ms(b) : "—"}${speedRatio ? ` → ${speedRatio.toFixed(2)}×` : ""} (load ${row.load1.toFixed(2)})`);
  return row;
}

export async function runModelBench(opts: ModelBenchOptions = {}): Promise<ModelBenchResult> {
  const log = opts.log ?? (() => {});
  const mode = opts.tiny ? "tiny" : opts.quick ? "quick" : "full";
  const rounds = opts.rounds ?? (mode === "full" ? 4 : 1);
  const reps = opts.reps ?? (mode === "full" ? 2 : 1);
  const threads = opts.threads ?? getNumThreads();
  let withTorch = opts.withTorch !== false;
  let torchNote: string | undefined = withTorch ? undefined : "PyTorch baseline not run: disabled (--no-torch)";
  let torchVersion: string | null = null;
  let torchBlasLibs: string[] = [];
  const torchBlas = opts.torchBlas ?? "ours";
  if (withTorch) {
    // One short-lived server just for the version (and the reason it cannot run).
    const { ref, reason } = await PyTorchReference.start(threads, { blas: torchBlas });
    if (ref) {
      torchVersion = ref.version;
      torchBlasLibs = ref.blas;
      await ref.close();
    } else {
      withTorch = false;
      torchNote = `PyTorch baseline not run: ${reason ?? torchUnavailableReason()}`;
    }
  }
  const list = selectWorkloads(opts);
  if (list.length === 0) throw new Error(`--only ${opts.only}: no workload matches (ids look like "vit-s infer fp32", "vit-b pretrain-dual bf16")`);
  // Our side runs with the machine's tuned kernel choices (measured now if not cached; the workers read the cache).
  const tuned = ensureKernelChoices({ log });
  const machine = machineId();
  const kernels = { choices: tuned.choices, source: tuned.source, overridden: tuned.overridden as Record<string, string>, rates: tuned.record?.rates ?? null };
  log(`CPU: ${machine.cpuModel} [${machine.flags.join(" ")}], OpenBLAS core ${machine.openblasCoretype ?? "auto"}, libtorch ${machine.torchVersion}`);
  log(`kernels (${tuned.source}): ${describeChoices(tuned.choices)}`);
  const start = loadavg();
  const n = mode === "tiny" ? 256 : 2048;
  const p = measurePeak(n, mode === "full" ? 5 : 2);
  const peakGflops = { ...p, method: `best of ${mode === "full" ? 5 : 2} ${n}³ GEMMs through our API at start (${threads} threads)` };
  log(`peak GEMM: fp32 ${p.fp32.toFixed(0)} GFLOP/s, bf16 ${p.bf16.toFixed(0)} GFLOP/s; load average ${start.map((x) => x.toFixed(2)).join(" ")}`);
  const rows: ModelBenchRow[] = [];
  const result = (): ModelBenchResult => ({
    mode,
    threads,
    torchVersion,
    torchBlas: torchBlasLibs,
    ...(torchNote ? { torchNote } : {}),
    rounds,
    reps,
    peakGflops,
    machine,
    kernels,
    heapReuse: native.buildInfo().heapReuse,
    loadAverage: { start, end: loadavg() },
    conventions: [
      "speed: median seconds per iteration over all timed reps (rounds interleave ours and PyTorch); clips/s = batch / median",
      "GFLOP/s: 2 × forward MACs per clip (modelReport: matmuls + attention; no norms/softmax/GELU) × clips/s; a pre-training iteration counts 3 × forward",
      "memory: peak RSS over the timed reps (VmHWM after resetting it via /proc/self/clear_refs) − RSS before the workload was built, each side in a fresh process",
      "pre-training iteration: forward + loss + backward + AdamW(betas 0.9/0.95, wd 0.05) step + zero grad; masks fixed per workload; no grad-norm/clipping",
      "bf16: CPU autocast on both sides, float32 master weights",
    ],
    workloads: [...rows],
  });
  for (const w of list) {
    rows.push(await runOne(w, { rounds, reps, threads, withTorch, torchBlas, peak: p, ...(opts.warmup !== undefined ? { warmup: opts.warmup } : {}) }, log));
    opts.onProgress?.(result());
  }
  return result();
}
