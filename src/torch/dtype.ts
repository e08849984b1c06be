/** Element types a tensor can hold. Codes match native/src/args.cc. */
export type DType = "float32" | "float16" | "bfloat16" | "int64" | "int32" | "uint8" | "bool" | "float64";

export const DTYPE_CODE: Record<DType, number> = {
  float32: 0,
  float16: 1,
  bfloat16: 2,
  int64: 3,
  int32: 4,
  uint8: 5,
  bool: 6,
  float64: 7,
};

export const DTYPE_OF_CODE: DType[] = ["float32", "float16", "bfloat16", "int64", "int32", "uint8", "bool", "float64"];

export const DTYPE_BYTES: Record<DType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  uint8: 1,
  bool: 1,
  float64: 8,
};

/** The TypedArray that holds a dtype's raw elements (half types travel as raw 16-bit words). */
export type TypedArrayFor<D extends DType> = D extends "float32"
  ? Float32Array
  : D extends "float64"
    ? Float64Array
    : D extends "float16" | "bfloat16"
      ? Uint16Array
      : D extends "int64"
        ? BigInt64Array
        : D extends "int32"
          ? Int32Array
          : Uint8Array;

export type AnyTypedArray = Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;

export function typedArrayFor(dtype: DType, buffer: ArrayBuffer): AnyTypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(buffer);
    case "float64":
      return new Float64Array(buffer);
    case "float16":
    case "bfloat16":
      return new Uint16Array(buffer);
    case "int64":
      return new BigInt64Array(buffer);
    case "int32":
      return new Int32Array(buffer);
    case "uint8":
    case "bool":
      return new Uint8Array(buffer);
  }
}

/** The dtype a TypedArray maps to when no dtype is given. */
export function dtypeOfTypedArray(a: ArrayBufferView): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof BigInt64Array) return "int64";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Uint8Array) return "uint8";
  throw new TypeError(`no default dtype for ${a.constructor.name}; pass { dtype } explicitly`);
}

export function isFloatingDtype(d: DType): boolean {
  return d === "float32" || d === "float16" || d === "bfloat16" || d === "float64";
}
