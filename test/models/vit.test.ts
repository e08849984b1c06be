// The fine-tune / inference VisionTransformer (spec §1.2–§1.5, §6.2) against the PyTorch reference
// of tools/reference/videomae_reference.py, plus structure, init and input checks.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createConfig, VIT_MODEL_NAMES, type VitConfig } from "../../src/models/config.ts";
import { countParams, stateDictShapes } from "../../src/models/counting.ts";
import { ModelInputError, dropPathRates } from "../../src/models/blocks.ts";
import { VisionTransformer } from "../../src/models/vit.ts";
import { sinusoidTable } from "../../src/models/position.ts";
import { F, Generator, native, noGrad, randn, tensor, tidy, type Tensor } from "../../src/torch/index.ts";
import { assertClose } from "../helpers.ts";
import { assertGradClose, manifest, refArray, refCase, refStateDict, refTensor } from "./reference-data.ts";

function refVit(caseName: "vit" | "variant", fusedAttention = true): VisionTransformer {
  const cfg = createConfig("tiny_test_vit", { ...refCase(caseName).config, dropPathRate: 0 }) as VitConfig;
  const model = new VisionTransformer(cfg, { fusedAttention });
  model.loadStateDict(refStateDict(caseName)); // strict
  return model;
}

function keysAndShapes(sd: Map<string, Tensor>): [string, number[]][] {
  return [...sd].map(([k, t]) => [k, t.shape]);
}

describe("VisionTransformer vs the PyTorch reference", () => {
  for (const fused of [true, false]) {
    test(`features and logits match to 1e-5 (${fused ? "fused" : "plain"} attention)`, () => {
      tidy(() => {
        const model = refVit("vit", fused).eval();
        const x = refTensor("vit/input");
        noGrad(() => {
          assertClose(model.forwardFeatures(x).toArray(), refArray("vit/features"), 1e-5, 1e-5, "features");
          assertClose(model.forward(x).toArray(), refArray("vit/logits"), 1e-5, 1e-5, "logits");
        });
        model.dispose();
      });
    });

    test(`cross-entropy gradients w.r.t. the input and parameters match to 1e-4 (${fused ? "fused" : "plain"} attention)`, () => {
      tidy(() => {
        const c = refCase("vit");
        const model = refVit("vit", fused);
        const x = refTensor("vit/input").requiresGrad_();
        const loss = F.crossEntropy(model.forward(x), tensor(c.targets!, { dtype: "int64" }));
        assertClose([loss.item()], [c.loss], 1e-5, 1e-5, "loss");
        loss.backward();
        assertGradClose(x.grad!.toArray(), refArray("vit/grad/input"), "d loss / d input");
        const params = new Map(model.namedParameters());
        for (const name of c.grads) assertGradClose(params.get(name)!.grad!.toArray(), refArray(`vit/grad/${name}`), `d loss / d ${name}`);
        model.dispose();
      });
    });
  }

  test("unused options: CosAttention, layer scale, learnable pos-embed, token-0 norm, mlp ratio 48/11, patch 6", () => {
    tidy(() => {
      const c = refCase("variant");
      const model = refVit("variant");
      assert.equal(model.blocks[0]!.mlp.fc1.outFeatures, 96); // int(22 · 48/11)
      assert.equal(model.fc_norm, null);
      const x = refTensor("variant/input").requiresGrad_();
      const logits = model.forward(x);
      assertClose(logits.toArray(), refArray("variant/logits"), 1e-5, 1e-5, "logits");
      const loss = F.crossEntropy(logits, tensor(c.targets!, { dtype: "int64" }));
      assertClose([loss.item()], [c.loss], 1e-5, 1e-5, "loss");
      loss.backward();
      assertGradClose(x.grad!.toArray(), refArray("variant/grad/input"), "d loss / d input");
      const params = new Map(model.namedParameters());
      for (const name of c.grads) assertGradClose(params.get(name)!.grad!.toArray(), refArray(`variant/grad/${name}`), `d loss / d ${name}`);
      // The official forward adds `pos_embed.clone().detach()`: no gradient reaches it.
      assert.equal(params.get("pos_embed")!.grad, undefined);
      model.dispose();
    });
  });

  test("the position table is the official numpy table, a non-persistent buffer", () => {
    const model = refVit("vit");
    assert.deepEqual(model.pos_embed.shape, [1, 32, 32]);
    assert.deepEqual(Array.from(model.pos_embed.toFloat32Array()), Array.from(refArray("vit/pos_embed")));
    assert.deepEqual(Array.from(model.pos_embed.toFloat32Array()), Array.from(sinusoidTable(32, 32)));
    assert.ok(!model.stateDict().has("pos_embed"));
    assert.deepEqual(model.namedBuffers().map(([k]) => k), ["pos_embed"]);
    model.dispose();
  });
});

describe("structure (spec §6.2)", () => {
  test("ViT-S and ViT-B built in full: keys, order and shapes equal stateDictShapes; numParameters equals countParams", () => {
    for (const [name, total] of [
      ["vit_small_patch16_224", 22_033_936], // 21,879,936 + 384·400 + 400 (400-class head)
      ["vit_base_patch16_224", 86_534_800],
    ] as const) {
      const cfg = createConfig(name);
      const model = new VisionTransformer(cfg);
      const sd = model.stateDict();
      assert.equal(sd.size, 162, name);
      assert.deepEqual(keysAndShapes(sd), stateDictShapes(cfg).map(([k, s]) => [k, [...s]]), name);
      assert.equal(model.numParameters(), countParams(cfg).total, name);
      assert.equal(model.numParameters(), total, name);
      model.dispose();
    }
  });

  test("every size (L/H/g at depth 1): keys and shapes equal stateDictShapes", () => {
    for (const name of VIT_MODEL_NAMES) {
      const cfg = createConfig(name, { depth: 1 });
      const model = new VisionTransformer(cfg);
      assert.deepEqual(keysAndShapes(model.stateDict()), stateDictShapes(cfg).map(([k, s]) => [k, [...s]]), name);
      assert.equal(model.stateDict().size, 13 + 6, name);
      assert.equal(model.numParameters(), countParams(cfg).total, name);
      model.dispose();
    }
  });

  test("unused options change the keys exactly as stateDictShapes says", () => {
    const base = { depth: 2, embedDim: 32, numHeads: 4 };
    for (const extra of [{ qkvBias: false }, { initValues: 0.1 }, { useMeanPooling: false }, { useLearnablePosEmb: true }, { cosAttn: true }, { numClasses: 0 }]) {
      const cfg = createConfig("tiny_test_vit", { ...base, ...extra });
      const model = new VisionTransformer(cfg);
      assert.deepEqual(keysAndShapes(model.stateDict()), stateDictShapes(cfg).map(([k, s]) => [k, [...s]]), JSON.stringify(extra));
      model.dispose();
    }
  });

  test("numClasses 0: the head is an Identity and forward returns the pooled features", () => {
    tidy(() => {
      const model = new VisionTransformer(createConfig("tiny_test_vit", { numClasses: 0 }), { generator: new Generator(1) }).eval();
      assert.equal(model.head, null);
      const x = randn([2, 3, 4, 32, 32], { generator: new Generator(2) });
      const y = noGrad(() => model.forward(x));
      assert.deepEqual(y.shape, [2, 32]);
      assert.deepEqual(y.toArray(), noGrad(() => model.forwardFeatures(x)).toArray());
      model.dispose();
    });
  });

  test("drop-path rates are torch.linspace's float32 values, first block 0, last the full rate", () => {
    // The goldens come from PyTorch 1.13. Later libtorch versions compute linspace's second half
    // another way (start + i·step rather than end − (n−1−i)·step): each is one float32 product and
    // one sum, so the two can differ by up to two ulps of the value — the official code run with
    // that torch gets the same values as ours.
    const exact = native.buildInfo().torchVersion.startsWith("1.");
    const ulp = (v: number) => (v === 0 ? 0 : 2 ** (Math.floor(Math.log2(Math.abs(v))) - 23));
    for (const { rate, depth, values } of manifest.drop_path_rates) {
      const got = dropPathRates(rate, depth);
      if (exact) assert.deepEqual(got, values, `${rate}/${depth}`);
      else got.forEach((v, i) => assert.ok(Math.abs(v - values[i]!) <= 2 * ulp(values[i]!), `${rate}/${depth}[${i}]: ${v} vs ${values[i]}`));
    }
    const model = new VisionTransformer(createConfig("tiny_test_vit", { depth: 4, dropPathRate: 0.1 }));
    assert.deepEqual(
      model.blocks.map((b) => b.drop_path.p),
      dropPathRates(0.1, 4),
    );
    model.dispose();
  });
});

describe("initialisation (spec §1.5)", () => {
  function stats(t: Tensor) {
    const a = t.toFloat32Array();
    let s = 0;
    let s2 = 0;
    let max = 0;
    for (const v of a) {
      s += v;
      s2 += v * v;
      max = Math.max(max, Math.abs(v));
    }
    const mean = s / a.length;
    return { mean, std: Math.sqrt(s2 / a.length - mean * mean), max };
  }

  test("Linear weights trunc-normal 0.02, biases 0, LayerNorm 1/0, q/v bias 0, Conv3d PyTorch default, head × init_scale", () => {
    const cfg = createConfig("vit_small_patch16_224", { depth: 1, numClasses: 400 });
    const model = new VisionTransformer(cfg, { generator: new Generator(3) });
    const p = new Map(model.namedParameters());
    for (const k of ["blocks.0.attn.qkv.weight", "blocks.0.mlp.fc1.weight", "blocks.0.mlp.fc2.weight", "blocks.0.attn.proj.weight"]) {
      const s = stats(p.get(k)!);
      assert.ok(Math.abs(s.std - 0.02) < 4e-4 && Math.abs(s.mean) < 2e-4, `${k}: ${JSON.stringify(s)}`);
    }
    for (const k of ["blocks.0.attn.proj.bias", "blocks.0.mlp.fc1.bias", "blocks.0.mlp.fc2.bias", "blocks.0.attn.q_bias", "blocks.0.attn.v_bias", "blocks.0.norm1.bias", "fc_norm.bias", "head.bias"]) {
      assert.equal(stats(p.get(k)!).max, 0, k);
    }
    for (const k of ["blocks.0.norm1.weight", "blocks.0.norm2.weight", "fc_norm.weight"]) assert.ok(p.get(k)!.toArray().every((v) => v === 1), k);
    const bound = 1 / Math.sqrt(3 * 2 * 16 * 16); // kaiming_uniform(a=√5): U(±1/√fan_in)
    const conv = stats(p.get("patch_embed.proj.weight")!);
    assert.ok(conv.max <= bound && conv.max > 0.99 * bound && Math.abs(conv.std - bound / Math.sqrt(3)) < 0.01 * bound, JSON.stringify(conv));
    const convBias = stats(p.get("patch_embed.proj.bias")!);
    assert.ok(convBias.max <= bound && convBias.max > 0, "conv bias is PyTorch's default U(±1/√fan_in), not 0");
    const head = stats(p.get("head.weight")!);
    assert.ok(Math.abs(head.std - 0.02 * 0.001) < 1e-6, `head std ${head.std}`);
    model.dispose();
  });

  test("a Generator seeds the initialisation", () => {
    const cfg = createConfig("tiny_test_vit");
    const flat = (m: VisionTransformer) => m.parameters().flatMap((t) => t.toArray());
    const [a, b, c] = [3, 3, 4].map((seed) => new VisionTransformer(cfg, { generator: new Generator(seed) }));
    assert.deepEqual(flat(a!), flat(b!));
    assert.notDeepEqual(flat(a!), flat(c!));
    for (const m of [a, b, c]) m!.dispose();
  });
});

describe("input checks and modes", () => {
  const model = new VisionTransformer(createConfig("tiny_test_vit"), { generator: new Generator(0) });

  test("wrong H/W, frame count, channels or rank → ModelInputError naming expected vs got", () => {
    const cases: [number[], RegExp][] = [
      [[1, 3, 4, 32, 24], /input size \(32\*24\) doesn't match model \(32\*32\)/],
      [[1, 3, 4, 64, 64], /input size \(64\*64\) doesn't match model \(32\*32\)/],
      [[1, 3, 8, 32, 32], /expected 4 frames .*got 8/],
      [[1, 1, 4, 32, 32], /expected 3 channels, got 1/],
      [[3, 4, 32, 32], /expected a 5-D video tensor \(B, 3, 4, 32, 32\).*got \[3, 4, 32, 32\]/],
    ];
    for (const [shape, re] of cases) {
      tidy(() => {
        const x = randn(shape);
        assert.throws(() => model.forward(x), (e: Error) => e instanceof ModelInputError && re.test(e.message), JSON.stringify(shape));
      });
    }
  });

  test("eval is deterministic; drop path is active only in training and seeded by dropGenerator", () => {
    tidy(() => {
      const cfg = createConfig("tiny_test_vit", { dropPathRate: 0.5 });
      const run = (train: boolean, seed: number) => {
        const m = new VisionTransformer(cfg, { generator: new Generator(0), dropGenerator: new Generator(seed) });
        m.train(train);
        const y = noGrad(() => m.forward(randn([4, 3, 4, 32, 32], { generator: new Generator(9) })).toArray());
        m.dispose();
        return y;
      };
      assert.deepEqual(run(false, 1), run(false, 2));
      assert.deepEqual(run(true, 1), run(true, 1));
      assert.notDeepEqual(run(true, 1), run(false, 1));
    });
  });
});
