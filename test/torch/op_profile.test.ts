/**
 * The op-level profiler (native/src/core/op_profile.cc): ATen ops and autograd nodes by name,
 * with self time never above inclusive time, nested ops subtracted from their parents, nothing
 * recorded outside profileOps, and the callback removed on error.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { profileOps, randn, tidy } from "../../src/torch/index.ts";

test("profileOps: forward ops and backward nodes by name; self ≤ total; counts per call", () => {
  const { ops } = tidy(() =>
    profileOps(() => {
      const a = randn([64, 32]).requiresGrad_();
      const b = randn([32, 16]);
      for (let i = 0; i < 3; i++) a.matmul(b).sum().backward();
      return a.grad!.shape;
    }),
  );
  const byName = new Map(ops.map((o) => [o.name, o]));
  const mm = byName.get("aten::mm");
  assert.ok(mm, `aten::mm recorded: ${ops.map((o) => o.name).join(", ")}`);
  assert.ok(mm.calls >= 6, `3 forward + 3 backward products, got ${mm.calls}`); // the backward's dA = dC·Bᵀ is an mm too
  assert.ok([...byName.keys()].some((n) => /MmBackward/.test(n)), "the autograd node of the product is recorded");
  for (const o of ops) {
    assert.ok(o.calls > 0 && o.totalMs >= 0, o.name);
    assert.ok(o.selfMs <= o.totalMs + 1e-9, `${o.name}: self ${o.selfMs} > total ${o.totalMs}`);
  }
  // rows come sorted by self time
  for (let i = 1; i < ops.length; i++) assert.ok(ops[i - 1]!.selfMs >= ops[i]!.selfMs);
});

test("profileOps: nothing recorded outside it, and a throwing function still stops it", () => {
  assert.throws(() => profileOps(() => { randn([2]).add(1); throw new Error("boom"); }), /boom/);
  tidy(() => randn([4, 4]).matmul(randn([4, 4]))); // not profiled
  const { ops } = profileOps(() => tidy(() => randn([3]).mul(2)));
  assert.ok(!ops.some((o) => o.name === "aten::mm"), "the earlier matmul was not counted");
  assert.ok(ops.some((o) => o.name === "aten::mul"), ops.map((o) => o.name).join(", "));
});
