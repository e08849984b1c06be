/**
 * Copy a strided view (shape, strides, storage offset — all in elements, as torch records
 * them) out of a storage's bytes into a fresh contiguous row-major buffer.
 *
 * Callers first ask `storageSpan` which elements the view touches, read just that byte range
 * from disk, then call `gatherStrided` with offsets relative to the start of the range.
 */
import { copyBytes } from "./raw.ts";

/** Half-open element range [first, end) of the storage a view touches (first = end when empty). */
export function storageSpan(
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): { first: number; end: number } {
  let lo = offset;
  let hi = offset;
  for (let i = 0; i < shape.length; i++) {
    const n = shape[i]!;
    if (n === 0) return { first: offset, end: offset };
    const reach = strides[i]! * (n - 1);
    if (reach < 0) lo += reach;
    else hi += reach;
  }
  return { first: lo, end: hi + 1 };
}

/**
 * Gather the view's elements from `src` (element `i` of the span starts at byte
 * `i * elemBytes`; `offset` is relative to that span) into a new contiguous buffer. When the
 * view already is the whole of `src` in row-major order, `src` itself is returned.
 */
export function gatherStrided(
  src: Uint8Array,
  elemBytes: number,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): Uint8Array {
  let numel = 1;
  for (const n of shape) numel *= n;
  const outBytes = numel * elemBytes;
  if (numel === 0) return new Uint8Array(0);

  // 8-byte elements are moved as two 4-byte words: add a trailing [2] dimension.
  let dims = [...shape];
  let st = [...strides];
  let es = elemBytes;
  let off = offset;
  if (es === 8) {
    dims.push(2);
    st = st.map((s) => s * 2);
    st.push(1);
    off *= 2;
    es = 4;
  }
  ({ dims, st } = coalesce(dims, st));

  const last = dims.length - 1;
  if (last < 0 || (last === 0 && st[0] === 1)) {
    // One contiguous run (or a scalar).
    const start = off * es;
    if (start === 0 && outBytes === src.byteLength && src.byteOffset === 0) return src;
    return copyBytes(src, start, start + outBytes);
  }

  const out = new Uint8Array(new ArrayBuffer(outBytes));
  const outer = dims.slice(0, last);
  const outerStrides = st.slice(0, last);
  const innerN = dims[last]!;
  const innerS = st[last]!;
  const idx = new Array<number>(outer.length).fill(0);
  let base = off;
  let o = 0;

  if (innerS === 1) {
    // Contiguous innermost rows (e.g. slices along an outer dim): copy a row at a time.
    const rowBytes = innerN * es;
    for (;;) {
      out.set(src.subarray(base * es, base * es + rowBytes), o * es);
      o += innerN;
      if (!step(idx, outer, outerStrides, (d) => (base += d))) break;
    }
    return out;
  }

  const s = wordView(src, es);
  const d = wordView(out, es);
  for (;;) {
    let p = base;
    for (let j = 0; j < innerN; j++, p += innerS) d[o++] = s[p]!;
    if (!step(idx, outer, outerStrides, (delta) => (base += delta))) break;
  }
  return out;
}

/** Advance an odometer over `dims`; reports the change of the base offset; false when done. */
function step(idx: number[], dims: number[], strides: number[], move: (delta: number) => void): boolean {
  for (let k = idx.length - 1; k >= 0; k--) {
    if (++idx[k]! < dims[k]!) {
      move(strides[k]!);
      return true;
    }
    move(-strides[k]! * (dims[k]! - 1));
    idx[k] = 0;
  }
  return false;
}

/** Drop size-1 dims and merge neighbours that are laid out contiguously relative to each other. */
function coalesce(dims: number[], st: number[]): { dims: number[]; st: number[] } {
  const outD: number[] = [];
  const outS: number[] = [];
  for (let i = 0; i < dims.length; i++) {
    if (dims[i] === 1) continue;
    const k = outD.length - 1;
    if (k >= 0 && outS[k] === st[i]! * dims[i]!) {
      outD[k] = outD[k]! * dims[i]!;
      outS[k] = st[i]!;
    } else {
      outD.push(dims[i]!);
      outS.push(st[i]!);
    }
  }
  return { dims: outD, st: outS };
}

function wordView(b: Uint8Array, es: number): Uint8Array | Uint16Array | Uint32Array {
  if (es === 1) return b;
  if (b.byteOffset % es !== 0) b = copyBytes(b);
  if (es === 2) return new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
  return new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}
