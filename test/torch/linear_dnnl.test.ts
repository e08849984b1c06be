/**
 * The float32 linear through oneDNN's sgemm (native/src/ops/linear_dnnl.cc) against a float64
 * reference, forward and backward, with first-order float32 error bounds (a K-term dot product is
 * off by at most (K+2)·u·Σ|terms|), and F.linear's routing between at::linear and it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { F, Generator, randn, tidy, type Tensor } from "../../src/torch/index.ts";

const U32 = 2 ** -24;
const dnnl = F.linearRoutes().dnnl;

/** |a − e| ≤ bound elementwise (all float64 arrays of one shape). */
function within(actual: Tensor, exact: Tensor, bound: Tensor, what: string): void {
  const a = actual.to("float64").toArray();
  const e = exact.toArray();
  const b = bound.toArray();
  for (let i = 0; i < e.length; i++) {
    const err = Math.abs(a[i]! - e[i]!);
    if (!(err <= b[i]! + 1e-30)) assert.fail(`${what}: element ${i}: got ${a[i]}, exact ${e[i]}, error ${err} > bound ${b[i]}`);
  }
}

function compare(xShape: number[], K: number, N: number, seed: number, bias = true): void {
  tidy(() => {
    const g = new Generator(seed);
    const x0 = randn([...xShape, K], { generator: g });
    const w0 = randn([N, K], { generator: g }).mul(0.2);
    const b0 = bias ? randn([N], { generator: g }) : undefined;
    const dy = randn([...xShape, N], { generator: g });
    const x = x0.clone().requiresGrad_();
    const w = w0.clone().requiresGrad_();
    const b = b0?.clone().requiresGrad_();
    const y = F.linearF32Dnnl(x, w, b);
    assert.equal(y.dtype, "float32");
    assert.deepEqual(y.shape, [...xShape, N]);
    y.backward(dy);
    const [x64, w64, dy64] = [x0, w0, dy].map((t) => t.to("float64"));
    const b64 = b0?.to("float64");
    const M = xShape.reduce((a, b) => a * b, 1);
    const abs = (t: Tensor) => t.abs();
    const what = `[${xShape}, ${K}] × [${N}, ${K}]${bias ? " + b" : ""}`;
    within(y, F.linearAten(x64!, w64!, b64), F.linearAten(abs(x64!), abs(w64!), b64 && abs(b64)).mul((K + 2) * U32), `y ${what}`);
    within(x.grad!, dy64!.matmul(w64!), abs(dy64!).matmul(abs(w64!)).mul((N + 2) * U32), `dX ${what}`);
    const dy2 = dy64!.reshape([M, N]);
    const x2 = x64!.reshape([M, K]);
    within(w.grad!, dy2.transpose(0, 1).matmul(x2), abs(dy2).transpose(0, 1).matmul(abs(x2)).mul((M + 2) * U32), `dW ${what}`);
    if (b) within(b.grad!, dy2.sum(0), abs(dy2).sum(0).mul((M + 2) * U32), `db ${what}`);
    return undefined;
  });
}

describe("linearF32Dnnl (oneDNN sgemm)", { skip: dnnl.sgemm ? false : "this libtorch's oneDNN exposes no dnnl_sgemm" }, () => {
  test("ViT shapes and odd ones, with and without bias, forward and backward within float32 bounds", () => {
    compare([64], 384, 1152, 1);
    compare([2, 40], 768, 96, 2);
    compare([7], 13, 19, 3, false);
    compare([], 5, 3, 4);
    compare([1], 1, 1, 5);
    compare([3, 3], 33, 17, 6, false);
  });

  test("F.linear takes it on the dnnl route, at::linear on blas; the same values within float32 bounds", () => {
    tidy(() => {
      const before = F.linearRoutes().fp32;
      try {
        const g = new Generator(7);
        const x = randn([50, 64], { generator: g });
        const w = randn([32, 64], { generator: g }).requiresGrad_();
        F.setFp32LinearRoute("dnnl");
        const yd = F.linear(x, w);
        assert.match(yd.gradFn ?? "", /LinearF32Dnnl/);
        F.setFp32LinearRoute("blas");
        const yb = F.linear(x, w);
        assert.doesNotMatch(yb.gradFn ?? "", /Dnnl/);
        const bound = F.linearAten(x.abs(), w.detach().abs()).to("float64").mul(2 * 66 * U32);
        within(yd, yb.to("float64"), bound, "dnnl vs blas");
        assert.throws(() => F.setFp32LinearRoute("fast" as "blas"), /must be blas or dnnl/);
      } finally {
        F.setFp32LinearRoute(before);
      }
      return undefined;
    });
  });
});
