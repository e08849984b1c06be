/**
 * Data-parallel training over c10d/gloo on loopback: two ranks end where one process trained on
 * the concatenated batch ends; a killed or hung rank makes the other stop with a clear error
 * within the timeout, leaving the last checkpoint loadable; the launcher stops a job whose rank
 * fails. Each rank runs with one torch thread.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { generateSynthDataset } from "../../src/data/synth/dataset.ts";
import { freePort } from "../../src/distributed/launch.ts";
import { distEnvFrom } from "../../src/distributed/env.ts";
import { DataParallel } from "../../src/distributed/data_parallel.ts";
import { ncclAvailable } from "../../src/torch/index.ts";
import { loadCheckpoint, MetricsLog } from "../../src/train/index.ts";

const dir = mkdtempSync(join(tmpdir(), "vm-dist-"));
const data = join(dir, "synth");
const bin = join(import.meta.dirname, "../../bin/videomae.mjs");
// A tiny pre-training model; drop path 0 so that the result does not depend on which rank draws.
const tinyArgs = (out: string, batch: number, extra: string[] = []) => [
  "pretrain", "--lists", join(data, "pretrain.csv"), "--model", "pretrain_videomae_small_patch16_224", "--img-size", "32", "--num-frames", "4",
  "--patch-size", "8", "--embed-dim", "32", "--depth", "2", "--num-heads", "2", "--decoder-embed-dim", "16", "--decoder-depth", "1",
  "--decoder-num-heads", "2", "--sampling-rate", "2", "--workers", "0", "--cache-mib", "32", "--lr", "0.01", "--batch-size", String(batch),
  "--out", out, ...extra,
];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}, onStart?: (pid: number) => void): Promise<Run> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, OMP_NUM_THREADS: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  onStart?.(child.pid!);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 })));
}

async function params(path: string): Promise<Map<string, Float32Array>> {
  const c = await loadCheckpoint(path);
  const out = new Map<string, Float32Array>();
  for (const [k, t] of c.tensors) if (k.startsWith("model.")) out.set(k, t.data() as Float32Array);
  return out;
}

/** Resolves when cond() holds; rejects after `ms`, or as soon as one of `runs` ends (with its stderr). */
const waitFor = (cond: () => boolean, what: string, runs: Promise<Run>[], ms = 90_000) =>
  new Promise<void>((resolve, reject) => {
    const t0 = Date.now();
    let ended: Run | null = null;
    for (const r of runs) void r.then((x) => (ended ??= x));
    const t = setInterval(() => {
      if (ended) {
        clearInterval(t);
        reject(new Error(`a rank ended (code ${ended.code}) before ${what}:\n${ended.stderr}`));
      } else if (cond()) {
        clearInterval(t);
        resolve();
      } else if (Date.now() - t0 > ms) {
        clearInterval(t);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 25);
  });

describe("data-parallel training (gloo, loopback)", () => {
  before(async () => {
    await generateSynthDataset({ out: data, classes: 2, videosPerClass: 8, size: 32, frames: 16, seed: 3 });
  });

  test("the environment is read the way torchrun sets it", () => {
    assert.equal(distEnvFrom({}), null);
    assert.equal(distEnvFrom({ WORLD_SIZE: "1", RANK: "0" }), null);
    assert.deepEqual(distEnvFrom({ WORLD_SIZE: "4", RANK: "3", LOCAL_RANK: "1", MASTER_ADDR: "10.0.0.1", MASTER_PORT: "29400" }), {
      rank: 3, worldSize: 4, localRank: 1, masterAddr: "10.0.0.1", masterPort: 29400, timeoutMs: 300_000, backend: "auto",
    });
    // `videomae launch --backend` passes the collective backend on.
    assert.equal(distEnvFrom({ WORLD_SIZE: "2", RANK: "0", VIDEOMAE_DIST_BACKEND: "nccl" })!.backend, "nccl");
    assert.throws(() => distEnvFrom({ WORLD_SIZE: "2", RANK: "0", VIDEOMAE_DIST_BACKEND: "mpi" }), /VIDEOMAE_DIST_BACKEND=mpi is not one of auto, nccl, gloo/);
    // Asking for NCCL from a build without it fails before any rendezvous, saying what to build.
    if (!ncclAvailable()) {
      assert.throws(() => DataParallel.fromEnv({ WORLD_SIZE: "2", RANK: "0", MASTER_PORT: "29999", VIDEOMAE_DIST_BACKEND: "nccl" }), /has no NCCL/);
    }
    assert.throws(() => distEnvFrom({ WORLD_SIZE: "2" }), /RANK is not set/);
    assert.throws(() => distEnvFrom({ WORLD_SIZE: "2", RANK: "2" }), /RANK=2 is not below WORLD_SIZE=2/);
    assert.throws(() => distEnvFrom({ WORLD_SIZE: "2", RANK: "0", MASTER_PORT: "http" }), /MASTER_PORT=http/);
  });

  // V1 (tube masking only): every clip has the same number of loss tokens, so the mean of the two
  // ranks' mean losses is exactly the mean over the concatenated batch. (With dual masking the
  // count of encoder-masked ∩ decoder-kept tokens varies per clip; like the official DDP runs,
  // each rank then averages over its own tokens, which weights clips slightly differently.)
  test("2 ranks × batch 2 end with the parameters of 1 process × batch 4 (same seed, 3 updates)", async () => {
    const steps = ["--epochs", "2", "--max-steps", "3", "--decoder-mask", "none"];
    const single = join(dir, "single");
    const one = await run(tinyArgs(single, 4, steps));
    assert.equal(one.code, 0, one.stderr);
    const dist = join(dir, "dist");
    const two = await run(["launch", "--nproc-per-node", "2", "--threads", "1", "--", ...tinyArgs(dist, 2, steps)]);
    assert.equal(two.code, 0, two.stderr);
    assert.match(two.stderr, /\[rank 0\] data-parallel: 2 ranks/);
    assert.match(two.stderr, /global batch of 4/);

    const a = await params(join(single, "checkpoint-last.safetensors"));
    const b = await params(join(dist, "checkpoint-last.safetensors"));
    assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
    let worst = 0;
    for (const [k, x] of a) {
      const y = b.get(k)!;
      assert.equal(y.length, x.length, k);
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / (1e-3 + Math.abs(x[i]!)));
    }
    assert.ok(worst < 1e-4, `largest relative parameter difference ${worst}`);

    // The logged (rank-averaged) losses match the single process's.
    const la = new MetricsLog(join(single, "metrics.jsonl")).read().filter((r) => r.kind === "train");
    const lb = new MetricsLog(join(dist, "metrics.jsonl")).read().filter((r) => r.kind === "train");
    assert.equal(lb.length, 3);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(Number(la[i]!.loss) - Number(lb[i]!.loss)) < 1e-5 * Math.abs(Number(la[i]!.loss)), `step ${i + 1}: ${la[i]!.loss} vs ${lb[i]!.loss}`);
    assert.ok(lb.every((r) => typeof r.allReduceMs === "number"));
    // The updates were real (warm-up starts at lr 0, so the first one does not move anything).
    assert.ok(Number(lb[2]!.lr) > 0 && Number(lb[2]!.gradNorm) > 0);
  });

  test("fine-tuning runs data-parallel too: sharded training and validation, counts summed over ranks", async () => {
    const out = join(dir, "ft");
    const r = await run([
      "launch", "--nproc-per-node", "2", "--threads", "1", "--", "finetune", "--train", join(data, "train.csv"), "--val", join(data, "train.csv"),
      "--model", "vit_small_patch16_224", "--img-size", "32", "--num-frames", "4", "--patch-size", "8", "--embed-dim", "32", "--depth", "2",
      "--num-heads", "2", "--sampling-rate", "2", "--workers", "0", "--cache-mib", "32", "--batch-size", "3", "--num-sample", "1", "--epochs", "1",
      "--warmup-epochs", "0", "--rand-augment", "false", "--erasing", "0", "--json", "--out", out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const evals = new MetricsLog(join(out, "metrics.jsonl")).read().filter((x) => x.kind === "eval");
    assert.equal(evals.length, 1);
    // 12 validation clips, 6 scored by each rank, summed.
    assert.equal(evals[0]!.clips, 12);
    assert.ok(Number(evals[0]!.top1) >= 0 && Number(evals[0]!.top1) <= 1);
    assert.equal(new MetricsLog(join(out, "metrics.jsonl")).read().filter((x) => x.kind === "train").length, 2);
    const summary = JSON.parse(r.stdout.split("\n").find((l) => l.startsWith("[rank 0] {"))!.slice("[rank 0] ".length));
    assert.equal(summary.steps, 2);
  });

  for (const victim of [1, 0]) {
    test(`killing rank ${victim} mid-run makes the other exit non-zero within the timeout, naming it; the checkpoint stays loadable`, async () => {
      const out = join(dir, `kill-${victim}`);
      const port = await freePort();
      const pids: number[] = [];
      // 12 clips / (2 ranks × batch 4) = 1 update per epoch: a checkpoint after every update.
      const args = tinyArgs(out, 4, ["--epochs", "1000"]);
      const env = (rank: number) => ({ WORLD_SIZE: "2", RANK: String(rank), MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port), VIDEOMAE_DIST_TIMEOUT: "30" });
      const ranks = [0, 1].map((r) => run(args, env(r), (pid) => (pids[r] = pid)));
      const ckpt = join(out, "checkpoint-last.safetensors");
      await waitFor(() => existsSync(ckpt), "the first checkpoint", ranks);
      process.kill(pids[victim]!, "SIGKILL");
      const t0 = performance.now();
      const [r0, r1] = await Promise.all(ranks);
      const survivor = victim === 0 ? r1! : r0!;
      const waited = performance.now() - t0;
      assert.notEqual(survivor.code, 0);
      assert.ok(waited < 30_000, `survivor took ${waited} ms`);
      assert.match(survivor.stderr, new RegExp(`rank ${victim} stopped responding`), survivor.stderr);
      const c = await loadCheckpoint(ckpt);
      const step = Number(c.state.step);
      assert.ok(step >= 1);
      if (victim === 1) {
        // Both ranks start again from that checkpoint and go on.
        const again = await run(["launch", "--nproc-per-node", "2", "--threads", "1", "--", ...tinyArgs(out, 4, ["--epochs", "1000", "--resume", "--max-steps", String(step + 1)])]);
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stderr, new RegExp(`\\[rank 0\\] resumed from .* at update ${step}`));
        assert.equal(Number((await loadCheckpoint(ckpt)).state.step), step + 1);
      }
    });
  }

  test("a hung rank (SIGSTOP) makes the other stop after the collective timeout, naming it", async () => {
    const out = join(dir, "hang");
    const port = await freePort();
    const pids: number[] = [];
    const args = tinyArgs(out, 4, ["--epochs", "1000"]);
    const env = (rank: number) => ({ WORLD_SIZE: "2", RANK: String(rank), MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port), VIDEOMAE_DIST_TIMEOUT: "6" });
    const ranks = [0, 1].map((r) => run(args, env(r), (pid) => (pids[r] = pid)));
    await waitFor(() => existsSync(join(out, "checkpoint-last.safetensors")), "the first checkpoint", ranks);
    process.kill(pids[1]!, "SIGSTOP");
    const t0 = performance.now();
    const r0 = await ranks[0]!;
    const waited = performance.now() - t0;
    process.kill(pids[1]!, "SIGKILL");
    await ranks[1];
    assert.notEqual(r0.code, 0);
    assert.ok(waited < 20_000, `rank 0 took ${waited} ms`);
    assert.match(r0.stderr, /rank 1 stopped responding/, r0.stderr);
  });

  test("the launcher prefixes output by rank and stops every rank when one fails", async () => {
    const script = "console.log('hello from', process.env.RANK, process.env.WORLD_SIZE, process.env.LOCAL_RANK); if (process.env.RANK === '1') setTimeout(() => process.exit(3), 300); else setInterval(() => {}, 1000);";
    const r = await run(["launch", "--nproc-per-node", "2", "--grace", "2", "--json", "--", process.execPath, "-e", script]);
    assert.equal(r.code, 3);
    assert.match(r.stdout, /\[rank 0\] hello from 0 2 0/);
    assert.match(r.stdout, /\[rank 1\] hello from 1 2 1/);
    assert.match(r.stderr, /rank 1 exited with code 3: stopping the other ranks/);
    const summary = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(summary.failedRank, 1);
    assert.equal(summary.ranks[0].signal, "SIGTERM");
    assert.ok(r.ms < 15_000);
  });
});
