/**
 * The page: load the exported model (GET /model.onnx + /model.json) into onnxruntime-web —
 * WebGPU when the browser has an adapter, else multi-threaded WASM (threads need the cross-origin
 * isolation our server sets up) — then, for a picked or dropped video: the frame indices, resize,
 * centre crop and normalisation of `videomae predict` (the same functions from src/, bundled in),
 * one forward pass, softmax, top-5 with bars, the time of each stage and the sampled frames.
 *
 * State for tests and debugging: `window.videomae` (ready, backend, last result or error).
 */
import type * as OrtModule from "onnxruntime-web";
import { denseValIndices } from "../../src/data/samplers.ts";
import { evalTransform } from "../../src/data/transforms/presets.ts";
import { softmax, topk } from "../../src/eval/metrics.ts";
import type { OnnxModelMeta } from "../../src/export/onnx/meta.ts";
import { Rng } from "../../src/util/rng.ts";
import type { Clip } from "../../src/video/reader.ts";
import { openVideo, readFrames } from "./frames.ts";
import { mp4VideoFrameCount } from "./mp4.ts";

type Ort = typeof OrtModule;

interface Result {
  file: string;
  top: { label: string; index: number; score: number }[];
  timings: Record<string, number>;
  indices: number[];
  frameCount: number;
  countFrom: string;
  fps: number;
  /** How decoded frames became RGB: "webcodecs" (ffmpeg-exact, yuv.ts) or "canvas". */
  conversion: string;
}

interface PageState {
  ready: boolean;
  busy: boolean;
  backend: string;
  result: Result | null;
  error: string | null;
  /** Results so far, in order. */
  runs: number;
}

const state: PageState = { ready: false, busy: false, backend: "", result: null, error: null, runs: 0 };
(window as unknown as { videomae: PageState }).videomae = state;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusEl = $("status");
const ms = (t0: number) => performance.now() - t0;

function setStatus(text: string, error = false) {
  statusEl.textContent = text;
  statusEl.classList.toggle("error", error);
}

/**
 * onnxruntime-web with WebGPU when the browser has an adapter (the JSEP build, which also
 * carries the WASM provider as a fallback), else the smaller WASM-only build, multi-threaded
 * when the page is cross-origin isolated.
 */
async function createSession(model: ArrayBuffer): Promise<{ ort: Ort; session: OrtModule.InferenceSession; backend: string }> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  let adapter: unknown = null;
  try {
    adapter = gpu ? await gpu.requestAdapter() : null;
  } catch {
    adapter = null;
  }
  const ort = (await import((adapter ? "/ort/ort.webgpu.min.mjs" : "/ort/ort.min.mjs") as string)) as Ort;
  ort.env.wasm.wasmPaths = "/ort/";
  const threads = self.crossOriginIsolated ? Math.min(navigator.hardwareConcurrency || 1, 8) : 1;
  ort.env.wasm.numThreads = threads;
  if (adapter) {
    try {
      const session = await ort.InferenceSession.create(model, { executionProviders: ["webgpu"] });
      return { ort, session, backend: "WebGPU" };
    } catch (e) {
      console.warn("WebGPU session failed, using WASM:", e);
    }
  }
  const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
  const why = adapter ? "WebGPU failed" : "no WebGPU adapter";
  return { ort, session, backend: `WASM, ${threads} thread${threads > 1 ? "s" : ""}${self.crossOriginIsolated ? "" : " (page not cross-origin isolated)"} — ${why}` };
}

function renderTop(top: Result["top"]) {
  const ol = $("top5");
  ol.replaceChildren(
    ...top.map((p) => {
      const li = document.createElement("li");
      li.dataset.label = p.label;
      li.dataset.index = String(p.index);
      li.dataset.score = String(p.score);
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = p.label;
      label.title = p.label;
      const bar = document.createElement("div");
      bar.className = "bar";
      const fill = document.createElement("div");
      fill.style.width = `${(p.score * 100).toFixed(2)}%`;
      bar.append(fill);
      const pct = document.createElement("span");
      pct.className = "pct";
      pct.textContent = `${(p.score * 100).toFixed(2)}%`;
      li.append(label, bar, pct);
      return li;
    }),
  );
}

function renderTimings(t: Record<string, number>) {
  $("timings").replaceChildren(
    ...Object.entries(t).map(([k, v]) => {
      const tr = document.createElement("tr");
      const a = document.createElement("td");
      a.textContent = k;
      const b = document.createElement("td");
      b.textContent = `${v.toFixed(1)} ms`;
      tr.append(a, b);
      return tr;
    }),
  );
}

/** Thumbnails of the sampled frames (centre square of each decoded frame). */
function renderStrip(clip: Clip, indices: number[]) {
  const { width: W, height: H } = clip;
  const side = Math.min(W, H);
  const full = document.createElement("canvas");
  full.width = W;
  full.height = H;
  const fctx = full.getContext("2d")!;
  const strip = $("strip");
  strip.replaceChildren();
  for (let t = 0; t < clip.frames; t++) {
    const img = fctx.createImageData(W, H);
    const src = clip.data.subarray(t * W * H * 3, (t + 1) * W * H * 3);
    for (let p = 0, q = 0; q < src.length; p += 4, q += 3) {
      img.data[p] = src[q]!;
      img.data[p + 1] = src[q + 1]!;
      img.data[p + 2] = src[q + 2]!;
      img.data[p + 3] = 255;
    }
    fctx.putImageData(img, 0, 0);
    const c = document.createElement("canvas");
    c.width = 64;
    c.height = 64;
    c.title = `frame ${indices[t]}`;
    c.getContext("2d")!.drawImage(full, (W - side) / 2, (H - side) / 2, side, side, 0, 0, 64, 64);
    strip.append(c);
  }
}

async function main() {
  const timings: Record<string, number> = {};
  let t0 = performance.now();
  const meta = (await (await fetch("/model.json")).json()) as OnnxModelMeta;
  const bytes = await (await fetch("/model.onnx")).arrayBuffer();
  timings["model download"] = ms(t0);
  t0 = performance.now();
  const { ort, session, backend } = await createSession(bytes);
  timings["session start"] = ms(t0);
  state.backend = backend;
  $("backend").textContent = `Backend: ${backend}. Model: ${meta.architecture}, ${meta.dtype}, ${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB, ${meta.numClasses} classes.`;
  renderTimings(timings);
  const p = meta.preprocessing;
  const transform = evalTransform(p.size, { shortSide: p.shortSide, norm: { mean: p.mean, std: p.std } });
  const video = $<HTMLVideoElement>("video");
  setStatus(`Ready (${backend}). Drop a video or choose a file.`);
  state.ready = true;

  async function classify(file: File) {
    if (state.busy) return;
    state.busy = true;
    state.error = null;
    const t: Record<string, number> = { ...timings };
    try {
      setStatus(`Reading ${file.name}…`);
      let s = performance.now();
      const url = URL.createObjectURL(file);
      const timing = await openVideo(video, url, mp4VideoFrameCount(await file.arrayBuffer()));
      const indices = denseValIndices(timing.frameCount, { numFrames: p.numFrames, rate: p.rate });
      const clip = await readFrames(video, timing, indices);
      URL.revokeObjectURL(url);
      t["decode frames"] = ms(s);
      s = performance.now();
      const x = transform(clip, new Rng(0));
      t["resize, crop, normalise"] = ms(s);
      setStatus(`Running the model (${backend})…`);
      s = performance.now();
      const input = new ort.Tensor("float32", x.data, [1, x.channels, x.frames, x.height, x.width]);
      const out = await session.run({ [meta.input.name]: input });
      const logits = (await out.logits!.getData()) as Float32Array;
      t["inference"] = ms(s);
      const probs = softmax(logits);
      const top = topk(probs, Math.min(5, probs.length)).map((i) => ({ index: i, label: meta.labels?.[i] ?? `class ${i}`, score: probs[i]! }));
      renderTop(top);
      renderTimings(t);
      renderStrip(clip, indices);
      $("frameinfo").textContent = `${indices.length} of ${timing.frameCount} frames (count from the ${timing.countFrom}, ${timing.fps.toFixed(2)} fps, ${timing.width}×${timing.height}, RGB via ${clip.conversion}): ${indices.join(", ")}`;
      state.result = { file: file.name, top, timings: t, indices, frameCount: timing.frameCount, countFrom: timing.countFrom, fps: timing.fps, conversion: clip.conversion };
      state.runs++;
      setStatus(`${file.name}: ${top[0]!.label} (${(top[0]!.score * 100).toFixed(1)}%)`);
    } catch (e) {
      state.error = (e as Error).message;
      setStatus(`Error: ${state.error}`, true);
    } finally {
      state.busy = false;
    }
  }

  const input = $<HTMLInputElement>("file");
  input.addEventListener("change", () => {
    const f = input.files?.[0];
    if (f) void classify(f);
  });
  const drop = $("drop");
  drop.addEventListener("click", (e) => {
    if (e.target === drop) input.click();
  });
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer?.files?.[0];
    if (f) void classify(f);
  });
}

main().catch((e) => {
  state.error = (e as Error).message;
  setStatus(`Error: ${state.error}`, true);
});
