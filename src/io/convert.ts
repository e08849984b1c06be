/**
 * Element-type conversions between the half formats and float32, plus the head row gather.
 *
 * float16 (IEEE binary16: 1 sign, 5 exponent, 10 mantissa bits) and bfloat16 (the top half of
 * a float32: 1 sign, 8 exponent, 7 mantissa bits) travel as raw Uint16Array words. Widening to
 * float32 is exact for every bit pattern (subnormals, ±0, ±inf, NaN payloads). Narrowing
 * rounds to nearest, ties to even, like numpy's `astype(float16)` and torch's `.half()` /
 * `.bfloat16()`. NaNs stay NaN with their sign and the top payload bits kept (a payload that
 * would truncate to zero gets one bit set, as numpy does), so half → float32 → half is the
 * identity on all 65536 patterns.
 */
import { DTYPE_BYTES, type DType } from "../torch/dtype.ts";
import { bytesOf, numelOf, rawFromBytes, type RawTensor } from "./raw.ts";

/** float32 bit pattern (as an unsigned 32-bit number) of a float16 bit pattern. */
export function halfBitsToFloat32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf / NaN
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // rebias 15 → 127
  if (mant === 0) return sign >>> 0; // ±0
  // Subnormal mant·2^-24: shift the leading 1 up to bit 10, lowering the exponent per shift.
  let e = 113; // float32 exponent field of 2^-14
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/** float16 bit pattern of a float32 bit pattern, rounding to nearest even. */
export function float32BitsToHalfBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    const payload = mant >>> 13;
    return sign | 0x7c00 | (payload === 0 ? 1 : payload);
  }
  const e = exp - 127;
  if (e > 15) return sign | 0x7c00; // overflow → inf
  if (e >= -14) {
    // Normal range: keep 10 mantissa bits; a carry out of the mantissa bumps the exponent
    // (up to 0x7c00 = inf for values ≥ 65520), which is the correct rounding.
    let h = ((e + 15) << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
    return sign | h;
  }
  if (e < -25) return sign; // below half the smallest subnormal → ±0
  // Subnormal result: value = m·2^(e-23) with the implicit 1; in units of 2^-24 that is m >> (-e-1).
  const m = mant | 0x800000;
  const shift = -e - 1; // 14..24
  let h = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (h & 1) === 1)) h++;
  return sign | h;
}

/** bfloat16 bit pattern of a float32 bit pattern, rounding to nearest even. */
export function float32BitsToBfloat16Bits(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) {
    const h = x >>> 16;
    return (h & 0x7f) === 0 ? h | 0x40 : h; // keep NaN a NaN
  }
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

let halfTable: Uint32Array | undefined;

/** Widen float16 words to float32 (exact). */
export function halfToFloat32(src: Uint16Array): Float32Array {
  if (!halfTable) {
    halfTable = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfBitsToFloat32Bits(h);
  }
  const t = halfTable;
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = t[src[i]!]!;
  return out;
}

/** Widen bfloat16 words to float32 (exact: the word is the top half of the float32). */
export function bfloat16ToFloat32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = src[i]! << 16;
  return out;
}

/** Narrow float32 to float16 words, rounding to nearest even. */
export function float32ToHalf(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = float32BitsToHalfBits(bits[i]!);
  return out;
}

/** Narrow float32 to bfloat16 words, rounding to nearest even. */
export function float32ToBfloat16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = float32BitsToBfloat16Bits(bits[i]!);
  return out;
}

/**
 * A float32 copy of a floating-point tensor (float16, bfloat16, float64 — the latter rounded to
 * nearest). A float32 tensor is returned as is. Integer and bool tensors are rejected.
 */
export function toFloat32(t: RawTensor): RawTensor {
  const shape = [...t.shape];
  switch (t.dtype) {
    case "float32":
      return t;
    case "float16":
      return { dtype: "float32", shape, data: halfToFloat32(t.data as Uint16Array) };
    case "bfloat16":
      return { dtype: "float32", shape, data: bfloat16ToFloat32(t.data as Uint16Array) };
    case "float64":
      return { dtype: "float32", shape, data: Float32Array.from(t.data as Float64Array) };
    default:
      throw new TypeError(`toFloat32: ${t.dtype} is not a floating-point dtype`);
  }
}

/** Narrow a float32 tensor to float16 or bfloat16 (round to nearest even); float32 returns as is. */
export function fromFloat32(t: RawTensor, dtype: "float32" | "float16" | "bfloat16"): RawTensor {
  if (t.dtype !== "float32") throw new TypeError(`fromFloat32: expected a float32 tensor, got ${t.dtype}`);
  if (dtype === "float32") return t;
  const src = t.data as Float32Array;
  return { dtype, shape: [...t.shape], data: dtype === "float16" ? float32ToHalf(src) : float32ToBfloat16(src) };
}

/**
 * Rows `rows[i]` of a `[N, ...]` tensor, stacked in order: how a 710-way Kinetics head is
 * remapped to a 400/600/700-way one with the official label-map lists (weight `[710, D]` and
 * bias `[710]` alike). Works for every dtype; indices may repeat.
 */
export function gatherRows(t: RawTensor, rows: readonly number[]): RawTensor {
  if (t.shape.length === 0) throw new RangeError("gatherRows: cannot gather rows of a 0-d tensor");
  const n = t.shape[0]!;
  const rowBytes = (numelOf(t.shape) / Math.max(n, 1)) * DTYPE_BYTES[t.dtype as DType];
  const src = bytesOf(t);
  const out = new Uint8Array(new ArrayBuffer(rows.length * rowBytes));
  rows.forEach((r, i) => {
    if (!Number.isInteger(r) || r < 0 || r >= n) {
      throw new RangeError(`gatherRows: row index ${r} (position ${i}) is out of range for ${n} rows`);
    }
    out.set(src.subarray(r * rowBytes, (r + 1) * rowBytes), i * rowBytes);
  });
  return rawFromBytes(t.dtype, [rows.length, ...t.shape.slice(1)], out);
}
