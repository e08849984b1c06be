/** Forward and backward values against PyTorch 1.13 (tools/reference/torch_reference.py). */
import { describe, test } from "node:test";
import { F, tensor, type Tensor } from "../../src/torch/index.ts";
import { assertClose, ramp, readJson } from "../helpers.ts";

interface Golden {
  out_shape: number[];
  out: number[];
  grads: (number[] | null)[];
}
const golden = readJson<Record<string, Golden>>("reference", "ops.json");

function check(name: string, fn: (...x: Tensor[]) => Tensor, inputs: Tensor[], tol = 2e-5): void {
  const g = golden[name]!;
  const xs = inputs.map((x) => x.detach().requiresGrad_());
  const y = fn(...xs);
  assertClose(y.shape, g.out_shape, 0, 0, `${name} shape`);
  assertClose(y.toArray(), g.out, tol, tol, `${name} forward`);
  y.mul(ramp(y.shape, 1, 0.5)).sum().backward();
  xs.forEach((x, i) => {
    if (g.grads[i]) assertClose(x.grad!.toArray(), g.grads[i]!, tol, tol, `${name} grad ${i}`);
  });
}

describe("ops match PyTorch forward and backward", () => {
  test("layer_norm eps 1e-6", () =>
    check("layer_norm", (x, w, b) => F.layerNorm(x, [8], w, b, 1e-6), [ramp([2, 3, 8], 2), ramp([8], 0.5, 1).add(1), ramp([8], 0.3, 2)]));
  test("gelu (erf)", () => check("gelu", (x) => x.gelu(), [ramp([5, 7], 3)]));
  test("softmax", () => check("softmax", (x) => x.softmax(-1), [ramp([3, 6], 4)]));
  test("log_softmax", () => check("log_softmax", (x) => x.logSoftmax(1), [ramp([3, 6], 4)]));
  test("conv3d stride 2", () =>
    check("conv3d", (x, w, b) => F.conv3d(x, w, b, [2, 2, 2]), [ramp([2, 3, 4, 6, 6]), ramp([5, 3, 2, 2, 2], 0.2, 0.3), ramp([5], 0.1, 0.7)]));
  test("linear", () => check("linear", (x, w, b) => F.linear(x, w, b), [ramp([4, 6]), ramp([3, 6], 0.5, 1), ramp([3], 0.1, 2)]));
  test("var unbiased / biased", () => {
    check("var_unbiased", (x) => x.var(1), [ramp([4, 9], 2)]);
    check("var_biased", (x) => x.var(1, { unbiased: false }), [ramp([4, 9], 2)]);
  });
  test("bilinear resize (align_corners=False)", () => check("bilinear", (x) => F.interpolate(x, [7, 5], "bilinear"), [ramp([1, 2, 4, 6])]));
  test("bicubic resize (align_corners=False)", () => check("bicubic", (x) => F.interpolate(x, [7, 9], "bicubic"), [ramp([1, 2, 5, 4])]));
  test("cross entropy with label smoothing", () =>
    check("cross_entropy_smooth", (x) => F.crossEntropy(x, tensor([1, 0, 4], { dtype: "int64" }), 0.1).reshape([1]), [ramp([3, 5], 2)]));
  test("bmm", () => check("bmm", (a, b) => a.bmm(b), [ramp([2, 3, 4]), ramp([2, 4, 5], 1, 1)]));
});
