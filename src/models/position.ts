/**
 * The fixed 1-D sinusoid position table (spec §1.4, `get_sinusoid_encoding_table`).
 *
 *   angle(pos, j) = pos / 10000^(2·⌊j/2⌋ / d)
 *   table[pos, j] = sin(angle) for even j, cos(angle) for odd j   (interleaved, not two halves)
 *
 * One row per flattened token index n = t·h'·w' + y·w' + x (not a factorised 3-D embedding).
 * The official function evaluates this in float64 with numpy, in exactly this order —
 * `pos / np.power(10000, 2 * (hid_j // 2) / d_hid)` — and casts to float32 (round to nearest).
 *
 * Bit-exactness: angles reach ~2000 rad, so a 1-ulp error in the float64 power becomes an
 * absolute error of up to ~2e-13 in sin/cos, enough to flip the float32 rounding of an occasional
 * element. V8's `Math.pow` is off by one ulp for ~10 % of these exponents (e.g. 10000^(160/1408)),
 * so the power is computed here in double-double arithmetic and rounded once (correct rounding).
 * glibc's `pow` — what numpy calls on a CPU without AVX512 — agrees except on ~0.1 % of exponents
 * that sit within 0.02 ulp of a rounding midpoint (glibc is accurate to 0.52 ulp), and the float32
 * tables of every model width are identical to numpy's (test/models/position.test.ts). numpy's
 * own AVX512-SKX `np.power` kernel is off by an ulp more often, so on such machines the official
 * table differs from this one in a handful of elements by one float32 ulp — far below anything a
 * checkpoint can notice.
 */

export class PositionTableError extends Error {
  override name = "PositionTableError";
}

/**
 * Row-major [nPosition, d] float32 table. `nPosition` is the token count N (e.g. 1568) and `d`
 * the width (encoder D or decoder D_dec). The caller adds it to (B, N, d) activations.
 */
export function sinusoidTable(nPosition: number, d: number): Float32Array {
  if (!Number.isInteger(nPosition) || nPosition < 0) {
    throw new PositionTableError(`sinusoidTable: nPosition must be a non-negative integer, got ${nPosition}`);
  }
  if (!Number.isInteger(d) || d < 1) {
    throw new PositionTableError(`sinusoidTable: d must be a positive integer, got ${d}`);
  }
  // The divisor depends only on j; computing it once per channel gives the same float64 values
  // as numpy's per-element evaluation (pow is a pure function of its arguments).
  const divisor = new Float64Array(d);
  for (let j = 0; j < d; j++) divisor[j] = pow10000((2 * Math.floor(j / 2)) / d);

  const out = new Float32Array(nPosition * d);
  for (let pos = 0; pos < nPosition; pos++) {
    const row = pos * d;
    for (let j = 0; j < d; j++) {
      const angle = pos / divisor[j]!;
      out[row + j] = (j & 1) === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Correctly rounded 10000^e for e in [0, 1): exp(e · ln 10000) in double-double (~100 bits).

/** A double-double value hi + lo with |lo| ≤ ulp(hi)/2. */
type DD = readonly [hi: number, lo: number];

const LN_10000: DD = [9.210340371976184, -8.683024893528997e-16];
const LN_2: DD = [0.6931471805599453, 2.3190468138462996e-17];
const SPLITTER = 134217729; // 2^27 + 1 (Dekker split of a 53-bit double into two 26-bit halves)

function twoSum(a: number, b: number): DD {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

function quickTwoSum(a: number, b: number): DD {
  const s = a + b;
  return [s, b - (s - a)];
}

function twoProd(a: number, b: number): DD {
  const p = a * b;
  let c = SPLITTER * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = SPLITTER * b;
  const bh = c - (c - b);
  const bl = b - bh;
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

function ddAdd(a: DD, b: DD): DD {
  let [s, e] = twoSum(a[0], b[0]);
  const [t, f] = twoSum(a[1], b[1]);
  [s, e] = quickTwoSum(s, e + t);
  return quickTwoSum(s, e + f);
}

function ddMul(a: DD, b: DD): DD {
  const [p, e] = twoProd(a[0], b[0]);
  return quickTwoSum(p, e + (a[0] * b[1] + a[1] * b[0]));
}

function ddMulNum(a: DD, b: number): DD {
  const [p, e] = twoProd(a[0], b);
  return quickTwoSum(p, e + a[1] * b);
}

function ddDivNum(a: DD, b: number): DD {
  const q = a[0] / b;
  const [p, e] = twoProd(q, b);
  return quickTwoSum(q, (a[0] - p - e + a[1]) / b);
}

/** exp(x) for a double-double x of moderate size, as a double-double. */
function ddExp(x: DD): DD {
  // x = k·ln2 + r with |r| ≤ ln2/2, then r is scaled by 2^-10 so a short Taylor series is exact
  // to ~2^-106, and the result is squared back 10 times.
  const k = Math.round(x[0] / LN_2[0]);
  const r0 = ddAdd(x, ddMulNum(LN_2, -k));
  const r: DD = [r0[0] / 1024, r0[1] / 1024];
  let term: DD = [1, 0];
  let sum: DD = [1, 0];
  for (let i = 1; i <= 12; i++) {
    term = ddDivNum(ddMul(term, r), i);
    sum = ddAdd(sum, term);
  }
  for (let i = 0; i < 10; i++) sum = ddMul(sum, sum);
  const scale = 2 ** k;
  return [sum[0] * scale, sum[1] * scale];
}

/** 10000^e rounded once to the nearest double. */
export function pow10000(e: number): number {
  if (e === 0) return 1;
  const y = ddMulNum(LN_10000, e);
  const [hi, lo] = ddExp(y);
  return hi + lo;
}
