/**
 * Detection end to end through the CLI on a tiny synthetic set: detect-synth → detect-train
 * (validation frame-mAP, resume) → detect-eval (detections CSV, report) → detect VIDEO (PNG).
 * Numbers are not checked here (a few updates learn nothing); tools/detect_vs_shuffled.sh is the
 * learning experiment.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { parseAvaCsv } from "../../src/data/ava/csv.ts";

const bin = join(import.meta.dirname, "../../bin/videomae.mjs");
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
const dir = mkdtempSync(join(tmpdir(), "vm-detect-cli-"));
const data = join(dir, "synth");
const tiny = ["--model", "vit_small_patch16_224", "--img-size", "32", "--num-frames", "4", "--patch-size", "8", "--embed-dim", "16", "--depth", "1", "--num-heads", "2", "--sampling-rate", "2"];
const dataOpts = ["--videos", join(data, "videos"), "--fps", "8", "--short-side", "48", "--label-map", join(data, "labelmap.pbtxt")];

describe("detection workflow (CLI)", () => {
  before(() => {
    const r = run("detect-synth", "--out", data, "--train-videos", "2", "--val-videos", "1", "--seconds", "3", "--json");
    assert.equal(r.status, 0, r.stderr);
  });

  test("the synthetic set: AVA-format CSVs whose boxes stay in the frame, proposals near them", () => {
    const gt = parseAvaCsv(join(data, "train.csv"));
    assert.ok(gt.length >= 4); // 2 videos × 2 keyframes (seconds 1, 2) × at least one shape
    assert.ok(gt.every((r) => r.box[0] >= 0 && r.box[2] <= 1 && r.box[0] < r.box[2] && r.box[1] < r.box[3] && r.actionId >= 1 && r.actionId <= 4));
    assert.ok(existsSync(join(data, "videos", "synth_val_0000.mp4")));
    assert.match(readFileSync(join(data, "proposals_val.csv"), "utf8"), /^synth_val_0000,0001,/);
  });

  test("detect-train with validation; --resume continues; detect-eval and detect use the checkpoint", () => {
    const out = join(dir, "run");
    const args = ["detect-train", ...tiny, ...dataOpts, "--train", join(data, "train.csv"), "--crop-size", "48", "--batch-size", "2", "--warmup-epochs", "0", "--cache-mib", "32",
      "--val", join(data, "val.csv"), "--val-proposals", join(data, "proposals_val.csv"), "--val-excluded", join(data, "excluded_val.csv"), "--out", out, "--json"];
    const r = run(...args, "--epochs", "1");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /epoch 1: mAP \d/);
    const steps = JSON.parse(r.stdout).steps;
    const r2 = run(...args, "--epochs", "2", "--resume");
    assert.equal(r2.status, 0, r2.stderr);
    assert.equal(JSON.parse(r2.stdout).steps, 2 * steps);
    const ckpt = join(out, "checkpoint-last.safetensors");

    const ev = join(dir, "eval");
    const e = run("detect-eval", "--checkpoint", ckpt, ...dataOpts, "--sampling-rate", "2", "--proposals", join(data, "proposals_val.csv"), "--gt", join(data, "val.csv"),
      "--excluded", join(data, "excluded_val.csv"), "--capacity", "50", "--out", ev, "--json");
    assert.equal(e.status, 0, e.stderr);
    const res = JSON.parse(e.stdout);
    assert.ok(res.mAP >= 0 && res.mAP <= 1);
    const rows = parseAvaCsv(join(ev, "detections.csv"));
    assert.equal(rows.length % 80, 0); // every class of every box
    assert.ok(!rows.some((r) => r.timestamp === 1)); // 0001 of the only val video is excluded
    assert.match(readFileSync(join(ev, "report.txt"), "utf8"), /frame-mAP@0\.5: .*\n +1 move_up +AP/);

    const png = join(dir, "pic.png");
    const d = run("detect", join(data, "videos", "synth_val_0000.mp4"), "--checkpoint", ckpt, "--boxes", "0.1,0.1,0.4,0.5;0.5,0.5,0.9,0.9,0.95", "--time", "2", ...dataOpts.slice(2), "--sampling-rate", "2", "--png", png); // the VIDEO operand, no --videos
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stdout, /person 2 \[0\.500, 0\.500, 0\.900, 0\.900\]: \w+ \d/);
    assert.deepEqual([...readFileSync(png).subarray(1, 4)].map((c) => String.fromCharCode(c)).join(""), "PNG");
  });

  test("usage errors name the problem", () => {
    const r = run("detect-eval", "--checkpoint", "x", "--proposals", "p.csv", "--videos", "v", "--gt", "g.csv");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--gt needs --label-map/);
    const d = run("detect", "--checkpoint", "x", "--boxes", "0,0,1,1");
    assert.equal(d.status, 2);
    assert.match(d.stderr, /give the VIDEO first/);
  });
});
