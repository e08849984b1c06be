/** Gradient norms and clipping, as torch.nn.utils.clip_grad_norm_. */
import { noGrad } from "../torch/autograd.ts";
import { stack } from "../torch/creation.ts";
import type { Tensor } from "../torch/tensor.ts";

/** The 2-norm of all gradients together (0 when none has a gradient). */
export function gradNorm(params: Tensor[]): number {
  return noGrad(() => {
    const norms: Tensor[] = [];
    for (const p of params) {
      const g = p.grad;
      if (!g) continue;
      norms.push(g.norm(2));
      g.dispose();
    }
    if (!norms.length) return 0;
    const s = stack(norms);
    const total = s.norm(2);
    const v = total.item();
    for (const t of [...norms, s, total]) t.dispose();
    return v;
  });
}

/**
 * Scales all gradients so that their joint 2-norm is at most maxNorm; returns the norm before
 * clipping (which may be inf/NaN: the caller decides what to do with such a step).
 * Scale = maxNorm / (norm + 1e-6), applied only when < 1 — PyTorch's formula.
 */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  const total = gradNorm(params);
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) {
    noGrad(() => {
      for (const p of params) {
        const g = p.grad;
        if (!g) continue;
        g.mul_(coef);
        g.dispose();
      }
    });
  }
  return total;
}
