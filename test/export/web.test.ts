/**
 * The browser page end to end: `videomae web` serves an exported tiny model, Debian's chromium
 * (driven by playwright-core) loads it, a fixture clip is picked in the page, and the rendered
 * top-k must agree with `videomae predict` on the same clip: same labels in the same order,
 * probabilities within 1e-3. The page decodes the frames itself (<video> seeking + WebCodecs
 * planes converted like ffmpeg's swscale); the only remaining differences are float32
 * summation orders in onnxruntime-web vs libtorch (~1e-6). A screenshot goes to
 * out/test/web/page.png.
 *
 * Also checks the page's YUV → RGB conversion (web/src/yuv.ts) against ffmpeg in Node, pixel
 * for pixel, on the same clip.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { loadModelForInference } from "../../src/eval/load_model.ts";
import { exportOnnx } from "../../src/export/onnx/index.ts";
import type { VisionTransformer } from "../../src/models/vit.ts";
import { FfmpegReader } from "../../src/video/index.ts";
import { startWebServer } from "../../src/web/server.ts";
import { mp4VideoFrameCount } from "../../web/src/mp4.ts";
import { yuv420ToRgb, type YuvMatrix } from "../../web/src/yuv.ts";
import { fixtures } from "../helpers.ts";
import { tinyConfigFile } from "./helpers.ts";

const root = join(import.meta.dirname, "../..");
const bin = join(root, "bin/videomae.mjs");
const ckpt = join(fixtures, "checkpoints", "vit_model_fp32.pth");
const clip = join(fixtures, "clips", "realshort.mp4");
const CHROMIUM = process.env.VIDEOMAE_CHROMIUM ?? "/usr/bin/chromium";
const noBrowser = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium; npm test's set-up tries) or set VIDEOMAE_CHROMIUM`;

describe("browser page (videomae web)", () => {
  test("yuv420ToRgb reproduces ffmpeg's yuv420p → rgb24 bit for bit (BT.601/BT.709, limited/full range, odd sizes)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vm-yuv-"));
    const made = (name: string, size: string, pix: string, tags: string[]) => {
      const f = join(dir, `${name}.mp4`);
      execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", `testsrc2=size=${size}:rate=25:duration=0.12`, "-pix_fmt", pix, ...tags, "-c:v", "libx264", f]);
      return f;
    };
    const cases: { file: string; pix: string; matrix: YuvMatrix; fullRange: boolean }[] = [
      { file: clip, pix: "yuv420p", matrix: "bt601", fullRange: false }, // untagged camera clip
      { file: made("odd", "38x22", "yuv420p", []), pix: "yuv420p", matrix: "bt601", fullRange: false },
      { file: made("bt709", "64x48", "yuv420p", ["-colorspace", "bt709"]), pix: "yuv420p", matrix: "bt709", fullRange: false },
      { file: made("full", "64x48", "yuvj420p", ["-colorspace", "bt709", "-color_range", "pc"]), pix: "yuvj420p", matrix: "bt709", fullRange: true },
    ];
    const reader = new FfmpegReader();
    for (const c of cases) {
      const { width: W, height: H } = await reader.probe(c.file);
      const frames = 3;
      const yuv = execFileSync("ffmpeg", ["-v", "error", "-i", c.file, "-frames:v", String(frames), "-f", "rawvideo", "-pix_fmt", c.pix, "-"], { maxBuffer: 1 << 26 });
      const rgb = await reader.readFrames(c.file, [0, 1, 2]);
      const cw = Math.ceil(W / 2);
      const ch = Math.ceil(H / 2);
      const frameBytes = W * H + 2 * cw * ch;
      const ours = new Uint8Array(rgb.data.length);
      for (let t = 0; t < frames; t++) {
        const f = new Uint8Array(yuv.buffer, yuv.byteOffset + t * frameBytes, frameBytes);
        const u = f.subarray(W * H);
        const v = f.subarray(W * H + cw * ch);
        yuv420ToRgb({ width: W, height: H, y: f, yStride: W, u, uStride: cw, v, vStride: cw, chromaStep: 1, vOffset: 0, matrix: c.matrix, fullRange: c.fullRange }, ours, t * W * H * 3);
      }
      let diff = 0;
      for (let i = 0; i < ours.length; i++) if (ours[i] !== rgb.data[i]) diff++;
      assert.equal(diff, 0, `${c.file} (${c.matrix}, ${c.fullRange ? "full" : "limited"}): ${diff} of ${ours.length} RGB values differ from ffmpeg's`);
    }
  });

  test("mp4VideoFrameCount: the video track's sample count (= ffprobe nb_frames), null for other containers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vm-mp4-"));
    const longAudio = join(dir, "long_audio.mp4");
    // 12 video frames, 1 s of audio: duration × fps would say 25.
    execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=32x32:rate=25:duration=0.48", "-f", "lavfi", "-i", "sine=duration=1", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-c:a", "aac", longAudio]);
    const count = (f: string) => {
      const b = readFileSync(f);
      return mp4VideoFrameCount(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    };
    assert.equal(count(clip), 36);
    assert.equal(count(longAudio), (await new FfmpegReader().probe(longAudio)).frameCount);
    assert.equal(count(longAudio), 12);
    assert.equal(count(join(fixtures, "clips", "Effet_force_magnetique.ogv")), null);
  });

  test("server: page, bundled script, model, onnxruntime-web files; cross-origin isolation headers; nothing else", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vm-websrv-"));
    const { model } = await loadModelForInference<VisionTransformer>({ checkpoint: ckpt, configFile: tinyConfigFile(dir), kind: "vit" });
    const onnx = exportOnnx(model, { out: join(dir, "m.onnx") }).onnx;
    const srv = await startWebServer({ model: onnx, port: 0 });
    try {
      const get = (path: string) => fetch(new URL(path, srv.url));
      for (const [path, type] of [["/", "text/html"], ["/app.js", "text/javascript"], ["/model.json", "application/json"], ["/model.onnx", "application/octet-stream"], ["/ort/ort.min.mjs", "text/javascript"], ["/ort/ort-wasm-simd-threaded.wasm", "application/wasm"]] as const) {
        const r = await get(path);
        assert.equal(r.status, 200, path);
        assert.ok(r.headers.get("content-type")!.startsWith(type), `${path}: ${r.headers.get("content-type")}`);
        assert.equal(r.headers.get("cross-origin-opener-policy"), "same-origin");
        assert.equal(r.headers.get("cross-origin-embedder-policy"), "require-corp");
        await r.arrayBuffer();
      }
      const script = await (await get("/app.js")).text();
      assert.match(script, /function denseValIndices/, "the samplers of src/data are bundled in, not copied");
      assert.doesNotMatch(script, /https?:\/\/(cdn|unpkg|jsdelivr)/);
      assert.equal(readFileSync(onnx).byteLength, (await (await get("/model.onnx")).arrayBuffer()).byteLength);
      for (const path of ["/ort/../package.json", "/ort/%2e%2e/package.json", "/m.onnx", "/web/server.ts"]) assert.equal((await get(path)).status, 404, path);
    } finally {
      await srv.close();
    }
  });

  test("chromium: the page's top-k for a fixture clip = videomae predict's; screenshot", { skip: noBrowser, timeout: 300_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "vm-web-"));
    const cfg = tinyConfigFile(dir);
    const labels = ["archery", "bowling", "cycling", "diving", "fencing"];
    const { model } = await loadModelForInference<VisionTransformer>({ checkpoint: ckpt, configFile: cfg, kind: "vit" });
    const onnx = exportOnnx(model, { out: join(dir, "tiny.onnx"), labels }).onnx;
    const labelsFile = join(dir, "labels.txt");
    writeFileSync(labelsFile, labels.join("\n") + "\n");
    const pr = spawnSync(process.execPath, [bin, "predict", clip, "--checkpoint", ckpt, "--model-config", cfg, "--labels", labelsFile, "--top-k", "5", "--json"], { encoding: "utf8" });
    assert.equal(pr.status, 0, pr.stderr);
    const expected = JSON.parse(pr.stdout).predictions as { label: string; score: number }[];

    const server = spawn(process.execPath, [bin, "web", "--model", onnx, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    server.stderr.on("data", (d) => (stderr += d));
    const { chromium } = await import("playwright-core");
    let browser: Awaited<ReturnType<typeof chromium.launch>> | null = null;
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        server.stdout.on("data", (d) => {
          out += d;
          const m = /serving .* at (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        server.once("exit", (code) => reject(new Error(`videomae web exited with ${code}: ${stderr}`)));
      });
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
      const page = await browser.newPage({ viewport: { width: 960, height: 820 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(url);
      type State = { ready: boolean; error: string | null; runs: number; backend: string; result: { conversion: string; indices: number[]; frameCount: number; countFrom: string } | null };
      const state = () => page.evaluate(() => (globalThis as unknown as { videomae: State }).videomae);
      await page.waitForFunction(() => {
        const s = (globalThis as unknown as { videomae?: State }).videomae;
        return s && (s.ready || s.error);
      }, null, { timeout: 240_000 });
      assert.equal((await state()).error, null);
      assert.equal(await page.evaluate(() => (globalThis as unknown as { crossOriginIsolated: boolean }).crossOriginIsolated), true, "COOP/COEP headers make the page cross-origin isolated (WASM threads)");
      await page.setInputFiles("#file", clip);
      await page.waitForFunction(() => {
        const s = (globalThis as unknown as { videomae: State }).videomae;
        return s.runs > 0 || s.error;
      }, null, { timeout: 240_000 });
      const s = await state();
      assert.equal(s.error, null);
      t.diagnostic(`backend: ${s.backend}; frames ${s.result!.indices.join(",")} of ${s.result!.frameCount} (${s.result!.countFrom}); RGB via ${s.result!.conversion}`);
      assert.equal(s.result!.countFrom, "mp4 sample table");
      const rendered = await page.$$eval("#top5 li", (lis) => lis.map((li) => {
        const data = (li as unknown as { dataset: Record<string, string> }).dataset;
        return { label: data.label!, score: Number(data.score), text: li.textContent ?? "" };
      }));
      assert.equal(rendered.length, 5);
      assert.equal(rendered[0]!.label, expected[0]!.label, "same top-1");
      assert.deepEqual(rendered.map((r) => r.label), expected.map((e) => e.label));
      rendered.forEach((r, i) => {
        assert.ok(Math.abs(r.score - expected[i]!.score) <= 1e-3, `${r.label}: page ${r.score} vs predict ${expected[i]!.score}`);
        assert.ok(r.text.includes(`${(r.score * 100).toFixed(2)}%`), "the percentage is rendered");
      });
      assert.equal(await page.locator("#strip canvas").count(), s.result!.indices.length);
      assert.ok((await page.locator("#timings tr").count()) >= 5, "a time per stage");
      const outDir = join(root, "out", "test", "web");
      mkdirSync(outDir, { recursive: true });
      const shot = join(outDir, "page.png");
      await page.screenshot({ path: shot, fullPage: true });
      t.diagnostic(`screenshot: ${shot}`);
      assert.deepEqual(errors, []);
    } finally {
      await browser?.close();
      server.kill("SIGTERM");
    }
  });
});
