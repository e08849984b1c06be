/**
 * The gradient all-reduce overlapped with backward (native/src/distributed.cc Reducer), on 2
 * ranks × 1 thread over gloo: gradients equal those averaged after backward — exactly, since
 * both sum the same two float32 values per element (a + b is commutative) and divide by 2 —
 * with gradient accumulation (only the last micro-batch communicates) and with activation
 * checkpointing (gradients become final during the replay of the blocks). Every bucket is
 * launched during backward, not left to the final wait.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { launch } from "../../src/distributed/launch.ts";
import { distributedAvailable } from "../../src/torch/index.ts";

test("overlapped all-reduce: the same averaged gradients as after backward, every bucket launched during backward", { skip: !distributedAvailable() && "no gloo in this build" }, async () => {
  const lines: string[] = [];
  const errors: string[] = [];
  const r = await launch({
    command: [process.execPath, "--import", import.meta.resolve("tsx"), join(import.meta.dirname, "overlap_worker.ts")],
    nprocPerNode: 2,
    threadsPerProc: 1,
    stdout: (l) => lines.push(l.replace(/^\[rank \d+\] /, "")),
    stderr: (l) => errors.push(l),
  });
  assert.equal(r.exitCode, 0, errors.join("\n"));
  const ranks = lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { rank: number; overlapDiff: number; checkpointDiff: number; checksum: number; buckets: number; launchedEarly: number[] });
  assert.equal(ranks.length, 2);
  for (const x of ranks) {
    assert.equal(x.overlapDiff, 0, `rank ${x.rank}: overlapped gradients differ by ${x.overlapDiff}`);
    assert.equal(x.checkpointDiff, 0, `rank ${x.rank}: overlapped + checkpointed gradients differ by ${x.checkpointDiff}`);
    assert.ok(x.buckets > 2, `only ${x.buckets} buckets`);
    assert.deepEqual(x.launchedEarly, [x.buckets, x.buckets], `buckets launched during backward: ${x.launchedEarly} of ${x.buckets}`);
  }
  // Averaged: both ranks hold the same gradients.
  assert.equal(ranks[0]!.checksum, ranks[1]!.checksum);
});
