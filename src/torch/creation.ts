/** Functions that make tensors: from JS data, constants, ranges, random draws, joins. */
import type { Device } from "./device.ts";
import { DTYPE_CODE, type DType, dtypeOfTypedArray } from "./dtype.ts";
import { native, ops, type NativeHandle } from "./native.ts";
import { Tensor, type GeneratorLike, type Shape } from "./tensor.ts";

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** Where the tensor lives ("cpu" when absent). */
  device?: Device;
}
export interface RandomOptions extends CreateOptions {
  generator?: GeneratorLike;
}

function finish(handle: NativeHandle, opts: CreateOptions = {}): Tensor {
  let t = new Tensor(handle);
  if (opts.device && opts.device !== "cpu" && t.device !== opts.device) {
    // Data from JS arrives on the CPU; it moves once.
    const moved = t.toDevice(opts.device);
    t.dispose();
    t = moved;
  }
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

type Nested = number | boolean | Nested[];

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let cur: Nested = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0] as Nested;
  }
  return shape;
}

function flattenNested(data: Nested, shape: number[], depth: number, out: number[]): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new RangeError("tensor(): ragged nested array");
    out.push(typeof data === "boolean" ? (data ? 1 : 0) : data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new RangeError(`tensor(): ragged nested array (expected length ${shape[depth]} at depth ${depth})`);
  }
  for (const d of data) flattenNested(d, shape, depth + 1, out);
}

function flattenAny(data: Nested, out: number[]): void {
  if (Array.isArray(data)) for (const d of data) flattenAny(d, out);
  else out.push(Number(data));
}

function firstLeaf(data: Nested): number | boolean | undefined {
  let cur: Nested | undefined = data;
  while (Array.isArray(cur)) cur = cur[0];
  return cur;
}

function typedFor(values: ArrayLike<number>, dtype: DType): ArrayBufferView {
  switch (dtype) {
    case "float32":
      return Float32Array.from(values);
    case "float64":
      return Float64Array.from(values);
    case "int64":
      return BigInt64Array.from(Array.from(values, (v) => BigInt(Math.trunc(v))));
    case "int32":
      return Int32Array.from(values);
    case "uint8":
    case "bool":
      return Uint8Array.from(values, (v) => (dtype === "bool" ? (v ? 1 : 0) : v));
    case "float16":
    case "bfloat16":
      return Float32Array.from(values); // cast natively below
  }
}

/**
 * A tensor from JS data: a nested array, a flat array plus `shape`, or a TypedArray (one copy).
 *
 *   tensor([[1, 2], [3, 4]])                              // float32 [2, 2]
 *   tensor(new Int32Array([1, 2, 3]), { dtype: "int32" }) // int32 [3]
 *   tensor(pixels, { shape: [16, 224, 224, 3], dtype: "uint8" })
 */
export function tensor(
  data: Nested | ArrayBufferView,
  opts: CreateOptions & { shape?: Shape } = {},
): Tensor {
  let shape: number[];
  let view: ArrayBufferView;
  let dtype: DType;
  if (ArrayBuffer.isView(data)) {
    if (!opts.dtype && data instanceof Uint16Array) {
      throw new TypeError("tensor(): a Uint16Array holds raw half words; pass { dtype: 'float16' } or 'bfloat16'");
    }
    dtype = opts.dtype ?? dtypeOfTypedArray(data);
    shape = opts.shape ? [...opts.shape] : [(data as unknown as ArrayLike<number>).length];
    const halfRaw = (dtype === "float16" || dtype === "bfloat16") && data instanceof Uint16Array;
    if (halfRaw || (dtype === "bool" && data instanceof Uint8Array) || dtypeOfTypedArray(data) === dtype) {
      view = data;
    } else {
      const natural = dtypeOfTypedArray(data);
      const t = tensor(data, { shape, dtype: natural });
      const out = t.to(dtype);
      t.dispose();
      if (opts.requiresGrad) out.requiresGrad = true;
      return out;
    }
  } else {
    shape = opts.shape ? [...opts.shape] : inferShape(data);
    const flat: number[] = [];
    if (opts.shape) flattenAny(data, flat);
    else flattenNested(data, shape, 0, flat);
    dtype = opts.dtype ?? (typeof firstLeaf(data) === "boolean" ? "bool" : "float32");
    if (dtype === "float16" || dtype === "bfloat16") {
      const t = tensor(Float32Array.from(flat), { shape });
      const out = t.to(dtype);
      t.dispose();
      if (opts.requiresGrad) out.requiresGrad = true;
      return out;
    }
    view = typedFor(flat, dtype);
  }
  return finish(native.fromBuffer(view, shape, DTYPE_CODE[dtype]), opts);
}

const code = (o: CreateOptions) => DTYPE_CODE[o.dtype ?? "float32"];

export function zeros(shape: Shape, opts: CreateOptions = {}): Tensor {
  return finish(ops.zeros(shape, code(opts), opts.device), opts);
}
export function ones(shape: Shape, opts: CreateOptions = {}): Tensor {
  return finish(ops.ones(shape, code(opts), opts.device), opts);
}
/** Uninitialised memory (fill it before reading). */
export function empty(shape: Shape, opts: CreateOptions = {}): Tensor {
  return finish(ops.empty(shape, code(opts), opts.device), opts);
}
export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  return finish(ops.full(shape, value, code(opts), opts.device), opts);
}
export function eye(n: number, opts: CreateOptions = {}): Tensor {
  return finish(ops.eye(n, code(opts), opts.device), opts);
}
/** start, start+step, … < end. Integer arguments give int64 unless a dtype is given. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  const allInt = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const dtype = opts.dtype ?? (allInt ? "int64" : "float32");
  return finish(ops.arange(start, end, step, DTYPE_CODE[dtype], opts.device), opts);
}
export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  return finish(ops.linspace(start, end, steps, code(opts), opts.device), opts);
}
/** Standard normal samples. */
export function randn(shape: Shape, opts: RandomOptions = {}): Tensor {
  return finish(ops.randn(shape, code(opts), opts.generator?.handle, opts.device), opts);
}
/** Uniform samples in [0, 1). */
export function rand(shape: Shape, opts: RandomOptions = {}): Tensor {
  return finish(ops.rand(shape, code(opts), opts.generator?.handle, opts.device), opts);
}
/** Integers uniform in [low, high). */
export function randint(low: number, high: number, shape: Shape, opts: RandomOptions = {}): Tensor {
  return finish(ops.randint(low, high, shape, DTYPE_CODE[opts.dtype ?? "int64"], opts.generator?.handle, opts.device), opts);
}
/** A random permutation of 0..n−1 (int64). */
export function randperm(n: number, opts: { generator?: GeneratorLike; device?: Device } = {}): Tensor {
  return new Tensor(ops.randperm(n, opts.generator?.handle, opts.device));
}
export function zerosLike(t: Tensor): Tensor {
  return new Tensor(ops.zerosLike(t.handle));
}
export function onesLike(t: Tensor): Tensor {
  return new Tensor(ops.onesLike(t.handle));
}
export function fullLike(t: Tensor, value: number): Tensor {
  return new Tensor(ops.fullLike(t.handle, value));
}
/** 0/1 draws with probability p, shaped like `t`. */
export function bernoulli(t: Tensor, p: number, generator?: GeneratorLike): Tensor {
  return new Tensor(ops.bernoulli(t.handle, p, generator?.handle));
}
export function cat(tensors: Tensor[], dim = 0): Tensor {
  return new Tensor(ops.cat(tensors.map((t) => t.handle), dim));
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return new Tensor(ops.stack(tensors.map((t) => t.handle), dim));
}
/** Elementwise cond ? a : b (a and b may be numbers). */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  return new Tensor(ops.where(cond.handle, a instanceof Tensor ? a.handle : a, b instanceof Tensor ? b.handle : b));
}
export function einsum(equation: string, ...tensors: Tensor[]): Tensor {
  return new Tensor(ops.einsum(equation, tensors.map((t) => t.handle)));
}
