/**
 * Our side of the model benchmark as a child process, speaking the protocol of
 * tools/reference/bench_server.py (model_inference, pretrain_step, hello, release, quit), so the
 * orchestrator (src/bench/models.ts) treats both sides alike and each side's memory is measured
 * the same way in a process of its own. Run: node --import tsx src/bench/model_worker.ts
 *
 * The first request of a workload builds it and runs `warmup` untimed reps; later requests with
 * the same parameters reuse it. Memory fields: see src/bench/memory.ts and bench_server.py.
 */
import { createInterface } from "node:readline";
import { getNumThreads, gpuMemory, resolveDevice, setNumThreads } from "../torch/index.ts";
import { ensureKernelChoices } from "../torch/tune.ts";
import { resetPeakRss, rssBytes, type MemorySample } from "./memory.ts";
import { buildOurs, makeWorkload, type BenchDtype, type ModelSize, type OursWorkload, type Workload } from "./workloads.ts";

interface WorkloadRequest {
  op: "model_inference" | "pretrain_step";
  size?: string;
  dtype?: string;
  batch?: number;
  decoder?: string;
  reps?: number;
  warmup?: number;
  /** Ignored here beyond a check: our config comes from the size (the orchestrator derived it from ours). */
  config?: Record<string, unknown>;
  /** "cpu" (default) or a CUDA device. */
  device?: string;
}

let current: { key: string; work: OursWorkload; base: number } | null = null;

function release(): void {
  current?.work.dispose();
  current = null;
  (globalThis as { gc?: () => void }).gc?.();
}

function parseWorkload(req: WorkloadRequest): Workload {
  const size = req.size ?? "s";
  if (size !== "s" && size !== "b" && size !== "tiny") throw new Error(`unknown size '${size}' (use 's', 'b' or 'tiny')`);
  const dtype = req.dtype ?? "fp32";
  if (dtype !== "fp32" && dtype !== "bf16") throw new Error(`unknown dtype '${dtype}' (use 'fp32' or 'bf16')`);
  const kind = req.op === "model_inference" ? "inference" : "pretrain";
  const decoder = req.decoder ?? "run_cell";
  if (decoder !== "run_cell" && decoder !== "none") throw new Error(`unknown decoder mask '${decoder}' (use 'run_cell' or 'none')`);
  const w = makeWorkload(kind, size as ModelSize, dtype as BenchDtype, kind === "pretrain" ? decoder : undefined);
  const batch = req.batch ?? w.batch;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive integer, got ${batch}`);
  return { ...w, batch, device: resolveDevice(req.device ?? "cpu") };
}

function runWorkload(req: WorkloadRequest): object {
  const reps = req.reps ?? 1;
  if (!Number.isInteger(reps) || reps < 1) throw new Error("reps must be >= 1");
  const w = parseWorkload(req);
  const key = JSON.stringify(w);
  if (current?.key !== key) {
    release();
    const base = rssBytes("VmRSS");
    const work = buildOurs(w);
    try {
      for (let i = 0; i < (req.warmup ?? 1); i++) work.step();
    } catch (e) {
      work.dispose();
      throw e;
    }
    current = { key, work, base };
  }
  const work = current.work;
  const device = w.device ?? "cpu";
  const before = rssBytes("VmRSS");
  const exact = resetPeakRss();
  if (device !== "cpu") gpuMemory(device, { resetPeak: true });
  const seconds: number[] = [];
  let value = 0;
  for (let i = 0; i < reps; i++) {
    const t = process.hrtime.bigint();
    value = work.step();
    seconds.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  const memory: MemorySample = {
    base: current.base,
    before,
    peak: exact ? rssBytes("VmHWM") : 0,
    peakExact: exact,
    maxrss: process.resourceUsage().maxRSS * 1024,
    // Peak bytes held by tensors on the GPU during the timed reps (the caching allocator's count).
    ...(device !== "cpu" ? { gpuPeak: gpuMemory(device).peakAllocated } : {}),
  };
  return { seconds, value, memory, model: work.info };
}

function handle(req: unknown): object {
  const op = typeof req === "object" && req !== null ? (req as { op?: unknown }).op : undefined;
  switch (op) {
    case "hello": {
      // The kernel choices the bench's parent process tuned (or read) before starting workers.
      ensureKernelChoices({ cacheOnly: true });
      const threads = Number((req as { threads?: unknown }).threads);
      if (Number.isInteger(threads) && threads > 0) setNumThreads(threads);
      return { torch: "videomae (libtorch addon)", threads: getNumThreads() };
    }
    case "model_inference":
    case "pretrain_step":
      return runWorkload(req as WorkloadRequest);
    case "release":
      release();
      return { ok: true };
    default:
      return { error: `unknown op ${JSON.stringify(op)}` };
  }
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  let res: object;
  try {
    const req = JSON.parse(line) as unknown;
    if (typeof req === "object" && req !== null && (req as { op?: unknown }).op === "quit") break;
    res = handle(req);
  } catch (e) {
    res = { error: `${(e as Error).name}: ${(e as Error).message}` };
  }
  process.stdout.write(JSON.stringify(res) + "\n");
}
release();
rl.close();
