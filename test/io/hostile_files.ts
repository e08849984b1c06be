// Builders for small hand-made checkpoints: a zip writer, pickle opcodes for torch tensors, and
// one file per hostile class of issue 11 (each a few bytes to a few hundred KB). Used by
// hostile.test.ts (in-process assertions), hostile_child.ts (memory in a fresh process) and
// the fuzz workers (seed inputs).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { crc32 } from "../../src/io/zip.ts";

// ---- zip -------------------------------------------------------------------------------------

export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** Deflate the data (method 8) instead of storing it. */
  deflate?: boolean;
  /** Precompressed deflate data to write as is (method 8); `data` is then only used for the CRC. */
  raw?: Uint8Array;
  /** Size to declare in the headers instead of data.length (a lying entry). */
  declaredSize?: number;
  /** CRC to declare instead of the data's. */
  declaredCrc?: number;
}

/** A plain (non-zip64) zip archive: local headers + data, central directory, EOCD. */
export function zipArchive(entries: readonly ZipInput[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const method = e.deflate || e.raw ? 8 : 0;
    const body = e.raw ?? (e.deflate ? new Uint8Array(zlib.deflateRawSync(e.data)) : e.data);
    const size = e.declaredSize ?? e.data.length;
    const crc = e.declaredCrc ?? crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt32LE(crc >>> 0, 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    parts.push(local, name, body);
    central.push(cd, name);
    offset += 30 + name.length + body.length;
  }
  const cdSize = central.reduce((n, b) => n + b.length, 0);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cdSize, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, eocd]);
}

/** A torch.save-style archive: `archive/data.pkl`, `archive/data/<key>`, `archive/version`. */
export function pthArchive(
  pickle: Uint8Array,
  storages: Readonly<Record<string, Uint8Array>> = {},
  opts: { deflatePickle?: boolean; storageEntries?: (key: string, data: Uint8Array) => ZipInput } = {},
): Uint8Array {
  return zipArchive([
    { name: "archive/data.pkl", data: pickle, deflate: opts.deflatePickle },
    ...Object.entries(storages).map(([k, d]) => opts.storageEntries?.(k, d) ?? { name: `archive/data/${k}`, data: d }),
    { name: "archive/version", data: new TextEncoder().encode("3\n") },
  ]);
}

// ---- pickle opcodes --------------------------------------------------------------------------

const enc = new TextEncoder();

/** Concatenate opcode bytes, latin1/UTF-8 strings and byte arrays (no argument spreading). */
export function bytes(...parts: (number | string | Uint8Array | number[])[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const p of parts) {
    if (typeof p === "number") chunks.push(Uint8Array.of(p));
    else if (typeof p === "string") chunks.push(enc.encode(p));
    else chunks.push(p instanceof Uint8Array ? p : Uint8Array.from(p));
  }
  return Buffer.concat(chunks);
}

export const PROTO2 = bytes(0x80, 2);
export const STOP = 0x2e;
export const MARK = 0x28;

/** BINUNICODE string. */
export function str(s: string): Uint8Array {
  const b = enc.encode(s);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(b.length);
  return bytes(0x58, len, b);
}

/** BININT (signed 32-bit) integer. */
export function int(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return bytes(0x4a, b);
}

/** GLOBAL opcode. */
export function global(module: string, name: string): Uint8Array {
  return bytes(0x63, `${module}\n${name}\n`);
}

/** A tuple of already-encoded items (MARK ... TUPLE). */
export function tuple(...items: (Uint8Array | number)[]): Uint8Array {
  return bytes(MARK, ...items, 0x74);
}

/**
 * `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())` on
 * a FloatStorage persistent id with archive key `key` and `numel` elements.
 */
export function tensorPickle(key: string, numel: number, offset: number, size: number[], stride: number[]): Uint8Array {
  const storage = bytes(tuple(str("storage"), global("torch", "FloatStorage"), str(key), str("cpu"), int(numel)), 0x51);
  return bytes(
    global("torch._utils", "_rebuild_tensor_v2"),
    tuple(storage, int(offset), tuple(...size.map(int)), tuple(...stride.map(int)), 0x89, global("collections", "OrderedDict"), 0x29, 0x52),
    0x52,
  );
}

/** `{key: value, ...}` as EMPTY_DICT MARK k v ... SETITEMS. */
export function dict(items: [string, Uint8Array][]): Uint8Array {
  return bytes(0x7d, MARK, ...items.flatMap(([k, v]) => [str(k), v]), 0x75);
}

/** float32 little-endian bytes. */
export function f32(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

// ---- the hostile classes -------------------------------------------------------------------

/** Items in the huge APPENDS case. */
export const APPENDS_ITEMS = 500_000;

export interface HostileCase {
  name: string;
  /** File name to write (the extension picks the reader). */
  file: string;
  build(): Uint8Array | Promise<Uint8Array>;
  /** "load": opens and every tensor reads; otherwise the error class expected (by name). */
  expect: "load" | string;
}

/** A deflate stream of `n` zero bytes, built chunk by chunk (never holds `n` bytes). */
export async function deflatedZeros(n: number): Promise<Uint8Array> {
  const d = zlib.createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  d.on("data", (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    d.on("end", resolve);
    d.on("error", reject);
  });
  const chunk = Buffer.alloc(1 << 20);
  for (let left = n; left > 0; left -= chunk.length) {
    const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
    if (!d.write(part)) await new Promise((r) => d.once("drain", r));
  }
  d.end();
  await done;
  return Buffer.concat(out);
}

/** CRC-32 of `n` zero bytes. */
function zerosCrc(n: number): number {
  const chunk = new Uint8Array(1 << 20);
  let c = 0;
  for (let left = n; left > 0; left -= chunk.length) c = crc32(left >= chunk.length ? chunk : chunk.subarray(0, left), c);
  return c;
}

const model = (...items: [string, Uint8Array][]) => bytes(PROTO2, dict([["model", dict(items)]]), STOP);

export const HOSTILE_CASES: readonly HostileCase[] = [
  {
    // One stored float broadcast to [65536, 65536, 4] (64 GiB as float32) by zero strides.
    name: "zero-stride bomb",
    file: "zero_stride.pth",
    build: () => pthArchive(model(["w", tensorPickle("0", 1, 0, [65536, 65536, 4], [0, 0, 0])]), { "0": f32([1.5]) }),
    expect: "LimitExceededError",
  },
  {
    // Overlapping as_strided view: 80,000 stored floats read as [40000, 40000] with strides [1, 1].
    name: "overlapping-stride bomb",
    file: "overlap.pth",
    build: () => pthArchive(model(["w", tensorPickle("0", 80000, 0, [40000, 40000], [1, 1])]), { "0": new Uint8Array(320000) }),
    expect: "LimitExceededError",
  },
  {
    // A legitimate expand: 3 stored floats seen as [4, 3] (stride 0 on the rows).
    name: "small zero-stride view",
    file: "small_view.pth",
    build: () => pthArchive(model(["w", tensorPickle("0", 3, 0, [4, 3], [0, 1])]), { "0": f32([1, 2, 3]) }),
    expect: "load",
  },
  {
    // A 40 MiB storage of zeros deflated to ~40 KB, declared at its true size.
    name: "deflate bomb (declared)",
    file: "deflate_declared.pth",
    build: async () => {
      const n = 40 * 1024 * 1024;
      const raw = await deflatedZeros(n);
      return pthArchive(model(["w", tensorPickle("0", n / 4, 0, [n / 4], [1])]), { "0": new Uint8Array(0) }, {
        storageEntries: (k) => ({ name: `archive/data/${k}`, data: new Uint8Array(0), raw, declaredSize: n, declaredCrc: zerosCrc(n) }),
      });
    },
    expect: "LimitExceededError",
  },
  {
    // An entry declaring 64 bytes whose deflate stream inflates to 40 MiB.
    name: "deflate bomb (lying size)",
    file: "deflate_lying.pth",
    build: async () => {
      const raw = await deflatedZeros(40 * 1024 * 1024);
      return pthArchive(model(["w", tensorPickle("0", 16, 0, [16], [1])]), { "0": new Uint8Array(0) }, {
        storageEntries: (k) => ({ name: `archive/data/${k}`, data: new Uint8Array(64), raw, declaredSize: 64 }),
      });
    },
    expect: "ZipFormatError",
  },
  {
    // 30 MiB of EMPTY_LIST opcodes as a deflated data.pkl (~30 KB): would unpickle into ~1 GB of arrays.
    name: "deflate bomb (pickle)",
    file: "deflate_pickle.pth",
    build: () => {
      const pickle = bytes(PROTO2, new Uint8Array(30 * 1024 * 1024).fill(0x5d), STOP);
      return zipArchive([{ name: "archive/data.pkl", data: pickle, deflate: true }]);
    },
    expect: "LimitExceededError",
  },
  {
    // 10 tensors viewing one 12 MiB deflated storage of random 0/1 bytes (~2 MB compressed,
    // a plausible ratio, too big to cache): each read inflates the whole entry again.
    name: "deflate bomb (many views)",
    file: "deflate_views.pth",
    build: () => {
      const n = 12 * 1024 * 1024;
      const data = new Uint8Array(n);
      let x = 12345;
      for (let i = 0; i < n; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        data[i] = x >>> 31;
      }
      const items: [string, Uint8Array][] = [];
      for (let i = 0; i < 10; i++) items.push([`t${i}`, tensorPickle("0", n / 4, i, [n / 4 - i], [1])]);
      return pthArchive(model(...items), { "0": data }, {
        storageEntries: (k, d) => ({ name: `archive/data/${k}`, data: d, deflate: true }),
      });
    },
    expect: "LimitExceededError",
  },
  {
    // L0 = [tensor]; L(i+1) = [Li, Li] for 60 levels: 2^60 paths through 61 lists.
    name: "DAG of shared references",
    file: "dag.pth",
    build: () => {
      // Each level: build the list, LONG_BINPUT it, POP; the top one is fetched back with LONG_BINGET.
      const levels: Uint8Array[] = [bytes(0x5d, tensorPickle("0", 2, 0, [2], [1]), 0x61, 0x72, le32(0), 0x30)];
      for (let i = 0; i < 60; i++) levels.push(bytes(MARK, 0x6a, le32(i), 0x6a, le32(i), 0x6c, 0x72, le32(i + 1), 0x30));
      const pickle = bytes(PROTO2, 0x7d, str("model"), ...levels, 0x6a, le32(60), 0x73, STOP);
      return pthArchive(pickle, { "0": f32([1, 2]) });
    },
    expect: "load",
  },
  {
    // One memoised 50,000-item list passed to builtins.list 50,000 times.
    name: "DAG through a copying constructor",
    file: "dag_copy.pth",
    build: () => {
      const n = 50_000;
      const items = new Uint8Array(n).fill(0x4e); // NONE
      const calls: Uint8Array[] = [];
      const one = bytes(0x68, 2, 0x68, 1, 0x85, 0x52, 0x30); // BINGET list, BINGET L, TUPLE1, REDUCE, POP
      for (let i = 0; i < n; i++) calls.push(one);
      return pthArchive(
        bytes(PROTO2, global("builtins", "list"), 0x71, 2, 0x30, 0x5d, 0x71, 1, MARK, items, 0x65, Buffer.concat(calls), STOP),
      );
    },
    expect: "LimitExceededError",
  },
  {
    // 100,000 nested lists: [[[[...]]]] (a recursive walk overflows the stack at ~10,000).
    name: "deep nesting (lists)",
    file: "deep_lists.pth",
    build: () => {
      const n = 100_000;
      return pthArchive(bytes(PROTO2, new Uint8Array(n).fill(0x5d), new Uint8Array(n - 1).fill(0x61), STOP));
    },
    expect: "LimitExceededError",
  },
  {
    // 100,000 nested one-key dicts under "model", built with MARK ... DICT.
    name: "deep nesting (marks and dicts)",
    file: "deep_dicts.pth",
    build: () => {
      const n = 100_000;
      const open = bytes(MARK, str("k"));
      const opens: Uint8Array[] = [];
      for (let i = 0; i < n; i++) opens.push(open);
      return pthArchive(bytes(PROTO2, 0x7d, str("model"), Buffer.concat(opens), 0x7d, new Uint8Array(n).fill(0x64), 0x73, STOP));
    },
    expect: "LimitExceededError",
  },
  {
    // One APPENDS of 500,000 items and one SETITEMS of 250,000 pairs: {"list": [None, ...], "dict": {True: None}}.
    name: "huge APPENDS and SETITEMS",
    file: "appends.pth",
    build: () => {
      const n = APPENDS_ITEMS;
      const pairs = new Uint8Array(n);
      for (let i = 0; i < n; i += 2) [pairs[i], pairs[i + 1]] = [0x88, 0x4e]; // key True, value None (one key)
      const list = bytes(0x5d, MARK, new Uint8Array(n).fill(0x4e), 0x65);
      const d = bytes(0x7d, MARK, pairs, 0x75);
      return pthArchive(bytes(PROTO2, 0x7d, MARK, str("list"), list, str("dict"), d, 0x75, STOP));
    },
    expect: "load",
  },
  ...payloadCases(),
];

function le32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

/** One payload per opcode that can reach a global: REDUCE, INST, OBJ, NEWOBJ, NEWOBJ_EX, BUILD, STACK_GLOBAL. */
function payloadCases(): HostileCase[] {
  const cmd = str("echo pwned > /tmp/videomae-pwned");
  const pick = (name: string, pickle: Uint8Array): HostileCase => ({
    name,
    file: `payload_${name.split(" ")[0]!.replace(/\W/g, "_")}.pth`,
    build: () => pthArchive(bytes(PROTO2, dict([["model", pickle]]), STOP)),
    expect: "ForbiddenGlobalError",
  });
  return [
    pick("REDUCE os.system", bytes(global("os", "system"), tuple(cmd), 0x52)),
    pick("INST posix.system", bytes(MARK, cmd, 0x69, "posix\nsystem\n")),
    pick("OBJ builtins.eval", bytes(MARK, global("builtins", "eval"), str("1+1"), 0x6f)),
    pick("NEWOBJ subprocess.Popen", bytes(global("subprocess", "Popen"), tuple(cmd), 0x81)),
    pick("NEWOBJ_EX subprocess.Popen", bytes(global("subprocess", "Popen"), tuple(cmd), 0x7d, 0x92)),
    pick(
      "BUILD nt.system",
      bytes(global("argparse", "Namespace"), 0x29, 0x81, 0x7d, str("__setstate__"), global("nt", "system"), 0x73, 0x62),
    ),
    pick("STACK_GLOBAL builtins.exec", bytes(str("builtins"), str("exec"), 0x93, tuple(str("import os")), 0x52)),
    pick("GLOBAL __builtin__.getattr", bytes(global("__builtin__", "getattr"), tuple(str("x"), str("y")), 0x52)),
    {
      name: "unknown class",
      file: "payload_unknown.pth",
      build: () => pthArchive(bytes(PROTO2, dict([["model", bytes(global("mypackage.models", "Net"), 0x29, 0x81)]]), STOP)),
      expect: "ForbiddenGlobalError",
    },
  ];
}

/** Write every case's file into `dir`; returns the paths by case name. */
export async function writeHostileFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const c of HOSTILE_CASES) {
    const p = join(dir, c.file);
    writeFileSync(p, await c.build());
    out.set(c.name, p);
  }
  return out;
}
