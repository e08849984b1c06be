/**
 * The Tensor class: a typed handle on a libtorch tensor with PyTorch-like methods.
 *
 * Every method calls one op of the native table (native/src/ops_*.cc) and wraps the result in a
 * new Tensor; in-place methods (ending in `_`) change this tensor and return it. Native memory
 * is freed by `dispose()`, by the enclosing `tidy()` scope, or by V8's garbage collector (the
 * addon reports native sizes to V8, so GC happens in time under memory pressure).
 */
import { DTYPE_CODE, DTYPE_OF_CODE, type AnyTypedArray, type DType, typedArrayFor } from "./dtype.ts";
import { native, ops, type GeneratorHandle, type NativeHandle } from "./native.ts";
import { track, type Disposable } from "./scope.ts";
import type { Device } from "./device.ts";

/** A shape: one entry per dimension. */
export type Shape = readonly number[];
/** Something with a native generator handle (see random.ts). */
export interface GeneratorLike {
  readonly handle: GeneratorHandle;
  /** The stream's counterpart on another device (see Generator.on). */
  on?(device: Device): GeneratorLike;
}

/** `g` for draws on `device`: itself on the CPU, else its per-device counterpart. */
export function generatorOn(g: GeneratorLike | undefined, device: Device): GeneratorLike | undefined {
  if (!g || device === "cpu") return g;
  if (!g.on) throw new TypeError(`a generator for draws on ${device} is needed (this one has no .on(device))`);
  return g.on(device);
}
type TensorOrNumber = Tensor | number;

function h(x: TensorOrNumber | boolean): NativeHandle | number | boolean {
  return x instanceof Tensor ? x.handle : x;
}

export class Tensor implements Disposable {
  /** @internal */ readonly handle: NativeHandle;
  private _shape?: number[];
  private _dtype?: DType;

  /** @internal Wraps a native handle; use the creation functions (tensor, zeros...) instead. */
  constructor(handle: NativeHandle) {
    this.handle = handle;
    track(this);
  }

  // ---------------------------------------------------------------- metadata
  get shape(): number[] {
    return (this._shape ??= ops.shape(this.handle) as number[]).slice();
  }
  get dtype(): DType {
    return (this._dtype ??= DTYPE_OF_CODE[ops.dtype(this.handle) as number]!);
  }
  get ndim(): number {
    return (this._shape ??= ops.shape(this.handle) as number[]).length;
  }
  get numel(): number {
    return (this._shape ??= ops.shape(this.handle) as number[]).reduce((a, b) => a * b, 1);
  }
  /** Size of one dimension (negative counts from the end). */
  size(dim: number): number {
    const s = (this._shape ??= ops.shape(this.handle) as number[]);
    const d = dim < 0 ? dim + s.length : dim;
    if (d < 0 || d >= s.length) throw new RangeError(`size(${dim}): tensor has ${s.length} dimensions`);
    return s[d]!;
  }
  get strides(): number[] {
    return ops.strides(this.handle);
  }
  get isContiguous(): boolean {
    return ops.isContiguous(this.handle);
  }
  /** Where the tensor lives: "cpu" or "cuda:N". */
  get device(): Device {
    return ops.device(this.handle) as Device;
  }
  /**
   * A copy on `device` (this tensor itself when it is already there, as PyTorch's `.to`).
   * `nonBlocking` lets a copy from pinned host memory return before it finishes.
   */
  toDevice(device: Device, opts: { nonBlocking?: boolean } = {}): Tensor {
    return new Tensor(ops.toDevice(this.handle, device, opts.nonBlocking ?? false));
  }
  /** A copy in page-locked host memory, for fast asynchronous copies to a GPU (a no-op without one). */
  pinMemory(): Tensor {
    return new Tensor(ops.pinMemory(this.handle));
  }
  get isPinned(): boolean {
    return ops.isPinned(this.handle) as boolean;
  }
  /**
   * Replaces this tensor's data with `value`'s (same Tensor object, same autograd leaf), as
   * PyTorch's `param.data = value`: how Module.to moves parameters between devices.
   */
  setData(value: Tensor): void {
    ops.setData(this.handle, value.handle);
    this._shape = undefined;
    this._dtype = undefined;
  }
  get isDisposed(): boolean {
    return native.isDisposed(this.handle);
  }
  /** Frees the native memory now. Using the tensor afterwards throws. */
  dispose(): void {
    native.dispose(this.handle);
  }

  // ---------------------------------------------------------------- data out
  /** A copy of the elements, row-major, in the dtype's TypedArray (half types: raw uint16). */
  data(): AnyTypedArray {
    return typedArrayFor(this.dtype, native.toBuffer(this.handle));
  }
  /** The elements as plain numbers (row-major, flat). */
  toArray(): number[] {
    const d = this.dtype;
    const src = d === "float16" || d === "bfloat16" ? this.to("float32") : this;
    const arr = Array.from(src.data() as ArrayLike<number | bigint>, Number);
    if (src !== this) src.dispose();
    return arr;
  }
  /** A Float32Array copy of the elements, converting from any dtype. */
  toFloat32Array(): Float32Array {
    if (this.dtype === "float32") return this.data() as Float32Array;
    const f = this.to("float32");
    const out = f.data() as Float32Array;
    f.dispose();
    return out;
  }
  /** Zero-copy view of a contiguous tensor's memory; valid while the returned array is alive. */
  dataView(): AnyTypedArray {
    return typedArrayFor(this.dtype, native.dataView(this.handle));
  }
  /** The value of a one-element tensor. */
  item(): number {
    return Number(ops.item(this.handle));
  }
  toString(): string {
    const n = this.numel;
    const body = n <= 16 ? ` ${JSON.stringify(this.toArray().map((v) => Number(v.toPrecision(6))))}` : "";
    return `Tensor(${this.dtype}, [${this.shape.join(", ")}])${body}`;
  }

  // ---------------------------------------------------------------- elementwise math
  /** this + alpha·other (broadcasting). */
  add(other: TensorOrNumber, alpha?: number): Tensor {
    return new Tensor(ops.add(this.handle, h(other), alpha));
  }
  /** this − alpha·other. */
  sub(other: TensorOrNumber, alpha?: number): Tensor {
    return new Tensor(ops.sub(this.handle, h(other), alpha));
  }
  /** other − this (for `number − tensor`). */
  rsub(other: TensorOrNumber): Tensor {
    return new Tensor(ops.rsub(this.handle, h(other)));
  }
  mul(other: TensorOrNumber): Tensor {
    return new Tensor(ops.mul(this.handle, h(other)));
  }
  div(other: TensorOrNumber): Tensor {
    return new Tensor(ops.div(this.handle, h(other)));
  }
  /** other / this. */
  rdiv(other: TensorOrNumber): Tensor {
    return new Tensor(ops.rdiv(this.handle, h(other)));
  }
  pow(exponent: TensorOrNumber): Tensor {
    return new Tensor(ops.pow(this.handle, h(exponent)));
  }
  maximum(other: TensorOrNumber): Tensor {
    return new Tensor(ops.maximum(this.handle, h(other)));
  }
  minimum(other: TensorOrNumber): Tensor {
    return new Tensor(ops.minimum(this.handle, h(other)));
  }
  remainder(other: TensorOrNumber): Tensor {
    return new Tensor(ops.remainder(this.handle, h(other)));
  }
  floorDivide(other: TensorOrNumber): Tensor {
    return new Tensor(ops.floorDivide(this.handle, h(other)));
  }
  atan2(other: Tensor): Tensor {
    return new Tensor(ops.atan2(this.handle, other.handle));
  }
  neg(): Tensor {
    return this.unary("neg");
  }
  exp(): Tensor {
    return this.unary("exp");
  }
  log(): Tensor {
    return this.unary("log");
  }
  log1p(): Tensor {
    return this.unary("log1p");
  }
  sqrt(): Tensor {
    return this.unary("sqrt");
  }
  rsqrt(): Tensor {
    return this.unary("rsqrt");
  }
  abs(): Tensor {
    return this.unary("abs");
  }
  sin(): Tensor {
    return this.unary("sin");
  }
  cos(): Tensor {
    return this.unary("cos");
  }
  tanh(): Tensor {
    return this.unary("tanh");
  }
  sigmoid(): Tensor {
    return this.unary("sigmoid");
  }
  relu(): Tensor {
    return this.unary("relu");
  }
  erf(): Tensor {
    return this.unary("erf");
  }
  erfinv(): Tensor {
    return this.unary("erfinv");
  }
  reciprocal(): Tensor {
    return this.unary("reciprocal");
  }
  square(): Tensor {
    return this.unary("square");
  }
  sign(): Tensor {
    return this.unary("sign");
  }
  floor(): Tensor {
    return this.unary("floor");
  }
  ceil(): Tensor {
    return this.unary("ceil");
  }
  round(): Tensor {
    return this.unary("round");
  }
  /** GELU; exact (erf) by default, as nn.GELU(). */
  gelu(approximate: "none" | "tanh" = "none"): Tensor {
    return new Tensor(ops.gelu(this.handle, approximate));
  }
  clamp(min?: number, max?: number): Tensor {
    return new Tensor(ops.clamp(this.handle, min, max));
  }
  /** this + weight·(end − this). */
  lerp(end: Tensor, weight: number): Tensor {
    return new Tensor(ops.lerp(this.handle, end.handle, weight));
  }

  // ---------------------------------------------------------------- comparisons (bool results)
  eq(other: TensorOrNumber): Tensor {
    return new Tensor(ops.eq(this.handle, h(other)));
  }
  ne(other: TensorOrNumber): Tensor {
    return new Tensor(ops.ne(this.handle, h(other)));
  }
  lt(other: TensorOrNumber): Tensor {
    return new Tensor(ops.lt(this.handle, h(other)));
  }
  le(other: TensorOrNumber): Tensor {
    return new Tensor(ops.le(this.handle, h(other)));
  }
  gt(other: TensorOrNumber): Tensor {
    return new Tensor(ops.gt(this.handle, h(other)));
  }
  ge(other: TensorOrNumber): Tensor {
    return new Tensor(ops.ge(this.handle, h(other)));
  }
  logicalAnd(other: Tensor): Tensor {
    return new Tensor(ops.logicalAnd(this.handle, other.handle));
  }
  logicalOr(other: Tensor): Tensor {
    return new Tensor(ops.logicalOr(this.handle, other.handle));
  }
  logicalXor(other: Tensor): Tensor {
    return new Tensor(ops.logicalXor(this.handle, other.handle));
  }
  logicalNot(): Tensor {
    return this.unary("logicalNot");
  }
  isnan(): Tensor {
    return this.unary("isnan");
  }
  isfinite(): Tensor {
    return this.unary("isfinite");
  }
  /** |this − other| ≤ atol + rtol·|other| everywhere. */
  allclose(other: Tensor, rtol = 1e-5, atol = 1e-8): boolean {
    return ops.allclose(this.handle, other.handle, rtol, atol);
  }
  /** Same shape and exactly the same elements. */
  equal(other: Tensor): boolean {
    return ops.equal(this.handle, other.handle);
  }

  // ---------------------------------------------------------------- reductions
  /** Sum over `dims` (all when omitted). */
  sum(dims?: number | number[], keepdim = false, dtype?: DType): Tensor {
    return new Tensor(ops.sum(this.handle, dims, keepdim, dtype && DTYPE_CODE[dtype]));
  }
  mean(dims?: number | number[], keepdim = false, dtype?: DType): Tensor {
    return new Tensor(ops.mean(this.handle, dims, keepdim, dtype && DTYPE_CODE[dtype]));
  }
  /** Variance; unbiased (÷ n−1) by default, as torch.var. */
  var(dims?: number | number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return new Tensor(ops.var(this.handle, dims, opts.unbiased ?? true, opts.keepdim ?? false));
  }
  std(dims?: number | number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return new Tensor(ops.std(this.handle, dims, opts.unbiased ?? true, opts.keepdim ?? false));
  }
  prod(dim?: number, keepdim = false): Tensor {
    return new Tensor(ops.prod(this.handle, dim, keepdim));
  }
  /** Largest element (a 0-d tensor). */
  max(): Tensor {
    return this.unary("max");
  }
  min(): Tensor {
    return this.unary("min");
  }
  /** [values, indices] of the maximum along `dim`. */
  maxDim(dim: number, keepdim = false): [Tensor, Tensor] {
    return this.pair(ops.maxDim(this.handle, dim, keepdim));
  }
  minDim(dim: number, keepdim = false): [Tensor, Tensor] {
    return this.pair(ops.minDim(this.handle, dim, keepdim));
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return new Tensor(ops.argmax(this.handle, dim, keepdim));
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return new Tensor(ops.argmin(this.handle, dim, keepdim));
  }
  /** [values, indices] of the k largest (or smallest) along `dim`. */
  topk(k: number, dim = -1, largest = true, sorted = true): [Tensor, Tensor] {
    return this.pair(ops.topk(this.handle, k, dim, largest, sorted));
  }
  sort(dim = -1, descending = false): [Tensor, Tensor] {
    return this.pair(ops.sort(this.handle, dim, descending));
  }
  argsort(dim = -1, descending = false): Tensor {
    return new Tensor(ops.argsort(this.handle, dim, descending));
  }
  softmax(dim: number, dtype?: DType): Tensor {
    return new Tensor(ops.softmax(this.handle, dim, dtype && DTYPE_CODE[dtype]));
  }
  logSoftmax(dim: number, dtype?: DType): Tensor {
    return new Tensor(ops.logSoftmax(this.handle, dim, dtype && DTYPE_CODE[dtype]));
  }
  logsumexp(dims: number | number[], keepdim = false): Tensor {
    return new Tensor(ops.logsumexp(this.handle, dims, keepdim));
  }
  cumsum(dim: number): Tensor {
    return new Tensor(ops.cumsum(this.handle, dim));
  }
  /** p-norm over `dims` (all when omitted). */
  norm(p = 2, dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(ops.norm(this.handle, p, dims, keepdim));
  }
  any(): Tensor {
    return this.unary("any");
  }
  all(): Tensor {
    return this.unary("all");
  }
  countNonzero(): Tensor {
    return this.unary("countNonzero");
  }

  // ---------------------------------------------------------------- linear algebra
  matmul(other: Tensor): Tensor {
    return new Tensor(ops.matmul(this.handle, other.handle));
  }
  mm(other: Tensor): Tensor {
    return new Tensor(ops.mm(this.handle, other.handle));
  }
  /** Outer product of two 1-D tensors: [n] × [m] → [n, m]. */
  outer(other: Tensor): Tensor {
    return new Tensor(ops.outer(this.handle, other.handle));
  }
  bmm(other: Tensor): Tensor {
    return new Tensor(ops.bmm(this.handle, other.handle));
  }

  // ---------------------------------------------------------------- views and shape
  /** Same elements, new shape (a view when possible); one entry may be −1. */
  reshape(shape: Shape): Tensor {
    return new Tensor(ops.reshape(this.handle, shape));
  }
  /** Like reshape but never copies (fails on incompatible strides). */
  view(shape: Shape): Tensor {
    return new Tensor(ops.view(this.handle, shape));
  }
  permute(dims: Shape): Tensor {
    return new Tensor(ops.permute(this.handle, dims));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return new Tensor(ops.transpose(this.handle, dim0, dim1));
  }
  /** Elements start..end (exclusive) with `step` along `dim`, as t[..., start:end:step]. */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return new Tensor(ops.slice(this.handle, dim, start, end, step));
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return new Tensor(ops.narrow(this.handle, dim, start, length));
  }
  /** t[..., index, ...] along `dim` (drops that dimension). */
  select(dim: number, index: number): Tensor {
    return new Tensor(ops.select(this.handle, dim, index));
  }
  expand(shape: Shape): Tensor {
    return new Tensor(ops.expand(this.handle, shape));
  }
  contiguous(): Tensor {
    return new Tensor(ops.contiguous(this.handle));
  }
  clone(): Tensor {
    return new Tensor(ops.clone(this.handle));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return new Tensor(ops.flatten(this.handle, startDim, endDim));
  }
  unsqueeze(dim: number): Tensor {
    return new Tensor(ops.unsqueeze(this.handle, dim));
  }
  squeeze(dim?: number): Tensor {
    return new Tensor(ops.squeeze(this.handle, dim));
  }
  repeat(repeats: Shape): Tensor {
    return new Tensor(ops.repeat(this.handle, repeats));
  }
  /** Circular shift by `shifts` along `dims`. */
  roll(shifts: number[], dims: number[]): Tensor {
    return new Tensor(ops.roll(this.handle, shifts, dims));
  }
  flip(dims: number[]): Tensor {
    return new Tensor(ops.flip(this.handle, dims));
  }
  /** Pieces of `size` (or the given sizes) along `dim`. */
  split(sizeOrSizes: number | number[], dim = 0): Tensor[] {
    return (ops.split(this.handle, sizeOrSizes, dim) as NativeHandle[]).map((x) => new Tensor(x));
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return (ops.chunk(this.handle, chunks, dim) as NativeHandle[]).map((x) => new Tensor(x));
  }
  tril(diagonal = 0): Tensor {
    return new Tensor(ops.tril(this.handle, diagonal));
  }

  // ---------------------------------------------------------------- indexing
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(ops.indexSelect(this.handle, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(ops.gather(this.handle, dim, index.handle));
  }
  /** Copy of this with out[index[i]][j] = src[i][j] along `dim` (out-of-place). */
  scatter(dim: number, index: Tensor, src: Tensor): Tensor {
    return new Tensor(ops.scatter(this.handle, dim, index.handle, src.handle));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return new Tensor(ops.scatterAdd(this.handle, dim, index.handle, src.handle));
  }
  /** The elements where `mask` (bool, broadcastable) is true, as a 1-D tensor. */
  maskedSelect(mask: Tensor): Tensor {
    return new Tensor(ops.maskedSelect(this.handle, mask.handle));
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return new Tensor(ops.maskedFill(this.handle, mask.handle, value));
  }
  /** Advanced indexing t[i0, i1, ...] with long or bool tensors; `null` stands for ':'. */
  index(indices: (Tensor | null)[]): Tensor {
    return new Tensor(ops.index(this.handle, indices.map((t) => (t ? t.handle : null))));
  }
  /** Copy of this with t[indices] = values (or += with accumulate). */
  indexPut(indices: (Tensor | null)[], values: Tensor, accumulate = false): Tensor {
    return new Tensor(ops.indexPut(this.handle, indices.map((t) => (t ? t.handle : null)), values.handle, accumulate));
  }
  nonzero(): Tensor {
    return this.unary("nonzero");
  }

  // ---------------------------------------------------------------- dtype
  /** Cast (returns a new tensor even when the dtype is unchanged is not guaranteed). */
  to(dtype: DType): Tensor {
    return new Tensor(ops.to(this.handle, DTYPE_CODE[dtype]));
  }
  float(): Tensor {
    return this.to("float32");
  }
  long(): Tensor {
    return this.to("int64");
  }
  bool(): Tensor {
    return this.to("bool");
  }

  // ---------------------------------------------------------------- autograd
  get requiresGrad(): boolean {
    return ops.requiresGrad(this.handle);
  }
  set requiresGrad(on: boolean) {
    ops.setRequiresGrad(this.handle, on);
  }
  /** Sets requiresGrad and returns this (for chaining at creation). */
  requiresGrad_(on = true): this {
    ops.setRequiresGrad(this.handle, on);
    return this;
  }
  get isLeaf(): boolean {
    return ops.isLeaf(this.handle);
  }
  /** Name of the autograd node that produced this tensor (e.g. "MulBackward0"), if any. */
  get gradFn(): string | undefined {
    return ops.gradFn(this.handle);
  }
  /** Accumulated gradient of a leaf, or undefined. A new handle each call (dispose freely). */
  get grad(): Tensor | undefined {
    const g = ops.grad(this.handle) as NativeHandle | undefined;
    return g && new Tensor(g);
  }
  set grad(g: Tensor | undefined) {
    ops.setGrad(this.handle, g?.handle);
  }
  /** Clears the gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    ops.setGrad(this.handle, undefined);
  }
  /** Back-propagates from this tensor (a scalar, or pass the incoming gradient). */
  backward(gradient?: Tensor, retainGraph?: boolean): void {
    ops.backward(this.handle, gradient?.handle, retainGraph);
  }
  retainGrad(): void {
    ops.retainGrad(this.handle);
  }
  detach(): Tensor {
    return this.unary("detach");
  }
  /** A second handle to this very tensor (same grad, same place in the graph) with a lifetime of its own. */
  alias(): Tensor {
    return this.unary("alias");
  }

  // ---------------------------------------------------------------- in-place (optimizers, init)
  copy_(src: Tensor): this {
    ops.copy_(this.handle, src.handle);
    return this;
  }
  zero_(): this {
    ops.zero_(this.handle);
    return this;
  }
  fill_(value: number): this {
    ops.fill_(this.handle, value);
    return this;
  }
  mul_(other: TensorOrNumber): this {
    ops.mul_(this.handle, h(other));
    return this;
  }
  /** this += alpha·other. */
  add_(other: TensorOrNumber, alpha?: number): this {
    ops.add_(this.handle, h(other), alpha);
    return this;
  }
  /** this += value·a·b. */
  addcmul_(a: Tensor, b: Tensor, value = 1): this {
    ops.addcmul_(this.handle, a.handle, b.handle, value);
    return this;
  }
  /** this += value·a/b. */
  addcdiv_(a: Tensor, b: Tensor, value = 1): this {
    ops.addcdiv_(this.handle, a.handle, b.handle, value);
    return this;
  }
  clamp_(min?: number, max?: number): this {
    ops.clamp_(this.handle, min, max);
    return this;
  }
  uniform_(lo = 0, hi = 1, generator?: GeneratorLike): this {
    ops.uniform_(this.handle, lo, hi, generator?.handle);
    return this;
  }
  normal_(mean = 0, std = 1, generator?: GeneratorLike): this {
    ops.normal_(this.handle, mean, std, generator?.handle);
    return this;
  }

  // ---------------------------------------------------------------- helpers
  private unary(name: string): Tensor {
    return new Tensor(ops[name]!(this.handle));
  }
  private pair(hs: NativeHandle[]): [Tensor, Tensor] {
    return [new Tensor(hs[0]!), new Tensor(hs[1]!)];
  }
}
