/**
 * LibavReader: VideoReader over video files, decoding in-process through FFmpeg's libraries
 * (libavformat/libavcodec/libswscale, bound in our addon: native/src/video/).
 *
 * A video is opened once and its demuxer + decoder kept (up to `maxOpen` videos, least recently
 * used closed first), so the next request for it continues decoding where the last one stopped
 * when its frames lie ahead, and seeks otherwise. Decoding runs on the libuv thread pool (N-API
 * async work), never on the JavaScript thread; requests for one video are queued.
 *
 * Same frames as FfmpegReader: probe values come from the same fields ffprobe prints, turned into
 * VideoInfo by the same rules (parseProbe); frames are selected by the same index rules
 * (timestamps for constant-rate video after a `-ss`-style seek, else counting frames from the
 * start) and converted by one swscale pass configured as ffmpeg's `scale=…:flags=bilinear`, so
 * both readers return the same bytes. Frame count: the container's, like ffprobe (header, or
 * demuxed packets), corrected to the frames the decoder really output whenever a read decodes
 * to the end; `exactFrameCount` decodes the whole video at probe time instead.
 */
import { VideoDecodeError, VideoError } from "./errors.ts";
import { num } from "./ffmpeg.ts";
import { checkIndices, checkWindow, distinctSorted, gatherClip, windowStarts } from "./frames.ts";
import { videoBinding, type NativeDecoder, type NativeProbe, type NativeReadResult, type NativeReadSpec } from "./libav-binding.ts";
import { parseProbe, ProbeCache, type FfmpegVideoInfo } from "./probe.ts";
import { resolveOutputSize, type Clip, type ResizeSpec, type VideoReader, type WindowClip, type WindowOptions } from "./reader.ts";

export interface LibavReaderOptions {
  /** Decoder threads per open video (default 1: loaders decode several videos at once; 0 = one per core). */
  threads?: number;
  /** Time limit of one probe or read request, ms (default 300 s; 0 = none). */
  timeoutMs?: number;
  /** Videos kept open between requests (default 4). */
  maxOpen?: number;
  /** How many probe results to remember, keyed by path, size and mtime (default 1024). */
  probeCacheSize?: number;
  /** Probe counts the frames the decoder outputs by decoding the whole video (default false). */
  exactFrameCount?: boolean;
}

/** The in-process decoder is available in this build (FFmpeg's libraries were found at build time). */
export function libavAvailable(): boolean {
  return videoBinding().available;
}

/** Why the in-process decoder is not available ("" when it is). */
export function libavUnavailableReason(): string {
  const b = videoBinding();
  return b.available ? "" : b.reason;
}

interface OpenVideo {
  key: string;
  decoder: NativeDecoder;
  /** Requests run one after the other on a decoder. */
  queue: Promise<unknown>;
}

export class LibavReader implements VideoReader {
  private readonly threads: number;
  private readonly timeoutMs: number;
  private readonly maxOpen: number;
  private readonly exact: boolean;
  private readonly cache: ProbeCache;
  private readonly open = new Map<string, OpenVideo>();

  constructor(opts: LibavReaderOptions = {}) {
    const b = videoBinding();
    if (!b.available) throw new VideoError(`the in-process video decoder (--decoder libav) is not available: ${b.reason}`);
    this.threads = opts.threads ?? 1;
    this.timeoutMs = opts.timeoutMs ?? 300_000;
    this.maxOpen = Math.max(1, opts.maxOpen ?? 4);
    this.cache = new ProbeCache(opts.probeCacheSize);
    this.exact = opts.exactFrameCount ?? false;
  }

  /** Metadata read in-process (no ffprobe), cached until the file changes. */
  async probe(path: string): Promise<FfmpegVideoInfo> {
    const { key, info: hit } = await this.cache.lookup(path);
    if (hit) return hit;
    const info = await this.withDecoder(path, key, async (d) => {
      const raw = await d.probe(false, this.exact, this.timeoutMs);
      // No frame count in the header (mkv/webm, mpeg-ts): count packets, as ffprobe -count_packets.
      const packets = raw.nbFrames > 0 ? undefined : ((await d.probe(true, false, this.timeoutMs)).packets ?? undefined);
      const parsed = parseProbe(path, probeJson(raw), packets);
      if (raw.frames !== null) {
        if (!(raw.frames > 0)) throw new VideoDecodeError(path, "the decoder outputs no frames");
        parsed.frameCount = raw.frames;
      }
      return parsed;
    });
    this.cache.remember(path, key, info);
    return info;
  }

  async readFrames(path: string, indices: readonly number[], size?: ResizeSpec): Promise<Clip> {
    const info = await this.probe(path);
    checkIndices(path, indices, info.frameCount);
    const { width, height } = resolveOutputSize(info.width, info.height, size);
    if (indices.length === 0) return { data: new Uint8Array(0), frames: 0, height, width };
    const sorted = distinctSorted(indices);
    const key = this.cache.keyOf(path);
    const spec = { indices: Float64Array.from(sorted), width, height };

    const res = await this.withDecoder(path, key, async (d) => {
      let r: NativeReadResult | undefined;
      const t = info.timing;
      if (t.constantRate) {
        // Timestamp selection after a `-ss`-style seek, exactly as FfmpegReader does it.
        const [rn, rd] = t.rate;
        const seekSec = t.streamStartSec - t.formatStartSec + ((sorted[0]! - 0.5) * rd) / rn;
        const seek = t.indexedSeek && sorted[0]! > 0 && seekSec > 0 ? seekSec : 0;
        const ts: NativeReadSpec = { ...spec, countMode: false, startSec: Number(num(t.streamStartSec)), rateNum: rn, rateDen: rd };
        if (seek > 0) ts.seekUs = parseSeconds(num(seek));
        r = await d.read(ts, this.timeoutMs);
      }
      // Frames missing (a seek that landed late, variable-rate or AVI timing): count from the start.
      if (!r || r.found < sorted.length) r = await d.read({ ...spec, countMode: true }, this.timeoutMs);
      return r;
    });
    if (res.totalFrames !== null) this.correctFrameCount(path, info, res.totalFrames);
    if (res.found < sorted.length) {
      throw new VideoDecodeError(
        path,
        `the decoder returned ${res.found} of the ${sorted.length} frames asked for (the file has fewer frames than its header says` +
          (res.totalFrames !== null ? `: ${res.totalFrames} decode` : "") +
          ")",
      );
    }
    const data = new Uint8Array(res.data.buffer, res.data.byteOffset, res.data.byteLength);
    return gatherClip(data, sorted, indices, width, height);
  }

  /**
   * Windows from one open decoder of its own (not shared with readFrames), decoding the video
   * once in order; each step decodes only the frames the next window adds.
   */
  async *streamWindows(path: string, opts: WindowOptions): AsyncGenerator<WindowClip> {
    checkWindow(opts.window, opts.stride);
    const info = await this.probe(path);
    const { width, height } = resolveOutputSize(info.width, info.height, opts.size);
    const starts = windowStarts(info.frameCount, opts.window, opts.stride);
    if (starts.length === 0) return;
    const b = videoBinding();
    if (!b.available) throw new VideoError(b.reason);
    const decoder = new b.Decoder(path, this.threads);
    const frameBytes = width * height * 3;
    const needed = starts[starts.length - 1]! + opts.window;
    let held: { first: number; frames: Uint8Array[] } = { first: 0, frames: [] };
    let next = 0; // first frame not decoded yet
    try {
      for (const start of starts) {
        // Drop the frames before this window; decode the ones it still lacks.
        const keep = held.frames.slice(Math.max(0, start - held.first));
        const from = Math.max(start, next);
        const to = start + opts.window;
        const want = Float64Array.from({ length: to - from }, (_, k) => from + k);
        let r: NativeReadResult;
        try {
          r = await decoder.read({ indices: want, width, height, countMode: true }, this.timeoutMs);
        } catch (e) {
          throw this.decodeError(path, e);
        }
        if (r.found < want.length) {
          throw new VideoDecodeError(
            path,
            `the decoder stopped after ${from + r.found} frames but the windows need ${needed} ` +
              `(${starts.indexOf(start)} of ${starts.length} windows produced)`,
          );
        }
        for (let k = 0; k < r.found; k++) keep.push(new Uint8Array(r.data.buffer, r.data.byteOffset + k * frameBytes, frameBytes));
        held = { first: start, frames: keep };
        next = to;
        const data = new Uint8Array(opts.window * frameBytes);
        keep.forEach((f, t) => data.set(f, t * frameBytes));
        yield { start, clip: { data, frames: opts.window, height, width } };
      }
    } finally {
      decoder.close();
    }
  }

  /** Closes every open video now (later requests reopen them). */
  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((o) => o.queue.then(() => o.decoder.close(), () => o.decoder.close())));
  }

  /** Runs `fn` on the open decoder of `path` (opened, or reopened if the file changed), after its earlier requests. */
  private withDecoder<T>(path: string, key: string, fn: (d: NativeDecoder) => Promise<T>): Promise<T> {
    let o = this.open.get(path);
    if (o && o.key !== key) {
      this.open.delete(path);
      const stale = o;
      stale.queue.then(() => stale.decoder.close(), () => stale.decoder.close());
      o = undefined;
    }
    if (o) {
      this.open.delete(path); // most recently used at the end
    } else {
      const b = videoBinding();
      if (!b.available) throw new VideoError(b.reason);
      o = { key, decoder: new b.Decoder(path, this.threads), queue: Promise.resolve() };
    }
    this.open.set(path, o);
    while (this.open.size > this.maxOpen) {
      const [oldPath, old] = this.open.entries().next().value as [string, OpenVideo];
      this.open.delete(oldPath);
      old.queue.then(() => old.decoder.close(), () => old.decoder.close());
    }
    const d = o.decoder;
    const run = o.queue.then(
      () => fn(d),
      () => fn(d),
    );
    o.queue = run.catch(() => undefined);
    return run.catch((e) => {
      throw this.decodeError(path, e);
    });
  }

  private decodeError(path: string, e: unknown): Error {
    if (e instanceof VideoError) return e;
    const err = e as Error & { code?: string };
    if (err && (err.code === "EDECODE" || err.code === "ETIMEDOUT")) {
      const what = err.code === "ETIMEDOUT" ? `decoding took longer than ${this.timeoutMs} ms` : err.message;
      return new VideoDecodeError(path, what);
    }
    return err instanceof Error ? err : new Error(String(e));
  }

  /** A read decoded to the end: the decoder's real count replaces the container's. */
  private correctFrameCount(path: string, info: FfmpegVideoInfo, total: number): void {
    if (info.frameCount === total || total <= 0) return;
    this.cache.replace(path, info, { ...info, frameCount: total });
  }
}

/**
 * Seconds as `ffmpeg -ss` reads them (av_parse_time): whole microseconds, extra digits cut off.
 * `text` is a plain decimal as `num()` prints it.
 */
export function parseSeconds(text: string): number {
  const m = /^(\d+)(?:\.(\d*))?$/.exec(text);
  if (!m) throw new RangeError(`parseSeconds: not a plain decimal: '${text}'`);
  const frac = (m[2] ?? "").slice(0, 6).padEnd(6, "0");
  return Number(m[1]) * 1_000_000 + Number(frac);
}

/** The native probe as the part of ffprobe's JSON that parseProbe reads, formatted as ffprobe prints it. */
export function probeJson(p: NativeProbe): Parameters<typeof parseProbe>[1] {
  const [tn, td] = p.timeBase;
  const time = (ts: number | null, isDuration = false) => (ts === null || (isDuration && ts === 0) ? "N/A" : (ts * (tn / td)).toFixed(6));
  const fmtTime = (us: number | null, isDuration = false) => (us === null || (isDuration && us === 0) ? "N/A" : (us / 1e6).toFixed(6));
  const stream: NonNullable<Parameters<typeof parseProbe>[1]["streams"]>[number] = {
    index: p.streamIndex,
    codec_type: "video",
    disposition: { attached_pic: 0 },
    codec_name: p.codec,
    width: p.width,
    height: p.height,
    r_frame_rate: `${p.rFrameRate[0]}/${p.rFrameRate[1]}`,
    avg_frame_rate: `${p.avgFrameRate[0]}/${p.avgFrameRate[1]}`,
    start_time: time(p.start),
    duration: time(p.duration, true),
    nb_frames: p.nbFrames > 0 ? String(p.nbFrames) : "N/A",
  };
  if (p.rotateTag !== null) stream.tags = { rotate: p.rotateTag };
  // ffprobe prints the rotation as an integer (truncated).
  if (p.displayRotation !== null) stream.side_data_list = [{ side_data_type: "Display Matrix", rotation: Math.trunc(p.displayRotation) }];
  return {
    streams: [stream],
    format: { format_name: p.formatName, start_time: fmtTime(p.formatStart), duration: fmtTime(p.formatDuration, true) },
  };
}
