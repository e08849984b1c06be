/**
 * ONNX export: onnxruntime-node runs the exported graphs of the tiny reference ViT (a real
 * checkpoint) and of a ViT-S on the same inputs as our libtorch forward.
 *
 * Tolerances: fp32 — the same float32 arithmetic in another summation order (and the attention
 * scale folded into the q weights), so differences are a few float32 ulps of the accumulated
 * values (~1e-6 relative); 1e-4 absolute on O(1) logits. fp16 — weights and activations rounded
 * to 11 significant bits (2^-11 ≈ 5e-4 relative per rounding, accumulated over the layers);
 * 2e-2 absolute on O(1) logits.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema } from "onnx-buf";
import * as ort from "onnxruntime-node";
import { loadModelForInference } from "../../src/eval/load_model.ts";
import { exportOnnx, float32ToFloat16, readSidecar } from "../../src/export/onnx/index.ts";
import { createModel } from "../../src/models/index.ts";
import type { VisionTransformer } from "../../src/models/vit.ts";
import { Generator, noGrad, tensor } from "../../src/torch/index.ts";
import { assertClose, fixtures } from "../helpers.ts";
import { manifest } from "../models/reference-data.ts";
import { tinyConfigFile } from "./helpers.ts";

const bin = join(import.meta.dirname, "../../bin/videomae.mjs");
const dir = mkdtempSync(join(tmpdir(), "vm-onnx-"));
const ckpt = join(fixtures, "checkpoints", "vit_model_fp32.pth");

function hasPythonOnnx(): boolean {
  return spawnSync("/usr/bin/python3", ["-c", "import onnx"], { stdio: "ignore" }).status === 0;
}

/** sin(0.37·i + offset) over the elements: a deterministic input in the range of normalised pixels. */
function wave(n: number, offset = 0): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 2 * Math.sin(0.37 * i + offset);
  return x;
}

function inputShape(m: VisionTransformer, batch: number): number[] {
  const c = m.config;
  return [batch, c.inChans, c.numFrames, c.imgSize, c.imgSize];
}

function torchOutputs(m: VisionTransformer, x: Float32Array, shape: number[]): { logits: Float32Array; features: Float32Array } {
  return noGrad(() => {
    const t = tensor(x, { shape });
    const out = { logits: m.forward(t).toFloat32Array(), features: m.forwardFeatures(t).toFloat32Array() };
    t.dispose();
    return out;
  });
}

async function ortOutputs(file: string, x: Float32Array, shape: number[]): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(file);
  try {
    const out = await s.run({ video: new ort.Tensor("float32", x, shape) });
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await s.release();
  }
}

/** Ops onnxruntime-web's WASM and WebGPU providers both implement (and the exporter may use). */
const WEB_OPS = new Set(["Conv", "Reshape", "Transpose", "Add", "Mul", "Div", "MatMul", "Gemm", "Split", "Softmax", "LayerNormalization", "Erf", "ReduceMean", "Gather", "Cast", "Identity"]);

describe("ONNX export", () => {
  test("float32 → float16 bits match libtorch's .half() (round to nearest even, subnormals, overflow)", () => {
    const special = [0, -0, 1, -1, 65504, 65519.99, 65520, 1e6, -1e6, 6.1e-5, 5.96e-8, 2.98e-8, 2.99e-8, 1e-8, 1 + 2 ** -11, 1 + 3 * 2 ** -11, Infinity, -Infinity, NaN];
    const values = Float32Array.from([...special, ...wave(2000).map((v, i) => v * 10 ** ((i % 12) - 8))]);
    const ours = float32ToFloat16(values);
    const theirs = noGrad(() => tensor(values).to("float16").data() as Uint16Array);
    for (let i = 0; i < values.length; i++) {
      if (Number.isNaN(values[i])) assert.equal(ours[i]! & 0x7c00, 0x7c00, "NaN exponent");
      else assert.equal(ours[i], theirs[i], `value ${values[i]}: 0x${ours[i]!.toString(16)} vs libtorch 0x${theirs[i]!.toString(16)}`);
    }
  });

  test("tiny reference ViT (checkpoint): fp32 logits/features within 1e-4, fp16 within 2e-2; dynamic batch; web-supported ops only", async () => {
    const cfgFile = tinyConfigFile(dir);
    const { model } = await loadModelForInference<VisionTransformer>({ checkpoint: ckpt, configFile: cfgFile, kind: "vit" });
    const shape3 = inputShape(model, 3);
    const x = wave(shape3.reduce((a, b) => a * b, 1), 0.25);
    const ref = torchOutputs(model, x, shape3);
    const f32 = exportOnnx(model, { out: join(dir, "tiny.onnx"), features: true });
    assert.deepEqual(f32.meta.outputs, ["logits", "features"]);
    for (const op of Object.keys(f32.nodes)) assert.ok(WEB_OPS.has(op), `op ${op} is outside the web-supported set`);
    const got = await ortOutputs(f32.onnx, x, shape3);
    assertClose(got.logits!, ref.logits, 1e-4, 0, "fp32 logits");
    assertClose(got.features!, ref.features, 1e-4, 0, "fp32 features");
    // Batch is symbolic: one clip alone gives the first row.
    const one = await ortOutputs(f32.onnx, x.subarray(0, x.length / 3), inputShape(model, 1));
    assertClose(one.logits!, ref.logits.subarray(0, model.config.numClasses), 1e-4, 0, "batch 1");

    const f16 = exportOnnx(model, { out: join(dir, "tiny16.onnx"), features: true, dtype: "fp16" });
    assert.ok(statSync(f16.onnx).size < 0.6 * statSync(f32.onnx).size, "fp16 weights take about half the bytes");
    const half = await ortOutputs(f16.onnx, x, shape3);
    assertClose(half.logits!, ref.logits, 2e-2, 0, "fp16 logits");
    assertClose(half.features!, ref.features, 2e-2, 0, "fp16 features");
  });

  test("onnx.checker (full check, shape inference) accepts the fp32, fp16 and external-data graphs", { skip: hasPythonOnnx() ? false : "Python's onnx package is not installed (apt-get install python3-onnx); CI does not need it" }, async () => {
    const { model } = await loadModelForInference<VisionTransformer>({ checkpoint: ckpt, configFile: tinyConfigFile(dir), kind: "vit" });
    const files = [
      exportOnnx(model, { out: join(dir, "check32.onnx"), features: true }).onnx,
      exportOnnx(model, { out: join(dir, "check16.onnx"), dtype: "fp16" }).onnx,
      exportOnnx(model, { out: join(dir, "checkext.onnx"), externalData: true }).onnx,
    ];
    const script = "import onnx, sys\nfor f in sys.argv[1:]:\n    onnx.checker.check_model(f, full_check=True)\nprint('ok')";
    const r = spawnSync("/usr/bin/python3", ["-c", script, ...files], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "ok");
  });

  test("ViT-S 16×224²: fp32 logits within 1e-4, fp16 within 2e-2", async () => {
    const m = createModel("vit_small_patch16_224", { numClasses: 10 }, { generator: new Generator(7) }) as VisionTransformer;
    m.eval();
    // The fresh head is scaled by 0.001 (init_scale): undo it so the logits are O(1).
    noGrad(() => {
      m.head!.weight.mul_(1000);
      m.head!.bias!.normal_(0, 1, new Generator(8));
    });
    const shape = inputShape(m, 1);
    const x = wave(shape.reduce((a, b) => a * b, 1), 1);
    const ref = torchOutputs(m, x, shape);
    assert.ok(Math.max(...ref.logits.map(Math.abs)) > 0.5, "logits are O(1)");
    const f32 = exportOnnx(m, { out: join(dir, "vits.onnx"), architecture: "vit_small_patch16_224" });
    assert.deepEqual(f32.meta.outputs, ["logits"]);
    const got = await ortOutputs(f32.onnx, x, shape);
    assertClose(got.logits!, ref.logits, 1e-4, 0, "ViT-S fp32 logits");
    const f16 = exportOnnx(m, { out: join(dir, "vits16.onnx"), dtype: "fp16" });
    const half = await ortOutputs(f16.onnx, x, shape);
    assertClose(half.logits!, ref.logits, 2e-2, 0, "ViT-S fp16 logits");
  });

  test("videomae export: sidecar JSON = the model's metadata_props; external weights load; usage errors", async () => {
    const cfgFile = tinyConfigFile(dir);
    const labels = join(dir, "labels.txt");
    writeFileSync(labels, "archery\nbowling\ncycling\ndiving\nfencing\n");
    const out = join(dir, "cli.onnx");
    const r = spawnSync(process.execPath, [bin, "export", ckpt, "--format", "onnx", "--out", out, "--model-config", cfgFile, "--labels", labels, "--json"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.opset, 17);
    const meta = readSidecar(out);
    assert.deepEqual(meta.labels, ["archery", "bowling", "cycling", "diving", "fencing"]);
    assert.equal(meta.preprocessing.numFrames, manifest.cases.vit.config.numFrames);
    assert.equal(meta.preprocessing.size, manifest.cases.vit.config.imgSize);
    const proto = fromBinary(ModelProtoSchema, readFileSync(out));
    assert.equal(Number(proto.opsetImport[0]!.version), 17);
    assert.deepEqual(JSON.parse(proto.metadataProps.find((e) => e.key === "videomae")!.value), meta);
    const inputType = proto.graph!.input[0]!.type!.value;
    assert.equal(inputType.case, "tensorType");
    assert.deepEqual(inputType.case === "tensorType" && inputType.value.shape!.dim.map((d) => d.value.value), ["batch", 3n, 4n, 16n, 16n]);

    const ext = join(dir, "ext.onnx");
    const e = spawnSync(process.execPath, [bin, "export", ckpt, "--out", ext, "--model-config", cfgFile, "--external-data"], { encoding: "utf8" });
    assert.equal(e.status, 0, e.stderr);
    assert.ok(statSync(`${ext}.data`).size > statSync(ext).size, "the larger weights live in the .data file");
    const shape = [2, 3, 4, 16, 16];
    const x = wave(2 * 3 * 4 * 16 * 16);
    assertClose((await ortOutputs(ext, x, shape)).logits!, (await ortOutputs(out, x, shape)).logits!, 0, 0, "external data");

    const bad = spawnSync(process.execPath, [bin, "export", ckpt, "--out", join(dir, "x.pt"), "--model-config", cfgFile], { encoding: "utf8" });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--out must end in \.onnx/);
    const fmt = spawnSync(process.execPath, [bin, "export", ckpt, "--format", "tflite", "--out", out, "--model-config", cfgFile], { encoding: "utf8" });
    assert.equal(fmt.status, 2);
    assert.match(fmt.stderr, /--format must be onnx/);
  });
});
