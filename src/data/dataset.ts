/**
 * What every dataset provides to the loader, and the pieces the concrete datasets share:
 * the Sample record, reader selection per list entry, and the serialisable spec a worker
 * thread rebuilds the dataset from.
 *
 * A dataset maps an *item* (0 … numItems−1) to a Sample. The loader walks an epoch *order*
 * (a sequence of items, from `epochOrder`); position p of epoch e is drawn with the random
 * streams of src/data/seeds.ts keyed by (seed, e, p, attempt), so the result does not depend
 * on where or when it is decoded.
 */
import { createVideoReader, FrameFolderReader, type DecoderName, type ResizeSpec, type VideoReader } from "../video/index.ts";
import { CachedReader } from "../video/cached-reader.ts";
import { useNativeClipKernels } from "./transforms/native.ts";
import type { ListEntry } from "./lists.ts";
import { rngFromKeys, Stream, type SampleKey } from "./seeds.ts";

// Every thread that builds samples imports this module: the clip transforms there use the addon's
// Pillow resize (byte-identical to the TypeScript one, ~4× faster).
useNativeClipKernels();

/** One decoded clip and its views, ready to cross a thread boundary (plain data + typed arrays). */
export interface Sample {
  /** The item decoded (after a replacement, not the one the order asked for). */
  item: number;
  /** Index of the list entry (video) the item comes from. */
  entry: number;
  path: string;
  /** Temporal clip index (test mode; 0 otherwise). */
  clip: number;
  numViews: number;
  /** Shape of one view: [C, T, H, W]. */
  shape: [number, number, number, number];
  /** The views back to back: (numViews, C, T, H, W), float32. */
  video: Float32Array;
  /** Class index, -1 when unlabelled. */
  label: number;
  /** (numViews, N), 1 = removed; null without masking. */
  encoderMask: Uint8Array | null;
  decoderMask: Uint8Array | null;
  /** Time spent probing + decoding, and augmenting + masking (ms). */
  decodeMs: number;
  transformMs: number;
}

/** Where an item comes from, for logs and error messages. */
export interface ItemInfo {
  path: string;
  source: string;
  line: number;
}

/** A dataset class description a worker can rebuild the dataset from (structured-clone safe). */
export type DatasetSpec =
  | { kind: "cls"; options: unknown }
  | { kind: "hybrid"; options: unknown }
  | {
      kind: "custom";
      /** Module URL or absolute path; it exports a factory `(options) => Dataset | Promise<Dataset>`. */
      module: string;
      /** Export name of the factory (default "createDataset"). */
      export?: string;
      options: unknown;
    };

export interface Dataset {
  /** Size of the item space (items are 0 … numItems−1). */
  readonly numItems: number;
  /** Views each sample carries (numSample, or the test crops). */
  readonly viewsPerSample: number;
  /** True when samples carry class labels. */
  readonly labelled: boolean;
  /** Shuffle the epoch order unless the loader says otherwise (training sets). */
  readonly shuffleByDefault: boolean;
  describe(item: number): ItemInfo;
  /** The items of one epoch, in order. Pure function of its arguments. */
  epochOrder(epoch: number, seed: number, shuffle: boolean): Int32Array;
  /** Decodes and augments one item. Throws on unreadable input (the loader retries/replaces). */
  load(item: number, key: SampleKey): Promise<Sample>;
  toSpec(): DatasetSpec;
}

/** Decoder settings shared by the datasets (all optional). */
export interface DecodeOptions {
  ffmpegPath?: string;
  ffprobePath?: string;
  /**
   * Video files: "libav" (in-process decoder) or "ffmpeg-cli" (ffmpeg/ffprobe programs); default
   * VIDEOMAE_DECODER, else libav when the addon has it (see src/video/select.ts).
   */
  decoder?: DecoderName;
  /** Stop a stuck decode (ffmpeg/ffprobe run, or in-process request) after this long (default 120 s). */
  decodeTimeoutMs?: number;
  /** Resize in the decoder before augmentation (default: decode at the stored size, as the official code). */
  decodeSize?: ResizeSpec;
  /** Frame file template for frame folders (default `img_{:05}.jpg`). */
  frameTemplate?: string;
  /** File number of frame 0 when the list line does not say (default 1). */
  frameStartIndex?: number;
  /**
   * Keep whole decoded videos in memory (per worker) up to this many MiB and cut clips from
   * them: for small datasets, where one ffmpeg launch per clip dominates (default 0: off).
   */
  cacheMiB?: number;
}

/** One reader per kind (and per frame-folder naming), created on first use. */
export class Readers {
  private video: VideoReader | undefined;
  private readonly folders = new Map<string, FrameFolderReader>();

  constructor(private readonly opts: DecodeOptions) {}

  /** The reader for a list entry; `template` overrides the frame template for this entry. */
  forEntry(e: ListEntry, template?: string): VideoReader {
    const paths = { ffmpegPath: this.opts.ffmpegPath, ffprobePath: this.opts.ffprobePath };
    const timeoutMs = this.opts.decodeTimeoutMs ?? 120_000;
    if (e.kind === "video") {
      if (!this.video) {
        const ff = createVideoReader({ ...paths, timeoutMs, decoder: this.opts.decoder });
        const cache = this.opts.cacheMiB ?? 0;
        this.video = cache > 0 ? new CachedReader(ff, cache * 2 ** 20) : ff;
      }
      return this.video;
    }
    const t = template ?? this.opts.frameTemplate ?? "img_{:05}.jpg";
    const start = e.startIndex ?? this.opts.frameStartIndex ?? 1;
    const key = `${start}\u0000${t}`;
    let r = this.folders.get(key);
    if (!r) this.folders.set(key, (r = new FrameFolderReader({ ...paths, timeoutMs, template: t, startIndex: start })));
    return r;
  }

  /** Frames of an entry: the list's count for frame folders (as the official code), else probed. */
  async frameCount(e: ListEntry, reader: VideoReader): Promise<number> {
    if (e.totalFrames > 0) return e.totalFrames;
    return (await reader.probe(e.path)).frameCount;
  }
}

/** `0 … n−1`, shuffled with the epoch's order stream when asked. */
export function defaultEpochOrder(n: number, epoch: number, seed: number, shuffle: boolean): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (shuffle) rngFromKeys(seed, epoch, Stream.order).shuffle(order);
  return order;
}

/** Packs per-view float clips into one (V, C, T, H, W) array (one transferable buffer). */
export function packViews(views: { data: Float32Array; channels: number; frames: number; height: number; width: number }[]): {
  video: Float32Array;
  shape: [number, number, number, number];
} {
  const v0 = views[0]!;
  const shape: [number, number, number, number] = [v0.channels, v0.frames, v0.height, v0.width];
  const size = v0.data.length;
  if (views.length === 1 && v0.data.byteOffset === 0 && v0.data.buffer.byteLength === size * 4) return { video: v0.data, shape };
  const video = new Float32Array(views.length * size);
  views.forEach((v, i) => {
    if (v.data.length !== size) throw new RangeError(`packViews: view ${i} has ${v.data.length} values, view 0 has ${size}`);
    video.set(v.data, i * size);
  });
  return { video, shape };
}

export function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${what} must be a positive integer, got ${v}`);
  return v;
}
