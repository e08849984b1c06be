/**
 * Pre-training datasets (spec §4.1, §3): `HybridDataset` (the official UnlabeledHybrid —
 * several lists mixed into one stream) and `PretrainDataset` (one list).
 *
 * Each item decodes one clip — numFrames frames at an exact stride from a random start, stride
 * `pretrainStride(path)` (2 for "SomethingV2" paths) unless the source sets one — and yields
 * `numSample` views, each with its own multi-scale crop and its own encoder/decoder masks, as
 * the official transform does per view.
 *
 * Mixing: a source's `weight` is how many times each of its clips appears per epoch — 2 = every
 * clip twice, 0.5 = a seeded half of them (a different half each epoch), 0 = excluded. The
 * epoch order is the concatenation shuffled with the (seed, epoch) order stream, so it is
 * deterministic; `mix()` reports the resulting proportions.
 */
import { DualMaskGenerator, type DecoderMaskType, type EncoderMaskType } from "../masking/index.ts";
import { pretrainTransform, type PretrainOptions, type Transform } from "./transforms/index.ts";
import { pretrainIndices, pretrainStride } from "./samplers.ts";
import { packViews, positiveInt, Readers, type Dataset, type DatasetSpec, type DecodeOptions, type ItemInfo, type Sample } from "./dataset.ts";
import { readList, type ListEntry } from "./lists.ts";
import { rngFromKeys, sampleRng, Stream, type SampleKey } from "./seeds.ts";

export interface HybridSource {
  /** Name for reports (default: the list file name, or "source k"). */
  name?: string;
  /** A pre-training list file (`path 0 -1` / `folder start total` lines) … */
  list?: string;
  /** … with this prefix for relative paths (`--data_root`) … */
  dataRoot?: string;
  /** … or the entries themselves. */
  entries?: readonly ListEntry[];
  /** Appearances of each clip per epoch (default 1; fractions take a seeded subset each epoch). */
  weight?: number;
  /** Frame stride for this source (default: pretrainStride(path, samplingRate)). */
  stride?: number | null;
  /** Frame file template for this source's frame folders (default: the official path rules). */
  frameTemplate?: string | null;
}

export interface MaskingOptions {
  /** Spatial patch size (16; 14 for giant). */
  patchSize?: number;
  /** Frames per token (2). */
  tubeletSize?: number;
  encoder?: EncoderMaskType;
  /** Encoder mask ratio (0.9). */
  encoderRatio?: number;
  /** "run_cell" (V2, default) or "none" (V1: the decoder reconstructs the encoder-masked tokens). */
  decoder?: DecoderMaskType;
  /** Decoder mask ratio (0.5 for run_cell). */
  decoderRatio?: number;
}

export interface HybridOptions extends DecodeOptions {
  sources: readonly HybridSource[];
  numFrames?: number;
  /** Default frame stride (`--sampling_rate`, 4). */
  samplingRate?: number;
  /** Crop size (224). */
  inputSize?: number;
  /** Views per decoded clip (`--num_sample`: 1 by default, 4 in every V2 script). */
  numSample?: number;
  /** Mask generation (V2 defaults), or false for views without masks. */
  masking?: MaskingOptions | false;
  /** Multi-scale crop scales / normalisation. */
  transform?: PretrainOptions;
}

interface ResolvedSource {
  name: string;
  entries: ListEntry[];
  weight: number;
  stride: number | null;
  frameTemplate: string | null;
}

export interface ResolvedHybridOptions extends HybridOptions {
  sources: ResolvedSource[];
  numFrames: number;
  samplingRate: number;
  inputSize: number;
  numSample: number;
  masking: Required<Omit<MaskingOptions, "decoderRatio">> & { decoderRatio?: number } | false;
  transform: PretrainOptions;
}

/** Per-source share of an epoch. */
export interface MixEntry {
  name: string;
  /** Clips in the source list. */
  entries: number;
  weight: number;
  /** Clips of this source in each epoch. */
  perEpoch: number;
  /** perEpoch / epoch length. */
  fraction: number;
}

export class HybridDataset implements Dataset {
  readonly options: ResolvedHybridOptions;
  readonly numItems: number;
  readonly viewsPerSample: number;
  readonly labelled = false;
  readonly shuffleByDefault = true;
  /** The mask generator (null without masking); its `counts` say how many tokens each mask keeps. */
  readonly masks: DualMaskGenerator | null;
  private readonly offsets: number[];
  private readonly readers: Readers;
  private transform: Transform | undefined;

  constructor(opts: HybridOptions) {
    this.options = resolveHybrid(opts);
    const o = this.options;
    this.offsets = [];
    let n = 0;
    for (const s of o.sources) {
      this.offsets.push(n);
      n += s.entries.length;
    }
    this.numItems = n;
    this.viewsPerSample = o.numSample;
    this.masks = o.masking ? maskGenerator(o) : null;
    this.readers = new Readers(o);
  }

  /** Which source and entry an item is. */
  locate(item: number): { source: number; entry: ListEntry } {
    if (!Number.isInteger(item) || item < 0 || item >= this.numItems) throw new RangeError(`item ${item} out of range 0..${this.numItems - 1}`);
    let s = this.offsets.length - 1;
    while (this.offsets[s]! > item) s--;
    return { source: s, entry: this.options.sources[s]!.entries[item - this.offsets[s]!]! };
  }

  describe(item: number): ItemInfo {
    const { entry } = this.locate(item);
    return { path: entry.path, source: entry.source, line: entry.line };
  }

  /** Each source's share of an epoch (the same every epoch). */
  mix(): MixEntry[] {
    const counts = this.options.sources.map((s) => perEpoch(s.entries.length, s.weight));
    const total = counts.reduce((a, b) => a + b, 0);
    return this.options.sources.map((s, k) => ({
      name: s.name, entries: s.entries.length, weight: s.weight, perEpoch: counts[k]!, fraction: counts[k]! / total,
    }));
  }

  epochOrder(epoch: number, seed: number, shuffle: boolean): Int32Array {
    const items: number[] = [];
    this.options.sources.forEach((s, k) => {
      const n = s.entries.length;
      const whole = Math.floor(s.weight);
      for (let r = 0; r < whole; r++) for (let i = 0; i < n; i++) items.push(this.offsets[k]! + i);
      const extra = perEpoch(n, s.weight) - whole * n;
      if (extra > 0) {
        const pick = rngFromKeys(seed, epoch, Stream.mix, k).shuffle(Array.from({ length: n }, (_, i) => i));
        for (let i = 0; i < extra; i++) items.push(this.offsets[k]! + pick[i]!);
      }
    });
    const order = Int32Array.from(items);
    if (shuffle) rngFromKeys(seed, epoch, Stream.order).shuffle(order);
    return order;
  }

  /** The frame stride used for an item. */
  strideOf(item: number): number {
    const { source, entry } = this.locate(item);
    return this.options.sources[source]!.stride ?? pretrainStride(entry.path, this.options.samplingRate);
  }

  async load(item: number, key: SampleKey): Promise<Sample> {
    const o = this.options;
    const { source, entry: e } = this.locate(item);
    const src = o.sources[source]!;
    const t0 = performance.now();
    const reader = this.readers.forEntry(e, src.frameTemplate ?? officialTemplate(e.path, o.frameTemplate));
    const frameCount = await this.readers.frameCount(e, reader);
    const indices = pretrainIndices(frameCount, { numFrames: o.numFrames, stride: this.strideOf(item) }, sampleRng(key, Stream.clip));
    const frames = await reader.readFrames(e.path, indices, o.decodeSize);
    const t1 = performance.now();
    this.transform ??= pretrainTransform(o.inputSize, o.transform);
    const views = [];
    const n = this.masks?.numTokens ?? 0;
    const encoderMask = this.masks ? new Uint8Array(o.numSample * n) : null;
    const decoderMask = this.masks ? new Uint8Array(o.numSample * n) : null;
    for (let v = 0; v < o.numSample; v++) {
      views.push(this.transform(frames, sampleRng(key, Stream.view, v)));
      if (this.masks) {
        const m = this.masks.generate(1, sampleRng(key, Stream.mask, v));
        encoderMask!.set(m.encoder, v * n);
        decoderMask!.set(m.decoder, v * n);
      }
    }
    const { video, shape } = packViews(views);
    return {
      item, entry: item, path: e.path, clip: 0, numViews: o.numSample, shape, video, label: -1,
      encoderMask, decoderMask, decodeMs: t1 - t0, transformMs: performance.now() - t1,
    };
  }

  toSpec(): DatasetSpec {
    return { kind: "hybrid", options: this.options };
  }
}

export interface PretrainDatasetOptions extends Omit<HybridOptions, "sources">, Omit<HybridSource, "name" | "weight" | "frameTemplate"> {}

/** Pre-training on one list (`path 0 -1` lines): a HybridDataset with a single source. */
export class PretrainDataset extends HybridDataset {
  constructor(opts: PretrainDatasetOptions) {
    const { list, dataRoot, entries, stride, frameTemplate, ...rest } = opts;
    super({ ...rest, sources: [{ list, dataRoot, entries, stride, frameTemplate }] });
  }
}

/** Frame-name rule of `HybridVideoMAE`: SSv2 `img_{:05}.jpg`, AVA `image_{:06}.jpg`, else the configured template. */
export function officialTemplate(path: string, fallback = "img_{:05}.jpg"): string {
  if (path.includes("SomethingV2")) return "img_{:05}.jpg";
  if (path.includes("AVA2.2")) return "image_{:06}.jpg";
  return fallback;
}

function perEpoch(n: number, weight: number): number {
  return Math.floor(weight) * n + Math.round((weight - Math.floor(weight)) * n);
}

function maskGenerator(o: ResolvedHybridOptions): DualMaskGenerator {
  const m = o.masking as Exclude<ResolvedHybridOptions["masking"], false>;
  if (o.numFrames % m.tubeletSize !== 0 || o.inputSize % m.patchSize !== 0) {
    throw new RangeError(
      `masking: numFrames ${o.numFrames} must be a multiple of tubeletSize ${m.tubeletSize} and inputSize ${o.inputSize} of patchSize ${m.patchSize}`,
    );
  }
  const side = o.inputSize / m.patchSize;
  return new DualMaskGenerator({
    window: [o.numFrames / m.tubeletSize, side, side],
    encoder: m.encoder,
    encoderRatio: m.encoderRatio,
    decoder: m.decoder,
    decoderRatio: m.decoderRatio,
  });
}

/** Defaults applied and lists read; resolving the result again changes nothing (worker rebuild). */
function resolveHybrid(opts: HybridOptions): ResolvedHybridOptions {
  if (!opts.sources || opts.sources.length === 0) throw new RangeError("HybridDataset: pass at least one source");
  const sources = opts.sources.map((s, k): ResolvedSource => {
    let entries: ListEntry[];
    if (s.entries) entries = s.entries.map((e) => ({ ...e }));
    else if (s.list) entries = readList(s.list, "pretrain", { dataRoot: s.dataRoot });
    else throw new RangeError(`HybridDataset: source ${k} needs \`list\` (a list file) or \`entries\``);
    const weight = s.weight ?? 1;
    if (!(Number.isFinite(weight) && weight >= 0)) throw new RangeError(`HybridDataset: source ${k} weight must be a finite number ≥ 0, got ${weight}`);
    if (s.stride !== undefined && s.stride !== null) positiveInt(s.stride, `HybridDataset: source ${k} stride`);
    const name = s.name ?? (s.list ? s.list.split(/[/\\]/).pop()! : `source ${k}`);
    return { name, entries, weight, stride: s.stride ?? null, frameTemplate: s.frameTemplate ?? null };
  });
  if (sources.every((s) => perEpoch(s.entries.length, s.weight) === 0)) throw new RangeError("HybridDataset: the weights leave no clip in an epoch");
  const m = opts.masking;
  const masking = m === false
    ? false
    : {
        patchSize: positiveInt(m?.patchSize ?? 16, "masking.patchSize"),
        tubeletSize: positiveInt(m?.tubeletSize ?? 2, "masking.tubeletSize"),
        encoder: m?.encoder ?? "tube",
        encoderRatio: m?.encoderRatio ?? 0.9,
        decoder: m?.decoder ?? "run_cell",
        ...((m?.decoder ?? "run_cell") === "run_cell" ? { decoderRatio: m?.decoderRatio ?? 0.5 } : m?.decoderRatio !== undefined ? { decoderRatio: m.decoderRatio } : {}),
      };
  return {
    ...opts,
    sources,
    numFrames: positiveInt(opts.numFrames ?? 16, "numFrames"),
    samplingRate: positiveInt(opts.samplingRate ?? 4, "samplingRate"),
    inputSize: positiveInt(opts.inputSize ?? 224, "inputSize"),
    numSample: positiveInt(opts.numSample ?? 1, "numSample"),
    masking,
    transform: { ...(opts.transform ?? {}) },
  };
}
