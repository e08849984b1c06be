import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { SafetensorsFormatError, TruncatedFileError } from "../../src/io/errors.ts";
import type { RawTensor } from "../../src/io/raw.ts";
import { openSafetensors, readSafetensors, writeSafetensors } from "../../src/io/safetensors.ts";
import { hexOf, tempDir } from "./helpers.ts";

const tmp = tempDir();
after(tmp.cleanup);

const sample = (): Map<string, RawTensor> =>
  new Map<string, RawTensor>([
    ["z.f16", { dtype: "float16", shape: [3], data: new Uint16Array([0x3c00, 0x7c00, 0x8001]) }],
    ["a.f32", { dtype: "float32", shape: [2, 2], data: new Float32Array([1, -2, 3.5, NaN]) }],
    ["bf", { dtype: "bfloat16", shape: [1], data: new Uint16Array([0x3f80]) }],
    ["i64", { dtype: "int64", shape: [2], data: new BigInt64Array([-1n, 2n ** 62n]) }],
    ["i32", { dtype: "int32", shape: [1, 1], data: new Int32Array([-7]) }],
    ["u8", { dtype: "uint8", shape: [3], data: new Uint8Array([0, 128, 255]) }],
    ["flag", { dtype: "bool", shape: [2], data: new Uint8Array([1, 0]) }],
    ["f64", { dtype: "float64", shape: [], data: new Float64Array([Math.PI]) }],
    ["empty", { dtype: "float32", shape: [0, 4], data: new Float32Array(0) }],
  ]);

/** Build a safetensors file by hand: u64 header length, header JSON, data. */
function handMade(header: string, data: Uint8Array): Buffer {
  const h = Buffer.from(header, "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

describe("safetensors", () => {
  test("round trip of every dtype, with metadata", async () => {
    const p = join(tmp.dir, "rt.safetensors");
    const input = sample();
    await writeSafetensors(p, input, { metadata: { format: "pt", epoch: "3" } });
    assert.ok(!existsSync(p + ".tmp"));
    const { tensors, metadata } = await readSafetensors(p);
    assert.deepEqual(metadata, { epoch: "3", format: "pt" });
    assert.deepEqual(new Set(tensors.keys()), new Set(input.keys()));
    for (const [k, t] of input) {
      const got = tensors.get(k)!;
      assert.equal(got.dtype, t.dtype, k);
      assert.deepEqual(got.shape, t.shape, k);
      assert.equal(hexOf(got), hexOf(t), k);
      assert.equal(got.data.constructor, t.data.constructor, k);
    }
  });

  test("output is deterministic, aligned and space-padded", async () => {
    const p1 = join(tmp.dir, "d1.safetensors");
    const p2 = join(tmp.dir, "d2.safetensors");
    await writeSafetensors(p1, sample());
    await writeSafetensors(p2, new Map([...sample()].reverse()));
    const b = readFileSync(p1);
    assert.deepEqual(b, readFileSync(p2));
    const n = Number(b.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0);
    const header = b.subarray(8, 8 + n).toString("utf8");
    assert.match(header, /^\{.*\} *$/);
    const parsed = JSON.parse(header) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    // Largest elements first, then by name; each tensor starts aligned to its element size.
    assert.deepEqual(Object.keys(parsed), ["f64", "i64", "a.f32", "empty", "i32", "bf", "z.f16", "flag", "u8"]);
    const size: Record<string, number> = { F64: 8, I64: 8, F32: 4, I32: 4, BF16: 2, F16: 2, BOOL: 1, U8: 1 };
    for (const e of Object.values(parsed)) assert.equal(e.data_offsets[0] % size[e.dtype]!, 0);
  });

  test("reads a hand-made file written per the format spec", async () => {
    const p = join(tmp.dir, "hand.safetensors");
    const data = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
    writeFileSync(
      p,
      handMade(
        '{"__metadata__":{"k":"v"},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
        data,
      ),
    );
    const f = await openSafetensors(p);
    try {
      assert.deepEqual(f.metadata, { k: "v" });
      assert.deepEqual([...f.tensors.keys()], ["b", "a"]);
      assert.deepEqual([...(await f.tensors.get("a")!.read()).data], [1, 2]);
      assert.deepEqual([...(await f.tensors.get("b")!.read()).data], [3]);
    } finally {
      await f.close();
    }
  });

  test("overwrites an existing file atomically", async () => {
    const p = join(tmp.dir, "over.safetensors");
    writeFileSync(p, "old contents");
    await writeSafetensors(p, { x: { dtype: "uint8", shape: [1], data: new Uint8Array([9]) } });
    assert.deepEqual([...(await readSafetensors(p)).tensors.get("x")!.data], [9]);
  });

  test("a truncated file is a TruncatedFileError naming the file", async () => {
    const p = join(tmp.dir, "full.safetensors");
    await writeSafetensors(p, sample());
    const bytes = readFileSync(p);
    for (const cut of [3, 20, bytes.length - 1]) {
      const q = join(tmp.dir, `cut${cut}.safetensors`);
      writeFileSync(q, bytes.subarray(0, cut));
      await assert.rejects(openSafetensors(q), (err: unknown) => {
        assert.ok(err instanceof TruncatedFileError, `cut ${cut}: ${String(err)}`);
        assert.ok(err.message.includes(q));
        assert.match(err.message, /truncated/);
        return true;
      });
    }
  });

  test("a corrupt header is a SafetensorsFormatError", async () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['{"a": {"dtype": "F32", "shape": [2], "data_of', new Uint8Array(8), /not valid UTF-8 JSON/],
      ['[1, 2]', new Uint8Array(0), /not a JSON object/],
      ['{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', new Uint8Array(8), /needs 12/],
      ['{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8), /gap or overlap/],
      ['{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(8), /trailing bytes/],
      ['{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}', new Uint8Array(8), /dtype C64, which is not supported/],
      ['{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', new Uint8Array(4), /invalid shape/],
      ['{"__metadata__":{"k":1}}', new Uint8Array(0), /must map strings to strings/],
    ];
    for (const [i, [header, data, re]] of cases.entries()) {
      const p = join(tmp.dir, `bad${i}.safetensors`);
      writeFileSync(p, handMade(header, data));
      await assert.rejects(openSafetensors(p), (err: unknown) => {
        assert.ok(err instanceof SafetensorsFormatError, `case ${i}: ${String(err)}`);
        assert.match(err.message, re);
        assert.ok(err.message.includes(p));
        return true;
      });
    }
    const huge = join(tmp.dir, "huge.safetensors");
    const len = Buffer.alloc(16);
    len.writeBigUInt64LE(2n ** 60n);
    writeFileSync(huge, len);
    await assert.rejects(openSafetensors(huge), /implausible/);
  });

  test("bad tensors are refused before anything is written", async () => {
    const p = join(tmp.dir, "never.safetensors");
    await assert.rejects(
      writeSafetensors(p, { x: { dtype: "float32", shape: [3], data: new Float32Array(2) } }),
      /needs 3/,
    );
    await assert.rejects(
      writeSafetensors(p, { x: { dtype: "float32", shape: [2], data: new Int32Array(2) } }),
      /cannot hold float32/,
    );
    assert.ok(!existsSync(p) && !existsSync(p + ".tmp"));
  });
});
