/** `videomae reconstruct` on a real (ffmpeg-made) video with the tiny reference pretraining model. */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { inflateSync } from "node:zlib";
import { encodePng } from "../../src/io/png.ts";
import { fixtures } from "../helpers.ts";
import { manifest } from "../models/reference-data.ts";

const bin = join(import.meta.dirname, "../../bin/videomae.mjs");

/** Decodes our own PNG output (RGB, filter 0) back to pixels. */
function decodePng(bytes: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  let at = 8;
  let width = 0, height = 0;
  const idat: Uint8Array[] = [];
  while (at < bytes.length) {
    const len = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, at + 8 + len);
    if (type === "IHDR") [width, height] = [view.getUint32(at + 8), view.getUint32(at + 12)];
    if (type === "IDAT") idat.push(data);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (1 + width * 3)], 0);
    rgb.set(raw.subarray(y * (1 + width * 3) + 1, (y + 1) * (1 + width * 3)), y * width * 3);
  }
  return { width, height, rgb };
}

describe("reconstruct", () => {
  test("PNG encoder round-trips", () => {
    const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const back = decodePng(encodePng(rgb, 5, 3));
    assert.deepEqual([back.width, back.height], [5, 3]);
    assert.deepEqual(back.rgb, rgb);
  });

  test("writes a 3-row picture of input / encoder view / reconstruction", () => {
    const dir = mkdtempSync(join(tmpdir(), "vm-recon-"));
    const video = join(dir, "clip.mp4");
    execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=48x32:rate=25:duration=2", "-pix_fmt", "yuv420p", video]);
    const c = manifest.cases.pretrain.config;
    const cfg = join(dir, "cfg.json");
    writeFileSync(cfg, JSON.stringify({
      img_size: c.imgSize, patch_size: c.patchSize, num_frames: c.numFrames, tubelet_size: c.tubeletSize, embed_dim: c.embedDim,
      depth: c.depth, num_heads: c.numHeads, mlp_ratio: c.mlpRatio, decoder_embed_dim: c.decoderEmbedDim, decoder_depth: c.decoderDepth,
      decoder_num_heads: c.decoderNumHeads,
    }));
    const out = join(dir, "recon.png");
    const r = spawnSync(process.execPath, [bin, "reconstruct", video, "--checkpoint", join(fixtures, "checkpoints", "pretrain_compiled.pth"), "--model-config", cfg, "--out", out, "--json"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.ok(Number.isFinite(summary.maskedLoss));
    const img = decodePng(readFileSync(out));
    const size = c.imgSize as number, frames = (c.numFrames as number) / (c.tubeletSize as number);
    assert.deepEqual([img.width, img.height], [frames * size + (frames - 1) * 4, 3 * size + 2 * 4]);
    // The encoder-view row has grey (128) patches where tubes were hidden; the input row has none.
    const px = (x: number, y: number) => [...img.rgb.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];
    let grey = 0;
    for (let y = size + 4; y < 2 * size + 4; y++) for (let x = 0; x < size; x++) if (px(x, y).every((v) => v === 128)) grey++;
    assert.ok(grey >= 0.8 * size * size, `grey pixels in the encoder view: ${grey}`);
  });

  test("clear errors: official checkpoint without an architecture, missing video", () => {
    const r = spawnSync(process.execPath, [bin, "reconstruct", "nope.mp4", "--checkpoint", join(fixtures, "checkpoints", "pretrain_compiled.pth"), "--out", "/tmp/x.png"], { encoding: "utf8" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /official checkpoint: say which architecture with --model NAME/);
  });
});
