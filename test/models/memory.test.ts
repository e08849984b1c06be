/**
 * The training-memory estimate (src/models/memory.ts, `videomae info --batch-size`): the per-block
 * count by hand for the tiny ViT, linearity in the batch, what checkpointing changes for the
 * official sizes, and the CLI output. No allocation: all from the configuration.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import { modelReport, trainingMemory } from "../../src/models/index.ts";

const bin = join(import.meta.dirname, "../../bin/videomae.mjs");

describe("training-memory estimate", () => {
  test("tiny ViT: a block keeps 8D + 2M + h + 4 floats per token; checkpointed only D", () => {
    const r = modelReport("tiny_test_vit");
    const m = trainingMemory(r, 2);
    // 32 tokens × 2 clips; D 32, M 128, 2 heads: 8·32 + 2·128 + 2 + 4 = 518 floats.
    assert.equal(m.towers.encoder.tokens, 64);
    assert.equal(m.towers.encoder.blockBytes, 64 * 518 * 4);
    assert.equal(m.towers.encoder.checkpointedBytes, 64 * 32 * 2 * 4);
    assert.equal(m.weights, r.params * 4);
    assert.equal(m.optimizer, 2 * m.weights);
    assert.ok(m.activations.checkpointed < m.activations.plain);
  });

  test("activations grow linearly with the batch; weights and AdamW state do not", () => {
    const r = modelReport("pretrain_videomae_base_patch16_224");
    const [a, b] = [trainingMemory(r, 2), trainingMemory(r, 4)];
    assert.ok(Math.abs(b.activations.plain - 2 * a.activations.plain) < 1e-6 * b.activations.plain);
    assert.ok(Math.abs(b.activations.checkpointed - 2 * a.activations.checkpointed) < 1e-6 * b.activations.checkpointed);
    assert.equal(b.weights, a.weights);
    assert.throws(() => trainingMemory(r, 0), RangeError);
  });

  test("ViT-L fine-tuning (batch 2): activations dominate and checkpointing saves most; 90 %-masked pre-training: the weights dominate", () => {
    const ft = trainingMemory(modelReport("vit_large_patch16_224"), 2);
    assert.ok(ft.activations.plain > ft.weights + ft.gradients + ft.optimizer);
    assert.ok(ft.total.checkpointed < 0.6 * ft.total.plain, `${ft.total.checkpointed} vs ${ft.total.plain}`);
    const pt = trainingMemory(modelReport("pretrain_videomae_large_patch16_224"), 2);
    assert.ok(pt.activations.plain < pt.weights + pt.gradients + pt.optimizer);
    assert.ok(pt.total.checkpointed > 0.8 * pt.total.plain);
  });

  test("videomae info --batch-size prints both settings (and --json carries them)", () => {
    const text = execFileSync(process.execPath, [bin, "info", "--model", "vit_large_patch16_224", "--batch-size", "2"], { encoding: "utf8" });
    assert.match(text, /memory \(estimate, float32, one fine-tuning step of batch 2\)/);
    assert.match(text, /step peak +[\d.]+ GiB plain, [\d.]+ GiB with --grad-checkpoint \(\d+ %\)/);
    const json = JSON.parse(execFileSync(process.execPath, [bin, "info", "--model", "pretrain_videomae_base_patch16_224", "--batch-size", "4", "--json"], { encoding: "utf8" }));
    assert.equal(json.memory.batchSize, 4);
    assert.ok(json.memory.total.checkpointed < json.memory.total.plain);
    const bad = spawnSync(process.execPath, [bin, "info", "--model", "vit_base_patch16_224", "--batch-size", "0"], { encoding: "utf8" });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--batch-size must be an integer ≥ 1/);
  });
});
