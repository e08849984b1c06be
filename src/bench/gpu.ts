/**
 * The GPU benchmark (`videomae bench --device cuda`): ViT-B inference and one ViT-B dual-masking
 * pre-training iteration at a realistic batch, bf16 autocast, ours against the official PyTorch
 * modules (tools/reference/bench_server.py) run eagerly and through torch.compile, each in a
 * process of its own, one after the other on the same GPU. Reports clips/s, the peak GPU memory
 * held by tensors (each side's caching-allocator count) and ours/PyTorch ratios.
 *
 * The PyTorch side runs the Python named by VIDEOMAE_PYTHON (scripts/gpu-check.sh points it at
 * the GPU machine's pip torch); without torch there, only our rows are measured.
 */
import { availableParallelism } from "node:os";
import type { Device } from "../torch/index.ts";
import type { JsonLineChild } from "./child.ts";
import type { MemorySample } from "./memory.ts";
import { startOurs } from "./models.ts";
import { PyTorchReference } from "./pytorch.ts";
import { median } from "./stats.ts";
import { makeWorkload, workloadRequest, type Workload } from "./workloads.ts";

export interface GpuBenchOptions {
  device: Device;
  /** Clips per step (default 32). */
  batch?: number;
  /** Timed repetitions per side (default 5) after `warmup` untimed ones (default 2). */
  reps?: number;
  warmup?: number;
  /** Also time torch.compile'd PyTorch (default true; compiling ViT-B takes a minute or two). */
  compile?: boolean;
  withTorch?: boolean;
  log?: (s: string) => void;
}

export interface GpuBenchSide {
  side: "ours" | "pytorch eager" | "pytorch compiled";
  clipsPerSecond: number;
  medianSeconds: number;
  /** Peak bytes held by tensors on the GPU during the timed steps. */
  gpuPeakBytes: number | null;
  error?: string;
}

export interface GpuBenchRow {
  workload: string;
  batch: number;
  sides: GpuBenchSide[];
  /** ours clips/s ÷ PyTorch eager's / compiled's (> 1: we are faster). */
  vsEager: number | null;
  vsCompiled: number | null;
}

export interface GpuBenchResult {
  device: Device;
  torch: string | null;
  rows: GpuBenchRow[];
}

interface WorkloadReply {
  seconds: number[];
  memory: MemorySample;
  error?: string;
}

async function measure(child: { request<T>(r: object): Promise<T> }, req: object, batch: number, side: GpuBenchSide["side"]): Promise<GpuBenchSide> {
  try {
    const r = await child.request<WorkloadReply>(req);
    if (r.error) throw new Error(r.error);
    const s = median(r.seconds);
    return { side, clipsPerSecond: batch / s, medianSeconds: s, gpuPeakBytes: r.memory.gpuPeak ?? null };
  } catch (e) {
    return { side, clipsPerSecond: 0, medianSeconds: 0, gpuPeakBytes: null, error: (e as Error).message.split("\n")[0] };
  }
}

/** Runs the GPU workloads; each side and workload gets a fresh process (clean GPU memory). */
export async function runGpuBench(o: GpuBenchOptions): Promise<GpuBenchResult> {
  const batch = o.batch ?? 32;
  const reps = o.reps ?? 5;
  const warmup = o.warmup ?? 2;
  const log = o.log ?? (() => {});
  // The host threads only feed the GPU; both sides get the same number.
  const threads = Math.min(8, availableParallelism());
  const workloads: Workload[] = [
    { ...makeWorkload("inference", "b", "bf16"), batch, device: o.device },
    { ...makeWorkload("pretrain", "b", "bf16", "run_cell"), batch, device: o.device },
  ];
  const rows: GpuBenchRow[] = [];
  let torchVersion: string | null = null;
  for (const w of workloads) {
    const req = workloadRequest(w, reps, warmup);
    const sides: GpuBenchSide[] = [];
    log(`${w.id} × ${batch} on ${o.device}: ours`);
    const worker: JsonLineChild = await startOurs(threads);
    try {
      sides.push(await measure(worker, req, batch, "ours"));
    } finally {
      await worker.close();
    }
    if (o.withTorch !== false) {
      for (const compiled of o.compile === false ? [false] : [false, true]) {
        const side = compiled ? "pytorch compiled" : "pytorch eager";
        log(`${w.id} × ${batch} on ${o.device}: ${side}`);
        const { ref, reason } = await PyTorchReference.start(threads, { blas: "system" });
        if (!ref) {
          sides.push({ side, clipsPerSecond: 0, medianSeconds: 0, gpuPeakBytes: null, error: reason ?? "PyTorch unavailable" });
          continue;
        }
        torchVersion = ref.version;
        try {
          sides.push(await measure(ref, { ...req, compile: compiled }, batch, side));
        } finally {
          await ref.close();
        }
      }
    }
    const rate = (name: GpuBenchSide["side"]) => sides.find((s) => s.side === name && !s.error)?.clipsPerSecond ?? null;
    const ours = rate("ours");
    const eager = rate("pytorch eager");
    const compiled = rate("pytorch compiled");
    rows.push({
      workload: w.id,
      batch,
      sides,
      vsEager: ours && eager ? ours / eager : null,
      vsCompiled: ours && compiled ? ours / compiled : null,
    });
  }
  return { device: o.device, torch: torchVersion, rows };
}

export function formatGpuBench(r: GpuBenchResult): string {
  const lines = [`GPU benchmark on ${r.device}${r.torch ? `, PyTorch ${r.torch}` : ""}`];
  lines.push("workload                    side               clips/s   ms/step   GPU peak MiB");
  for (const row of r.rows) {
    for (const s of row.sides) {
      const mem = s.gpuPeakBytes === null ? "—" : (s.gpuPeakBytes / 2 ** 20).toFixed(0);
      const body = s.error
        ? `error: ${s.error}`
        : `${s.clipsPerSecond.toFixed(1).padStart(8)}  ${(s.medianSeconds * 1000).toFixed(1).padStart(8)}  ${mem.padStart(13)}`;
      lines.push(`${`${row.workload} ×${row.batch}`.padEnd(27)} ${s.side.padEnd(17)} ${body}`);
    }
    const ratio = (x: number | null) => (x === null ? "—" : `${x.toFixed(2)}×`);
    lines.push(`${"".padEnd(27)} ours/eager ${ratio(row.vsEager)}, ours/compiled ${ratio(row.vsCompiled)}`);
  }
  return lines.join("\n");
}
