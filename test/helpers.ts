/** Shared test helpers: deterministic inputs, closeness checks, finite-difference gradients. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { arange, noGrad, type DType, type Tensor } from "../src/torch/index.ts";

export const fixtures = join(import.meta.dirname, "fixtures");

export function readJson<T = any>(...parts: string[]): T {
  return JSON.parse(readFileSync(join(fixtures, ...parts), "utf8")) as T;
}

/** sin(0.37·i + offset)·scale, i = 0..n−1 — the same as tools/reference/torch_reference.py. */
export function ramp(shape: number[], scale = 1, offset = 0, dtype: DType = "float32"): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return noGrad(() => arange(0, n, 1, { dtype: "float64" }).mul(0.37).add(offset).sin().mul(scale).reshape(shape).to(dtype));
}

/** Elementwise |a − e| ≤ atol + rtol·|e|, reporting the worst element. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-5, rtol = 1e-5, what = ""): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) - (atol + rtol * Math.abs(expected[i]!));
    if (!(err <= 0) && (worst < 0 || err > worstErr || Number.isNaN(err))) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) {
    assert.fail(`${what}: element ${worst}: got ${actual[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`);
  }
}

/**
 * Checks autograd gradients of `f` (inputs → any tensor; reduced with fixed weights to a scalar)
 * against central finite differences, in float64.
 */
export function gradcheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], eps = 1e-6, tol = 1e-5): void {
  const xs = inputs.map((x) => x.to("float64").detach().requiresGrad_());
  const out0 = f(...xs);
  const w = ramp(out0.shape, 1, 0.5, "float64");
  const scalar = (...a: Tensor[]) => f(...a).mul(w).sum();
  scalar(...xs).backward();
  xs.forEach((x, k) => {
    const analytic = x.grad ? x.grad.toArray() : new Array(x.numel).fill(0);
    const flatX = x.detach().reshape([-1]);
    const numeric: number[] = [];
    noGrad(() => {
      for (let i = 0; i < x.numel; i++) {
        const orig = flatX.narrow(0, i, 1).item();
        flatX.narrow(0, i, 1).fill_(orig + eps);
        const up = scalar(...xs).item();
        flatX.narrow(0, i, 1).fill_(orig - eps);
        const down = scalar(...xs).item();
        flatX.narrow(0, i, 1).fill_(orig);
        numeric.push((up - down) / (2 * eps));
      }
    });
    assertClose(analytic, numeric, tol, tol, `gradient of input ${k}`);
  });
}
