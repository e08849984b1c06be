/**
 * Frame-index samplers of the official data pipelines (spec §4.1–4.3, §7). Pure functions of
 * (frame count, parameters, Rng) returning 0-based integer frame indices, always in range
 * 0..frameCount−1, ready for VideoReader.readFrames. Where the official code has quirks (how short
 * videos are padded, linspace rather than an exact stride in fine-tuning), they are reproduced
 * on purpose; each function says which official code it mirrors.
 *
 * The official code draws with numpy; `np.random.randint(n)` ↔ `rng.int(0, n − 1)` here. The
 * distributions match; the random streams of course do not.
 */
import type { Rng } from "../util/rng.ts";

export interface PretrainSampling {
  /** Frames per clip (`--num_frames`, 16). */
  numFrames?: number;
  /** Exact stride between frames (`--sampling_rate`, 4; 2 for Something-Something V2, see pretrainStride). */
  stride?: number;
}

/**
 * Pre-training clip (`HybridVideoMAE._sample_train_indices` + `get_frame_id_list`, one segment,
 * no jitter): start s uniform in [0, L − numFrames·stride], frames s, s+stride, …
 *   L = 300, stride 4: s + [0, 4, 8, …, 60] for a random s in 0..236.
 * Shorter videos start at 0 and advance only while `offset + stride < L` (1-based offset, as the
 * official loop), then repeat the last frame reached:
 *   L = 30, stride 4 → [0, 4, 8, 12, 16, 20, 24, 28, 28, 28, 28, 28, 28, 28, 28, 28]
 *   L = 29, stride 4 → [0, 4, …, 24, 24, …] (frame 28 exists but the loop stops at 24).
 */
export function pretrainIndices(frameCount: number, opts: PretrainSampling, rng: Rng): number[] {
  checkCount(frameCount);
  const numFrames = positiveInt(opts.numFrames ?? 16, "numFrames");
  const stride = positiveInt(opts.stride ?? 4, "stride");
  const span = numFrames * stride; // `skip_length`
  const avg = frameCount - span + 1; // `average_duration` with one segment
  let offset = (avg > 0 ? rng.int(0, avg - 1) : 0) + 1; // 1-based, as in the official code
  const out: number[] = [];
  for (let k = 0; k < numFrames; k++) {
    out.push(offset - 1);
    if (offset + stride < frameCount) offset += stride;
  }
  return out;
}

/**
 * The pre-training stride for a list entry: `HybridVideoMAE` forces 2 for paths containing
 * "SomethingV2" (frames extracted at 12 fps), otherwise `--sampling_rate`.
 */
export function pretrainStride(path: string, samplingRate = 4): number {
  return path.includes("SomethingV2") ? 2 : samplingRate;
}

export interface DenseSampling {
  numFrames?: number;
  /** Frame sampling rate (`--sampling_rate`: 4 for Kinetics/UCF101, 2 for HMDB51). */
  rate?: number;
}

/**
 * The indices `linspace(start, end, n)` clipped to ≤ end − 1 and truncated to integers — the
 * window rule of `VideoClsDataset.load_video`. Not an exact stride: for a 64-frame window
 *   denseWindow(164, 228, 16) → [164, 168, 172, 176, 181, 185, 189, 193, 198, 202, 206, 210, 215, 219, 223, 227]
 */
export function denseWindow(start: number, end: number, numFrames: number): number[] {
  return linspace(start, end, numFrames).map((x) => Math.trunc(Math.min(Math.max(x, start), end - 1)));
}

/**
 * Fine-tuning train clip, dense sampling (`VideoClsDataset`, mode train): window length
 * Lw = numFrames·rate, end e uniform in [Lw, L − 1], indices denseWindow(e − Lw, e, numFrames):
 * offsets 0,4,8,12,17,21,25,29,34,38,42,46,51,55,59,63 from the start for Lw = 64.
 * Videos with L ≤ Lw take `linspace(0, L, ⌊L/rate⌋)` padded with L, clipped to L − 1:
 *   L = 30, rate 4 → [0, 5, 10, 15, 20, 25, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29]
 */
export function denseTrainIndices(frameCount: number, opts: DenseSampling, rng: Rng): number[] {
  return denseClip(frameCount, opts, (lw) => rng.int(lw, frameCount - 1));
}

/**
 * Validation clip during fine-tuning, dense sampling (`VideoClsDataset`, mode validation): the
 * centred window, e = ⌊(Lw + L)/2⌋; short videos as in denseTrainIndices.
 *   L = 300, rate 4 → denseWindow(118, 182, 16) = [118, 122, …, 181]
 */
export function denseValIndices(frameCount: number, opts: DenseSampling = {}): number[] {
  return denseClip(frameCount, opts, (lw) => Math.floor((lw + frameCount) / 2));
}

function denseClip(frameCount: number, opts: DenseSampling, pickEnd: (lw: number) => number): number[] {
  checkCount(frameCount);
  const numFrames = positiveInt(opts.numFrames ?? 16, "numFrames");
  const rate = positiveInt(opts.rate ?? 4, "rate");
  const lw = numFrames * rate; // `converted_len`
  if (frameCount <= lw) {
    const n = Math.floor(frameCount / rate);
    const xs = linspace(0, frameCount, n);
    while (xs.length < numFrames) xs.push(frameCount);
    return xs.map((x) => Math.trunc(Math.min(Math.max(x, 0), frameCount - 1)));
  }
  const end = pickEnd(lw);
  return denseWindow(end - lw, end, numFrames);
}

export interface DenseTestSampling extends DenseSampling {
  /** Temporal clips per video (`--test_num_segment`: 5 for Kinetics/UCF/HMDB in the scripts). */
  numClips?: number;
}

/**
 * Test-time dense clips (`VideoClsDataset`, mode test): decode every rate-th frame
 * (0, rate, 2·rate, … < L), pad with the last to ≥ numFrames entries (F of them); clip k starts at
 * int(k·(F − numFrames)/(K − 1)) in that list and takes numFrames consecutive entries — an exact
 * stride. Returns the original frame indices of each clip.
 *   L = 100, rate 4, K = 5: F = 25, starts 0, 2, 4, 6, 9 → clip 0 = [0, 4, …, 60], clip 4 = [36, 40, …, 96]
 * K = 1: the official formula divides by zero (K − 1 = 0); here the single clip is centred,
 * starting at ⌊(F − numFrames)/2⌋ (like the centred validation window).
 */
export function denseTestClips(frameCount: number, opts: DenseTestSampling = {}): number[][] {
  checkCount(frameCount);
  const numFrames = positiveInt(opts.numFrames ?? 16, "numFrames");
  const rate = positiveInt(opts.rate ?? 4, "rate");
  const numClips = positiveInt(opts.numClips ?? 5, "numClips");
  const all: number[] = [];
  for (let i = 0; i < frameCount; i += rate) all.push(i);
  while (all.length < numFrames) all.push(all[all.length - 1]!);
  const f = all.length;
  const clips: number[][] = [];
  for (let k = 0; k < numClips; k++) {
    // Same float operations as the official `int(chunk_nb * max(1.0 * (F - clip_len) / (K - 1), 0))`.
    const start = numClips === 1 ? Math.floor((f - numFrames) / 2) : Math.trunc(k * Math.max((f - numFrames) / (numClips - 1), 0));
    clips.push(all.slice(start, start + numFrames));
  }
  return clips;
}

export interface SegmentSampling {
  /** Segments = frames per clip (`--num_frames`, 16). */
  numSegments?: number;
}

/**
 * Segment-based train clip (TSN style; `RawFrameClsDataset`, SSv2): the video is cut into
 * numSegments segments of ⌊L/numSegments⌋ frames and one frame is drawn uniformly inside each.
 *   L = 50 → frame 3k + rng.int(0, 2) for segment k.
 * Videos shorter than numSegments: [0 × (numSegments − L), 0, 1, …, L − 1] (zeros in front, as the
 * official code pads).
 */
export function segmentTrainIndices(frameCount: number, opts: SegmentSampling, rng: Rng): number[] {
  return segmentClip(frameCount, opts, (avg) => rng.int(0, avg - 1));
}

/**
 * Segment-based validation clip: the centre frame of each segment, k·avg + ⌊avg/2⌋.
 *   L = 50 → [1, 4, 7, …, 46]
 */
export function segmentValIndices(frameCount: number, opts: SegmentSampling = {}): number[] {
  return segmentClip(frameCount, opts, (avg) => Math.floor(avg / 2));
}

function segmentClip(frameCount: number, opts: SegmentSampling, pick: (avg: number) => number): number[] {
  checkCount(frameCount);
  const numSegments = positiveInt(opts.numSegments ?? 16, "numSegments");
  const avg = Math.floor(frameCount / numSegments);
  if (avg > 0) return Array.from({ length: numSegments }, (_, k) => k * avg + pick(avg));
  const out = new Array<number>(numSegments - frameCount).fill(0);
  for (let i = 0; i < frameCount; i++) out.push(i);
  return out;
}

export interface SegmentTestSampling extends SegmentSampling {
  /** Temporal clips (`--test_num_segment`, 2 for SSv2). */
  numClips?: number;
}

/**
 * Test-time segment clips (`RawFrameClsDataset`, mode test): tick = L/numSegments; clip k takes
 * frame int(k·tick/K + tick·x) for x = 0 … numSegments−1 — segment starts (k = 0) and segment
 * mid-points (k = 1) for K = 2. (The official code sorts the union and takes every K-th entry
 * from k, which is the same list.)
 *   L = 50, K = 2: tick 3.125, clip 0 = [0, 3, 6, 9, 12, 15, 18, 21, 25, …], clip 1 = [1, 4, 7, 10, 14, …]
 */
export function segmentTestClips(frameCount: number, opts: SegmentTestSampling = {}): number[][] {
  checkCount(frameCount);
  const numSegments = positiveInt(opts.numSegments ?? 16, "numSegments");
  const numClips = positiveInt(opts.numClips ?? 2, "numClips");
  const tick = frameCount / numSegments;
  return Array.from({ length: numClips }, (_, k) =>
    Array.from({ length: numSegments }, (_, x) => Math.min(Math.trunc((k * tick) / numClips + tick * x), frameCount - 1)),
  );
}

export interface TadSampling {
  /** Consecutive frames per window (16). */
  window?: number;
  /** Distance between window starts: 4 for THUMOS14, 16 for FineAction. */
  stride: number;
}

/**
 * TAD feature windows (`extract_tad_feature.py`, spec §7): starts range(0, F − window + 1, stride),
 * i.e. every start ≤ F − window; ⌈(F − window + 1)/stride⌉ windows, none for F < window.
 *   F = 100, window 16, stride 4 → [0, 4, 8, …, 84] (22 windows)
 */
export function tadWindowStarts(frameCount: number, opts: TadSampling): number[] {
  checkCount(frameCount, 0);
  const window = positiveInt(opts.window ?? 16, "window");
  const stride = positiveInt(opts.stride, "stride");
  const starts: number[] = [];
  for (let s = 0; s <= frameCount - window; s += stride) starts.push(s);
  return starts;
}

/**
 * numpy.linspace(start, stop, num) with endpoint: start + k·step for step = (stop − start)/(num − 1),
 * the last value exactly stop; [start] for num = 1; [] for num = 0. The float operations are the
 * same as numpy's, so truncating the result gives the same integers.
 */
export function linspace(start: number, stop: number, num: number): number[] {
  if (num <= 0) return [];
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, k) => k * step + start);
  out[num - 1] = stop;
  return out;
}

function checkCount(frameCount: number, min = 1): void {
  if (!Number.isInteger(frameCount) || frameCount < min) {
    throw new RangeError(`sampler: frame count must be an integer ≥ ${min}, got ${frameCount} (an empty or unreadable video?)`);
  }
}

function positiveInt(x: number, name: string): number {
  if (!Number.isInteger(x) || x <= 0) throw new RangeError(`sampler: ${name} must be a positive integer, got ${x}`);
  return x;
}
