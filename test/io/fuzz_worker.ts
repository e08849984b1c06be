// Mutation fuzzing of one parser, run as a child process by fuzz.test.ts (a crash, hang or
// out-of-memory there kills only this process and fails the test).
//
//   node --import tsx test/io/fuzz_worker.ts <pth|safetensors|npy|lists> <seed> <maxIterations> <budgetMs> <workDir>
//
// Each iteration takes a seed input, applies 1-3 byte-level mutations (bit flips, interesting
// values, 32-bit integer overwrites, deletions, insertions, duplicated ranges, truncation) —
// for .pth mostly inside data.pkl, re-packed with correct CRCs so the pickle VM is reached,
// for safetensors/npy sometimes inside the header with its length fixed — and runs the
// parser: open, then read every tensor. Each outcome must be a load or a typed error naming the
// file (CheckpointIoError; ListFileError for list files). Anything else — or a typed error that
// only wraps an unexpected exception — is a finding: its input is saved under workDir and the
// summary (one JSON line on stdout) lists it. The sequence of inputs depends only on the seed;
// the run stops after maxIterations or budgetMs, whichever comes first.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ListFileError } from "../../src/data/errors.ts";
import { parseList, type ListFormat } from "../../src/data/lists.ts";
import { CheckpointIoError, UnexpectedContentError } from "../../src/io/errors.ts";
import { readNpy } from "../../src/io/npy.ts";
import { openPth } from "../../src/io/pth.ts";
import { openSafetensors, writeSafetensors } from "../../src/io/safetensors.ts";
import { ZipArchive } from "../../src/io/zip.ts";
import { zipArchive, type ZipInput } from "./hostile_files.ts";

const [parser, seedArg, itersArg, budgetArg, workDir] = process.argv.slice(2);
if (!parser || !seedArg || !itersArg || !budgetArg || !workDir) throw new Error("usage: fuzz_worker.ts <parser> <seed> <iterations> <budgetMs> <workDir>");
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "io");

// ---- deterministic randomness (mulberry32) ----
let state = Number(seedArg) >>> 0;
function rand(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const randInt = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[randInt(xs.length)]!;

const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff, 0x28, 0x2e, 0x5d, 0x61, 0x65, 0x71, 0x68, 0x52, 0x62, 0x63, 0x93];
const INTERESTING_U32 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** One random byte-level mutation of `b` (returns a new array). */
function mutateOnce(b: Uint8Array, lo = 0, hi = b.length): Uint8Array {
  const out = Uint8Array.from(b);
  if (hi <= lo) return out;
  const at = lo + randInt(hi - lo);
  switch (randInt(7)) {
    case 0:
      out[at]! ^= 1 << randInt(8);
      return out;
    case 1:
      out[at] = pick(INTERESTING_BYTES);
      return out;
    case 2: {
      const v = pick(INTERESTING_U32);
      for (let i = 0; i < 4 && at + i < out.length; i++) out[at + i] = (v >>> (8 * i)) & 0xff;
      return out;
    }
    case 3: {
      const n = 1 + randInt(Math.min(64, hi - at));
      return Buffer.concat([out.subarray(0, at), out.subarray(at + n)]);
    }
    case 4: {
      const ins = new Uint8Array(1 + randInt(16)).map(() => (rand() < 0.5 ? pick(INTERESTING_BYTES) : randInt(256)));
      return Buffer.concat([out.subarray(0, at), ins, out.subarray(at)]);
    }
    case 5: {
      const from = lo + randInt(hi - lo);
      const n = 1 + randInt(Math.min(256, hi - from));
      return Buffer.concat([out.subarray(0, at), out.subarray(from, from + n), out.subarray(at)]);
    }
    default:
      return out.subarray(0, at);
  }
}

function mutate(b: Uint8Array, lo = 0, hi = b.length): Uint8Array {
  let out = b;
  for (let k = 1 + randInt(3); k > 0; k--) {
    const grown = out.length - b.length;
    out = mutateOnce(out, lo, Math.max(lo, Math.min(out.length, hi + grown)));
  }
  return out;
}

// ---- per-parser seeds and runners ----

interface Target {
  /** A mutated input for this iteration. */
  next(): Uint8Array;
  /** Parse `path` (holding `data`); throws on failure. */
  run(path: string, data: Uint8Array): Promise<void>;
  /** Whether `err` is this parser's typed error for `path`. */
  typed(err: unknown, path: string): boolean;
  ext: string;
}

const isIoError = (err: unknown, path: string) => err instanceof CheckpointIoError && err.file === path;

async function pthTarget(): Promise<Target> {
  const names = ["sd_fp32.pth", "views.pth", "misc.pth", "ints.pth", "sd_deflate.pth", "sd_zip64.pth", "unsupported.pth"];
  const seeds: { file: Uint8Array; entries: ZipInput[] }[] = [];
  for (const n of names) {
    const path = join(FIXTURES, n);
    const zip = await ZipArchive.open(path);
    const entries: ZipInput[] = [];
    for (const e of zip.entries) entries.push({ name: e.name, data: await zip.read(e), deflate: e.name.endsWith(".pkl") && n === "sd_deflate.pth" });
    await zip.close();
    seeds.push({ file: readFileSync(path), entries });
  }
  return {
    ext: ".pth",
    next() {
      const s = pick(seeds);
      const r = rand();
      if (r < 0.25) return mutate(s.file);
      // Mutate one entry's content (usually data.pkl) and re-pack with a valid CRC.
      const pkl = s.entries.findIndex((e) => e.name.endsWith("data.pkl"));
      const i = r < 0.85 ? pkl : randInt(s.entries.length);
      const entries = s.entries.map((e, j) => (j === i ? { ...e, data: mutate(e.data) } : e));
      return zipArchive(entries);
    },
    async run(path) {
      const pth = await openPth(path);
      try {
        pth.topLevel();
        for (const e of pth.tensors.slice(0, 64)) await e.tensor.read();
      } finally {
        await pth.close();
      }
    },
    typed: isIoError,
  };
}

async function safetensorsTarget(dir: string): Promise<Target> {
  const seeds: Uint8Array[] = [];
  const p = join(dir, "seed.safetensors");
  await writeSafetensors(
    p,
    {
      "blocks.0.attn.qkv.weight": { dtype: "float32", shape: [6, 2], data: Float32Array.from({ length: 12 }, (_, i) => i / 3) },
      "blocks.0.norm1.bias": { dtype: "float16", shape: [2], data: Uint16Array.of(0x3c00, 0xbc00) },
      step: { dtype: "int64", shape: [], data: BigInt64Array.of(7n) },
      mask: { dtype: "bool", shape: [3], data: Uint8Array.of(1, 0, 1) },
      empty: { dtype: "bfloat16", shape: [0, 4], data: new Uint16Array(0) },
    },
    { metadata: { format: "pt", note: "fuzz seed" } },
  );
  seeds.push(readFileSync(p));
  await writeSafetensors(p, { w: { dtype: "float64", shape: [2, 2], data: Float64Array.of(1, 2, 3, 4) } });
  seeds.push(readFileSync(p));
  return {
    ext: ".safetensors",
    next() {
      const s = pick(seeds);
      if (rand() < 0.5) return mutate(s);
      // Mutate inside the JSON header, then fix the 8-byte length prefix.
      const n = Number(Buffer.from(s).readBigUInt64LE(0));
      const header = mutate(s.subarray(8, 8 + n));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(header.length));
      return Buffer.concat([len, header, s.subarray(8 + n)]);
    },
    async run(path) {
      const st = await openSafetensors(path);
      try {
        for (const e of st.tensors.values()) await e.read();
      } finally {
        await st.close();
      }
    },
    typed: isIoError,
  };
}

function npyTarget(): Target {
  const dir = join(FIXTURES, "npy");
  const seeds = readdirSync(dir)
    .filter((n) => n.endsWith(".npy"))
    .sort()
    .map((n) => readFileSync(join(dir, n)));
  return {
    ext: ".npy",
    next() {
      const s = pick(seeds);
      if (rand() < 0.5) return mutate(s);
      // Mutate within the header text (after the 10-12 byte preamble, before the data).
      const major = s[6]!;
      const start = major === 1 ? 10 : 12;
      const len = major === 1 ? s[8]! | (s[9]! << 8) : Buffer.from(s).readUInt32LE(8);
      const out = Uint8Array.from(s);
      for (let k = 1 + randInt(3); k > 0; k--) out[start + randInt(len)] = rand() < 0.5 ? pick([0x28, 0x29, 0x2c, 0x27, 0x7b, 0x7d, 0x3a, 0x5b, 0x31, 0x39, 0x2d, 0x20]) : randInt(256);
      return out;
    },
    async run(path) {
      await readNpy(path);
    },
    typed: isIoError,
  };
}

function listsTarget(): Target {
  const seeds = [
    "a/video_0001.mp4 3\nb/video_0002.mp4 0\n\nc/v3.webm 12\n",
    "frames/abseiling/xyz 300 0\nframes/zumba/q 12 399\n",
    "/data/k400/a.mp4 0 -1\nframes/f 1 64\nb.mp4 5\n",
    "x.mp4 0\r\ny.mp4 1\r\n",
  ].map((t) => new TextEncoder().encode(t));
  const formats: ListFormat[] = ["video-label", "frames-label", "pretrain"];
  let format: ListFormat = "video-label";
  return {
    ext: ".csv",
    next() {
      format = pick(formats);
      return mutate(pick(seeds));
    },
    async run(path, data) {
      parseList(new TextDecoder().decode(data), format, { source: path, baseDir: "/data", numClasses: rand() < 0.5 ? 400 : undefined });
    },
    typed: (err, path) => err instanceof ListFileError && err.file === path,
  };
}

const target =
  parser === "pth" ? await pthTarget()
  : parser === "safetensors" ? await safetensorsTarget(workDir)
  : parser === "npy" ? npyTarget()
  : parser === "lists" ? listsTarget()
  : undefined;
if (!target) throw new Error(`unknown parser ${parser}`);

const maxIterations = Number(itersArg);
const deadline = Date.now() + Number(budgetArg);
const counts = { iterations: 0, loaded: 0, typed: 0 };
const findings: { iteration: number; error: string; input: string }[] = [];
const path = join(workDir, `input${target.ext}`);
for (let i = 0; i < maxIterations && Date.now() < deadline; i++) {
  const data = target.next();
  writeFileSync(path, data);
  counts.iterations++;
  try {
    await target.run(path, data);
    counts.loaded++;
  } catch (err) {
    // A typed error that only wraps an unexpected exception (asCheckpointError) is still a finding.
    const wrapped = err instanceof UnexpectedContentError;
    if (target.typed(err, path) && !wrapped) {
      counts.typed++;
      continue;
    }
    if (findings.length < 10) {
      const saved = join(workDir, `finding-${parser}-${i}${target.ext}`);
      writeFileSync(saved, data);
      const e = err as Error;
      findings.push({ iteration: i, error: `${e?.name}: ${String(e?.message).slice(0, 300)}\n${String(e?.stack).split("\n").slice(1, 5).join("\n")}`, input: saved });
    } else findings.push({ iteration: i, error: String((err as Error)?.name), input: "" });
  }
}
console.log(JSON.stringify({ parser, seed: Number(seedArg), ...counts, findings, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
