/**
 * Weight initialisers, in place, matching PyTorch/timm:
 *  - Linear/Conv default (PyTorch): kaiming_uniform(a=√5) ⇒ U(±1/√fan_in) for weight and bias;
 *  - xavierUniform: U(±√(6/(fan_in+fan_out)));
 *  - truncNormal: timm's trunc_normal_ (inverse-CDF sampling between absolute bounds a, b).
 */
import { noGrad } from "../torch/autograd.ts";
import type { GeneratorLike, Tensor } from "../torch/tensor.ts";

/** fan_in and fan_out of a weight [out, in, ...kernel]. */
export function fans(w: Tensor): { fanIn: number; fanOut: number } {
  const s = w.shape;
  if (s.length < 2) throw new RangeError(`fans: need a weight with ≥ 2 dims, got [${s.join(", ")}]`);
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: s[1]! * receptive, fanOut: s[0]! * receptive };
}

export function uniform(t: Tensor, lo: number, hi: number, generator?: GeneratorLike): Tensor {
  noGrad(() => t.uniform_(lo, hi, generator));
  return t;
}

export function constant(t: Tensor, value: number): Tensor {
  noGrad(() => t.fill_(value));
  return t;
}

export function xavierUniform(w: Tensor, generator?: GeneratorLike): Tensor {
  const { fanIn, fanOut } = fans(w);
  const bound = Math.sqrt(6 / (fanIn + fanOut));
  return uniform(w, -bound, bound, generator);
}

/** PyTorch's default init of Linear/Conv weights (and, with the weight's fan_in, their bias). */
export function kaimingUniformDefault(w: Tensor, generator?: GeneratorLike): Tensor {
  const bound = 1 / Math.sqrt(fans(w).fanIn);
  return uniform(w, -bound, bound, generator);
}

/**
 * Normal(mean, std) truncated to [a, b] (absolute bounds, as timm): draw u uniform in
 * [Φ(a'), Φ(b')] and map through the inverse normal CDF (2u−1 → erfinv).
 */
export function truncNormal(t: Tensor, std = 1, a = -2, b = 2, mean = 0, generator?: GeneratorLike): Tensor {
  // Bounds beyond ±6σ (timm's default ±2 absolute with std 0.02 is ±100σ) truncate nothing a
  // float32 sample can reach in practice: plain normal draws, clamped, are the same law and
  // avoid erfinv (slow in libtorch: seconds for a ViT-B).
  if ((a - mean) / std <= -6 && (b - mean) / std >= 6) {
    noGrad(() => t.normal_(mean, std, generator).clamp_(a, b));
    return t;
  }
  const cdf = (x: number) => (1 + erf(x / Math.SQRT2)) / 2;
  const l = cdf((a - mean) / std);
  const u = cdf((b - mean) / std);
  noGrad(() => {
    t.uniform_(2 * l - 1, 2 * u - 1, generator);
    const v = t.erfinv();
    t.copy_(v);
    v.dispose();
    t.mul_(std * Math.SQRT2).add_(mean).clamp_(a, b);
  });
  return t;
}

/** erf for doubles (Abramowitz–Stegun 7.1.26 is too coarse; use a series/continued fraction). */
export function erf(x: number): number {
  // erf via the complementary error function's continued fraction for |x| > 2, Taylor otherwise.
  const ax = Math.abs(x);
  let r: number;
  if (ax < 2) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 60; n++) {
      term *= (-ax * ax) / n;
      sum += term / (2 * n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    let f = 0;
    for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
    r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  }
  return x < 0 ? -r : r;
}
