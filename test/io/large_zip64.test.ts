// A > 4 GiB checkpoint, written as a sparse file (only a few KiB hit the disk), to check that
// 64-bit sizes and offsets go through the zip, pth and tensor-read paths without loading the
// file: the storage is 2^30 + 16 float32s, the tensor a 2-element view at its very end.
import assert from "node:assert/strict";
import { closeSync, openSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { openPth } from "../../src/io/pth.ts";
import { crc32, ZipArchive } from "../../src/io/zip.ts";
import { le, pkl, tempDir } from "./helpers.ts";

const tmp = tempDir();
after(tmp.cleanup);

const NUMEL = 2 ** 30 + 16;
const SIZE = NUMEL * 4; // 4 GiB + 64 bytes
const OFFSET = NUMEL - 2;
const U32_MAX = 0xffffffff;

function localHeader(name: string, crc: number, size: number, zip64: boolean): number[] {
  const n = [...new TextEncoder().encode(name)];
  const extra = zip64 ? [...le(1, 2), ...le(16, 2), ...le(size, 8), ...le(size, 8)] : [];
  const sz = zip64 ? U32_MAX : size;
  return [
    ...le(0x04034b50, 4), ...le(45, 2), 0, 0, 0, 0, 0, 0, ...le(0x21, 2), ...le(crc, 4),
    ...le(sz, 4), ...le(sz, 4), ...le(n.length, 2), ...le(extra.length, 2), ...n, ...extra,
  ];
}

function centralHeader(name: string, crc: number, size: number, offset: number): number[] {
  const n = [...new TextEncoder().encode(name)];
  const bigSize = size > U32_MAX;
  const bigOffset = offset > U32_MAX;
  const fields = [...(bigSize ? [...le(size, 8), ...le(size, 8)] : []), ...(bigOffset ? le(offset, 8) : [])];
  const extra = fields.length ? [...le(1, 2), ...le(fields.length, 2), ...fields] : [];
  return [
    ...le(0x02014b50, 4), ...le(45, 2), ...le(45, 2), 0, 0, 0, 0, 0, 0, ...le(0x21, 2), ...le(crc, 4),
    ...le(bigSize ? U32_MAX : size, 4), ...le(bigSize ? U32_MAX : size, 4), ...le(n.length, 2),
    ...le(extra.length, 2), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...le(bigOffset ? U32_MAX : offset, 4), ...n, ...extra,
  ];
}

function buildSparseCheckpoint(path: string): void {
  // {"w": _rebuild_tensor_v2(storage('0', FloatStorage, numel=NUMEL), OFFSET, (2,), (1,), False, OrderedDict())}
  const pickle = pkl(
    0x80, 2, 0x7d, 0x58, le(1, 4), "w",
    0x63, "torch._utils\n_rebuild_tensor_v2\n", 0x28,
    0x28, 0x58, le(7, 4), "storage", 0x63, "torch\nFloatStorage\n", 0x58, le(1, 4), "0",
    0x58, le(3, 4), "cpu", 0x4a, le(NUMEL, 4), 0x74, 0x51,
    0x4a, le(OFFSET, 4), 0x4b, 2, 0x85, 0x4b, 1, 0x85, 0x89,
    0x63, "collections\nOrderedDict\n", 0x29, 0x52, 0x74, 0x52, 0x73, 0x2e,
  );
  const version = new TextEncoder().encode("3\n");
  const fd = openSync(path, "w");
  try {
    let pos = 0;
    const put = (bytes: ArrayLike<number>, at = pos) => {
      const b = Buffer.from(Array.from(bytes));
      writeSync(fd, b, 0, b.length, at);
      pos = at + b.length;
    };
    const central: number[] = [];
    // 1. the huge storage: only its header and last 8 bytes are written; the rest is a hole.
    const h0 = localHeader("archive/data/0", 0, SIZE, true);
    put(h0, 0);
    put(new Uint8Array(new Float32Array([1.5, -2.5]).buffer), h0.length + SIZE - 8);
    central.push(...centralHeader("archive/data/0", 0, SIZE, 0));
    // 2. data.pkl and version, both past 4 GiB.
    for (const [name, data] of [["archive/data.pkl", pickle], ["archive/version", version]] as const) {
      const at = pos;
      put([...localHeader(name, crc32(data), data.length, false), ...data], at);
      central.push(...centralHeader(name, crc32(data), data.length, at));
    }
    const cdOffset = pos;
    put(central);
    const z64 = pos;
    put([
      ...le(0x06064b50, 4), ...le(44, 8), ...le(45, 2), ...le(45, 2), ...le(0, 4), ...le(0, 4),
      ...le(3, 8), ...le(3, 8), ...le(central.length, 8), ...le(cdOffset, 8),
    ]);
    put([...le(0x07064b50, 4), ...le(0, 4), ...le(z64, 8), ...le(1, 4)]);
    put([...le(0x06054b50, 4), 0, 0, 0, 0, ...le(3, 2), ...le(3, 2), ...le(central.length, 4), ...le(U32_MAX, 4), 0, 0]);
  } finally {
    closeSync(fd);
  }
}

test("a sparse 4 GiB+ checkpoint: zip64 offsets, a view at the end of a huge storage", async () => {
  const p = join(tmp.dir, "huge.pth");
  buildSparseCheckpoint(p);
  assert.ok(statSync(p).size > 2 ** 32);

  const z = await ZipArchive.open(p);
  try {
    const big = z.entry("archive/data/0")!;
    assert.equal(big.size, SIZE);
    assert.ok(z.entry("archive/data.pkl")!.localHeaderOffset > 2 ** 32);
    const tail = await z.readRange(big, SIZE - 8, 8);
    assert.deepEqual([...new Float32Array(tail.buffer)], [1.5, -2.5]);
  } finally {
    await z.close();
  }

  const f = await openPth(p);
  try {
    assert.equal(f.archiveRoot, "archive");
    const [entry] = f.tensors;
    assert.equal(entry!.name, "w");
    assert.equal(entry!.tensor.storageOffset, OFFSET);
    assert.equal(entry!.tensor.storage.numel, NUMEL);
    const t = await entry!.tensor.read();
    assert.deepEqual(t.shape, [2]);
    assert.deepEqual([...t.data], [1.5, -2.5]);
  } finally {
    await f.close();
  }
});
