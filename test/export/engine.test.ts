/**
 * `predict`/`extract --engine onnx`: an exported model through onnxruntime-node gives the same
 * top-k and features as the libtorch model on the same videos (same preprocessing code).
 * Probabilities: softmax of logits that agree to ~1e-6 (float32 reordering) → 1e-5; features
 * (O(1) LayerNorm outputs) → 1e-4.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { OnnxEngine } from "../../src/engines/onnx.ts";
import { extractFeatures } from "../../src/eval/extract.ts";
import { loadModelForInference } from "../../src/eval/load_model.ts";
import { predictVideo } from "../../src/eval/predict.ts";
import { exportOnnx } from "../../src/export/onnx/index.ts";
import { readNpy } from "../../src/io/npy.ts";
import { videoClassification } from "../../src/pipeline.ts";
import type { VisionTransformer } from "../../src/models/vit.ts";
import { FfmpegReader } from "../../src/video/index.ts";
import { assertClose, fixtures } from "../helpers.ts";
import { tinyConfigFile } from "./helpers.ts";

const bin = join(import.meta.dirname, "../../bin/videomae.mjs");
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
const ckpt = join(fixtures, "checkpoints", "vit_model_fp32.pth");

type Scores = { label: string; score: number }[];

describe("onnxruntime engine in predict and extract", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vm-onnx-engine-"));
  const video = join(dir, "clip.mp4");
  execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=48x32:rate=25:duration=2", "-pix_fmt", "yuv420p", video]);
  const real = join(fixtures, "clips", "realshort.mp4");
  const cfg = tinyConfigFile(dir);
  const labelsFile = join(dir, "labels.txt");
  const names = ["archery", "bowling", "cycling", "diving", "fencing"];
  writeFileSync(labelsFile, names.join("\n") + "\n");
  const modelFile = join(dir, "tiny.onnx");
  const exp = run("export", ckpt, "--out", modelFile, "--model-config", cfg, "--labels", labelsFile, "--features");
  assert.equal(exp.status, 0, exp.stderr);
  const { model } = await loadModelForInference<VisionTransformer>({ checkpoint: ckpt, configFile: cfg, kind: "vit" });
  const plainFile = exportOnnx(model, { out: join(dir, "plain.onnx") }).onnx;
  const engine = await OnnxEngine.load(modelFile);
  const reader = new FfmpegReader();
  after(() => engine.close());

  const same = (a: Scores, b: Scores, what: string) => {
    assert.deepEqual(b.map((p) => p.label), a.map((p) => p.label), what);
    assertClose(b.map((p) => p.score), a.map((p) => p.score), 1e-5, 0, what);
  };

  test("predictVideo: same top-k with the engine as with libtorch (1 view and 2×3 views); the CLI prints the engine's", async () => {
    assert.deepEqual(engine.labels, names);
    for (const [clips, crops] of [[1, 1], [2, 3]] as const) {
      for (const v of [video, real]) {
        const a = await predictVideo(model, names, reader, v, { clips, crops, topK: 5 });
        const b = await predictVideo(engine, engine.labels, reader, v, { clips, crops, topK: 5 });
        assert.equal(b.views, a.views);
        same(a.predictions, b.predictions, `${clips}x${crops} ${v}`);
      }
    }
    const o = run("predict", video, real, "--engine", "onnx", "--model", modelFile, "--views", "2x3", "--json");
    assert.equal(o.status, 0, o.stderr);
    const lines = o.stdout.trim().split("\n").map((l) => JSON.parse(l) as { video: string; views: number; predictions: Scores });
    assert.equal(lines.length, 2);
    for (const l of lines) {
      assert.equal(l.views, 6);
      same((await predictVideo(model, names, reader, l.video, { clips: 2, crops: 3 })).predictions, l.predictions, `CLI ${l.video}`);
    }
    await assert.rejects(OnnxEngine.load(join(dir, "missing.onnx")), /missing\.onnx: no such model file/);
    // The task API picks the engine from the file name.
    const classify = await videoClassification({ checkpoint: modelFile });
    same((await predictVideo(model, names, reader, real, { topK: 3 })).predictions, await classify(real, { topK: 3 }), "videoClassification(.onnx)");
  });

  test("extract: same [windows, D] features; a model without the features output is refused", async () => {
    const opts = { window: 4, stride: 4, size: 16, normalize: "none" as const, batch: 3 };
    const a = await extractFeatures(model, reader, video, opts);
    const b = await extractFeatures(engine, reader, video, opts);
    assert.equal(a.windows, 12);
    assert.equal(b.windows, a.windows);
    assertClose(b.data, a.data, 1e-4, 0, "features");
    const o = run("extract", video, "--out", join(dir, "fo"), "--engine", "onnx", "--model", modelFile, "--batch", "5");
    assert.equal(o.status, 0, o.stderr);
    const c = await readNpy(join(dir, "fo", "clip.npy"));
    assert.deepEqual(c.shape, [12, model.config.embedDim]);
    assertClose(c.data as Float32Array, a.data, 1e-4, 0, "CLI features");
    const bad = run("extract", video, "--out", join(dir, "fx"), "--engine", "onnx", "--model", plainFile);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /no "features" output: export it with --features/);
  });
});
