// Child process of fuzz.test.ts: decodes mutated copies of small videos with the in-process
// reader and counts the outcomes. A crash of the decoder kills this process (the parent sees
// the signal and the last case started, printed to stderr); a hang is stopped by the per-request
// time limit or the parent's timeout.
//   node --import tsx test/video/fuzz_worker.ts OUT_DIR CASES SEED BASE...
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

import { VideoError } from "../../src/video/errors.ts";
import { LibavReader } from "../../src/video/libav-reader.ts";

const [outDir, casesArg, seedArg, ...bases] = process.argv.slice(2);
const cases = Number(casesArg);
const originals = bases.map((b) => ({ name: basename(b), bytes: readFileSync(b) }));

/** mulberry32: small, seeded, good enough to pick mutations. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = "bitflip" | "truncate" | "splice" | "overwrite" | "insert";
const KINDS: Kind[] = ["bitflip", "truncate", "splice", "overwrite", "insert"];

/** One mutated copy of a base file: bit flips, a truncation, bytes spliced from another file, a run of one byte, or inserted junk. */
function mutate(r: () => number, k: number): { kind: Kind; base: string; bytes: Buffer } {
  const src = originals[k % originals.length]!;
  const kind = KINDS[Math.floor(k / originals.length) % KINDS.length]!;
  const b = Buffer.from(src.bytes);
  const at = (n = b.length) => Math.floor(r() * n);
  switch (kind) {
    case "bitflip": {
      const flips = 1 + at(32);
      // Half of the cases flip bits in the first 4 KiB, where the headers are.
      const span = r() < 0.5 ? Math.min(4096, b.length) : b.length;
      for (let i = 0; i < flips; i++) b[at(span)]! ^= 1 << at(8);
      return { kind, base: src.name, bytes: b };
    }
    case "truncate":
      return { kind, base: src.name, bytes: b.subarray(0, r() < 0.2 ? at(512) : at()) };
    case "splice": {
      const other = originals[at(originals.length)]!.bytes;
      const len = 1 + at(Math.min(4096, other.length));
      const from = at(other.length - len + 1);
      other.copy(b, at(b.length), from, from + len);
      return { kind, base: src.name, bytes: b };
    }
    case "overwrite": {
      const len = 1 + at(2048);
      b.fill(r() < 0.5 ? 0 : 0xff, at(), Math.min(b.length, at() + len));
      return { kind, base: src.name, bytes: b };
    }
    case "insert": {
      const junk = Buffer.alloc(1 + at(1024));
      for (let i = 0; i < junk.length; i++) junk[i] = at(256);
      const p = at();
      return { kind, base: src.name, bytes: Buffer.concat([b.subarray(0, p), junk, b.subarray(p)]) };
    }
  }
}

const reader = new LibavReader({ timeoutMs: 10_000, maxOpen: 2, probeCacheSize: 8 });
const r = rng(Number(seedArg));
const counts = { cases: 0, decoded: 0, videoErrors: 0, unexpected: 0, frames: 0 };
const unexpected: string[] = [];
const rssStart = process.memoryUsage().rss;
for (let k = 0; k < cases; k++) {
  const m = mutate(r, k);
  const f = join(outDir, `case-${k}-${m.kind}-${m.base}`);
  writeFileSync(f, m.bytes);
  process.stderr.write(`case ${k} ${m.kind} ${m.base}\n`);
  try {
    const info = await reader.probe(f);
    const n = info.frameCount;
    const clip = await reader.readFrames(f, [0, Math.floor(n / 2), n - 1], { width: 16, height: 12 });
    counts.frames += clip.frames;
    if (k % 4 === 0) for await (const w of reader.streamWindows(f, { window: 4, stride: 8, size: { shortSide: 8 } })) counts.frames += w.clip.frames;
    counts.decoded++;
  } catch (e) {
    if (e instanceof VideoError) counts.videoErrors++;
    else {
      counts.unexpected++;
      if (unexpected.length < 10) unexpected.push(`${f}: ${(e as Error).stack ?? e}`);
    }
  }
  counts.cases++;
  rmSync(f, { force: true });
}
await reader.close();
const rssGrowthMiB = (process.memoryUsage().rss - rssStart) / 2 ** 20;
console.log(JSON.stringify({ ...counts, unexpectedErrors: unexpected, rssGrowthMiB }));
