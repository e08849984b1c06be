/**
 * Fine-tuning datasets (spec §4.2, §4.3): `VideoClsDataset` (dense sampling, videos such as
 * Kinetics/UCF/HMDB) and `RawFrameClsDataset` (segment sampling, Something-Something V2 frame
 * folders). Modes:
 *   train       one temporal clip per item, `numSample` independently augmented views of it
 *               (repeated augmentation; the official default and every V2 script use 2)
 *   validation  the centred clip, short-side resize + centre crop, one view
 *   test        items are (video, clip) pairs — item = entry·numClips + clip — each with
 *               `testNumCrops` spatial crops as its views; evaluation averages the per-view
 *               softmax per video using the (entry, clip, view) ids the batch carries.
 * Unlike the official test set (one item per (video, clip, crop), each decoding the whole video
 * every `rate` frames), an item decodes only its clip's 16 frames once for all its crops.
 */
import { evalTransform, finetuneTrainTransform, testCrops, type FinetuneTrainOptions, type Transform } from "./transforms/index.ts";
import { denseTestClips, denseTrainIndices, denseValIndices, segmentTestClips, segmentTrainIndices, segmentValIndices } from "./samplers.ts";
import { defaultEpochOrder, packViews, positiveInt, Readers, type Dataset, type DatasetSpec, type DecodeOptions, type ItemInfo, type Sample } from "./dataset.ts";
import { LabelIndexMap } from "./labels.ts";
import { readList, type ListEntry, type ListFormat } from "./lists.ts";
import { sampleRng, Stream, type SampleKey } from "./seeds.ts";

export type ClsMode = "train" | "validation" | "test";

export interface VideoClsOptions extends DecodeOptions {
  mode: ClsMode;
  /** A list file (read and checked at construction) … */
  list?: string;
  /** … its format (default "video-label"; "frames-label" for SSv2 frame folders) … */
  listFormat?: Exclude<ListFormat, "pretrain">;
  /** … and the official `--data_root` prefix for its relative paths. */
  dataRoot?: string;
  /** Or the entries themselves. */
  entries?: readonly ListEntry[];
  /** Labels must be < numClasses (checked at construction, after labelMap). */
  numClasses?: number;
  /** Maps each list label l to labelMap[l] (a list in a subset space trained in a larger one). */
  labelMap?: LabelIndexMap | readonly number[];
  /** "dense" (VideoClsDataset, default) or "segment" (TSN style, RawFrameClsDataset). */
  sampling?: "dense" | "segment";
  numFrames?: number;
  /** Dense sampling rate (`--sampling_rate`, 4; 2 for HMDB51). */
  samplingRate?: number;
  /** Train views per decoded clip (`--num_sample`, default 2). */
  numSample?: number;
  /** Crop size (224). */
  inputSize?: number;
  /** Evaluation short side (`--short_side_size`, default inputSize); test crops are this size. */
  shortSideSize?: number;
  /** Test clips per video (`--test_num_segment`: default 5 dense, 2 segment). */
  testNumClips?: number;
  /** Test crops per clip (`--test_num_crop`, 3). */
  testNumCrops?: number;
  /** Train augmentation (RandAugment, random-resized crop, flip, erasing); `size` comes from inputSize. */
  augment?: Omit<FinetuneTrainOptions, "size">;
}

/** Options after defaults, entries read and labels mapped: what a worker rebuilds the dataset from. */
export interface ResolvedClsOptions extends VideoClsOptions {
  mode: ClsMode;
  entries: ListEntry[];
  sampling: "dense" | "segment";
  numFrames: number;
  samplingRate: number;
  numSample: number;
  inputSize: number;
  shortSideSize: number;
  testNumClips: number;
  testNumCrops: number;
  augment: Omit<FinetuneTrainOptions, "size">;
}

export class VideoClsDataset implements Dataset {
  readonly options: ResolvedClsOptions;
  readonly numItems: number;
  readonly viewsPerSample: number;
  readonly labelled = true;
  readonly shuffleByDefault: boolean;
  private readonly readers: Readers;
  private trainTransform: Transform | undefined;
  private evalTf: Transform | undefined;

  constructor(opts: VideoClsOptions) {
    this.options = resolveCls(opts);
    const o = this.options;
    this.numItems = o.mode === "test" ? o.entries.length * o.testNumClips : o.entries.length;
    this.viewsPerSample = o.mode === "train" ? o.numSample : o.mode === "test" ? o.testNumCrops : 1;
    this.shuffleByDefault = o.mode === "train";
    this.readers = new Readers(o);
  }

  get entries(): readonly ListEntry[] {
    return this.options.entries;
  }

  /** The list entry and temporal clip of an item. */
  locate(item: number): { entry: number; clip: number } {
    if (!Number.isInteger(item) || item < 0 || item >= this.numItems) throw new RangeError(`item ${item} out of range 0..${this.numItems - 1}`);
    const k = this.options.mode === "test" ? this.options.testNumClips : 1;
    return { entry: Math.floor(item / k), clip: item % k };
  }

  describe(item: number): ItemInfo {
    const e = this.options.entries[this.locate(item).entry]!;
    return { path: e.path, source: e.source, line: e.line };
  }

  epochOrder(epoch: number, seed: number, shuffle: boolean): Int32Array {
    return defaultEpochOrder(this.numItems, epoch, seed, shuffle);
  }

  /** The frame indices of an item for a video of `frameCount` frames (exposed for tests and tools). */
  frameIndices(item: number, frameCount: number, key: SampleKey): number[] {
    const o = this.options;
    const { clip } = this.locate(item);
    const dense = { numFrames: o.numFrames, rate: o.samplingRate };
    const seg = { numSegments: o.numFrames };
    if (o.mode === "train") {
      const rng = sampleRng(key, Stream.clip);
      return o.sampling === "dense" ? denseTrainIndices(frameCount, dense, rng) : segmentTrainIndices(frameCount, seg, rng);
    }
    if (o.mode === "validation") return o.sampling === "dense" ? denseValIndices(frameCount, dense) : segmentValIndices(frameCount, seg);
    const clips = o.sampling === "dense"
      ? denseTestClips(frameCount, { ...dense, numClips: o.testNumClips })
      : segmentTestClips(frameCount, { ...seg, numClips: o.testNumClips });
    return clips[clip]!;
  }

  async load(item: number, key: SampleKey): Promise<Sample> {
    const o = this.options;
    const { entry, clip } = this.locate(item);
    const e = o.entries[entry]!;
    const t0 = performance.now();
    const reader = this.readers.forEntry(e);
    const frameCount = await this.readers.frameCount(e, reader);
    const frames = await reader.readFrames(e.path, this.frameIndices(item, frameCount, key), o.decodeSize);
    const t1 = performance.now();
    let views;
    if (o.mode === "train") {
      this.trainTransform ??= finetuneTrainTransform({ ...o.augment, size: o.inputSize });
      const tf = this.trainTransform;
      views = Array.from({ length: o.numSample }, (_, v) => tf(frames, sampleRng(key, Stream.view, v)));
    } else if (o.mode === "validation") {
      this.evalTf ??= evalTransform(o.inputSize, { shortSide: o.shortSideSize, norm: o.augment.norm });
      views = [this.evalTf(frames, sampleRng(key, Stream.view, 0))];
    } else {
      views = testCrops(frames, o.shortSideSize, o.testNumCrops, o.augment.norm);
    }
    const { video, shape } = packViews(views);
    return {
      item, entry, path: e.path, clip, numViews: views.length, shape, video, label: e.label,
      encoderMask: null, decoderMask: null, decodeMs: t1 - t0, transformMs: performance.now() - t1,
    };
  }

  toSpec(): DatasetSpec {
    return { kind: "cls", options: this.options };
  }
}

/**
 * Segment-based variant for frame-folder lists (`folder total_frames label`, SSv2): segment
 * sampling, "frames-label" lists, no horizontal flip (flipping changes SSv2's left/right
 * classes), 2 test clips — the official `RawFrameClsDataset` defaults.
 */
export class RawFrameClsDataset extends VideoClsDataset {
  constructor(opts: VideoClsOptions) {
    super({
      sampling: "segment",
      listFormat: "frames-label",
      ...opts,
      augment: { flip: false, ...opts.augment },
    });
  }
}

/**
 * Defaults applied, list read, labels mapped and checked. The result is itself valid options
 * (entries, no list or label map) and resolving it again changes nothing — the spec a worker
 * rebuilds the dataset from.
 */
function resolveCls(opts: VideoClsOptions): ResolvedClsOptions {
  if (!["train", "validation", "test"].includes(opts.mode)) throw new RangeError(`VideoClsDataset: mode must be train, validation or test, got ${String(opts.mode)}`);
  const sampling = opts.sampling ?? "dense";
  if (sampling !== "dense" && sampling !== "segment") throw new RangeError(`VideoClsDataset: sampling must be "dense" or "segment", got ${String(sampling)}`);
  let entries: ListEntry[];
  if (opts.entries) entries = opts.entries.map((e) => ({ ...e }));
  else if (opts.list) entries = readList(opts.list, opts.listFormat ?? "video-label", { dataRoot: opts.dataRoot });
  else throw new RangeError("VideoClsDataset: pass `list` (a list file) or `entries`");
  if (entries.length === 0) throw new RangeError("VideoClsDataset: no entries");
  if (opts.labelMap) {
    const map = opts.labelMap instanceof LabelIndexMap ? opts.labelMap : new LabelIndexMap(opts.labelMap);
    entries = entries.map((e) => {
      if (e.label < 0 || e.label >= map.size) throw new RangeError(`${e.source}:${e.line}: label ${e.label} is out of range for the ${map.size}-class label map`);
      return { ...e, label: map.toFull(e.label) };
    });
  }
  if (opts.numClasses !== undefined) {
    const bad = entries.find((e) => e.label < 0 || e.label >= opts.numClasses!);
    if (bad) throw new RangeError(`${bad.source}:${bad.line}: label ${bad.label} is out of range for ${opts.numClasses} classes (labels are 0-based)`);
  }
  const inputSize = positiveInt(opts.inputSize ?? 224, "inputSize");
  const { list: _l, listFormat: _f, dataRoot: _d, labelMap: _m, numClasses: _n, entries: _e, ...rest } = opts;
  return {
    ...rest,
    mode: opts.mode,
    entries,
    sampling,
    numFrames: positiveInt(opts.numFrames ?? 16, "numFrames"),
    samplingRate: positiveInt(opts.samplingRate ?? 4, "samplingRate"),
    numSample: positiveInt(opts.numSample ?? 2, "numSample"),
    inputSize,
    shortSideSize: positiveInt(opts.shortSideSize ?? inputSize, "shortSideSize"),
    testNumClips: positiveInt(opts.testNumClips ?? (sampling === "dense" ? 5 : 2), "testNumClips"),
    testNumCrops: positiveInt(opts.testNumCrops ?? 3, "testNumCrops"),
    augment: { ...(opts.augment ?? {}) },
  };
}
