/**
 * The model benchmark's plumbing (no timing assertions): well-formed results from a tiny run
 * without PyTorch, workload selection and work counts, and both JSON-line servers surviving bad
 * requests. The PyTorch part needs /usr/bin/python3 with torch and is skipped otherwise.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { JsonLineChild, RequestError } from "../../src/bench/child.ts";
import { formatDistributedBench, runDistributedBench } from "../../src/bench/distributed.ts";
import { formatTrainMemoryBench, runTrainMemoryBench, TINY_MEMORY_WORKLOADS } from "../../src/bench/train_memory.ts";
import { formatModelBench } from "../../src/bench/model_table.ts";
import { runModelBench, selectWorkloads, type SideResult } from "../../src/bench/models.ts";
import { PyTorchReference, torchUnavailableReason } from "../../src/bench/pytorch.ts";
import { buildOurs, makeWorkload, workloadRequest, workPerClip } from "../../src/bench/workloads.ts";
import { componentShape, formatProfile, profileStep } from "../../src/bench/profile.ts";
import { formatDecodeBench } from "../../src/bench/decode.ts";

const torchSkip = torchUnavailableReason();
const skipMessage = torchSkip ? `PyTorch baseline unavailable: ${torchSkip}` : false;

function assertSide(s: SideResult | null, samples: number): void {
  assert.ok(s, "side result present");
  assert.equal(s.seconds.length, samples);
  for (const x of [...s.seconds, s.medianSeconds, s.clipsPerSecond, s.msPerClip, s.gflops, s.pctPeak]) {
    assert.ok(Number.isFinite(x) && x > 0, `positive finite number, got ${x}`);
  }
  assert.ok(s.memory.baseBytes > 0 && s.memory.peakBytes >= s.memory.baseBytes);
  assert.equal(s.memory.workloadBytes, s.memory.peakBytes - s.memory.baseBytes);
}

describe("data-parallel benchmark", () => {
  test("tiny run: 1 vs 2 processes over gloo give well-formed rows and a table", async () => {
    const r = await runDistributedBench({ quick: true, size: "tiny" });
    assert.ok(r, "gloo is built in");
    assert.deepEqual(r.rows.map((x) => x.processes), [1, 2]);
    assert.equal(r.rows[0]!.allReduceSeconds, 0);
    assert.ok(r.rows[1]!.allReduceSeconds > 0);
    for (const x of r.rows) assert.ok(x.stepSeconds > 0 && x.clipsPerSecond > 0);
    assert.ok(r.params > 0 && r.speedup > 0);
    assert.match(formatDistributedBench(r), /2 processes × 1 thread: .* clips\/s, .* gradient all-reduce .* ms\/step/);
    // The overlapped variant of the 2-process step, measured alongside.
    assert.equal(r.rows[0]!.overlap, undefined);
    const o = r.rows[1]!.overlap!;
    assert.ok(o.stepSeconds > 0 && o.commSeconds > 0 && o.exposedSeconds >= 0 && Number.isFinite(o.hiddenFraction));
    assert.match(formatDistributedBench(r), /overlapped with backward: .* % of the all-reduce hidden/);
    // CPU accounting (all threads of both ranks): the all-reduce's share is part of its step's.
    const c = r.rows[1]!.cpu!;
    assert.ok(c.stepSeconds > 0 && c.overlapStepSeconds > 0 && c.allReduceSeconds > 0 && c.allReduceSeconds <= c.stepSeconds);
    assert.equal(r.rows[0]!.cpu, undefined);
    assert.match(formatDistributedBench(r), /CPU per step, all ranks' threads summed: \d+ ms after backward \(its all-reduce \d+ ms\)/);
    if (r.rows[1]!.hideableFraction !== undefined) assert.ok(r.rows[1]!.hideableFraction >= 0 && r.rows[1]!.hideableFraction <= 1);
  });
});

describe("training-memory benchmark", () => {
  test("tiny run: peak memory with and without checkpointing, each in a fresh process, beside the estimate", async () => {
    const r = await runTrainMemoryBench({ workloads: TINY_MEMORY_WORKLOADS.slice(0, 1) });
    assert.equal(r.rows.length, 1);
    const x = r.rows[0]!;
    for (const s of [x.plain, x.checkpointed]) assert.ok(s.peakBytes > 0 && s.estimateBytes > 0 && s.seconds > 0);
    assert.ok(x.checkpointed.estimateBytes < x.plain.estimateBytes);
    assert.equal(x.ratio, x.checkpointed.peakBytes / x.plain.peakBytes);
    assert.equal(x.checkpointed.loss, x.plain.loss); // seeded, and the recomputation is the same computation
    assert.match(formatTrainMemoryBench(r), /tiny_test_vit finetune batch 2: plain .* GiB \[.* GiB\].*--grad-checkpoint .* ratio \d+ %/);
  });
});

describe("model benchmark", () => {
  test("tiny run without PyTorch: well-formed rows, JSON and table", async () => {
    const res = await runModelBench({ tiny: true, withTorch: false, only: "infer fp32,pretrain-dual bf16", rounds: 2, reps: 1 });
    assert.equal(res.mode, "tiny");
    assert.equal(res.torchVersion, null);
    assert.match(res.torchNote ?? "", /--no-torch/);
    assert.deepEqual(res.workloads.map((r) => r.id), ["tiny infer fp32", "tiny pretrain-dual bf16"]);
    for (const r of res.workloads) {
      assert.equal(r.oursError, undefined, r.oursError);
      assertSide(r.ours, 2);
      assert.equal(r.torch, null);
      assert.equal(r.speedRatio, null);
      assert.equal(r.target, null); // tiny rows carry no target
      assert.ok(r.gflopPerClip > 0 && r.forwardGmacsPerClip > 0 && (r.params ?? 0) > 0);
    }
    const [infer, pre] = res.workloads;
    assert.equal(infer!.batch, 1);
    assert.equal(pre!.batch, 2);
    assert.equal(pre!.gflopPerClip, (6 * pre!.forwardGmacsPerClip), "training counted as 3× forward, 2 FLOP per MAC");
    assert.deepEqual(JSON.parse(JSON.stringify(res)), res);
    const text = formatModelBench(res);
    assert.match(text, /tiny infer fp32/);
    assert.match(text, /tiny pretrain-dual bf16/);
  });

  test("workload selection and work per clip", async () => {
    assert.equal(selectWorkloads({}).length, 12);
    const quick = selectWorkloads({ quick: true });
    assert.equal(quick.length, 6);
    assert.ok(quick.every((w) => w.size === "s"));
    assert.deepEqual(selectWorkloads({ only: "vit-b infer" }).map((w) => w.id), ["vit-b infer fp32", "vit-b infer bf16"]);
    assert.deepEqual(selectWorkloads({ only: "PRETRAIN-V1 BF16" }).map((w) => w.id), ["vit-s pretrain-v1 bf16", "vit-b pretrain-v1 bf16"]);
    // The figures of src/models/counting.ts: ViT-B 180.3 GMACs per view, 25.84 G per pre-training clip.
    assert.ok(Math.abs(workPerClip(makeWorkload("inference", "b", "fp32")).forwardMacs / 1e9 - 180.3) < 0.05);
    const dual = workPerClip(makeWorkload("pretrain", "b", "fp32", "run_cell"));
    assert.ok(Math.abs(dual.forwardMacs / 1e9 - 25.84) < 0.005);
    assert.equal(dual.seqLen, 160);
    await assert.rejects(runModelBench({ tiny: true, withTorch: false, only: "no-such-workload" }), /no workload matches/);
  });

  test("our worker answers bad requests with errors and keeps serving", async () => {
    const script = fileURLToPath(new URL("../../src/bench/model_worker.ts", import.meta.url));
    const worker = new JsonLineChild("worker", process.execPath, ["--import", import.meta.resolve("tsx"), script], process.env);
    try {
      await assert.rejects(worker.request({ op: "nope" }), RequestError);
      await assert.rejects(worker.request({ op: "model_inference", size: "zz" }), /unknown size/);
      await assert.rejects(worker.request({ op: "pretrain_step", size: "tiny", dtype: "fp16" }), /unknown dtype/);
      const ok = await worker.request<{ seconds: number[] }>(workloadRequest(makeWorkload("inference", "tiny", "fp32"), 2));
      assert.equal(ok.seconds.length, 2);
    } finally {
      await worker.close();
    }
  });

  test("bench_server.py: bad requests get errors, the server keeps serving", { skip: skipMessage }, async () => {
    const { ref, reason } = await PyTorchReference.start(1);
    assert.ok(ref, reason);
    try {
      await assert.rejects(ref.request({ op: "nope" }), /unknown op/);
      await assert.rejects(ref.request({ op: "model_inference", size: "zz" }), /unknown size/);
      await assert.rejects(ref.request({ op: "gemm" }), /KeyError/);
      const w = makeWorkload("pretrain", "tiny", "bf16", "run_cell");
      await assert.rejects(ref.request({ ...workloadRequest(w, 1), dtype: "fp16" }), /unknown dtype/);
      // Still alive, and the same tiny configs on both sides: equal parameter counts.
      const hello = await ref.request<{ threads: number }>({ op: "hello", threads: 1 });
      assert.equal(hello.threads, 1);
      const ans = await ref.request<{ seconds: number[]; memory: { peak: number; base: number }; model: { params: number; visible: number; kept: number } }>(
        workloadRequest(w, 2),
      );
      assert.equal(ans.seconds.length, 2);
      assert.ok(ans.memory.base > 0);
      assert.deepEqual([ans.model.visible, ans.model.kept], [4, 16]);
      const ours = buildOurs(w);
      try {
        assert.equal(ans.model.params, ours.info.params);
      } finally {
        ours.dispose();
      }
    } finally {
      await ref.close();
    }
  });
});

describe("profile", () => {
  test("tiny pre-training step: phases, forward by module, backward split by op", () => {
    const p = profileStep(makeWorkload("pretrain", "tiny", "fp32", "run_cell"), 1);
    assert.ok(p.stepMs > 0);
    assert.ok(p.phases.some((r) => r.name === "backward") && p.forward.length > 0);
    const backward = p.ops.backward!;
    assert.ok(backward.length > 0, "backward ops recorded");
    // the attention's and the linears' autograd nodes are among them, named without C++ namespaces
    assert.ok(backward.some((r) => /PackedAttention/.test(r.name)), backward.map((r) => r.name).join(", "));
    assert.ok(backward.every((r) => !r.name.includes("vm::") && r.ms <= r.totalMs + 1e-9));
    assert.ok("optimizer" in p.ops); // the fused AdamW is one native call, not dispatched ops: often no rows
    assert.match(formatProfile([{ step: p, shape: componentShape(makeWorkload("pretrain", "tiny", "fp32", "run_cell")), backward: true, blocks: 1, components: [] }]), /backward by op/);
  });
});

describe("decode bench table", () => {
  test("rows with and without PyAV format as a table with every column", () => {
    const row = { clip: "340p_gop60_1M.mp4", group: "typical" as const, bitRate: 1.01e6, requests: 12, oursMs: 63.2, oursCpuMs: 63.8, oursAllCoresMs: 50.1, pyavMs: 76, pyavCpuMs: 75.7, cliMs: 314, cliCpuMs: 290, vsPyav: 1.19, vsCli: 4.97, vsCliAllCores: 6.28, vsCliCpu: 4.54 };
    const text = formatDecodeBench({ rows: [row, { ...row, clip: "720p.mp4", group: "high bit rate", pyavMs: null, pyavCpuMs: null, vsPyav: null, cliCpuMs: null, vsCliCpu: null }], note: "a note" });
    const lines = text.split("\n");
    assert.match(lines[0]!, /×PyAV.*×ffmpeg all cores/);
    assert.match(lines[2]!, /^340p_gop60_1M\.mp4 \(typical\)\s+1\.01\s+63\.2/);
    assert.match(lines[3]!, /720p\.mp4 \(high bit rate\).*—/); // missing PyAV and CPU columns print as —
    assert.equal(lines.at(-1), "(a note)");
  });
});
