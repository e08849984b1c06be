/**
 * A reader that decodes each video once, whole, and serves later clips from memory — for small
 * datasets (the demo, tests, quick experiments) where ffmpeg start-up dominates: every clip
 * read otherwise costs a process launch. Bounded by `maxBytes` (least recently used videos are
 * dropped); videos that do not fit are read through the inner reader as before.
 */
import type { Clip, ResizeSpec, VideoInfo, VideoReader, WindowClip, WindowOptions } from "./reader.ts";
import { resolveOutputSize } from "./reader.ts";

export class CachedReader implements VideoReader {
  private readonly cache = new Map<string, Clip>();
  private bytes = 0;

  constructor(
    private readonly inner: VideoReader,
    readonly maxBytes: number,
  ) {}

  probe(path: string): Promise<VideoInfo> {
    return this.inner.probe(path);
  }

  streamWindows(path: string, opts: WindowOptions): AsyncIterable<WindowClip> {
    return this.inner.streamWindows(path, opts);
  }

  async readFrames(path: string, indices: readonly number[], size?: ResizeSpec): Promise<Clip> {
    const key = `${path}\u0000${JSON.stringify(size ?? null)}`;
    let whole = this.cache.get(key);
    if (whole) {
      this.cache.delete(key); // move to the most recently used end
      this.cache.set(key, whole);
    } else {
      const info = await this.inner.probe(path);
      const out = resolveOutputSize(info.width, info.height, size);
      const need = info.frameCount * out.width * out.height * 3;
      if (need > this.maxBytes || info.frameCount < 1) return this.inner.readFrames(path, indices, size);
      try {
        whole = await this.inner.readFrames(path, Array.from({ length: info.frameCount }, (_, i) => i), size);
      } catch {
        // A file that only partly decodes: let the exact request succeed or fail on its own.
        return this.inner.readFrames(path, indices, size);
      }
      while (this.bytes + need > this.maxBytes && this.cache.size) {
        const [oldest, clip] = this.cache.entries().next().value as [string, Clip];
        this.cache.delete(oldest);
        this.bytes -= clip.data.byteLength;
      }
      this.cache.set(key, whole);
      this.bytes += whole.data.byteLength;
    }
    return gather(whole, indices, path);
  }
}

function gather(whole: Clip, indices: readonly number[], path: string): Clip {
  const frameBytes = whole.height * whole.width * 3;
  const data = new Uint8Array(indices.length * frameBytes);
  indices.forEach((f, t) => {
    if (!Number.isInteger(f) || f < 0 || f >= whole.frames) throw new RangeError(`${path}: frame ${f} outside 0…${whole.frames - 1}`);
    data.set(whole.data.subarray(f * frameBytes, (f + 1) * frameBytes), t * frameBytes);
  });
  return { data, frames: indices.length, height: whole.height, width: whole.width };
}
