/**
 * linearBf16 (bf16 operands, fp32 accumulation, bf16 output) by both routes — float32 GEMMs on
 * bf16-rounded values ("sgemm") and bf16 GEMMs through oneDNN ("aten") — against at::linear in
 * float32 on the same rounded inputs, forward and backward, and the routing of F.linear under
 * autocast. The last test checks in a child process that VIDEOMAE_BF16_LINEAR sets the initial route.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createConfig, type VitConfig } from "../../src/models/config.ts";
import { VisionTransformer } from "../../src/models/vit.ts";
import { autocast, F, Generator, noGrad, randn, tidy, type Tensor } from "../../src/torch/index.ts";
import { assertClose } from "../helpers.ts";
import { refCase, refStateDict, refTensor } from "../models/reference-data.ts";

const bf = (t: Tensor) => t.to("bfloat16").float(); // the bf16-rounded values, as float32

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Runs `f` once per route (the process's route restored after). */
function forEachRoute(f: (route: F.Bf16LinearRoute) => void): void {
  const before = F.bf16LinearInfo().route;
  try {
    for (const route of ["sgemm", "aten"] as const) {
      F.setBf16LinearRoute(route);
      f(route);
    }
  } finally {
    F.setBf16LinearRoute(before);
  }
}

/** Forward and all gradients of linearBf16 vs the fp32 reference on the rounded inputs. */
function compare(xShape: number[], K: number, N: number, opts: { bias?: boolean; dtype?: "float32" | "bfloat16"; seed?: number }) {
  tidy(() => {
    const g = new Generator(opts.seed ?? 1);
    const dtype = opts.dtype ?? "float32";
    const x0 = randn([...xShape, K], { generator: g }).to(dtype);
    const w0 = randn([N, K], { generator: g }).mul(0.1).to(dtype);
    const b0 = opts.bias === false ? undefined : randn([N], { generator: g }).to(dtype);
    const dy = randn([...xShape, N], { generator: g }).to("bfloat16");
    const route = F.bf16LinearInfo().route;
    const what = `x [${xShape}, ${K}] · W [${N}, ${K}]${b0 ? " + b" : ""} (${dtype}, ${route})`;

    const x = x0.clone().requiresGrad_();
    const w = w0.clone().requiresGrad_();
    const b = b0?.clone().requiresGrad_();
    const y = F.linearBf16(x, w, b);
    assert.equal(y.dtype, "bfloat16");
    assert.deepEqual(y.shape, [...xShape, N]);

    const xr = bf(x0).requiresGrad_();
    const wr = bf(w0).requiresGrad_();
    const br = b0 ? bf(b0).requiresGrad_() : undefined;
    const ref = F.linearAten(xr, wr, br);
    const refY = ref.toArray();
    // the only difference is the bf16 rounding of the output (and fp32 summation order)
    assertClose(y.toArray(), refY, 1e-3 * maxAbs(refY), 8e-3, `forward ${what}`);

    y.backward(dy);
    ref.backward(bf(dy));
    // Grads come back in the input dtype. The aten route's GEMMs also round dX and dW to bf16
    // (as autocast's at::linear backward does): a relative 2⁻⁸ on top of float32 summation.
    const tolOf = (name: string) => (dtype === "bfloat16" || (route === "aten" && name !== "db") ? 8e-3 : 1e-5);
    for (const [got, want, name] of [
      [x.grad, xr.grad, "dX"],
      [w.grad, wr.grad, "dW"],
      [b?.grad, br?.grad, "db"],
    ] as const) {
      if (!want) continue;
      assert.ok(got, `${name} missing`);
      assert.equal(got.dtype, dtype, `${name} dtype`);
      assert.deepEqual(got.shape, want.shape, `${name} shape`);
      const wa = want.toArray();
      assertClose(got.toArray(), wa, tolOf(name) * maxAbs(wa), tolOf(name), `${name} ${what}`);
    }
    return undefined;
  });
}

describe("linearBf16", () => {
  test("reports its route", () => {
    const info = F.bf16LinearInfo();
    assert.match(info.route, /^(sgemm|aten)$/);
    if (process.env.VIDEOMAE_BF16_LINEAR) assert.equal(info.route, process.env.VIDEOMAE_BF16_LINEAR);
    assert.equal(info.autocastBf16, false);
    assert.equal(autocast(() => F.bf16LinearInfo().autocastBf16), true);
  });

  test("model shapes (fp32 inputs rounded to bf16), both routes", () => {
    forEachRoute(() => {
      compare([64], 384, 1152, {});
      compare([2, 40], 768, 384, { seed: 2 });
    });
  });

  test("bf16 inputs, grads in bf16, both routes", () => {
    forEachRoute(() => {
      compare([96], 384, 384, { dtype: "bfloat16", seed: 3 });
      compare([3, 17], 64, 48, { dtype: "bfloat16", bias: false, seed: 4 });
    });
  });

  test("odd shapes, 1-D and 3-D x, no bias, both routes", () => {
    forEachRoute(() => {
      compare([7], 13, 19, { seed: 5 });
      compare([], 13, 19, { seed: 6 });
      compare([2, 5], 13, 19, { bias: false, seed: 7 });
      compare([1], 1, 1, { seed: 8 });
      compare([3, 3], 33, 17, { bias: false, seed: 9 });
    });
  });

  test("a forward taken by one route is differentiated by the same route after a switch", () => {
    tidy(() => {
      const before = F.bf16LinearInfo().route;
      try {
        const g = new Generator(13);
        const x = randn([16, 32], { generator: g });
        const w = randn([8, 32], { generator: g }).requiresGrad_();
        F.setBf16LinearRoute("sgemm");
        const y = F.linearBf16(x, w);
        F.setBf16LinearRoute("aten");
        y.float().sum().backward();
        // sgemm's dW = dYᵀ·X in float32 (exact sums of bf16 values here), not rounded to bf16
        const want = bf(x).sum(0).unsqueeze(0).expand([8, 32]).toArray();
        assertClose(w.grad!.toArray(), want, 1e-5 * maxAbs(want), 1e-5, "dW by the forward's route");
      } finally {
        F.setBf16LinearRoute(before);
      }
      return undefined;
    });
  });

  test("gradients only where required; non-contiguous x", () => {
    tidy(() => {
      const g = new Generator(11);
      const x = randn([9, 24], { generator: g }).transpose(0, 1).requiresGrad_(); // [24, 9], strided
      const w = randn([5, 9], { generator: g }); // no grad
      const y = F.linearBf16(x, w);
      y.float().sum().backward();
      assert.equal(w.grad, undefined);
      const ref = F.linearAten(bf(x.detach()), bf(w));
      assertClose(y.toArray(), ref.toArray(), 1e-3 * maxAbs(ref.toArray()), 8e-3, "forward");
      // d sum(y) / dx = column sums of bf16(W), broadcast over rows
      const colSums = bf(w).sum(0).toArray();
      const gx = x.grad!.toArray();
      for (let i = 0; i < 24; i++) assertClose(gx.slice(i * 9, i * 9 + 9), colSums, 1e-5, 1e-5, "dX row");
      return undefined;
    });
  });

  test("F.linear under bf16 autocast: same result as linearBf16, fp32 master grads; fp32 outside", () => {
    tidy(() => {
      const g = new Generator(12);
      const x = randn([2, 33, 40], { generator: g });
      const w = randn([24, 40], { generator: g }).mul(0.2).requiresGrad_();
      const b = randn([24], { generator: g }).requiresGrad_();
      const y = autocast(() => F.linear(x, w, b));
      assert.equal(y.dtype, "bfloat16");
      assert.match(y.gradFn ?? "", /LinearBf16/);
      assert.deepEqual(y.toArray(), F.linearBf16(x, w.detach(), b.detach()).toArray());
      // libtorch's own bf16 linear (oneDNN) agrees within bf16 precision
      const aten = autocast(() => F.linearAten(x, w.detach(), b.detach()));
      assert.equal(aten.dtype, "bfloat16");
      const ya = aten.toArray();
      assertClose(y.toArray(), ya, 1e-2 * maxAbs(ya), 1e-2, "vs at::linear bf16");
      y.float().square().sum().backward();
      assert.equal(w.grad!.dtype, "float32");
      assert.equal(b.grad!.dtype, "float32");
      assert.equal(F.linear(x, w, b).dtype, "float32");
      return undefined;
    });
  });

  test("a ViT forward and backward under autocast stays within bf16 tolerance of fp32", () => {
    tidy(() => {
      const cfg = createConfig("tiny_test_vit", { ...refCase("vit").config, dropPathRate: 0 }) as VitConfig;
      const model = new VisionTransformer(cfg, { fusedAttention: true });
      model.loadStateDict(refStateDict("vit"));
      model.eval();
      const x = refTensor("vit/input");
      const ref = noGrad(() => model.forward(x)).toArray();
      const got = noGrad(() => autocast(() => model.forward(x)).float()).toArray();
      assertClose(got, ref, 5e-2 * Math.max(1, maxAbs(ref)), 5e-2, "logits bf16 vs fp32");
      // training step: gradients of the fp32 master weights are float32 and close to fp32's
      const loss32 = model.forward(x).float().square().mean();
      loss32.backward();
      const params = [...model.namedParameters()];
      const grads32 = params.map(([, p]) => p.grad!.toArray());
      for (const [, p] of params) p.zeroGrad();
      const loss16 = autocast(() => model.forward(x).float().square().mean());
      loss16.backward();
      assertClose([loss16.item()], [loss32.item()], 5e-2 * Math.abs(loss32.item()), 5e-2, "loss");
      params.forEach(([name, p], i) => {
        assert.equal(p.grad!.dtype, "float32", name);
        const want = grads32[i]!;
        // bf16 activations: compare gradients as whole tensors (relative L2 error)
        const got = p.grad!.toArray();
        let num = 0;
        let den = 0;
        for (let j = 0; j < want.length; j++) {
          num += (got[j]! - want[j]!) ** 2;
          den += want[j]! ** 2;
        }
        assert.ok(Math.sqrt(num) <= 0.1 * Math.sqrt(den) + 1e-6, `${name}: relative L2 error ${Math.sqrt(num / (den || 1))}`);
      });
      model.dispose();
      return undefined;
    });
  });

  test("VIDEOMAE_BF16_LINEAR=aten sets the initial route (our op, bf16 GEMMs) under autocast", () => {
    if (process.env.VIDEOMAE_BF16_LINEAR) return; // already the child
    const script = `
      import { autocast, F, randn } from "./src/torch/index.ts";
      const info = F.bf16LinearInfo();
      const y = autocast(() => F.linear(randn([4, 8]), randn([3, 8]).requiresGrad_()));
      console.log(JSON.stringify({ route: info.route, gradFn: y.gradFn, dtype: y.dtype }));`;
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: root,
      env: { ...process.env, VIDEOMAE_BF16_LINEAR: "aten" },
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(out.route, "aten");
    assert.equal(out.dtype, "bfloat16");
    assert.match(out.gradFn ?? "", /LinearBf16/);
  });
});
