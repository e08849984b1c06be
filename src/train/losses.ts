/**
 * Knowledge-distillation losses (Hinton et al. 2015), as `videomae distill` combines them:
 *
 *   loss = τ²·KL(p_t ‖ p_s) + α·CE(labels) + β·MSE(proj(f_s), f_t)
 *
 * with p = softmax(logits / τ) for teacher and student, KL averaged over the rows (PyTorch
 * `kl_div(log p_s, p_t, reduction="batchmean")`); the τ² keeps the gradient's scale independent
 * of τ. Under mixup/cutmix the teacher's soft targets (and features) are mixed with the batch's
 * λ exactly as the one-hot labels are: λ·y + (1−λ)·y.flip(0).
 */
import { noGrad, tidy, type Tensor } from "../torch/index.ts";

/** The teacher's soft targets softmax(logits / τ), float32 [B, K]. */
export function temperedProbs(logits: Tensor, tau: number): Tensor {
  return tidy(() => logits.float().div(tau).softmax(1));
}

/** Rows mixed as mixup/cutmix mix a batch: λ·y + (1−λ)·y.flip(0) (y itself when λ = 1). */
export function mixRows(y: Tensor, lam: number): Tensor {
  return lam === 1 ? y : tidy(() => y.mul(lam).add(y.flip([0]).mul(1 - lam)));
}

/**
 * τ²·KL(p ‖ softmax(student / τ)), averaged over the B rows. `teacherProbs` are targets (no
 * gradient flows into them); 0·log 0 counts as 0.
 */
export function distillKL(studentLogits: Tensor, teacherProbs: Tensor, tau: number): Tensor {
  if (!(tau > 0)) throw new RangeError(`distillation temperature must be > 0, got ${tau}`);
  const B = studentLogits.shape[0]!;
  return tidy(() => {
    const p = teacherProbs.detach().float();
    const logQ = studentLogits.float().div(tau).logSoftmax(1);
    const plogp = noGrad(() => p.mul(p.clamp(1e-30).log()).sum()); // Σ p·log p, a constant
    return logQ.mul(p).sum().neg().add(plogp).mul((tau * tau) / B);
  });
}
