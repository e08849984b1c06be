/**
 * Frame access in the page with a <video> element: the frame rate from the timestamps of a few
 * played frames (requestVideoFrameCallback), the frame count from the MP4 sample table (else
 * round(duration × fps)), and frame
 * i by seeking to the middle of its display interval, then reading the decoded 4:2:0 planes
 * through WebCodecs (`new VideoFrame(video)`) and converting them to RGB the way ffmpeg does
 * for `videomae predict` (yuv.ts) — or, when the browser hands out no CPU-readable I420/NV12
 * frame, drawing the element on a canvas (the browser's own colour conversion, ±1–3 levels).
 * The result is RGB (T, H, W, 3) uint8, the layout src/data/transforms works on.
 */
import type { Clip } from "../../src/video/reader.ts";
import { matrixOf, yuv420ToRgb, type Planes420 } from "./yuv.ts";

export interface VideoTiming {
  /** Frames per second of the video stream. */
  fps: number;
  /** Presentation time of frame 0 on the element's timeline (s). */
  start: number;
  duration: number;
  frameCount: number;
  /** Where frameCount came from. */
  countFrom: "mp4 sample table" | "duration × fps";
  width: number;
  height: number;
}

function once(el: HTMLMediaElement, ok: string, timeoutMs = 15000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`the video did not fire '${ok}' within ${timeoutMs / 1000} s`)), timeoutMs);
    const onOk = () => done();
    const onErr = () => done(new Error(`the browser cannot decode this video (${el.error?.message || `media error ${el.error?.code}`})`));
    function done(e?: Error) {
      clearTimeout(timer);
      el.removeEventListener(ok, onOk);
      el.removeEventListener("error", onErr);
      if (e) reject(e);
      else resolve();
    }
    el.addEventListener(ok, onOk);
    el.addEventListener("error", onErr);
  });
}

/**
 * Loads `src` into the element and measures its frame timing; `knownCount` (from the container,
 * mp4.ts) overrides the frame count estimated from duration × fps.
 */
export async function openVideo(video: HTMLVideoElement, src: string, knownCount: number | null = null): Promise<VideoTiming> {
  const loaded = once(video, "loadeddata");
  video.src = src;
  await loaded;
  if (!("requestVideoFrameCallback" in video)) throw new Error("this browser lacks requestVideoFrameCallback (needed to measure the frame rate)");
  // Play a few frames and read their media timestamps.
  const times: { t: number; n: number }[] = [];
  await new Promise<void>((resolve, reject) => {
    const stop = () => {
      video.pause();
      resolve();
    };
    const timer = setTimeout(stop, 8000);
    const onFrame = (_now: number, m: VideoFrameCallbackMetadata) => {
      times.push({ t: m.mediaTime, n: m.presentedFrames });
      if (times.length >= 10 || video.ended) {
        clearTimeout(timer);
        stop();
      } else video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    video.addEventListener("ended", () => {
      clearTimeout(timer);
      stop();
    }, { once: true });
    video.currentTime = 0;
    video.play().catch(reject);
  });
  // Consecutive presented frames give one frame interval each; skipped ones are multiples of it.
  const steps: number[] = [];
  for (let i = 1; i < times.length; i++) {
    const dt = times[i]!.t - times[i - 1]!.t;
    const dn = times[i]!.n - times[i - 1]!.n;
    if (dt > 0 && dn >= 1) steps.push(dt);
  }
  if (!steps.length) throw new Error("could not measure the frame rate (fewer than two frames played)");
  const interval = Math.min(...steps);
  const fps = 1 / interval;
  const start = Math.min(...times.map((x) => x.t));
  const frameCount = knownCount ?? Math.max(1, Math.round((video.duration - start) * fps));
  const countFrom = knownCount ? "mp4 sample table" : "duration × fps";
  return { fps, start, duration: video.duration, frameCount, countFrom, width: video.videoWidth, height: video.videoHeight };
}

/** Seeks to frame `i` and waits until it is the element's current frame. */
async function seekFrame(video: HTMLVideoElement, timing: VideoTiming, i: number): Promise<void> {
  const t = timing.start + (i + 0.5) / timing.fps;
  if (Math.abs(video.currentTime - t) < 1e-6) return;
  const seeked = once(video, "seeked");
  video.currentTime = t;
  await seeked;
}

/** RGB of the element's current frame from its raw planes, or null when they are not readable. */
async function planesToRgb(video: HTMLVideoElement, W: number, H: number): Promise<Uint8Array | null> {
  if (typeof VideoFrame === "undefined") return null;
  let frame: VideoFrame;
  try {
    frame = new VideoFrame(video);
  } catch {
    return null;
  }
  try {
    const fmt = frame.format;
    const rect = frame.visibleRect;
    if ((fmt !== "I420" && fmt !== "NV12") || !rect || rect.width !== W || rect.height !== H) return null;
    const buf = new Uint8Array(frame.allocationSize());
    const layout = await frame.copyTo(buf);
    const [yl, ul, vl] = layout;
    const plane = (l: PlaneLayout) => buf.subarray(l.offset);
    const p: Planes420 =
      fmt === "I420"
        ? { width: W, height: H, y: plane(yl!), yStride: yl!.stride, u: plane(ul!), uStride: ul!.stride, v: plane(vl!), vStride: vl!.stride, chromaStep: 1, vOffset: 0 }
        : { width: W, height: H, y: plane(yl!), yStride: yl!.stride, u: plane(ul!), uStride: ul!.stride, v: plane(ul!), vStride: ul!.stride, chromaStep: 2, vOffset: 1 };
    const rgb = new Uint8Array(W * H * 3);
    yuv420ToRgb({ ...p, matrix: matrixOf(frame.colorSpace?.matrix), fullRange: frame.colorSpace?.fullRange === true }, rgb);
    return rgb;
  } catch {
    return null;
  } finally {
    frame.close();
  }
}

/**
 * The frames `indices` (in order, repeats allowed) as an RGB uint8 clip at the video's size,
 * and how they were converted ("webcodecs-i420"/"webcodecs-nv12" or "canvas").
 */
export async function readFrames(video: HTMLVideoElement, timing: VideoTiming, indices: readonly number[]): Promise<Clip & { conversion: string }> {
  const { width: W, height: H } = timing;
  const canvas = document.createElement("canvas");
  canvas.width = W;
  canvas.height = H;
  const ctx = canvas.getContext("2d", { willReadFrequently: true, colorSpace: "srgb" })!;
  const data = new Uint8Array(indices.length * H * W * 3);
  const cache = new Map<number, Uint8Array>();
  const used = new Set<string>();
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    let rgb = cache.get(i);
    if (!rgb) {
      await seekFrame(video, timing, i);
      const exact = await planesToRgb(video, W, H);
      if (exact) {
        cache.set(i, exact);
        used.add("webcodecs");
        data.set(exact, k * H * W * 3);
        continue;
      }
      used.add("canvas");
      ctx.drawImage(video, 0, 0, W, H);
      const rgba = ctx.getImageData(0, 0, W, H).data;
      rgb = new Uint8Array(W * H * 3);
      for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
        rgb[q] = rgba[p]!;
        rgb[q + 1] = rgba[p + 1]!;
        rgb[q + 2] = rgba[p + 2]!;
      }
      cache.set(i, rgb);
    }
    data.set(rgb, k * H * W * 3);
  }
  return { data, frames: indices.length, height: H, width: W, conversion: [...used].join("+") };
}
