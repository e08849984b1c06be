/**
 * `RawTensor`: the plain-data tensor every reader in `src/io` returns and every writer accepts.
 *
 * `data` holds the elements contiguously in row-major (C) order, in the TypedArray
 * `typedArrayFor(dtype)` gives: float16/bfloat16 as raw Uint16Array words, int64 as
 * BigInt64Array, bool/uint8 as Uint8Array (bool is 0/1). Byte order is the host's, and every
 * on-disk format here is little-endian, so the IO layer requires a little-endian host.
 */
import { DTYPE_BYTES, typedArrayFor, type AnyTypedArray, type DType } from "../torch/dtype.ts";

export interface RawTensor {
  dtype: DType;
  shape: number[];
  data: AnyTypedArray;
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides (in elements) of a contiguous tensor of this shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** The bytes of a tensor's data (a view, not a copy). */
export function bytesOf(t: RawTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/**
 * Wrap little-endian element bytes as a RawTensor. The bytes are copied only when they do not
 * already fill their own ArrayBuffer from offset 0 (typed-array views need alignment).
 */
export function rawFromBytes(dtype: DType, shape: number[], bytes: Uint8Array): RawTensor {
  const expected = numelOf(shape) * DTYPE_BYTES[dtype];
  if (bytes.byteLength !== expected) {
    throw new RangeError(`rawFromBytes: ${bytes.byteLength} bytes for ${dtype} [${shape.join(", ")}] (expected ${expected})`);
  }
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  const buffer = own ? (bytes.buffer as ArrayBuffer) : (copyBytes(bytes).buffer as ArrayBuffer);
  return { dtype, shape, data: typedArrayFor(dtype, buffer) };
}

/**
 * A copy of `b[start, end)` in a fresh ArrayBuffer. (`Buffer#slice` returns a view, so
 * `slice()` cannot be trusted to copy when the input may be a Node Buffer.)
 */
export function copyBytes(b: Uint8Array, start = 0, end = b.length): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(end - start));
  out.set(b.subarray(start, end));
  return out;
}

/** Check that `t.data` matches its dtype and shape; returns `t` for chaining. */
export function checkRaw(t: RawTensor, what: string): RawTensor {
  const expected = numelOf(t.shape);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new RangeError(`${what}: invalid shape [${t.shape.join(", ")}]`);
  }
  if (t.data.length !== expected) {
    throw new RangeError(`${what}: data has ${t.data.length} elements but shape [${t.shape.join(", ")}] needs ${expected}`);
  }
  const ctor = typedArrayFor(t.dtype, new ArrayBuffer(0)).constructor as new (n: number) => AnyTypedArray;
  if (!(t.data instanceof ctor)) {
    throw new TypeError(`${what}: ${t.data.constructor.name} cannot hold ${t.dtype} elements`);
  }
  return t;
}

/** The IO layer reads and writes little-endian bytes through host-order typed arrays. */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function assertLittleEndianHost(): void {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error("videomae checkpoint IO requires a little-endian host");
}
