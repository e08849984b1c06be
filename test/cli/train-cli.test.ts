/**
 * The workflow end to end on a tiny synthetic dataset through the CLI: pretrain (dual masking) →
 * finetune from it (with validation) → eval (multi-view) → predict; plus resume and SIGINT.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { loadCheckpoint } from "../../src/io/checkpoint.ts";

const bin = join(import.meta.dirname, "../../bin/videomae.mjs");
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
const dir = mkdtempSync(join(tmpdir(), "vm-train-cli-"));
const data = join(dir, "synth");
const tiny = ["--img-size", "32", "--num-frames", "4", "--patch-size", "8", "--embed-dim", "32", "--depth", "2", "--num-heads", "2"];
const tinyDecoder = ["--decoder-embed-dim", "16", "--decoder-depth", "1", "--decoder-num-heads", "2"];

describe("training workflows (CLI)", () => {
  before(() => {
    const r = run("synth", "--out", data, "--classes", "2", "--videos", "6", "--size", "32", "--frames", "16", "--json");
    assert.equal(r.status, 0, r.stderr);
  });

  test("pretrain writes config, metrics, curves and a loadable checkpoint; --resume continues", () => {
    const out = join(dir, "pt");
    const args = ["pretrain", "--lists", join(data, "pretrain.csv"), ...tiny, ...tinyDecoder, "--sampling-rate", "2", "--batch-size", "4", "--workers", "1", "--cache-mib", "64", "--out", out];
    const r = run(...args, "--epochs", "1", "--json");
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.stoppedBy, "done");
    for (const f of ["config.json", "metrics.jsonl", "curves.svg", "checkpoint-last.safetensors"]) assert.ok(existsSync(join(out, f)), f);
    const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    assert.equal(cfg.decoderMask, "run_cell");
    assert.equal(cfg.modelConfig.kind, "pretrain");
    const r2 = run(...args, "--epochs", "2", "--resume", "--json");
    assert.equal(r2.status, 0, r2.stderr);
    assert.match(r2.stderr, /resumed from .* at update/);
    assert.equal(JSON.parse(r2.stdout).steps, 2 * res.steps);
  });

  test("finetune from the pretrained encoder with validation, then eval and predict", async () => {
    const out = join(dir, "ft");
    const r = run("finetune", "--train", join(data, "train.csv"), "--val", join(data, "val.csv"), "--labels", join(data, "labels.txt"),
      "--finetune", join(dir, "pt", "checkpoint-last.safetensors"), ...tiny, "--sampling-rate", "2", "--batch-size", "4", "--epochs", "1",
      "--warmup-epochs", "0", "--workers", "1", "--cache-mib", "64", "--out", out, "--json");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /ignored \(not used by this model\)/);
    const res = JSON.parse(r.stdout);
    assert.ok(res.bestCheckpoint, "validation produced a best checkpoint");
    const ck = await loadCheckpoint(res.bestCheckpoint);
    assert.deepEqual((ck.config as { labels: string[] }).labels, readFileSync(join(data, "labels.txt"), "utf8").trim().split("\n"));
    const ev = run("eval", "--test", join(data, "test.csv"), "--checkpoint", res.bestCheckpoint, "--views", "2x3", "--rate", "2",
      "--workers", "1", "--predictions", join(dir, "pred.jsonl"), "--json");
    assert.equal(ev.status, 0, ev.stderr);
    const report = JSON.parse(ev.stdout);
    assert.equal(report.views, "2x3");
    assert.ok(report.top1 >= 0 && report.top1 <= 1 && report.top5 === 1);
    const lines = readFileSync(join(dir, "pred.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, report.videos);
    assert.equal(lines[0].views, 6);
    const video = join(data, readFileSync(join(data, "test.csv"), "utf8").split(" ")[0]!);
    const p = run("predict", video, "--checkpoint", res.bestCheckpoint, "--rate", "2", "--json");
    assert.equal(p.status, 0, p.stderr);
    assert.ok(["move_right", "move_left"].includes(JSON.parse(p.stdout).predictions[0].label));
  });

  test("SIGINT saves a checkpoint and stops cleanly", async () => {
    const out = join(dir, "sig");
    const child = spawn(process.execPath, [bin, "pretrain", "--lists", join(data, "pretrain.csv"), ...tiny, ...tinyDecoder, "--sampling-rate", "2",
      "--batch-size", "2", "--epochs", "50", "--workers", "0", "--out", out, "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    // Wait for the first logged update, then interrupt.
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (existsSync(join(out, "metrics.jsonl")) && readFileSync(join(out, "metrics.jsonl"), "utf8").includes('"kind":"train"')) {
          clearInterval(t);
          child.kill("SIGINT");
          resolve();
        }
      }, 100);
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    assert.equal(code, 0);
    const res = JSON.parse(stdout);
    assert.equal(res.stoppedBy, "signal");
    const ck = await loadCheckpoint(join(out, "checkpoint-last.safetensors"));
    assert.equal(ck.state.step, res.steps);
  });

  test("bad options are clear usage errors", () => {
    const r = run("pretrain", "--lists", "x.csv", "--epocs", "3");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown option '--epocs'\n\(Did you mean --epochs\?\)/);
    const r2 = run("finetune", "--train", join(dir, "missing.csv"));
    assert.equal(r2.status, 1);
    assert.match(r2.stderr, /missing\.csv/);
  });
});
