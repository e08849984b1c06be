import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Linear } from "../../src/nn/index.ts";
import { AdamW } from "../../src/optim/index.ts";
import { Generator, keep, randn, tidy } from "../../src/torch/index.ts";
import {
  curvesSvg, formatDuration, loadCheckpoint, MetricsLog, niceTicks, Progress, restoreCheckpoint, saveCheckpoint,
} from "../../src/train/index.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "vm-train-"));

describe("progress", () => {
  test("plain lines when not a terminal, with rate and ETA", () => {
    const lines: string[] = [];
    let t = 0;
    const stream = { write: (s: string) => (lines.push(s), true), isTTY: false } as unknown as NodeJS.WritableStream;
    const p = new Progress({ total: 10, label: "epoch 1", unit: "clips", stream, intervalMs: 1000, now: () => t });
    t = 500;
    p.tick(2, { loss: 0.5 }); // first tick always prints
    t = 800;
    p.tick(2); // within the interval: silent
    t = 2000;
    p.tick(1);
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, /^epoch 1 \[#+-+\] 5\/10 2\.50 clips\/s ETA 00:02  loss 0\.5000\n$/);
    t = 4000;
    p.tick(5);
    assert.match(lines[2]!, /10\/10 .* 00:04 total/);
    assert.equal(formatDuration(3725), "1:02:05");
    assert.equal(formatDuration(Infinity), "--:--");
  });
});

describe("metrics and curves", () => {
  test("JSONL append/read survives a torn last line; truncate for resume", () => {
    const dir = tmp();
    const log = new MetricsLog(join(dir, "metrics.jsonl"));
    for (let s = 1; s <= 5; s++) log.append({ kind: "train", step: s, loss: 1 / s });
    writeFileSync(log.path, readFileSync(log.path, "utf8") + '{"kind":"train","st', { flag: "w" });
    assert.equal(log.read().length, 5);
    log.truncateAfter(3);
    assert.deepEqual(log.read().map((r) => r.step), [1, 2, 3]);
  });

  test("SVG curves with round ticks", () => {
    assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(3, 47, 4), [10, 20, 30, 40]);
    const svg = curvesSvg([
      { title: "loss", xLabel: "step", series: [{ name: "train", points: [[1, 2], [2, 1.5], [3, NaN], [4, 1]] }] },
      { title: "accuracy", xLabel: "epoch", series: [{ name: "val", points: [[1, 0.5]] }, { name: "none", points: [] }] },
    ]);
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/<path /g) ?? []).length, 1);
    assert.equal((svg.match(/<circle /g) ?? []).length, 1);
    assert.match(svg, />loss</);
  });
});

describe("checkpoints", () => {
  test("save → load → resume continues exactly; truncated files give a clear error", async () => {
    const dir = tmp();
    const path = join(dir, "last.safetensors");
    const g = new Generator(0);
    const makeModel = () => new Linear(6, 3, { generator: new Generator(1) });
    const x = keep(randn([8, 6], { generator: g }));
    const y = keep(randn([8, 3], { generator: g }));
    const train = (m: Linear, o: AdamW, n: number) => {
      const losses: number[] = [];
      for (let i = 0; i < n; i++) {
        losses.push(
          tidy(() => {
            const l = m.forward(x).sub(y).square().mean();
            o.zeroGrad();
            l.backward();
            return l.item();
          }),
        );
        o.step();
      }
      return losses;
    };
    const m1 = makeModel();
    const o1 = new AdamW(m1.parameters(), { lr: 0.05 });
    train(m1, o1, 3);
    await saveCheckpoint(path, { model: m1, optimizer: o1, state: { step: 3, epoch: 0 }, config: { lr: 0.05 } });
    assert.ok(!existsSync(path + ".tmp"));
    const after = train(m1, o1, 4);

    const ckpt = await loadCheckpoint(path);
    assert.deepEqual(ckpt.state, { step: 3, epoch: 0 });
    assert.deepEqual(ckpt.config, { lr: 0.05 });
    const m2 = new Linear(6, 3, { generator: new Generator(99) });
    const o2 = new AdamW(m2.parameters(), { lr: 0.05 });
    restoreCheckpoint(ckpt, m2, o2);
    assert.deepEqual(train(m2, o2, 4), after, "resumed run matches the uninterrupted one bit for bit");

    truncateSync(path, Math.floor(statSync(path).size / 2));
    await assert.rejects(loadCheckpoint(path), /truncated|corrupt/i);
    await assert.rejects(loadCheckpoint(join(dir, "missing.safetensors")), /no such checkpoint/);
  });
});
