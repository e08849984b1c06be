/**
 * Devices: every test runs on the CPU and, when this process can use one, on the first CUDA GPU
 * (scripts/gpu-check.sh runs the suite on a GPU machine). Without a GPU the CUDA variants are
 * skipped with the reason. GPU results are compared with float64 references on the CPU, with the
 * same first-order float32 bounds as the CPU kernels (ATen's fused GPU kernels accumulate in
 * float32 as well) or with the CPU's own float32 result where both compute the same composition.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createModel } from "../../src/models/index.ts";
import { AdamW } from "../../src/optim/index.ts";
import { pretrainLoss } from "../../src/models/loss.ts";
import {
  cudaInfo,
  DeviceError,
  F,
  Generator,
  randn,
  resolveDevice,
  tensor,
  tidy,
  zeros,
  type Device,
} from "../../src/torch/index.ts";
import { attentionErrorBounds, assertWithin, U32 } from "./attention-bounds.ts";

const cuda = cudaInfo();
const devices: { device: Device; skip: string | false }[] = [
  { device: "cpu", skip: false },
  {
    device: "cuda:0",
    skip: cuda.available ? false : cuda.built ? "libtorch has CUDA but no GPU is visible" : "this addon's libtorch is CPU-only (no CUDA)",
  },
];

describe("device names", () => {
  test("auto picks a GPU only when one is usable; bad names and unusable devices are DeviceErrors", () => {
    assert.equal(resolveDevice("auto"), cuda.available ? "cuda:0" : "cpu");
    assert.equal(resolveDevice("cpu"), "cpu");
    assert.throws(() => resolveDevice("gpu"), (e: Error) => e instanceof DeviceError && /auto, cpu, cuda, cuda:N/.test(e.message));
    if (!cuda.available) {
      assert.throws(() => resolveDevice("cuda"), (e: Error) => e instanceof DeviceError && /CPU-only|no CUDA GPU|without CUDA/.test(e.message));
      assert.throws(() => zeros([2], { device: "cuda" }), /without CUDA|no CUDA GPU/);
    } else {
      assert.equal(resolveDevice("cuda"), "cuda:0");
      assert.throws(() => resolveDevice(`cuda:${cuda.deviceCount}`), DeviceError);
    }
  });
  test("cudaInfo describes what libtorch and the driver report", () => {
    assert.equal(typeof cuda.built, "boolean");
    assert.equal(cuda.available, cuda.deviceCount > 0);
    for (const g of cuda.gpus) {
      assert.match(g.computeCapability, /^\d+\.\d+$/);
      assert.ok(g.memoryBytes > 0 && g.name.length > 0);
    }
  });
});

for (const { device, skip } of devices) {
  describe(`on ${device}`, { skip }, () => {
    test("creation, moves and generators", () => {
      tidy(() => {
        const z = zeros([2, 3], { device });
        assert.equal(z.device, device);
        const host = tensor([[1, 2, 3], [4, 5, 6]]);
        const there = host.toDevice(device);
        assert.equal(there.device, device);
        assert.deepEqual(there.toArray(), [1, 2, 3, 4, 5, 6]); // data comes back through the host
        assert.deepEqual(tensor([1, 2], { device }).toDevice("cpu").toArray(), [1, 2]);
        // The same seed gives the same stream on the same device.
        const a = randn([5], { generator: new Generator(3).on(device), device }).toArray();
        const b = randn([5], { generator: new Generator(3).on(device), device }).toArray();
        assert.deepEqual(a, b);
        return undefined;
      });
    });

    test("packed attention forward and backward within the float32 bounds of the float64 reference", () => {
      tidy(() => {
        const [B, N, H, d] = [2, 40, 3, 16];
        const g = new Generator(11);
        const qkv = randn([B, N, 3 * H * d], { generator: g }).mul(1.5);
        const dout = randn([B, N, H * d], { generator: g });
        const x = qkv.toDevice(device).detach().requiresGrad_(); // a leaf of its own on the CPU too
        const out = F.packedAttention(x, H);
        assert.equal(out.device, device);
        out.backward(dout.toDevice(device));
        const x64 = qkv.to("float64").requiresGrad_();
        F.packedAttentionReference(x64, H).backward(dout.to("float64"));
        const bound = attentionErrorBounds(qkv, dout, H);
        assertWithin(out.toDevice("cpu"), F.packedAttentionReference(qkv.to("float64"), H), bound.out, U32, `forward on ${device}`);
        assertWithin(x.grad!.toDevice("cpu"), x64.grad!, bound.grad, U32, `backward on ${device}`);
        return undefined;
      });
    });

    test("a model moved with Module.to trains a step there and matches the CPU", () => {
      tidy(() => {
        const build = () =>
          createModel("vit_small_patch16_224", { depth: 1, embedDim: 32, numHeads: 2, numClasses: 3, imgSize: 32, numFrames: 4 }, { generator: new Generator(5) });
        const ref = build();
        const model = build();
        const params = model.parameters();
        model.to(device);
        assert.equal(model.device, device);
        assert.ok(params.every((p, i) => p === model.parameters()[i]), "Module.to keeps the parameter objects");
        const video = randn([2, 3, 4, 32, 32], { generator: new Generator(6) });
        const expected = ref.forward(video);
        const logits = model.forward(video.toDevice(device));
        assert.equal(logits.device, device);
        // Same composition in float32 on both devices: allow a few ulp of the logits' scale per
        // accumulated term (the GPU sums in another order).
        const scale = Math.max(...expected.abs().toArray());
        const e = expected.toArray();
        logits.toDevice("cpu").toArray().forEach((v, i) => assert.ok(Math.abs(v - e[i]!) <= 1e-5 * (scale + 1), `logit ${i}: ${v} vs ${e[i]}`));
        const opt = new AdamW([{ params: model.parameters(), weightDecay: 0.05, lrScale: 1 }], { lr: 1e-3 });
        const before = model.parameters()[0]!.toDevice("cpu").toArray();
        F.crossEntropy(logits, tensor([0, 2], { dtype: "int64", device })).backward();
        opt.step();
        const after = model.parameters()[0]!;
        assert.equal(after.device, device, "the optimizer updated the parameter where it lives");
        assert.notDeepEqual(after.toDevice("cpu").toArray(), before);
        return undefined;
      });
    });

    test("the pre-training loss on the device equals the CPU's", () => {
      tidy(() => {
        const video = randn([1, 3, 4, 32, 32], { generator: new Generator(8) });
        const N = 2 * 2 * 2;
        const enc = Uint8Array.from({ length: N }, (_, i) => (i % 4 === 0 ? 0 : 1));
        const dec = Uint8Array.from({ length: N }, (_, i) => (i % 2 === 0 ? 0 : 1));
        const opts = { tubeletSize: 2, patchSize: 16, normalize: true };
        const kept = dec.filter((v) => v === 0).length;
        const pred = randn([1, kept, 2 * 16 * 16 * 3], { generator: new Generator(9) });
        const cpu = pretrainLoss(video, pred, enc, dec, opts);
        const there = pretrainLoss(video.toDevice(device), pred.toDevice(device), enc, dec, opts);
        assert.equal(there.numLossTokens, cpu.numLossTokens);
        const [a, b] = [there.loss.item(), cpu.loss.item()];
        assert.ok(Math.abs(a - b) <= 1e-5 * Math.abs(b), `loss ${a} vs ${b}`);
        return undefined;
      });
    });

    test("our CPU kernels refuse tensors on other devices, naming the op", { skip: device === "cpu" ? "only meaningful off the CPU" : false }, () => {
      tidy(() => {
        const x = randn([4, 8], { device });
        assert.throws(() => F.linearBf16(x, randn([3, 8], { device })), /linearBf16 is a CPU kernel/);
        return undefined;
      });
    });
  });
}
