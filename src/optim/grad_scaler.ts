/**
 * Dynamic loss scaling for float16 autocast training, as torch.cuda.amp.GradScaler: float16's
 * narrow exponent range flushes small gradients to zero, so the loss is multiplied by a large
 * scale before backward and the gradients divided by it before the optimizer step. A step whose
 * gradients overflowed (inf/NaN) is skipped and the scale halved; after `growthInterval` clean
 * steps in a row it doubles. bfloat16 has float32's range and needs none of this.
 *
 *   const scaler = new GradScaler();
 *   scaler.scale(loss).backward();
 *   scaler.unscale(params);          // before clipping, if any
 *   if (scaler.stepOk()) optimizer.step();
 *   scaler.update();
 */
import { noGrad } from "../torch/autograd.ts";
import type { Tensor } from "../torch/tensor.ts";

export interface GradScalerOptions {
  /** Starting scale (PyTorch: 2¹⁶). */
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  /** Clean steps before the scale grows. */
  growthInterval?: number;
}

export interface GradScalerState {
  scale: number;
  growthTracker: number;
}

export class GradScaler {
  private scaleValue: number;
  private growthTracker = 0;
  private readonly growthFactor: number;
  private readonly backoffFactor: number;
  private readonly growthInterval: number;
  /** Whether this iteration's gradients were unscaled, and whether they held an inf/NaN. */
  private unscaled = false;
  private foundInf = false;

  constructor(o: GradScalerOptions = {}) {
    this.scaleValue = o.initScale ?? 2 ** 16;
    this.growthFactor = o.growthFactor ?? 2;
    this.backoffFactor = o.backoffFactor ?? 0.5;
    this.growthInterval = o.growthInterval ?? 2000;
    if (!(this.scaleValue > 0) || !(this.growthFactor > 1) || !(this.backoffFactor > 0 && this.backoffFactor < 1) || !(this.growthInterval >= 1)) {
      throw new RangeError("GradScaler: need initScale > 0, growthFactor > 1, 0 < backoffFactor < 1, growthInterval ≥ 1");
    }
  }

  get scaleFactor(): number {
    return this.scaleValue;
  }

  /** loss × scale (a new tensor; call backward on it). */
  scale(loss: Tensor): Tensor {
    return loss.mul(this.scaleValue);
  }

  /**
   * Divides every gradient by the scale, in place, and records whether any is inf/NaN (one
   * reduction per gradient, read back once). Called by stepOk() when not called before.
   */
  unscale(params: Tensor[]): void {
    if (this.unscaled) return;
    const inv = 1 / this.scaleValue;
    let bad = 0;
    noGrad(() => {
      for (const p of params) {
        const g = p.grad;
        if (!g) continue;
        g.mul_(inv);
        const finite = g.isfinite();
        const all = finite.all();
        if (!all.item()) bad++;
        for (const t of [finite, all, g]) t.dispose();
      }
    });
    this.foundInf = bad > 0;
    this.unscaled = true;
  }

  /** Unscales if needed; true when the optimizer may step (no inf/NaN gradient). */
  stepOk(params?: Tensor[]): boolean {
    if (!this.unscaled) {
      if (!params) throw new Error("GradScaler.stepOk: pass the parameters (or call unscale first)");
      this.unscale(params);
    }
    return !this.foundInf;
  }

  /** Adjusts the scale after the iteration: halve on overflow, grow after a run of clean steps. */
  update(): void {
    if (!this.unscaled) throw new Error("GradScaler.update: no gradients were unscaled this iteration");
    if (this.foundInf) {
      this.scaleValue *= this.backoffFactor;
      this.growthTracker = 0;
    } else if (++this.growthTracker === this.growthInterval) {
      this.scaleValue *= this.growthFactor;
      this.growthTracker = 0;
    }
    this.unscaled = false;
    this.foundInf = false;
  }

  stateDict(): GradScalerState {
    return { scale: this.scaleValue, growthTracker: this.growthTracker };
  }

  loadStateDict(s: GradScalerState): void {
    if (!(s.scale > 0) || !Number.isInteger(s.growthTracker) || s.growthTracker < 0) throw new RangeError(`GradScaler: bad state ${JSON.stringify(s)}`);
    this.scaleValue = s.scale;
    this.growthTracker = s.growthTracker;
  }
}
