import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { CheckpointFormatError } from "../../src/io/errors.ts";
import { writeSafetensors } from "../../src/io/safetensors.ts";
import {
  detectKeyPrefixes,
  openStateDict,
  readStateDict,
  selectStateDict,
  stripKeyPrefixes,
  stripPrefixes,
} from "../../src/io/state_dict.ts";
import { expectedCheckpoint, fixture, hexOf, tempDir } from "./helpers.ts";

const tmp = tempDir();
after(tmp.cleanup);

describe("state dict selection", () => {
  test("selectStateDict: model, then module, then the whole dict", () => {
    const sd = new Map([["w", 1]]);
    assert.deepEqual(selectStateDict(new Map<string, unknown>([["model", sd], ["module", new Map()]])), { wrapper: "model", dict: sd });
    assert.deepEqual(selectStateDict(new Map<string, unknown>([["module", sd], ["epoch", 1]])), { wrapper: "module", dict: sd });
    assert.deepEqual(selectStateDict(new Map<string, unknown>([["state_dict", sd]])), { wrapper: "state_dict", dict: sd });
    const bare = new Map<string, unknown>([["model.x", 1]]);
    assert.deepEqual(selectStateDict(bare), { wrapper: null, dict: bare });
    // A `model` entry that is not a dict does not count as a wrapper.
    const odd = new Map<string, unknown>([["model", "vit_b"], ["module", sd]]);
    assert.deepEqual(selectStateDict(odd), { wrapper: "module", dict: sd });
    assert.equal(selectStateDict([1, 2]), undefined);
  });

  test("readStateDict unwraps model / module / bare files", async () => {
    const exp = expectedCheckpoint("sd_fp32.pth");
    for (const name of ["sd_fp32.pth", "sd_module.pth", "sd_zip64.pth"]) {
      const sd = await readStateDict(fixture(name));
      assert.deepEqual([...sd.keys()], Object.keys(exp.tensors), name);
      for (const [k, t] of sd) assert.equal(hexOf(t), exp.tensors[k]!.hex, `${name} ${k}`);
    }
    const src = await openStateDict(fixture("sd_module.pth"));
    assert.equal(src.wrapper, "module");
    assert.equal(src.format, "pth");
    await src.close();
  });

  test("requireModelKey and explicit model keys", async () => {
    await assert.rejects(
      openStateDict(fixture("sd_prefixed.pth"), { modelKeys: ["model"], requireModelKey: true }),
      (err: unknown) => err instanceof CheckpointFormatError && /top-level keys are: _orig_mod\./.test(err.message),
    );
    const src = await openStateDict(fixture("sd_module.pth"), { modelKeys: ["module"], requireModelKey: true });
    assert.equal(src.wrapper, "module");
    await src.close();
  });

  test("a checkpoint without tensors where expected is an error", async () => {
    await assert.rejects(
      openStateDict(fixture("sd_fp32.pth"), { modelKeys: ["args"] }),
      (err: unknown) => err instanceof CheckpointFormatError && /no tensors found/.test(err.message),
    );
  });
});

describe("key prefixes", () => {
  test("stripKeyPrefixes strips each prefix at most once, in order", () => {
    assert.equal(stripKeyPrefixes("_orig_mod.encoder.blocks.0.x", ["_orig_mod.", "encoder."]), "blocks.0.x");
    assert.equal(stripKeyPrefixes("encoder._orig_mod.x", ["_orig_mod.", "encoder."]), "_orig_mod.x");
    assert.equal(stripKeyPrefixes("encoder.encoder.x", ["encoder."]), "encoder.x");
    assert.equal(stripKeyPrefixes("decoder.x", ["encoder."]), "decoder.x");
  });

  test("stripPrefixes keeps order and refuses collisions", () => {
    const m = new Map([
      ["model.a", 1],
      ["model.b", 2],
      ["c", 3],
    ]);
    assert.deepEqual([...stripPrefixes(m, ["model."])], [["a", 1], ["b", 2], ["c", 3]]);
    const clash = new Map([
      ["encoder.norm.weight", 1],
      ["norm.weight", 2],
    ]);
    assert.throws(() => stripPrefixes(clash, ["encoder."], "ckpt.pth"), (err: unknown) => {
      assert.ok(err instanceof CheckpointFormatError);
      assert.match(err.message, /ckpt\.pth: stripping prefixes \["encoder\."\] maps both "encoder\.norm\.weight" and "norm\.weight"/);
      return true;
    });
  });

  test("detectKeyPrefixes suggests what the official loader strips", () => {
    assert.deepEqual(detectKeyPrefixes(["_orig_mod.encoder.a", "_orig_mod.decoder.b", "_orig_mod.mask_token"]).suggestedStrip, [
      "_orig_mod.",
      "encoder.",
    ]);
    assert.deepEqual(detectKeyPrefixes(["model.blocks.0.x", "model.fc_norm.weight"]).suggestedStrip, ["model."]);
    assert.deepEqual(detectKeyPrefixes(["module.a", "module.b"]).suggestedStrip, ["module."]);
    assert.deepEqual(detectKeyPrefixes(["model.a", "head.weight"]).suggestedStrip, []);
    assert.deepEqual(detectKeyPrefixes(["backbone.a", "cls_head.b"]).suggestedStrip, ["backbone."]);
    const r = detectKeyPrefixes(["encoder.a", "encoder.b", "decoder.c"]);
    assert.equal(r.keyCount, 3);
    assert.equal(r.prefixCounts.get("encoder."), 2);
    assert.equal(r.prefixCounts.get("_orig_mod."), 0);
  });

  test("pre-training checkpoint: detect, strip _orig_mod./encoder., filter to the encoder", async () => {
    const exp = expectedCheckpoint("sd_prefixed.pth");
    const src = await openStateDict(fixture("sd_prefixed.pth"), {
      stripPrefixes: ["_orig_mod.", "encoder."],
      filter: (k) => !k.startsWith("decoder.") && k !== "mask_token" && !k.startsWith("encoder_to_decoder."),
    });
    try {
      assert.equal(src.wrapper, null);
      assert.deepEqual(src.prefixes.suggestedStrip, ["_orig_mod.", "encoder."]);
      const keys = [...src.tensors.keys()];
      assert.ok(keys.includes("patch_embed.proj.weight"));
      assert.ok(keys.includes("blocks.1.mlp.fc2.bias"));
      assert.ok(keys.includes("norm.weight"));
      assert.ok(!keys.some((k) => k.startsWith("decoder") || k === "mask_token" || k.startsWith("encoder")));
      const t = await src.tensors.get("patch_embed.proj.weight")!.read();
      assert.deepEqual(t.shape, [8, 3, 2, 4, 4]);
      assert.equal(hexOf(t), exp.tensors["_orig_mod.encoder.patch_embed.proj.weight"]!.hex);
    } finally {
      await src.close();
    }
  });

  test("safetensors files load through the same API (HF `model.` prefix)", async () => {
    const p = join(tmp.dir, "hf.safetensors");
    await writeSafetensors(p, {
      "model.fc_norm.weight": { dtype: "float16", shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
      "model.blocks.0.attn.q_bias": { dtype: "float32", shape: [2], data: new Float32Array([1, 2]) },
    });
    const src = await openStateDict(p, { stripPrefixes: ["model."], toFloat32: true });
    try {
      assert.equal(src.format, "safetensors");
      assert.deepEqual(src.prefixes.suggestedStrip, ["model."]);
      assert.equal(src.tensors.get("fc_norm.weight")!.dtype, "float32");
      assert.deepEqual([...(await src.tensors.get("fc_norm.weight")!.read()).data], [1, -2]);
    } finally {
      await src.close();
    }
  });
});
