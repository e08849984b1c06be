/**
 * Where our time goes, for `videomae bench --profile`:
 *
 *  1. Step phases (forward, loss, backward, optimizer, zero_grad; the rest is graph teardown in
 *     `tidy`) of a benchmark workload, and the forward split by module: every module instance's
 *     `forward` is wrapped and timed exclusively (its children's time subtracted), keyed by tower,
 *     class and attribute ("encoder Linear fc1"). Everything is synchronous on CPU, so wall-clock
 *     sections are exact. Attention instances get an instrumented copy of their fused forward path
 *     that splits the qkv linear from the attention kernel.
 *  2. Ops: further steps with libtorch's RecordFunction timing every ATen op and autograd node
 *     (torch/op_profile.ts), grouped by phase, so the backward is split by op too. These steps
 *     run apart from the timed ones (the timing adds ~1 µs per op).
 *  3. Components: the block's pieces alone on the block's shapes (forward, or forward+backward),
 *     ours and PyTorch's (bench_server.py "component" op), so each piece gets its own ratio.
 */
import { Attention, type ModelConfig } from "../models/index.ts";
import type { Module } from "../nn/index.ts";
import { autocast, cat, F, profileOps, randn, tidy, zeros, type Tensor } from "../torch/index.ts";
import { median, nowSeconds } from "./stats.ts";
import { buildOurs, workloadConfig, workPerClip, type BenchDtype, type PhaseFn, type Workload } from "./workloads.ts";

export interface TimeRow {
  name: string;
  calls: number;
  /** Milliseconds per step. */
  ms: number;
}

export interface StepProfile {
  workload: string;
  reps: number;
  stepMs: number;
  phases: TimeRow[];
  forward: TimeRow[];
  /** Per phase: ATen ops and autograd nodes by self time (ms per step, profiled steps). */
  ops: Record<string, OpRow[]>;
  /** Per phase: ms per step of the profiled steps (timing included). */
  opPhaseMs: Record<string, number>;
}

export interface OpRow extends TimeRow {
  /** Including the ops nested inside it. */
  totalMs: number;
}

/** Autograd node and op names without the C++ namespaces ("CppNode<LinearBf16>"). */
export function shortOpName(name: string): string {
  return name.replace(/torch::autograd::|vm::|\(anonymous namespace\)::/g, "");
}

class Sections {
  readonly totals = new Map<string, { calls: number; s: number }>();
  private readonly stack: number[] = []; // children's time of each open section

  run<T>(name: string, fn: () => T): T {
    this.stack.push(0);
    const t = nowSeconds();
    try {
      return fn();
    } finally {
      const dt = nowSeconds() - t;
      const children = this.stack.pop()!;
      if (this.stack.length) this.stack[this.stack.length - 1]! += dt;
      const e = this.totals.get(name) ?? { calls: 0, s: 0 };
      e.calls++;
      e.s += dt - children;
      this.totals.set(name, e);
    }
  }

  rows(reps: number): TimeRow[] {
    return [...this.totals]
      .map(([name, e]) => ({ name, calls: e.calls / reps, ms: (1000 * e.s) / reps }))
      .sort((a, b) => b.ms - a.ms);
  }

  clear(): void {
    this.totals.clear();
  }
}

/** Wraps every module's forward (exclusive timing); returns a function restoring the originals (calling it twice is harmless). */
function instrument(model: Module, sec: Sections): () => void {
  const restore: (() => void)[] = [];
  for (const [path, m] of model.namedModules()) {
    const tower = path.startsWith("decoder") ? "decoder " : path.startsWith("encoder") ? "encoder " : "";
    const leaf = path.split(".").pop() ?? "";
    const name = `${tower}${m.constructor.name}${/^\d*$/.test(leaf) ? "" : ` ${leaf}`}`;
    const target = m as unknown as { forward: (...a: unknown[]) => unknown };
    const orig = target.forward;
    if (m instanceof Attention && m.fused) {
      const at = m;
      // The fused branch of Attention.forward (src/models/blocks.ts), with its parts timed.
      target.forward = (x: unknown) =>
        sec.run(`${tower}Attention (rest)`, () =>
          tidy(() => {
            const bias = at.q_bias && at.v_bias ? cat([at.q_bias, zeros(at.v_bias.shape, { dtype: at.v_bias.dtype }), at.v_bias]) : undefined;
            const packed = sec.run(`${tower}Linear qkv`, () => F.linear(x as Tensor, at.qkv.weight, bias));
            const out = sec.run(`${tower}attention kernel`, () => F.packedAttention(packed, at.numHeads, at.qkScale));
            return at.proj.forward(out);
          }),
        );
    } else {
      target.forward = (...a: unknown[]) => sec.run(name, () => orig.apply(m, a));
    }
    restore.push(() => (target.forward = orig));
  }
  return () => restore.forEach((f) => f());
}

/** Phases and forward breakdown of `reps` steps of a workload (after one warm-up step). */
export function profileStep(w: Workload, reps: number): StepProfile {
  const work = buildOurs(w);
  const phases = new Sections();
  const fwd = new Sections();
  const undo = instrument(work.model, fwd);
  try {
    const phase: PhaseFn = (name, fn) => phases.run(name, fn);
    work.step(phase);
    phases.clear();
    fwd.clear();
    const t = nowSeconds();
    for (let i = 0; i < reps; i++) work.step(phase);
    const stepMs = ((nowSeconds() - t) * 1000) / reps;
    const rows = phases.rows(reps);
    const accounted = rows.reduce((s, r) => s + r.ms, 0);
    rows.push({ name: "other (graph teardown, item)", calls: 1, ms: stepMs - accounted });
    const forward = fwd.rows(reps);
    undo();
    // The same steps again with every op timed, per phase.
    const byPhase = new Map<string, Map<string, OpRow>>();
    const opPhaseMs = new Map<string, number>();
    const opPhase: PhaseFn = (name, fn) => {
      const t0 = nowSeconds();
      const { result, ops } = profileOps(fn);
      opPhaseMs.set(name, (opPhaseMs.get(name) ?? 0) + ((nowSeconds() - t0) * 1000) / reps);
      const m = byPhase.get(name) ?? new Map<string, OpRow>();
      for (const o of ops) {
        const key = shortOpName(o.name);
        const r = m.get(key) ?? { name: key, calls: 0, ms: 0, totalMs: 0 };
        r.calls += o.calls / reps;
        r.ms += o.selfMs / reps;
        r.totalMs += o.totalMs / reps;
        m.set(key, r);
      }
      byPhase.set(name, m);
      return result;
    };
    for (let i = 0; i < reps; i++) work.step(opPhase);
    const ops = Object.fromEntries([...byPhase].map(([k, m]) => [k, [...m.values()].sort((a, b) => b.ms - a.ms)]));
    return { workload: w.id, reps, stepMs, phases: rows, forward, ops, opPhaseMs: Object.fromEntries(opPhaseMs) };
  } finally {
    undo();
    work.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Components

export type ComponentName = "patch_embed" | "layer_norm" | "qkv" | "attention" | "attention_plain" | "proj" | "fc1" | "gelu" | "fc2";
export const COMPONENTS: ComponentName[] = ["patch_embed", "layer_norm", "qkv", "attention", "attention_plain", "proj", "fc1", "gelu", "fc2"];

/** Shapes of one block of a tower (the same dict goes to bench_server.py). */
export interface ComponentShape {
  B: number;
  N: number;
  D: number;
  H: number;
  hidden: number;
  frames: number;
  img: number;
  patch: number;
  tubelet: number;
}

export function componentShape(w: Workload): ComponentShape {
  const cfg: ModelConfig = workloadConfig(w);
  const b = cfg.kind === "vit" ? cfg : cfg.encoder;
  return {
    B: w.batch,
    N: workPerClip(w).seqLen, // N, or N_vis for the pre-training encoder
    D: b.embedDim,
    H: b.numHeads,
    hidden: Math.floor(b.embedDim * b.mlpRatio),
    frames: b.numFrames,
    img: b.imgSize,
    patch: b.patchSize,
    tubelet: b.tubeletSize,
  };
}

/** Median seconds per call of one component, ours; `backward` adds its backward pass. */
export function runComponentOurs(name: ComponentName, s: ComponentShape, dtype: BenchDtype, backward: boolean, reps: number): number {
  const leaf = (shape: number[]) => randn(shape).mul(0.5).requiresGrad_(backward);
  const x = name === "patch_embed" ? randn([s.B, 3, s.frames, s.img, s.img]) : leaf([s.B, s.N, name === "fc2" || name === "gelu" ? s.hidden : name === "attention" || name === "attention_plain" ? 3 * s.D : s.D]);
  const W: Record<string, Tensor> = {
    patch_embed: leaf([s.D, 3, s.tubelet, s.patch, s.patch]),
    layer_norm: leaf([s.D]),
    qkv: leaf([3 * s.D, s.D]),
    proj: leaf([s.D, s.D]),
    fc1: leaf([s.hidden, s.D]),
    fc2: leaf([s.D, s.hidden]),
  };
  const bias = leaf([name === "fc1" ? s.hidden : name === "qkv" ? 3 * s.D : s.D]);
  const f = (): Tensor => {
    switch (name) {
      case "patch_embed":
        return F.conv3d(x, W.patch_embed!, bias, [s.tubelet, s.patch, s.patch]);
      case "layer_norm":
        return F.layerNorm(x.dtype === "float32" ? x : x.float(), [s.D], W.layer_norm!, bias, 1e-6);
      case "qkv":
      case "proj":
      case "fc1":
      case "fc2":
        return F.linear(x, W[name]!, bias);
      case "gelu":
        return x.gelu();
      case "attention":
        return F.packedAttention(x, s.H, (s.D / s.H) ** -0.5);
      case "attention_plain":
        return F.packedAttentionReference(x, s.H, (s.D / s.H) ** -0.5);
    }
  };
  const once = () =>
    tidy(() => {
      const y = dtype === "bf16" ? autocast(f) : f();
      if (backward) y.backward(randn(y.shape).to(y.dtype));
    });
  const times: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const t = nowSeconds();
    once();
    if (i > 0) times.push(nowSeconds() - t); // i = 0 warms up
    for (const p of [x, bias, ...Object.values(W)]) p.zeroGrad();
  }
  for (const p of [x, bias, ...Object.values(W)]) p.dispose();
  return median(times);
}

export interface ComponentRow {
  name: ComponentName;
  oursMs: number;
  torchMs: number | null;
  /** PyTorch time ÷ ours (> 1: we are faster). */
  speedRatio: number | null;
  /** Times the block count: ms per step spent in this piece, ours. */
  oursMsPerStep: number;
}

export interface WorkloadProfileResult {
  step: StepProfile;
  shape: ComponentShape;
  backward: boolean;
  /** Blocks of the encoder that run this shape per step. */
  blocks: number;
  components: ComponentRow[];
}

/** Profiles each workload: step phases, forward split, and the encoder block's pieces vs PyTorch. */
export async function runProfile(
  list: Workload[],
  o: { reps: number; torch: { request<T>(r: object): Promise<T> } | null; log?: (s: string) => void },
): Promise<WorkloadProfileResult[]> {
  const out: WorkloadProfileResult[] = [];
  for (const w of list) {
    o.log?.(`profiling ${w.id}`);
    const step = profileStep(w, o.reps);
    const shape = componentShape(w);
    const backward = w.kind === "pretrain";
    const cfg = workloadConfig(w);
    const blocks = cfg.kind === "vit" ? cfg.depth : cfg.encoder.depth;
    const components: ComponentRow[] = [];
    for (const name of COMPONENTS) {
      const ours = runComponentOurs(name, shape, w.dtype, backward, o.reps) * 1000;
      let theirs: number | null = null;
      if (o.torch && name !== "attention_plain") {
        const r = await o.torch.request<{ seconds: number }>({ op: "component", name, shape, dtype: w.dtype, backward, reps: o.reps });
        theirs = r.seconds * 1000;
      }
      const perStep = name === "patch_embed" ? 1 : name === "layer_norm" ? 2 * blocks : blocks;
      components.push({ name, oursMs: ours, torchMs: theirs, speedRatio: theirs === null ? null : theirs / ours, oursMsPerStep: ours * perStep });
    }
    out.push({ step, shape, backward, blocks, components });
  }
  return out;
}

export function formatProfile(results: WorkloadProfileResult[]): string {
  const lines: string[] = [];
  const f = (x: number) => x.toFixed(x >= 100 ? 0 : 1);
  for (const r of results) {
    const s = r.step;
    lines.push(`\n${s.workload}: ${f(s.stepMs)} ms per step (${s.reps} reps after a warm-up)`);
    lines.push(`  phases:  ${s.phases.map((p) => `${p.name} ${f(p.ms)}`).join(", ")}`);
    lines.push("  forward by module (exclusive ms per step, calls):");
    for (const row of s.forward.filter((x) => x.ms >= 0.5)) lines.push(`    ${row.name.padEnd(34)} ${f(row.ms).padStart(8)}  ×${row.calls}`);
    for (const phase of ["backward", "optimizer"]) {
      const rows = s.ops[phase];
      if (!rows?.length) continue;
      const sum = rows.reduce((t, r) => t + r.ms, 0);
      lines.push(`  ${phase} by op (self ms per step in separately profiled steps: ${f(sum)} of the phase's ${f(s.opPhaseMs[phase] ?? NaN)} in ops; calls):`);
      for (const row of rows.slice(0, 20).filter((x) => x.ms >= 0.5)) lines.push(`    ${row.name.slice(0, 60).padEnd(60)} ${f(row.ms).padStart(8)}  ×${Math.round(row.calls)}`);
    }
    const sh = r.shape;
    lines.push(
      `  block pieces alone (${r.backward ? "forward+backward" : "forward"}; B ${sh.B}, N ${sh.N}, D ${sh.D}, heads ${sh.H}, MLP ${sh.hidden}; ms per call, ×${r.blocks} blocks):`,
    );
    lines.push(`    ${"piece".padEnd(16)} ${"ours".padStart(8)} ${"PyTorch".padStart(8)} ${"PT/ours".padStart(8)} ${"ours/step".padStart(10)}`);
    for (const c of r.components) {
      lines.push(
        `    ${c.name.padEnd(16)} ${f(c.oursMs).padStart(8)} ${(c.torchMs === null ? "—" : f(c.torchMs)).padStart(8)} ${(c.speedRatio === null ? "—" : `${c.speedRatio.toFixed(2)}×`).padStart(8)} ${f(c.oursMsPerStep).padStart(10)}`,
      );
    }
  }
  lines.push("\n(attention = our fused kernel vs PyTorch's official composition; attention_plain = our plain composition, same math as PyTorch's.)");
  return lines.join("\n");
}
