import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { TruncatedFileError, ZipFormatError } from "../../src/io/errors.ts";
import { crc32, METHOD_DEFLATE, METHOD_STORED, ZipArchive } from "../../src/io/zip.ts";
import { fixture, tempDir } from "./helpers.ts";

const tmp = tempDir();
after(tmp.cleanup);

async function withZip<T>(path: string, fn: (z: ZipArchive) => Promise<T>): Promise<T> {
  const z = await ZipArchive.open(path);
  try {
    return await fn(z);
  } finally {
    await z.close();
  }
}

describe("ZipArchive", () => {
  test("lists a torch.save archive and reads data.pkl with a CRC check", async () => {
    await withZip(fixture("sd_fp32.pth"), async (z) => {
      const names = z.entries.map((e) => e.name);
      assert.ok(names.includes("sd_fp32/data.pkl"));
      assert.ok(names.includes("sd_fp32/version"));
      assert.ok(names.includes("sd_fp32/data/0"));
      assert.ok(z.entries.every((e) => e.method === METHOD_STORED));
      const version = await z.read(z.entry("sd_fp32/version")!);
      assert.match(new TextDecoder().decode(version), /^\d+\s*$/);
      const pkl = await z.read(z.entry("sd_fp32/data.pkl")!);
      assert.equal(pkl[0], 0x80); // pickle PROTO
      assert.equal(pkl[pkl.length - 1], 0x2e); // STOP
    });
  });

  test("reads a byte range of a stored entry", async () => {
    await withZip(fixture("sd_fp32.pth"), async (z) => {
      const e = z.entry("sd_fp32/data/0")!;
      const all = await z.read(e);
      assert.equal(all.length, e.size);
      const part = await z.readRange(e, 12, 20);
      assert.deepEqual(part, all.subarray(12, 32));
      assert.equal(part.byteOffset, 0);
      await assert.rejects(z.readRange(e, e.size - 4, 8), RangeError);
    });
  });

  test("ZIP64: end-of-central-directory record, locator and zip64 extra fields", async () => {
    const plain = await withZip(fixture("sd_fp32.pth"), async (z) =>
      Promise.all(z.entries.map(async (e) => [e.name.replace(/^sd_fp32\//, ""), await z.read(e)] as const)),
    );
    await withZip(fixture("sd_zip64.pth"), async (z) => {
      assert.equal(z.entries.length, plain.length);
      for (const [name, data] of plain) {
        const e = z.entry(`archive/${name}`);
        assert.ok(e, name);
        assert.equal(e.size, data.length);
        assert.deepEqual(await z.read(e), data);
        if (data.length > 8) assert.deepEqual(await z.readRange(e, 4, 4), data.subarray(4, 8));
      }
    });
  });

  test("deflated entries (with zip64 local headers) inflate, also by range", async () => {
    await withZip(fixture("sd_deflate.pth"), async (z) => {
      const e = z.entry("sd_fp32/data/0")!;
      assert.equal(e.method, METHOD_DEFLATE);
      const all = await z.read(e);
      assert.equal(all.length, e.size);
      assert.deepEqual(await z.readRange(e, 8, 16), all.subarray(8, 24));
      const ref = await withZip(fixture("sd_fp32.pth"), async (r) => r.read(r.entry("sd_fp32/data/0")!));
      assert.deepEqual(all, ref);
    });
  });

  test("non-zip input is a ZipFormatError", async () => {
    const p = join(tmp.dir, "not-a-zip.bin");
    writeFileSync(p, "hello, this is plain text and not an archive\n".repeat(10));
    await assert.rejects(ZipArchive.open(p), (err: unknown) => {
      assert.ok(err instanceof ZipFormatError);
      assert.match(err.message, /not a zip archive/);
      assert.ok(err.message.includes(p));
      return true;
    });
  });

  test("a cut archive is a TruncatedFileError", async () => {
    const bytes = readFileSync(fixture("sd_fp32.pth"));
    const p = join(tmp.dir, "cut.zip");
    writeFileSync(p, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(ZipArchive.open(p), TruncatedFileError);
  });

  test("a corrupted entry fails its CRC check", async () => {
    const p = join(tmp.dir, "corrupt.pth");
    copyFileSync(fixture("sd_fp32.pth"), p);
    const entry = await withZip(p, async (z) => z.entry("sd_fp32/data/0")!);
    // Flip a byte inside the entry's data, which starts after its local header.
    const bytes = readFileSync(p);
    const nameLen = bytes.readUInt16LE(entry.localHeaderOffset + 26);
    const extraLen = bytes.readUInt16LE(entry.localHeaderOffset + 28);
    bytes[entry.localHeaderOffset + 30 + nameLen + extraLen + 3]! ^= 0xff;
    writeFileSync(p, bytes);
    await withZip(p, async (z) => {
      await assert.rejects(z.read(z.entry("sd_fp32/data/0")!), (err: unknown) => {
        assert.ok(err instanceof ZipFormatError);
        assert.match(err.message, /corrupt \(CRC-32/);
        return true;
      });
    });
  });

  test("crc32 matches the standard check value", () => {
    assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  });
});
