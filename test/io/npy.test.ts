import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { NpyFormatError, TruncatedFileError } from "../../src/io/errors.ts";
import { decodeNpy, encodeNpy, encodeNpyHeader, readNpy, writeNpy } from "../../src/io/npy.ts";
import type { RawTensor } from "../../src/io/raw.ts";
import { fixture, hexOf, loadJson, tempDir, type ExpectedTensor } from "./helpers.ts";

const tmp = tempDir();
after(tmp.cleanup);

const expected = loadJson<Record<string, ExpectedTensor>>("npy", "expected.json");

describe("npy", () => {
  test("reads numpy-written files (v1, v2, v3) exactly", async () => {
    assert.ok(Object.keys(expected).length >= 10);
    for (const [name, e] of Object.entries(expected)) {
      const t = await readNpy(fixture("npy", name));
      assert.equal(t.dtype, e.dtype, name);
      assert.deepEqual(t.shape, e.shape, name);
      assert.equal(hexOf(t), e.hex, name);
      // In-memory decoding of the same bytes (a Node Buffer) agrees and owns its data.
      const d = decodeNpy(readFileSync(fixture("npy", name)));
      assert.equal(hexOf(d), e.hex, name);
      assert.equal(d.data.byteOffset, 0);
    }
  });

  test("writes headers byte-for-byte like numpy.save", () => {
    for (const [name, e] of Object.entries(expected)) {
      if (/_v[23]\.npy$/.test(name)) continue; // numpy.save writes v1.0 for these small headers
      const bytes = readFileSync(fixture("npy", name));
      const t = decodeNpy(bytes, name);
      const header = encodeNpyHeader(t);
      assert.equal(header.length % 64, 0, name);
      assert.equal(header[header.length - 1], 0x0a, name);
      assert.equal(Buffer.from(header).toString("latin1"), bytes.subarray(0, header.length).toString("latin1"), name);
      assert.deepEqual(Buffer.from(encodeNpy(t)), bytes, name);
      assert.equal(e.hex, hexOf(t));
    }
  });

  test("round trip through writeNpy / readNpy", async () => {
    const cases: RawTensor[] = [
      { dtype: "float32", shape: [2, 3], data: new Float32Array([1, 2, 3, -0, Infinity, NaN]) },
      { dtype: "float64", shape: [], data: new Float64Array([Math.E]) },
      { dtype: "float16", shape: [4], data: new Uint16Array([0, 0x3c00, 0xfc00, 0x0001]) },
      { dtype: "int64", shape: [1, 2, 1], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
      { dtype: "int32", shape: [3], data: new Int32Array([-1, 0, 1]) },
      { dtype: "uint8", shape: [2, 2], data: new Uint8Array([0, 1, 254, 255]) },
      { dtype: "bool", shape: [3], data: new Uint8Array([1, 0, 1]) },
      { dtype: "float32", shape: [0], data: new Float32Array(0) },
    ];
    for (const [i, t] of cases.entries()) {
      const p = join(tmp.dir, `rt${i}.npy`);
      await writeNpy(p, t);
      const back = await readNpy(p);
      assert.equal(back.dtype, t.dtype);
      assert.deepEqual(back.shape, t.shape);
      assert.equal(hexOf(back), hexOf(t));
      const size = readFileSync(p).length;
      assert.equal((size - t.data.byteLength) % 64, 0);
    }
    assert.ok(!readdirSync(tmp.dir).some((f) => f.endsWith(".tmp")));
  });

  test("unsupported layouts and dtypes are rejected clearly", async () => {
    await assert.rejects(readNpy(fixture("npy", "fortran_2x3.npy")), (err: unknown) => {
      assert.ok(err instanceof NpyFormatError);
      assert.match(err.message, /Fortran-order/);
      assert.match(err.message, /np\.ascontiguousarray/);
      return true;
    });
    await assert.rejects(readNpy(fixture("npy", "big_endian_f4.npy")), /unsupported \.npy dtype '>f4' \(big-endian/);
    assert.throws(() => encodeNpyHeader({ dtype: "bfloat16", shape: [1], data: new Uint16Array(1) }), /no bfloat16 type/);
    const p = join(tmp.dir, "bfloat.npy");
    await assert.rejects(writeNpy(p, { dtype: "bfloat16", shape: [1], data: new Uint16Array(1) }));
    assert.ok(!existsSync(p) && !existsSync(p + ".tmp"));
  });

  test("bad magic, truncation and corrupt headers", async () => {
    const good = readFileSync(fixture("npy", "f4_2x3.npy"));
    const write = (name: string, b: Uint8Array | string) => {
      const p = join(tmp.dir, name);
      writeFileSync(p, b);
      return p;
    };
    await assert.rejects(readNpy(write("text.npy", "not numpy at all")), (err: unknown) => {
      return err instanceof NpyFormatError && /missing the \\x93NUMPY magic/.test(err.message);
    });
    for (const cut of [4, 9, 40, good.length - 1]) {
      await assert.rejects(readNpy(write(`cut${cut}.npy`, good.subarray(0, cut))), TruncatedFileError, `cut ${cut}`);
    }
    await assert.rejects(readNpy(write("extra.npy", Buffer.concat([good, Buffer.from([0])]))), /unexpected bytes after/);
    const badHeader = Buffer.from(good);
    badHeader.write("{'descr': '<f4', 'fortran_order': Maybe", 10, "latin1");
    await assert.rejects(readNpy(write("badheader.npy", badHeader)), /corrupt \.npy header/);
    const v9 = Buffer.from(good);
    v9[6] = 9;
    await assert.rejects(readNpy(write("v9.npy", v9)), /unsupported \.npy format version 9\.0/);
  });
});
