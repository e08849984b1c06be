import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Dropout, Linear, Sequential } from "../../src/nn/index.ts";
import { AdamW, cosineSchedule } from "../../src/optim/index.ts";
import { F, Generator, randn, type Tensor } from "../../src/torch/index.ts";
import { loadCheckpoint, MetricsLog, NonFiniteLossError, trainLoop } from "../../src/train/index.ts";

interface Batch {
  x: Tensor;
  y: Tensor;
}

/** A deterministic batch stream: batch k of epoch e is a function of (e, k) only. */
async function* batches(epoch: number, skip: number, perEpoch: number): AsyncGenerator<Batch> {
  for (let k = skip; k < perEpoch; k++) {
    const g = new Generator(1000 * epoch + k);
    const x = randn([16, 4], { generator: g });
    yield { x, y: x.sum(1, true).sin() };
  }
}

function setup(runDir: string, extra: { maxSteps?: number; nanAt?: number; resume?: boolean } = {}) {
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
    batches: (e, skip) => batches(e, skip, iters * accum),
    lossOf: (b) => {
      calls++;
      const loss = F.mseLoss(model.forward(b.x), b.y);
      return { loss: extra.nanAt !== undefined && calls >= extra.nanAt ? loss.mul(NaN) : loss, items: 16 };
    },
    evaluate: async () => ({ score: -calls }),
    generator: gen,
    resume: extra.resume,
    maxSteps: extra.maxSteps,
    log: () => {},
  });
}

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
});
