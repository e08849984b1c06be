/**
 * `distill` end to end on tiny synthetic runs: a stopped and resumed distillation reproduces the
 * uninterrupted one; a teacher-cache hit gives the same losses as computing the teacher; label
 * spaces (same, or mapped through --teacher-label-map); the distilled checkpoint loads for
 * inference; 2 ranks under `videomae launch` end where 1 process ends (the tolerance of
 * test/distributed/data_parallel.test.ts).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { generateSynthDataset } from "../../src/data/synth/dataset.ts";
import { loadModelForInference } from "../../src/eval/load_model.ts";
import { createConfig, createModel, type VisionTransformer } from "../../src/models/index.ts";
import { loadTeacher } from "../../src/eval/teacher.ts";
import { DISTILL_DEFAULTS, distill, type DistillOptions } from "../../src/train/distill.ts";
import { FINETUNE_DEFAULTS, finetune } from "../../src/train/finetune.ts";
import { loadCheckpoint, MetricsLog, saveCheckpoint } from "../../src/train/index.ts";

const dir = mkdtempSync(join(tmpdir(), "vm-distill-"));
const data = join(dir, "synth");
const bin = join(import.meta.dirname, "../../bin/videomae.mjs");
const input = { imgSize: 32, numFrames: 4, patchSize: 8, samplingRate: 2, workers: 0, cacheMib: 32 };
const teacherArch = { model: "vit_small_patch16_224", embedDim: 32, depth: 2, numHeads: 2 };
const studentArch = { model: "vit_small_patch16_224", embedDim: 16, depth: 1, numHeads: 2 };
let teacher = "";
let teacher3 = "";

const opts = (out: string, extra: Partial<DistillOptions> = {}): DistillOptions => ({
  ...DISTILL_DEFAULTS, ...input, ...studentArch,
  train: join(data, "train.csv"), val: join(data, "val.csv"), teacher, out,
  epochs: 2, batchSize: 4, numSample: 2, warmupEpochs: 1, lr: 5e-3, randAugment: false, erasing: 0, flip: false,
  temperature: 2, alpha: 0.5, featureWeight: 0.5, ...extra,
});
const trainRecords = (out: string) => new MetricsLog(join(out, "metrics.jsonl")).read().filter((r) => r.kind === "train");
const losses = (out: string) => trainRecords(out).map((r) => [r.loss, r.kd, r.ce, r.feat]);

async function params(path: string, prefixes = ["model.", "extra.aux."]): Promise<Map<string, Float32Array>> {
  const c = await loadCheckpoint(path);
  const out = new Map<string, Float32Array>();
  for (const [k, t] of c.model) out.set(`model.${k}`, t.data() as Float32Array);
  for (const [k, t] of c.tensors) if (k.startsWith("aux.")) out.set(`extra.${k}`, t.data() as Float32Array);
  return new Map([...out].filter(([k]) => prefixes.some((p) => k.startsWith(p))));
}

describe("distill", () => {
  before(async () => {
    await generateSynthDataset({ out: data, classes: 2, videosPerClass: 8, size: 32, frames: 16, seed: 3 });
    const ft = await finetune({ ...FINETUNE_DEFAULTS, ...input, ...teacherArch, train: join(data, "train.csv"), out: join(dir, "teacher"), epochs: 1, batchSize: 4, numSample: 1, warmupEpochs: 0, lr: 2e-2, randAugment: false, erasing: 0, flip: false, mixup: 0, cutmix: 0 }, () => {});
    teacher = ft.lastCheckpoint!;
    // An untrained teacher in a 3-class label space (only the label-space plumbing is tested with it).
    const cfg = createConfig("vit_small_patch16_224", { imgSize: 32, numFrames: 4, patchSize: 8, embedDim: 32, depth: 2, numHeads: 2, numClasses: 3 });
    teacher3 = join(dir, "teacher3.safetensors");
    await saveCheckpoint(teacher3, { model: createModel(cfg), state: { step: 0 }, config: { modelConfig: cfg, labels: ["a", "b", "c"] } });
  });

  test("a stopped and resumed distillation reproduces the uninterrupted one (mixup, drop path, feature projector); a teacher-cache hit gives the same losses", async () => {
    const straight = join(dir, "straight");
    const cacheDir = join(dir, "cache");
    const a = await distill(opts(straight, { cacheTeacher: cacheDir }), loadTeacher, () => {});
    assert.equal(a.steps, 6);
    assert.deepEqual(a.teacherCache, { hits: 0, misses: 24 }); // 2 epochs × 3 batches × 4 clips, computed and stored
    const split = join(dir, "split");
    const b1 = await distill(opts(split, { maxSteps: 4 }), loadTeacher, () => {});
    assert.equal(b1.stoppedBy, "maxSteps");
    const b2 = await distill(opts(split, { resume: true }), loadTeacher, () => {});
    assert.equal(b2.steps, 6);
    assert.deepEqual(losses(split), losses(straight));
    assert.ok(trainRecords(straight).every((r) => Number(r.kd) > 0 && Number(r.ce) > 0 && Number(r.feat) > 0));
    const [pa, pb] = [await params(a.lastCheckpoint!), await params(b2.lastCheckpoint!)];
    assert.ok([...pa.keys()].some((k) => k.startsWith("extra.aux.")), "the feature projector is checkpointed");
    for (const [k, x] of pa) assert.deepEqual(pb.get(k), x, k);
    // Validation reports the student, the teacher and their agreement.
    const ev = new MetricsLog(join(straight, "metrics.jsonl")).read().filter((r) => r.kind === "eval");
    assert.equal(ev.length, 2);
    for (const key of ["top1", "teacherTop1", "agreement"]) assert.ok(Number(ev[1]![key]) >= 0 && Number(ev[1]![key]) <= 1, key);
    // The distilled student is an ordinary fine-tuned checkpoint (no projector in it), with the teacher's class names.
    const m = await loadModelForInference<VisionTransformer>({ checkpoint: a.lastCheckpoint!, kind: "vit" });
    assert.equal(m.config.embedDim, 16);
    assert.deepEqual(m.labels, (await loadModelForInference<VisionTransformer>({ checkpoint: teacher, kind: "vit" })).labels);

    // The same run again reads every teacher output from the cache: identical losses (the split
    // run above computed its teacher outputs, so computed = stored = read).
    const again = await distill(opts(join(dir, "cached"), { cacheTeacher: cacheDir }), loadTeacher, () => {});
    assert.deepEqual(again.teacherCache, { hits: 24, misses: 0 });
    assert.deepEqual(losses(join(dir, "cached")), losses(straight));
    // Another seed draws other clips: another fingerprint, another sub-folder, nothing stale read.
    const other = await distill(opts(join(dir, "cache-seed1"), { cacheTeacher: cacheDir, seed: 1, maxSteps: 1 }), loadTeacher, () => {});
    assert.deepEqual(other.teacherCache, { hits: 0, misses: 4 });
    assert.equal(readdirSync(cacheDir).length, 2);
  });

  test("label spaces: a 3-class teacher reaches a 2-class student through --teacher-label-map, and is refused without one", async () => {
    const map = join(dir, "map.json");
    writeFileSync(map, "[1, 0]");
    const out = join(dir, "mapped");
    const r = await distill(opts(out, { teacher: teacher3, teacherLabelMap: map, epochs: 1, maxSteps: 1, featureWeight: 0 }), loadTeacher, () => {});
    assert.equal(r.steps, 1);
    const ck = await loadCheckpoint(r.lastCheckpoint!);
    assert.equal(ck.model.get("head.weight")!.shape[0], 2);
    await assert.rejects(distill(opts(join(dir, "unmapped"), { teacher: teacher3, numClasses: 2 }), loadTeacher, () => {}), /teacher has 3 classes and the student 2: give --teacher-label-map/);
    writeFileSync(map, "[0, 3]");
    await assert.rejects(distill(opts(join(dir, "badmap"), { teacher: teacher3, teacherLabelMap: map }), loadTeacher, () => {}), /teacher class indices 0\.\.2/);
  });

  test("under `videomae launch`, 2 ranks × batch 2 end with the parameters and losses of 1 process × batch 4", async () => {
    const args = (out: string, batch: number) => [
      "distill", "--train", join(data, "train.csv"), "--teacher", teacher, "--model", studentArch.model, "--img-size", "32", "--num-frames", "4",
      "--patch-size", "8", "--embed-dim", "16", "--depth", "1", "--num-heads", "2", "--sampling-rate", "2", "--workers", "0", "--cache-mib", "32",
      "--batch-size", String(batch), "--num-sample", "2", "--epochs", "2", "--max-steps", "3", "--warmup-epochs", "1", "--lr", "0.005",
      "--rand-augment", "false", "--erasing", "0", "--flip", "false", "--mixup", "0", "--cutmix", "0", "--drop-path", "0",
      "--temperature", "2", "--alpha", "0.5", "--feature-weight", "0.5", "--out", out,
    ];
    const run = (argv: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [bin, ...argv], { env: { ...process.env, OMP_NUM_THREADS: "1" }, stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += d));
        child.on("exit", (code) => resolve({ code, stderr }));
      });
    const single = join(dir, "dp-1");
    const one = await run(args(single, 4));
    assert.equal(one.code, 0, one.stderr);
    const two = await run(["launch", "--nproc-per-node", "2", "--threads", "1", "--", ...args(join(dir, "dp-2"), 2)]);
    assert.equal(two.code, 0, two.stderr);
    assert.match(two.stderr, /\[rank 0\] data-parallel: 2 ranks/);
    const a = await params(join(single, "checkpoint-last.safetensors"));
    const b = await params(join(dir, "dp-2", "checkpoint-last.safetensors"));
    assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
    let worst = 0;
    for (const [k, x] of a) {
      const y = b.get(k)!;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / (1e-3 + Math.abs(x[i]!)));
    }
    assert.ok(worst < 1e-4, `largest relative parameter difference ${worst}`);
    const [la, lb] = [trainRecords(single), trainRecords(join(dir, "dp-2"))];
    assert.equal(lb.length, 3);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(Number(la[i]!.loss) - Number(lb[i]!.loss)) < 1e-5 * Math.abs(Number(la[i]!.loss)), `step ${i + 1}: ${la[i]!.loss} vs ${lb[i]!.loss}`);
    assert.ok(Number(lb[2]!.lr) > 0 && Number(lb[2]!.gradNorm) > 0);
  });
});
