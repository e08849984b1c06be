/**
 * `--grad-checkpoint` end to end: tiny fine-tuning (drop path 0.2, head dropout 0.1) and tiny
 * pre-training runs take the same updates with every block checkpointed as without — per-update
 * losses and gradient norms, and the final weights, agree to 1e-6 relative (the recomputation is
 * the same computation; see test/nn/checkpoint.test.ts for why the gradients are bit-identical).
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { generateSynthDataset } from "../../src/data/synth/dataset.ts";
import { FINETUNE_DEFAULTS, finetune } from "../../src/train/finetune.ts";
import { loadCheckpoint, MetricsLog } from "../../src/train/index.ts";
import { PRETRAIN_DEFAULTS, pretrain } from "../../src/train/pretrain.ts";

const dir = mkdtempSync(join(tmpdir(), "vm-gradckpt-"));
const data = join(dir, "synth");
const backbone = { imgSize: 32, numFrames: 4, patchSize: 8, embedDim: 32, depth: 3, numHeads: 2 };
const run = { samplingRate: 2, workers: 0, cacheMib: 32, batchSize: 4, epochs: 1, maxSteps: 3, warmupEpochs: 0 };

interface Outcome {
  rows: { loss: number; gradNorm: number }[];
  weights: Map<string, Float32Array>;
}

async function outcome(out: string): Promise<Outcome> {
  const rows = new MetricsLog(join(out, "metrics.jsonl")).read().filter((r) => r.kind === "train").map((r) => ({ loss: Number(r.loss), gradNorm: Number(r.gradNorm) }));
  const c = await loadCheckpoint(join(out, "checkpoint-last.safetensors"));
  const weights = new Map<string, Float32Array>();
  for (const [k, t] of c.tensors) if (k.startsWith("model.")) weights.set(k, t.data() as Float32Array);
  return { rows, weights };
}

function assertSame(a: Outcome, b: Outcome): void {
  assert.ok(a.rows.length >= 2);
  assert.equal(b.rows.length, a.rows.length);
  a.rows.forEach((r, i) => {
    const s = b.rows[i]!;
    assert.ok(Math.abs(r.loss - s.loss) <= 1e-6 * Math.abs(r.loss), `update ${i + 1}: loss ${r.loss} vs ${s.loss}`);
    assert.ok(Math.abs(r.gradNorm - s.gradNorm) <= 1e-6 * r.gradNorm, `update ${i + 1}: gradient norm ${r.gradNorm} vs ${s.gradNorm}`);
  });
  for (const [k, x] of a.weights) {
    const y = b.weights.get(k)!;
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i]! - y[i]!) <= 1e-6 * (1e-3 + Math.abs(x[i]!)), `${k}[${i}]: ${x[i]} vs ${y[i]}`);
  }
}

describe("--grad-checkpoint", () => {
  before(async () => {
    await generateSynthDataset({ out: data, classes: 2, videosPerClass: 8, size: 32, frames: 16, seed: 3 });
  });

  test("fine-tuning with drop path and dropout: same losses, gradient norms and weights", async () => {
    const o = { ...FINETUNE_DEFAULTS, ...backbone, ...run, model: "vit_small_patch16_224", train: join(data, "train.csv"), dropPath: 0.2, headDropRate: 0.1, numSample: 1, randAugment: false, erasing: 0 };
    await finetune({ ...o, out: join(dir, "ft-plain") }, () => {});
    const logs: string[] = [];
    await finetune({ ...o, out: join(dir, "ft-ckpt"), gradCheckpoint: true }, (m) => logs.push(m));
    assert.ok(logs.some((l) => /activation checkpointing: 3 blocks/.test(l)), logs.join("\n"));
    assertSame(await outcome(join(dir, "ft-plain")), await outcome(join(dir, "ft-ckpt")));
  });

  test("pre-training (encoder and decoder blocks): same losses, gradient norms and weights", async () => {
    const o = { ...PRETRAIN_DEFAULTS, ...backbone, ...run, model: "pretrain_videomae_small_patch16_224", decoderEmbedDim: 16, decoderDepth: 2, decoderNumHeads: 2, lists: [join(data, "pretrain.csv")], maskRatio: 0.5 };
    await pretrain({ ...o, out: join(dir, "pt-plain") }, () => {});
    const logs: string[] = [];
    await pretrain({ ...o, out: join(dir, "pt-ckpt"), gradCheckpoint: true }, (m) => logs.push(m));
    assert.ok(logs.some((l) => /activation checkpointing: 5 blocks/.test(l)), logs.join("\n"));
    assertSame(await outcome(join(dir, "pt-plain")), await outcome(join(dir, "pt-ckpt")));
  });
});
