/** Pre-training on synthetic videos (loss falls), checkpoints under SIGKILL, layer-decay lrs. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { generateSynthDataset } from "../../src/data/synth/dataset.ts";
import { createModel, type VisionTransformer } from "../../src/models/index.ts";
import { AdamW, layerDecay, parameterGroups } from "../../src/optim/index.ts";
import { loadCheckpoint, MetricsLog } from "../../src/train/index.ts";
import { PRETRAIN_DEFAULTS, pretrain } from "../../src/train/pretrain.ts";

const dir = mkdtempSync(join(tmpdir(), "vm-workflow-"));
const data = join(dir, "synth");
const bin = join(import.meta.dirname, "../../bin/videomae.mjs");
const tiny = { model: "pretrain_videomae_small_patch16_224", imgSize: 32, numFrames: 4, patchSize: 8, embedDim: 32, depth: 2, numHeads: 2, decoderEmbedDim: 16, decoderDepth: 1, decoderNumHeads: 2 };

describe("training workflows", () => {
  before(async () => {
    await generateSynthDataset({ out: data, classes: 2, videosPerClass: 8, size: 32, frames: 16, seed: 3 });
  });

  test("a short dual-masking pre-training run on synthetic videos lowers the loss", async () => {
    const out = join(dir, "pt");
    const r = await pretrain(
      { ...PRETRAIN_DEFAULTS, ...tiny, lists: [join(data, "pretrain.csv")], out, epochs: 12, batchSize: 4, numSample: 2, samplingRate: 2, lr: 0.2, warmupEpochs: 1, workers: 1, cacheMib: 32 },
      () => {},
    );
    assert.equal(r.stoppedBy, "done");
    const losses = new MetricsLog(join(out, "metrics.jsonl")).read().filter((x) => x.kind === "train").map((x) => Number(x.loss));
    const k = Math.floor(losses.length / 4);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(losses.slice(0, k));
    const last = mean(losses.slice(-k));
    assert.ok(last < 0.97 * first, `loss ${first.toFixed(4)} → ${last.toFixed(4)} over ${losses.length} updates`);
  });

  test("bf16 mixed precision: a short pre-training run's losses stay within 2 % of fp32's (same seed, same batches)", async () => {
    const losses: Record<string, number[]> = {};
    for (const precision of ["fp32", "bf16"]) {
      const out = join(dir, `prec-${precision}`);
      await pretrain(
        { ...PRETRAIN_DEFAULTS, ...tiny, lists: [join(data, "pretrain.csv")], out, epochs: 3, batchSize: 4, samplingRate: 2, lr: 0.05, warmupEpochs: 1, workers: 0, cacheMib: 32, precision },
        () => {},
      );
      losses[precision] = new MetricsLog(join(out, "metrics.jsonl")).read().filter((x) => x.kind === "train").map((x) => Number(x.loss));
    }
    assert.equal(losses.bf16!.length, losses.fp32!.length);
    assert.ok(losses.fp32!.length >= 6);
    losses.fp32!.forEach((l, i) => {
      const rel = Math.abs(losses.bf16![i]! - l) / l;
      assert.ok(rel < 0.02, `update ${i + 1}: fp32 ${l.toFixed(5)} vs bf16 ${losses.bf16![i]!.toFixed(5)} (${(rel * 100).toFixed(2)} %)`);
    });
    // And bf16 did compute in bf16: the losses are not bit-identical.
    assert.notDeepEqual(losses.bf16, losses.fp32);
  });

  test("a run killed with SIGKILL at any moment leaves a loadable checkpoint-last", async () => {
    for (const delayMs of [250, 1300]) {
      const out = join(dir, `kill-${delayMs}`);
      // One update per epoch: a checkpoint is written after every update.
      const child = spawn(process.execPath, [bin, "pretrain", "--lists", join(data, "pretrain.csv"), "--model", tiny.model, "--img-size", "32", "--num-frames", "4",
        "--patch-size", "8", "--embed-dim", "32", "--depth", "2", "--num-heads", "2", "--decoder-embed-dim", "16", "--decoder-depth", "1", "--decoder-num-heads", "2",
        "--sampling-rate", "2", "--batch-size", "12", "--epochs", "500", "--workers", "0", "--cache-mib", "32", "--out", out], { stdio: "ignore" });
      const ckpt = join(out, "checkpoint-last.safetensors");
      await new Promise<void>((resolve) => {
        const t = setInterval(() => {
          if (existsSync(ckpt)) {
            clearInterval(t);
            setTimeout(() => {
              child.kill("SIGKILL");
              resolve();
            }, delayMs);
          }
        }, 20);
      });
      await new Promise((resolve) => child.on("exit", resolve));
      const c = await loadCheckpoint(ckpt);
      assert.ok(Number(c.state.step) >= 1, `checkpoint after kill at +${delayMs} ms has step ${c.state.step}`);
      const logged = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").length;
      assert.ok(logged >= Number(c.state.step));
    }
  });

  test("layer-wise lr decay: lr(param) = peak · 0.75^(L+1−layer), as spec §5.1", () => {
    const model = createModel("tiny_test_vit", { depth: 2 }) as VisionTransformer;
    const groups = parameterGroups(model.namedParameters(), { weightDecay: 0.05, ...layerDecay(2, 0.75) });
    const opt = new AdamW(groups, { lr: 1e-3 });
    const lrOf = new Map<unknown, number>();
    for (const g of opt.groups) for (const p of g.params) lrOf.set(p, opt.lr * g.lrScale);
    const named = new Map(model.namedParameters());
    const expect = (name: string, layer: number) => assert.ok(Math.abs(lrOf.get(named.get(name))! - 1e-3 * 0.75 ** (3 - layer)) < 1e-15, name);
    expect("patch_embed.proj.weight", 0);
    expect("blocks.0.attn.qkv.weight", 1);
    expect("blocks.0.attn.q_bias", 1);
    expect("blocks.1.mlp.fc2.bias", 2);
    expect("fc_norm.weight", 3);
    expect("head.weight", 3);
    const wd = new Map<unknown, number>();
    for (const g of opt.groups) for (const p of g.params) wd.set(p, g.weightDecay);
    assert.equal(wd.get(named.get("blocks.0.attn.q_bias")), 0);
    assert.equal(wd.get(named.get("blocks.0.attn.qkv.weight")), 0.05);
  });
});
