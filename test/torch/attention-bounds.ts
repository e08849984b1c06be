/**
 * First-order float32 error bounds of packed attention and its gradient, shared by the CPU kernel
 * tests (attention.test.ts) and the per-device tests (device.test.ts): any correct float32
 * evaluation — our kernel, libtorch's composition, ATen's fused GPU kernels — stays inside them.
 */
import assert from "node:assert/strict";
import { stack, type Tensor } from "../../src/torch/index.ts";

/** Unit roundoff of float32 (round to nearest) and of bfloat16. */
export const U32 = 2 ** -24;
export const U_BF16 = 2 ** -9;
/** The smallest normal float32: the most a result that underflows can be off by. */
export const ETA32 = 2 ** -126;

/**
 * Elementwise error bounds, in float64, for a float32 evaluation of packed attention and its
 * gradient, from the standard model |fl(a∘b) − a∘b| ≤ u·|a∘b| and |fl(Σₖ tₖ) − Σₖ tₖ| ≤ n·u·Σₖ|tₖ|
 * (any summation order, FMA or not), to first order in u. Per batch and head, with s the scale:
 *   S = s·QKᵀ          |ΔS| ≤ (d+2)u · s|Q||K|ᵀ
 *   P = softmax(S)     relative error ρ per row: the worst |ΔS| twice (numerator and the sum Z),
 *                      the exp polynomial and shift (a few u), Z's sum and the online rescalings
 *                      (≤ 2N·u), and the backward recomputing P from the stored log-sum-exp
 *                      L = m + log Z rounded to float32 (u·|L| in the exponent)
 *                      plus η = 2⁻¹²⁶ absolute where exp underflows
 *   O = PV             |ΔO| ≤ |ΔP|·|V| + (N+4)u · P|V|
 *   D = rowsum(dO∘O),  dP = dO·Vᵀ,  dS = P∘(dP − D)
 *   dQ = s·dS·K, dK = s·dSᵀ·Q, dV = Pᵀ·dO
 * With `roundedOperands` = v (the bf16 dot-product kernel: v = 2⁻⁸, one bf16 rounding), P and dS are also rounded
 * (relative v) as operands of their products and the saved output O is rounded before D:
 *   |ΔO| += v·P|V|,  |ΔD| += v·|dO||O|,  |ΔdV| += v·Pᵀ|dO|,  |ΔdQ| += v·s|dS||K|,  |ΔdK| += v·s|dS|ᵀ|Q|.
 * Returns the bounds in the op's layouts: out [B, N, H·d], grad [B, N, 3·H·d].
 */
export function attentionErrorBounds(
  qkv: Tensor,
  dout: Tensor,
  heads: number,
  scale?: number,
  { roundedOperands = 0, roundedOutput = 0 }: { roundedOperands?: number; roundedOutput?: number } = {},
): { out: Tensor; grad: Tensor } {
  const [B, N, threeD] = qkv.shape as [number, number, number];
  const d = threeD / (3 * heads);
  const s = scale ?? d ** -0.5;
  const u = U32;
  const parts = qkv.to("float64").reshape([B, N, 3, heads, d]).permute([2, 0, 3, 1, 4]); // [3, B, H, N, d]
  const [q, k, v] = [0, 1, 2].map((i) => parts.select(0, i));
  const dO = dout.to("float64").reshape([B, N, heads, d]).transpose(1, 2); // [B, H, N, d]
  const abs = (t: Tensor) => t.abs();
  const T = (t: Tensor) => t.transpose(-2, -1);

  const S = q.matmul(T(k)).mul(s); // [B, H, N, N]
  const P = S.softmax(-1);
  const eS = abs(q).matmul(T(abs(k))).mul(s * (d + 2) * u);
  const L = S.logsumexp(-1, true); // [B, H, N, 1]
  const rho = eS.maxDim(-1, true)[0].mul(2).add((2 * N + 16) * u).add(L.abs().add(1).mul(2 * u));
  // Absolute error of P; η: an exp that underflows (flushed to zero or subnormal) is off by up to
  // the smallest normal float32, whatever its relative error.
  const eP = P.mul(rho).add(ETA32);

  const O = P.matmul(v);
  const r = roundedOperands;
  const eO = eP.matmul(abs(v)).add(P.matmul(abs(v)).mul((N + 4) * u + r)).add(O.abs().mul(u));
  const D = dO.mul(O).sum(-1, true);
  const eD = abs(dO).mul(eO).sum(-1, true).add(abs(dO).mul(O.abs()).sum(-1, true).mul((d + 2) * u + roundedOutput));
  const G = dO.matmul(T(v)).sub(D); // dP − D
  const edP = abs(dO).matmul(T(abs(v))).mul((d + 2) * u);
  const dS = P.mul(G);
  const edS = eP.mul(G.abs()).add(P.mul(edP.add(eD))).add(P.mul(G.abs()).mul(2 * u));
  const edQ = edS.matmul(abs(k)).add(dS.abs().matmul(abs(k)).mul((N + 2) * u + r)).mul(s);
  const edK = T(edS).matmul(abs(q)).add(T(dS.abs()).matmul(abs(q)).mul((N + 2) * u + r)).mul(s);
  const edV = T(eP).matmul(abs(dO)).add(T(P).matmul(abs(dO)).mul((N + 2) * u + r));
  return {
    out: eO.transpose(1, 2).reshape([B, N, heads * d]),
    grad: stack([edQ, edK, edV], 0).permute([1, 3, 0, 2, 4]).reshape([B, N, 3 * heads * d]),
  };
}

/** |actual − exact| ≤ bound + 2u·|exact| elementwise (the extra term: rounding the result itself). */
export function assertWithin(actual: Tensor, exact: Tensor, bound: Tensor, unit: number, what: string): void {
  const a = actual.to("float64").toArray();
  const e = exact.toArray();
  const b = bound.toArray();
  let worst = -1;
  let worstRatio = 1;
  for (let i = 0; i < e.length; i++) {
    const allowed = b[i]! + 2 * unit * Math.abs(e[i]!);
    const ratio = Math.abs(a[i]! - e[i]!) / allowed;
    if (!(ratio <= worstRatio)) [worst, worstRatio] = [i, ratio];
  }
  if (worst >= 0) {
    assert.fail(`${what}: element ${worst}: got ${a[worst]}, exact ${e[worst]}, error ${Math.abs(a[worst]! - e[worst]!)} > bound ${b[worst]! + 2 * unit * Math.abs(e[worst]!)}`);
  }
}

