/**
 * Core benchmark: GEMM throughput through the TypeScript API and the per-call overhead of a
 * small op, side by side with PyTorch (same threads, interleaved repetitions).
 */
import { getNumThreads, randn, blasInfo, type DType } from "../torch/index.ts";
import { PyTorchReference, type TorchBlas } from "./pytorch.ts";
import { median, nowSeconds } from "./stats.ts";

export interface GemmResult {
  n: number;
  dtype: DType;
  oursGflops: number;
  torchGflops: number | null;
  /** ours / PyTorch throughput. */
  ratio: number | null;
}

export interface CoreBenchResult {
  threads: number;
  blas: string;
  torchVersion: string | null;
  torchNote?: string;
  gemm: GemmResult[];
  smallOp: { oursNsPerCall: number; torchNsPerCall: number | null };
}

function oursGemm(n: number, dtype: DType, reps: number): number[] {
  const a = randn([n, n]).to(dtype);
  const b = randn([n, n]).to(dtype);
  a.mm(b).dispose();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = nowSeconds();
    const c = a.mm(b);
    times.push(nowSeconds() - t);
    c.dispose();
  }
  a.dispose();
  b.dispose();
  return times;
}

function oursSmallAdd(calls: number): number {
  const a = randn([4]);
  const b = randn([4]);
  for (let i = 0; i < 1000; i++) a.add(b).dispose();
  const t = nowSeconds();
  for (let i = 0; i < calls; i++) a.add(b).dispose();
  return nowSeconds() - t;
}

export async function runCoreBench(opts: { quick?: boolean; withTorch?: boolean; torchBlas?: TorchBlas; log?: (s: string) => void } = {}): Promise<CoreBenchResult> {
  const log = opts.log ?? (() => {});
  const threads = getNumThreads();
  const { ref, reason } = opts.withTorch === false ? { ref: null, reason: "disabled (--no-torch)" } : await PyTorchReference.start(threads, { blas: opts.torchBlas });
  const sizes = opts.quick ? [512, 1024] : [512, 1024, 2048];
  const rounds = opts.quick ? 2 : 3;
  const reps = opts.quick ? 3 : 5;
  const gemm: GemmResult[] = [];
  try {
    for (const dtype of ["float32", "bfloat16"] as DType[]) {
      for (const n of sizes) {
        const flop = 2 * n ** 3;
        const ours: number[] = [];
        const theirs: number[] = [];
        for (let r = 0; r < rounds; r++) {
          // Interleave: the machine's noise hits both sides alike.
          ours.push(...oursGemm(n, dtype, reps));
          if (ref) theirs.push(...(await ref.request<{ seconds: number[] }>({ op: "gemm", n, dtype, reps })).seconds);
        }
        const o = flop / median(ours) / 1e9;
        const t = ref ? flop / median(theirs) / 1e9 : null;
        gemm.push({ n, dtype, oursGflops: o, torchGflops: t, ratio: t ? o / t : null });
        log(`gemm ${dtype} ${n}: ours ${o.toFixed(1)} GFLOP/s${t ? `, PyTorch ${t.toFixed(1)}` : ""}`);
      }
    }
    const calls = opts.quick ? 20000 : 100000;
    const oursSmall = median([oursSmallAdd(calls), oursSmallAdd(calls), oursSmallAdd(calls)]);
    let torchSmall: number | null = null;
    if (ref) {
      const ts: number[] = [];
      for (let i = 0; i < 3; i++) ts.push((await ref.request<{ seconds: number }>({ op: "small_add", calls })).seconds);
      torchSmall = median(ts);
    }
    return {
      threads,
      blas: blasInfo().threading,
      torchVersion: ref?.version ?? null,
      ...(ref ? {} : { torchNote: `PyTorch baseline not run: ${reason}` }),
      gemm,
      smallOp: { oursNsPerCall: (oursSmall / calls) * 1e9, torchNsPerCall: torchSmall === null ? null : (torchSmall / calls) * 1e9 },
    };
  } finally {
    await ref?.close();
  }
}
