/**
 * Metrics of a run as JSON lines (`metrics.jsonl`), one object per event, appended and flushed
 * synchronously so that a crash loses at most the line being written.
 *   {"kind":"train","step":120,"epoch":1,"loss":0.41,"lr":0.0012,"time":"2026-…"}
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

import { outputError } from "../util/output.ts";

export type MetricRecord = { kind: string; step: number } & Record<string, number | string | null>;

export class MetricsLog {
  constructor(readonly path: string) {}

  append(rec: MetricRecord): void {
    try {
      appendFileSync(this.path, JSON.stringify({ ...rec, time: new Date().toISOString() }) + "\n");
    } catch (err) {
      throw outputError(err, this.path); // ENOSPC & co. naming metrics.jsonl
    }
  }

  /** Every record (a torn last line from a crash is skipped). */
  read(): MetricRecord[] {
    if (!existsSync(this.path)) return [];
    const out: MetricRecord[] = [];
    for (const line of readFileSync(this.path, "utf8").split("\n")) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as MetricRecord);
      } catch {
        // an incomplete line at the end of a crashed run
      }
    }
    return out;
  }

  /** Drops records after `step` (used on resume, so the log matches the restored state). */
  truncateAfter(step: number): void {
    const keep = this.read().filter((r) => r.step <= step);
    const text = keep.map((r) => JSON.stringify(r)).join("\n");
    // The log is small and this runs once per resume: rewrite it whole, atomically.
    writeFileSync(this.path + ".tmp", text ? text + "\n" : "");
    renameSync(this.path + ".tmp", this.path);
  }
}
