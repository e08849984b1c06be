/**
 * A disk cache of a distillation teacher's outputs, one file per training sample draw: the rows
 * (views) of the clip at position `position` of epoch `epoch`, each its logits followed by its
 * pooled features, float32. A run's augmented clip is a pure function of (seed, epoch, position)
 * (src/data/seeds.ts), so a second distillation with the same seed, data and augmentation (another
 * student, another lr, another batch size or rank count) reads the teacher's outputs instead of
 * running it. Everything else that decides the clip or the teacher — the list's entries, the
 * sampling and augmentation options, the seed, the teacher checkpoint and its precision — goes
 * into a fingerprint that names the cache's sub-folder, so a changed setting never reads stale
 * outputs. What the fingerprint cannot see (video files rewritten under the same names, another
 * decoder producing other pixels) makes hits wrong: the cache is only valid while the augmented
 * clip is determined by the seed.
 *
 * File layout: `<dir>/<fingerprint hash>/e<epoch>/<position>.f32` = int32 header [item, views,
 * width] + views·width float32. Written atomically (temp file, rename).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export class TeacherCache {
  /** The folder of this fingerprint. */
  readonly dir: string;
  /** Samples read from / written to the cache by this process. */
  hits = 0;
  misses = 0;

  constructor(root: string, fingerprint: Record<string, unknown>) {
    const json = JSON.stringify(fingerprint);
    this.dir = join(root, createHash("sha256").update(json).digest("hex").slice(0, 16));
    mkdirSync(this.dir, { recursive: true });
    const fp = join(this.dir, "fingerprint.json");
    if (!existsSync(fp)) writeAtomic(fp, JSON.stringify(fingerprint, null, 2) + "\n");
  }

  private path(epoch: number, position: number): string {
    return join(this.dir, `e${epoch}`, `${position}.f32`);
  }

  /** The stored rows (views × width floats) of a sample, or null when absent or stored for another item/shape. */
  get(epoch: number, position: number, item: number, views: number, width: number): Float32Array | null {
    const p = this.path(epoch, position);
    if (!existsSync(p)) return null;
    const buf = readFileSync(p);
    if (buf.byteLength !== 12 + views * width * 4) return null;
    const head = new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + 12));
    if (head[0] !== item || head[1] !== views || head[2] !== width) return null;
    return new Float32Array(buf.buffer.slice(buf.byteOffset + 12, buf.byteOffset + buf.byteLength));
  }

  put(epoch: number, position: number, item: number, views: number, width: number, rows: Float32Array): void {
    if (rows.length !== views * width) throw new RangeError(`teacher cache: ${rows.length} floats for ${views} views × ${width}`);
    const p = this.path(epoch, position);
    mkdirSync(join(this.dir, `e${epoch}`), { recursive: true });
    const buf = Buffer.alloc(12 + rows.byteLength);
    buf.writeInt32LE(item, 0);
    buf.writeInt32LE(views, 4);
    buf.writeInt32LE(width, 8);
    Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength).copy(buf, 12);
    writeAtomic(p, buf);
  }
}

function writeAtomic(path: string, data: string | Buffer): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
