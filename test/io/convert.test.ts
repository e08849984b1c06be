import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  bfloat16ToFloat32,
  float32BitsToBfloat16Bits,
  float32BitsToHalfBits,
  float32ToBfloat16,
  float32ToHalf,
  fromFloat32,
  gatherRows,
  halfBitsToFloat32Bits,
  halfToFloat32,
  toFloat32,
} from "../../src/io/convert.ts";
import type { RawTensor } from "../../src/io/raw.ts";
import { loadJson } from "./helpers.ts";

const f32bits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0]!;
const bitsToF32 = (b: number) => new Float32Array(new Uint32Array([b]).buffer)[0]!;

/** The value of a float16 bit pattern, from the IEEE 754 definition. */
function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

describe("float16 ↔ float32", () => {
  test("widening is exact for all 65536 bit patterns", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const wide = halfToFloat32(all);
    const bits = new Uint32Array(wide.buffer);
    for (let h = 0; h < 65536; h++) {
      const ref = halfValue(h);
      const got = wide[h]!;
      if (Number.isNaN(ref)) {
        assert.ok(Number.isNaN(got), `h=${h}`);
        // NaN keeps its sign and payload (shifted into the top of the float32 mantissa).
        assert.equal(bits[h], (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0, `h=${h}`);
      } else {
        assert.ok(Object.is(got, ref), `h=0x${h.toString(16)}: got ${got}, want ${ref}`);
      }
      assert.equal(halfBitsToFloat32Bits(h), bits[h]);
    }
  });

  test("half → float32 → half is the identity on all 65536 patterns (NaN payloads included)", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    assert.deepEqual(float32ToHalf(halfToFloat32(all)), all);
  });

  test("narrowing rounds to nearest even (ties, overflow, subnormals) like numpy", () => {
    const cases = loadJson<{ f32: number[]; f16: number[]; bf16: number[] }>("convert_cases.json");
    assert.ok(cases.f32.length > 1000);
    const input = new Float32Array(new Uint32Array(cases.f32).buffer);
    const half = float32ToHalf(input);
    cases.f16.forEach((want, i) => assert.equal(half[i], want, `f32 bits 0x${cases.f32[i]!.toString(16)}`));
  });

  test("hand-picked ties and boundaries", () => {
    const h = (x: number) => float32BitsToHalfBits(f32bits(x));
    assert.equal(h(1 + 2 ** -11), 0x3c00); // tie, even stays down
    assert.equal(h(1 + 3 * 2 ** -11), 0x3c02); // tie, odd rounds up
    assert.equal(h(65504), 0x7bff);
    assert.equal(h(65519), 0x7bff); // below the midpoint to 65536
    assert.equal(h(65520), 0x7c00); // the midpoint rounds to inf (even)
    assert.equal(h(2 ** -24), 0x0001);
    assert.equal(h(2 ** -25), 0x0000); // tie between 0 and the smallest subnormal → 0
    assert.equal(h(3 * 2 ** -25), 0x0002); // tie between 1 and 2 subnormal units → 2
    assert.equal(h(-(2 ** -14)), 0x8400);
    assert.equal(h(-0), 0x8000);
    assert.equal(h(-Infinity), 0xfc00);
    assert.equal(h(NaN) & 0x7c00, 0x7c00);
    assert.notEqual(h(NaN) & 0x3ff, 0);
    assert.notEqual(float32BitsToHalfBits(0x7f800001) & 0x3ff, 0); // payload below bit 13 stays NaN
  });
});

describe("bfloat16 ↔ float32", () => {
  test("widening is exact: the word is the top half of the float32", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const bits = new Uint32Array(bfloat16ToFloat32(all).buffer);
    for (let b = 0; b < 65536; b++) assert.equal(bits[b], (b << 16) >>> 0);
    assert.deepEqual(float32ToBfloat16(bfloat16ToFloat32(all)), all);
  });

  test("narrowing rounds to nearest even like torch", () => {
    const cases = loadJson<{ f32: number[]; f16: number[]; bf16: number[] }>("convert_cases.json");
    const out = float32ToBfloat16(new Float32Array(new Uint32Array(cases.f32).buffer));
    cases.bf16.forEach((want, i) => assert.equal(out[i], want, `f32 bits 0x${cases.f32[i]!.toString(16)}`));
    assert.equal(float32BitsToBfloat16Bits(0x3f808000), 0x3f80); // tie, even
    assert.equal(float32BitsToBfloat16Bits(0x3f818000), 0x3f82); // tie, odd → up
    assert.equal(float32BitsToBfloat16Bits(0x7f7f8000), 0x7f80); // rounds to inf
    assert.equal(float32BitsToBfloat16Bits(0x7f800001), 0x7fc0); // NaN stays NaN
    assert.equal(float32BitsToBfloat16Bits(0xffc00000), 0xffc0);
  });
});

describe("tensor helpers", () => {
  test("toFloat32 / fromFloat32", () => {
    const t: RawTensor = { dtype: "float16", shape: [2], data: new Uint16Array([0x3c00, 0x0001]) };
    const w = toFloat32(t);
    assert.equal(w.dtype, "float32");
    assert.deepEqual([...w.data], [1, 2 ** -24]);
    assert.deepEqual(fromFloat32(w, "float16").data, t.data);
    assert.deepEqual([...fromFloat32(w, "bfloat16").data], [0x3f80, f32bits(2 ** -24) >>> 16]);
    assert.deepEqual([...toFloat32({ dtype: "float64", shape: [1], data: new Float64Array([1 / 3]) }).data], [Math.fround(1 / 3)]);
    assert.equal(toFloat32(w), w);
    assert.throws(() => toFloat32({ dtype: "int32", shape: [1], data: new Int32Array(1) }), TypeError);
    assert.equal(bitsToF32(f32bits(1.5)), 1.5);
  });

  test("gatherRows remaps a head (weight [N, D] and bias [N]) for every dtype", () => {
    const w: RawTensor = { dtype: "float32", shape: [4, 2], data: new Float32Array([0, 1, 10, 11, 20, 21, 30, 31]) };
    const g = gatherRows(w, [3, 0, 3]);
    assert.deepEqual(g.shape, [3, 2]);
    assert.deepEqual([...g.data], [30, 31, 0, 1, 30, 31]);
    const b: RawTensor = { dtype: "float16", shape: [4], data: new Uint16Array([1, 2, 3, 4]) };
    assert.deepEqual([...gatherRows(b, [2, 1]).data], [3, 2]);
    const l: RawTensor = { dtype: "int64", shape: [3], data: new BigInt64Array([5n, -6n, 7n]) };
    assert.deepEqual([...gatherRows(l, [1]).data], [-6n]);
    assert.deepEqual(gatherRows(w, []).shape, [0, 2]);
    assert.throws(() => gatherRows(w, [4]), /out of range/);
    assert.throws(() => gatherRows(w, [1.5]), /out of range/);
  });
});
