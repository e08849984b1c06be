/** GradScaler: the loss-scaling arithmetic of torch.cuda.amp.GradScaler, on any device. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { GradScaler } from "../../src/optim/index.ts";
import { tensor, tidy } from "../../src/torch/index.ts";

test("scaled backward then unscale gives the plain gradient; overflow skips the step and backs off", () => {
  tidy(() => {
    const w = tensor([1.5, -2]).requiresGrad_();
    const scaler = new GradScaler({ initScale: 1024, growthInterval: 2 });
    // d/dw Σ w² = 2w; the scale is a power of two, so scaling and unscaling are exact.
    scaler.scale(w.mul(w).sum()).backward();
    assert.deepEqual(w.grad!.toArray(), [3 * 1024, -4 * 1024]);
    assert.equal(scaler.stepOk([w]), true);
    assert.deepEqual(w.grad!.toArray(), [3, -4]);
    scaler.update();
    assert.equal(scaler.scaleFactor, 1024);
    // Second clean step: the growth interval (2) is reached.
    w.grad = undefined;
    scaler.scale(w.sum()).backward();
    assert.equal(scaler.stepOk([w]), true);
    scaler.update();
    assert.equal(scaler.scaleFactor, 2048);
    // An overflowing gradient: no step, the scale halves and the clean-step count restarts.
    w.grad = undefined;
    scaler.scale(w.mul(Infinity).sum()).backward();
    assert.equal(scaler.stepOk([w]), false);
    scaler.update();
    assert.deepEqual(scaler.stateDict(), { scale: 1024, growthTracker: 0 });
    return undefined;
  });
});

test("state round-trips; bad options and states are refused", () => {
  const a = new GradScaler();
  assert.equal(a.scaleFactor, 65536);
  const b = new GradScaler();
  b.loadStateDict({ scale: 8, growthTracker: 3 });
  assert.deepEqual(b.stateDict(), { scale: 8, growthTracker: 3 });
  assert.throws(() => new GradScaler({ backoffFactor: 1 }), RangeError);
  assert.throws(() => b.loadStateDict({ scale: -1, growthTracker: 0 }), RangeError);
  assert.throws(() => b.update(), /no gradients were unscaled/);
});
