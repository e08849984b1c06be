import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, truncateSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Dropout, Linear, Sequential } from "../../src/nn/index.ts";
import { AdamW, cosineSchedule } from "../../src/optim/index.ts";
import { F, Generator, randn, type Tensor } from "../../src/torch/index.ts";
import { DataError } from "../../src/data/errors.ts";
import { loadCheckpoint, MetricsLog, NonFiniteLossError, trainLoop } from "../../src/train/index.ts";
import type { DataHealth } from "../../src/train/loop.ts";

interface Batch {
  x: Tensor;
  y: Tensor;
}

/** A deterministic batch stream: batch k of epoch e is a function of (e, k) only. */
async function* batches(epoch: number, skip: number, perEpoch: number, failAt?: [number, number]): AsyncGenerator<Batch> {
  for (let k = skip; k < perEpoch; k++) {
    if (failAt && epoch === failAt[0] && k === failAt[1]) throw new DataError(`simulated: too many unreadable files at epoch ${epoch} batch ${k}`);
    const g = new Generator(1000 * epoch + k);
    const x = randn([16, 4], { generator: g });
    yield { x, y: x.sum(1, true).sin() };
  }
}

interface Extra {
  maxSteps?: number;
  nanAt?: number;
  resume?: boolean;
  saveEvery?: number;
  failAt?: [number, number];
  data?: DataHealth;
  log?: (m: string) => void;
}

function setup(runDir: string, extra: Extra = {}) {
  const gen = new Generator(7);
  const model = new Sequential(new Linear(4, 16, { generator: new Generator(1) }), new Dropout(0.1, gen), new Linear(16, 1, { generator: new Generator(2) }));
  const optimizer = new AdamW(model.parameters(), { lr: 0.01, betas: [0.9, 0.95], weightDecay: 0.05 });
  const epochs = 3, iters = 4, accum = 2;
  let calls = 0;
  return trainLoop<Batch>({
    runDir,
    config: { test: true },
    model,
    optimizer,
    epochs,
    itersPerEpoch: iters,
    accumSteps: accum,
    lrSchedule: cosineSchedule({ base: 0.01, final: 1e-4, epochs, itersPerEpoch: iters, warmupEpochs: 1 }),
    clipGrad: 1.0,
    batches: (e, skip) => batches(e, skip, iters * accum, extra.failAt),
    lossOf: (b) => {
      calls++;
      const loss = F.mseLoss(model.forward(b.x), b.y);
      return { loss: extra.nanAt !== undefined && calls >= extra.nanAt ? loss.mul(NaN) : loss, items: 16 };
    },
    evaluate: async () => ({ score: -calls }),
    generator: gen,
    resume: extra.resume,
    maxSteps: extra.maxSteps,
    saveEvery: extra.saveEvery,
    data: extra.data,
    log: extra.log ?? (() => {}),
  });
}

const trainSteps = (dir: string) => new MetricsLog(join(dir, "metrics.jsonl")).read().filter((r) => r.kind === "train").map((r) => r.step);
const losses = (dir: string) => new MetricsLog(join(dir, "metrics.jsonl")).read().filter((r) => r.kind === "train").map((r) => r.loss as number);

describe("training loop", () => {
  test("a stopped and resumed run reproduces the uninterrupted one exactly", async () => {
    const straight = mkdtempSync(join(tmpdir(), "vm-loop-"));
    const r1 = await setup(straight);
    assert.equal(r1.steps, 12);
    assert.equal(r1.stoppedBy, "done");
    assert.ok(existsSync(join(straight, "checkpoint-last.safetensors")));
    assert.ok(existsSync(join(straight, "curves.svg")));
    assert.match(readFileSync(join(straight, "curves.svg"), "utf8"), /<path /);

    const split = mkdtempSync(join(tmpdir(), "vm-loop-"));
    const a = await setup(split, { maxSteps: 6 }); // stops mid-epoch 2
    assert.equal(a.stoppedBy, "maxSteps");
    const b = await setup(split, { resume: true });
    assert.equal(b.steps, 12);
    assert.deepEqual(losses(split), losses(straight));
    const ck = await loadCheckpoint(join(split, "checkpoint-last.safetensors"));
    assert.equal(ck.state.step, 12);
  });

  test("a NaN loss stops with a clear error and keeps the last good checkpoint", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vm-loop-"));
    await assert.rejects(setup(dir, { nanAt: 12 }), (e: unknown) => e instanceof NonFiniteLossError && /loss is NaN at step 5/.test(e.message) && /checkpoint-last/.test(e.message));
    const ck = await loadCheckpoint(join(dir, "checkpoint-last.safetensors"));
    assert.equal(ck.state.step, 4);
  });

  test("--resume falls back to the newest valid checkpoint (last missing or torn) and says why; metrics keep one row per update", async () => {
    const straight = mkdtempSync(join(tmpdir(), "vm-loop-"));
    await setup(straight);
    for (const damage of ["missing", "torn"] as const) {
      const dir = mkdtempSync(join(tmpdir(), "vm-loop-"));
      const a = await setup(dir, { maxSteps: 6, saveEvery: 1 }); // epoch1 + best at update 4, last at 6
      assert.equal(a.steps, 6);
      const last = join(dir, "checkpoint-last.safetensors");
      if (damage === "missing") unlinkSync(last);
      else truncateSync(last, 200);
      const lines: string[] = [];
      const b = await setup(dir, { resume: true, saveEvery: 1, log: (m) => lines.push(m) });
      assert.equal(b.steps, 12);
      const said = lines.find((l) => l.startsWith("resumed from"));
      assert.ok(said, lines.join("\n"));
      assert.match(said, /checkpoint-epoch1\.safetensors at update 4 .*the newest valid checkpoint \(update 4\)/);
      assert.match(said, damage === "missing" ? /checkpoint-last\.safetensors is missing/ : /checkpoint-last\.safetensors is unusable/);
      assert.deepEqual(trainSteps(dir), Array.from({ length: 12 }, (_, i) => i + 1), "no duplicate rows for the replayed updates 5-6");
      assert.deepEqual(losses(dir), losses(straight), "resuming from the epoch checkpoint is exact");
    }
    // Nothing usable: start at 0, say so, and the log starts afresh.
    const empty = mkdtempSync(join(tmpdir(), "vm-loop-"));
    const lines: string[] = [];
    await setup(empty, { maxSteps: 2 });
    unlinkSync(join(empty, "checkpoint-last.safetensors"));
    const c = await setup(empty, { resume: true, maxSteps: 3, log: (m) => lines.push(m) });
    assert.equal(c.steps, 3);
    assert.ok(lines.some((l) => /--resume: no usable checkpoint \(no checkpoint-last, -epochN or -best in .*\); starting at update 0/.test(l)), lines.join("\n"));
    assert.deepEqual(trainSteps(empty), [1, 2, 3]);
  });

  test("a data abort saves a checkpoint first and says which; resuming from it is exact; bad-file totals are logged and kept", async () => {
    const straight = mkdtempSync(join(tmpdir(), "vm-loop-"));
    await setup(straight);
    const dir = mkdtempSync(join(tmpdir(), "vm-loop-"));
    const restored: string[] = [];
    const data: DataHealth = { stats: { badFiles: 2 }, badFiles: ["/d/x.mp4", "/d/y.mp4"], restoreBadFiles: (p) => restored.push(...p) };
    // Epoch 1, micro-batch 3: one update into the epoch, half-way through the next accumulation.
    await assert.rejects(setup(dir, { failAt: [1, 3], data }), (e: unknown) => {
      assert.ok(e instanceof DataError, String(e));
      assert.match(e.message, /simulated: too many unreadable files/);
      assert.match(e.message, /Saved .*checkpoint-last\.safetensors at update 5 before stopping; continue with --resume/);
      return true;
    });
    const ck = await loadCheckpoint(join(dir, "checkpoint-last.safetensors"));
    assert.equal(ck.state.step, 5);
    assert.deepEqual(ck.state.badFiles, ["/d/x.mp4", "/d/y.mp4"]);
    const rows = new MetricsLog(join(dir, "metrics.jsonl")).read().filter((r) => r.kind === "data");
    assert.deepEqual(rows.map((r) => [r.step, r.epoch, r.badFiles, r.badFilesTotal]), [[4, 1, 2, 2]]);
    // An abort before any new update says which checkpoint already holds the run.
    await assert.rejects(setup(dir, { resume: true, failAt: [1, 2] }), /checkpoint-last\.safetensors \(update 5\) already holds the run/);
    const r = await setup(dir, { resume: true, data });
    assert.deepEqual(restored, ["/d/x.mp4", "/d/y.mp4"]);
    assert.deepEqual(r.badFiles, ["/d/x.mp4", "/d/y.mp4"]);
    assert.deepEqual(losses(dir), losses(straight), "the abort checkpoint holds the state of update 5 (generator included)");
  });
});
