/**
 * Resident-memory measurement from Linux /proc, the same method as tools/reference/bench_server.py
 * so both sides of the model benchmark are measured alike:
 *
 *   resetPeakRss()  writes "5" to /proc/self/clear_refs: the kernel resets the process's RSS
 *                   high-water mark (VmHWM) to the current RSS
 *   rssBytes("VmHWM") afterwards is the exact peak RSS since the reset — no sampling thread, and
 *                   it sees peaks inside one long native call (a matmul, a backward pass)
 *
 * Off Linux (or if clear_refs is not writable) the reset reports false and peaks read 0.
 */
import { readFileSync, writeFileSync } from "node:fs";

export type RssField = "VmRSS" | "VmHWM";

/** VmRSS (current) or VmHWM (high-water mark) of this process in bytes; 0 when unavailable. */
export function rssBytes(field: RssField = "VmRSS"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resets the kernel's peak-RSS counter to the current RSS; false when not supported. */
export function resetPeakRss(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

/** What both benchmark servers report per request (bytes). */
export interface MemorySample {
  /** RSS just before the workload was built (the runtime's own footprint). */
  base: number;
  /** RSS just before the timed repetitions. */
  before: number;
  /** Peak RSS over the timed repetitions (0 when `peakExact` is false). */
  peak: number;
  peakExact: boolean;
  /** getrusage max RSS of the whole process lifetime. */
  maxrss: number;
  /** On a GPU: peak bytes allocated to tensors on it during the timed repetitions. */
  gpuPeak?: number;
}
