// createModel (src/models/index.ts) and the `videomae info` command.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ConfigError,
  PretrainVisionTransformer,
  VisionTransformer,
  createConfig,
  createModel,
  modelReport,
  tinyTestPretrainConfig,
} from "../../src/models/index.ts";
import { infoCommand } from "../../src/cli/commands/info.ts";
import { UsageError } from "../../src/cli/command.ts";
import { Generator } from "../../src/torch/index.ts";

describe("createModel", () => {
  test("a registry name gives the right class with overrides applied", () => {
    const vit = createModel("tiny_test_vit", { numClasses: 7 });
    assert.ok(vit instanceof VisionTransformer);
    assert.equal(vit.head!.outFeatures, 7);
    vit.dispose();
    const pre = createModel("tiny_test_pretrain", { decoderDepth: 2 });
    assert.ok(pre instanceof PretrainVisionTransformer);
    assert.equal(pre.decoder.blocks.length, 2);
    pre.dispose();
    assert.throws(() => createModel("vit_tiny_patch16_224"), ConfigError);
  });

  test("a config object, optionally refined: backbone keys go to the encoder, the decoder head follows the patch size", () => {
    const pre = createModel(tinyTestPretrainConfig(), { patchSize: 4, decoderEmbedDim: 8 });
    assert.equal(pre.config.encoder.patchSize, 4);
    assert.equal(pre.config.decoderNumClasses, 3 * 2 * 4 * 4);
    assert.equal(pre.decoder.head.outFeatures, 96);
    assert.equal(pre.encoder_to_decoder.outFeatures, 8);
    pre.dispose();
    const vit = createModel(createConfig("tiny_test_vit"), { depth: 1 });
    assert.equal(vit.blocks.length, 1);
    vit.dispose();
    assert.throws(() => createModel(createConfig("tiny_test_vit"), { decoderDepth: 1 }), /unknown config option "decoderDepth"/);
    assert.throws(() => createModel(tinyTestPretrainConfig(), { numClasses: 3 }), /unknown config option "numClasses"/);
    assert.throws(() => createModel(createConfig("tiny_test_vit"), { numHeads: 5 }), ConfigError);
  });

  test("options reach the modules: the generator seeds every weight", () => {
    const a = createModel("tiny_test_pretrain", {}, { generator: new Generator(4) });
    const b = createModel("tiny_test_pretrain", {}, { generator: new Generator(4) });
    const flat = (m: PretrainVisionTransformer) => m.parameters().flatMap((t) => t.toArray());
    assert.deepEqual(flat(a), flat(b));
    a.dispose();
    b.dispose();
  });
});

describe("videomae info", () => {
  async function capture(argv: string[]): Promise<string> {
    const lines: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void lines.push(args.join(" "));
    try {
      assert.equal(await infoCommand.run(argv), 0);
    } finally {
      console.log = log;
    }
    return lines.join("\n");
  }

  test("--json prints modelReport", async () => {
    const out = JSON.parse(await capture(["--model", "pretrain_videomae_base_patch16_224", "--json"]));
    assert.deepEqual(out, JSON.parse(JSON.stringify(modelReport("pretrain_videomae_base_patch16_224"))));
    assert.equal(out.encoderSeqLen, 160);
    assert.equal(out.decoderSeqLen, 944);
    assert.equal(out.lossTokensPerSample, 704);
  });

  test("text form: parameters, GMACs, sequence lengths; the ratios are options", async () => {
    const text = await capture(["--model", "vit_base_patch16_224"]);
    assert.match(text, /parameters\s+86,534,800/);
    assert.match(text, /GMACs per view\s+180\.3/);
    const v1 = await capture(["--model", "pretrain_videomae_base_patch16_224", "--decoder-ratio", "0"]);
    assert.match(v1, /decoder 1568 \(1408 mask tokens\)/);
    assert.match(v1, /GMACs per clip\s+35\.44/);
    assert.match(await capture(["--list"]), /vit_giant_patch14_224/);
  });

  test("usage errors", async () => {
    await assert.rejects(infoCommand.run([]), UsageError);
    await assert.rejects(infoCommand.run(["--model", "vit_tiny"]), /unknown model 'vit_tiny'/);
    await assert.rejects(infoCommand.run(["--model", "vit_base_patch16_224", "--bogus"]), UsageError);
    assert.match(infoCommand.help, /Example:\n {2}videomae info --model/);
  });
});
