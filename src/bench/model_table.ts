/** The printed form of a model benchmark result (the JSON holds every number). */
import { describeChoices } from "../torch/tune.ts";
import type { ModelBenchResult, ModelBenchRow, SideResult } from "./models.ts";
import { table } from "./stats.ts";

const MiB = 1024 * 1024;

function perf(s: SideResult | null): string {
  return s ? `${s.gflops.toFixed(0)} (${s.pctPeak.toFixed(0)}%)` : "—";
}

function mem(s: SideResult | null): string {
  return s ? `${(s.memory.workloadBytes / MiB).toFixed(0)}${s.memory.exact ? "" : "*"}` : "—";
}

function ratio(x: number | null): string {
  return x === null ? "—" : `${x.toFixed(2)}×`;
}

function target(r: ModelBenchRow): string {
  if (!r.target) return "";
  const t = `≥${r.target.speedRatio}${r.target.memoryRatio !== undefined ? ", mem ≤1" : ""}`;
  return r.meetsTarget === null ? t : `${t} ${r.meetsTarget ? "met" : "MISSED"}`;
}

export function formatModelBench(res: ModelBenchResult): string {
  const lines: string[] = [];
  const load = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(" ");
  lines.push(
    `models (${res.mode}${res.mode === "tiny" ? ": tiny test configs, numbers meaningless" : ""}): ${res.threads} threads, ` +
      `PyTorch ${res.torchVersion ?? "—"}${res.torchNote ? ` (${res.torchNote})` : ""}` +
      `${res.torchBlas?.length ? ` with ${res.torchBlas.find((l) => /openblas/.test(l)) ?? res.torchBlas[0]}` : ""}; ${res.rounds} rounds × ${res.reps} reps per side; ` +
      `load average ${load(res.loadAverage.start)} → ${load(res.loadAverage.end)}`,
    `peak GEMM GFLOP/s (${res.peakGflops.method}): fp32 ${res.peakGflops.fp32.toFixed(0)}, bf16 ${res.peakGflops.bf16.toFixed(0)}`,
    ...(res.machine
      ? [
          `CPU: ${res.machine.cpuModel} [${res.machine.flags.join(" ")}], OpenBLAS core ${res.machine.openblasCoretype ?? "auto"}, libtorch ${res.machine.torchVersion}`,
          `kernels (${res.kernels.source}${Object.keys(res.kernels.overridden).length ? `; fixed by ${Object.values(res.kernels.overridden).join(", ")}` : ""}): ${describeChoices(res.kernels.choices)}` +
            (res.heapReuse === undefined ? "" : `; heap: ${res.heapReuse ? "freed tensor memory reused" : "glibc defaults"}`),
        ]
      : []),
    "",
  );
  lines.push(
    table(
      ["workload", "batch", "ours ms/clip", "PyTorch ms/clip", "speed ours/PT", "target", "ours GFLOP/s (%pk)", "PT GFLOP/s (%pk)", "ours MiB", "PT MiB", "mem ours/PT", "load"],
      res.workloads.map((r) => [
        r.id,
        String(r.batch),
        r.ours ? r.ours.msPerClip.toFixed(0) : "failed",
        r.torch ? r.torch.msPerClip.toFixed(0) : r.torchError ? "failed" : "—",
        ratio(r.speedRatio),
        target(r),
        perf(r.ours),
        perf(r.torch),
        mem(r.ours),
        mem(r.torch),
        ratio(r.memoryRatio),
        r.load1.toFixed(1),
      ]),
    ),
  );
  // Which sides needed a compatibility shim (ours normalises bf16 activations in float32 by itself).
  const sides = (pick: (r: (typeof res.workloads)[number]) => string | undefined) => new Set(res.workloads.map(pick).filter((s): s is string => !!s));
  const oursShims = sides((r) => r.ours?.shim);
  const torchShims = sides((r) => r.torch?.shim);
  for (const s of new Set([...oursShims, ...torchShims])) {
    const who = oursShims.has(s) && torchShims.has(s) ? "both sides" : oursShims.has(s) ? "our side" : "the PyTorch side";
    lines.push(`\nbf16 rows: ${who} ran with a shim: ${s}`);
  }
  for (const r of res.workloads) {
    if (r.oursError) lines.push(`\n${r.id}: ours failed: ${r.oursError}`);
    if (r.torchError) lines.push(`\n${r.id}: PyTorch failed: ${r.torchError}`);
  }
  lines.push("", "MiB: workload memory = peak RSS over the timed reps − RSS before the model was built (* = lifetime max RSS: no exact peak).");
  return lines.join("\n");
}
