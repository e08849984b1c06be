/** `videomae info / forward / convert` end to end through the CLI binary. */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { openSafetensors } from "../../src/io/safetensors.ts";
import { readNpy, writeNpy } from "../../src/io/npy.ts";
import { assertClose, fixtures } from "../helpers.ts";
import { manifest, refArray, refShape } from "../models/reference-data.ts";

const bin = join(import.meta.dirname, "../../bin/videomae.mjs");
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
const ck = (name: string) => join(fixtures, "checkpoints", name);

/** The tiny reference configs in the official JSON field names. */
function officialConfig(c: Record<string, number | boolean>, pretrain: boolean) {
  const o: Record<string, unknown> = {
    img_size: c.imgSize, patch_size: c.patchSize, num_frames: c.numFrames, tubelet_size: c.tubeletSize,
    embed_dim: c.embedDim, depth: c.depth, num_heads: c.numHeads, mlp_ratio: c.mlpRatio,
  };
  if (pretrain) Object.assign(o, { decoder_embed_dim: c.decoderEmbedDim, decoder_depth: c.decoderDepth, decoder_num_heads: c.decoderNumHeads });
  else o.num_classes = c.numClasses;
  return o;
}

describe("model CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "vm-cli-"));

  test("info prints the official numbers", () => {
    const out = JSON.parse(execFileSync(process.execPath, [bin, "info", "--model", "vit_base_patch16_224", "--json"], { encoding: "utf8" }));
    assert.equal(out.paramsWithoutHead, 86_227_200);
    assert.equal(Math.round(out.gmacs * 10) / 10, 180.3);
    const r = run("info", "--model", "nope");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown model 'nope'/);
  });

  test("forward: logits and features from a config JSON + .pth match PyTorch", async () => {
    const cfg = join(dir, "vit.json");
    writeFileSync(cfg, JSON.stringify(officialConfig(manifest.cases.vit.config, false)));
    const input = join(dir, "x.npy");
    await writeNpy(input, { dtype: "float32", shape: refShape("vit/input"), data: refArray("vit/input") });
    const r = run("forward", "--model-config", cfg, "--checkpoint", ck("vit_model_fp32.pth"), "--input", input, "--out", join(dir, "y.npy"));
    assert.equal(r.status, 0, r.stderr);
    const y = await readNpy(join(dir, "y.npy"));
    assert.deepEqual(y.shape, [2, 5]);
    assertClose(y.data as Float32Array, refArray("vit/logits"), 1e-5, 1e-5, "logits");
    assert.equal(run("forward", "--model-config", cfg, "--checkpoint", ck("vit_model_fp32.pth"), "--input", input, "--out", join(dir, "f.npy"), "--features", "--quiet").status, 0);
    assertClose((await readNpy(join(dir, "f.npy"))).data as Float32Array, refArray("vit/features"), 1e-5, 1e-5, "features");
  });

  test("forward --pretrain: predictions and loss with bool masks", async () => {
    const c = manifest.cases.pretrain;
    const cfg = join(dir, "pre.json");
    writeFileSync(cfg, JSON.stringify(officialConfig(c.config, true)));
    const input = join(dir, "xp.npy");
    await writeNpy(input, { dtype: "float32", shape: refShape("pretrain/input"), data: refArray("pretrain/input") });
    const B = refShape("pretrain/input")[0]!;
    const N = c.encoder_mask!.length / B;
    await writeNpy(join(dir, "e.npy"), { dtype: "bool", shape: [B, N], data: Uint8Array.from(c.encoder_mask!) });
    await writeNpy(join(dir, "d.npy"), { dtype: "bool", shape: [B, N], data: Uint8Array.from(c.decoder_mask!) });
    const r = run("forward", "--pretrain", "--model-config", cfg, "--checkpoint", ck("pretrain_compiled.pth"), "--input", input,
      "--encoder-mask", join(dir, "e.npy"), "--decoder-mask", join(dir, "d.npy"), "--out", join(dir, "pred.npy"), "--loss-out", join(dir, "loss.npy"), "--quiet");
    assert.equal(r.status, 0, r.stderr);
    assertClose((await readNpy(join(dir, "pred.npy"))).data as Float32Array, refArray("pretrain/pred"), 1e-5, 1e-5, "pred");
    assertClose((await readNpy(join(dir, "loss.npy"))).data as Float32Array, [c.loss], 1e-6, 1e-5, "loss");
  });

  test("convert: .pth → safetensors in bf16, loadable and close to the original", async () => {
    const out = join(dir, "vit.safetensors");
    const r = run("convert", ck("vit_model_fp32.pth"), out, "--dtype", "bf16", "--json");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).wrapper, "model");
    const st = await openSafetensors(out);
    assert.ok([...st.tensors.values()].every((t) => t.dtype === "bfloat16"));
    await st.close();
    const cfg = join(dir, "vit.json");
    const rr = run("forward", "--model-config", cfg, "--checkpoint", out, "--input", join(dir, "x.npy"), "--out", join(dir, "yb.npy"), "--quiet");
    assert.equal(rr.status, 0, rr.stderr);
    assertClose((await readNpy(join(dir, "yb.npy"))).data as Float32Array, refArray("vit/logits"), 5e-2, 5e-2, "bf16 logits");
    const bad = run("convert", ck("vit_model_fp32.pth"), out, "--dtype", "f8");
    assert.equal(bad.status, 2);
  });
});
