/**
 * The model-benchmark workloads and our side of them: inference of the fine-tune ViT and one
 * pre-training iteration (forward, loss, backward, AdamW step, zero grad), on the official
 * configurations — or the tiny test presets for smoke runs, clearly labelled "tiny".
 *
 * The PyTorch side (tools/reference/bench_server.py) gets the same configuration as a flat
 * camelCase dict (`referenceConfig`), so both build exactly the same shapes.
 */
import { DualMaskGenerator } from "../masking/index.ts";
import {
  createConfig,
  createModel,
  gridSize,
  modelReport,
  pretrainLoss,
  targetOptions,
  type ModelName,
  type PretrainConfig,
  type PretrainVisionTransformer,
  type VisionTransformer,
  type VitConfig,
} from "../models/index.ts";
import { LayerNorm, type Module } from "../nn/index.ts";
import { AdamW, parameterGroups } from "../optim/index.ts";
import { autocast, deviceType, F, noGrad, randn, tidy, zeros, type Device, type Tensor } from "../torch/index.ts";
import { Rng } from "../util/rng.ts";

export type BenchDtype = "fp32" | "bf16";
export type ModelSize = "s" | "b" | "tiny";
export type WorkloadKind = "inference" | "pretrain";
export type DecoderMask = "run_cell" | "none";

export interface Workload {
  /** e.g. "vit-s infer fp32", "vit-b pretrain-dual bf16", "tiny pretrain-v1 fp32". */
  readonly id: string;
  readonly kind: WorkloadKind;
  readonly size: ModelSize;
  readonly dtype: BenchDtype;
  readonly batch: number;
  /** Pre-training: "run_cell" (V2 dual masking) or "none" (V1: decoder = encoder-masked tokens). */
  readonly decoder?: DecoderMask;
  /** Where it runs ("cpu" when absent). */
  readonly device?: Device;
}

const NAMES: Record<ModelSize, { vit: ModelName; pretrain: ModelName }> = {
  s: { vit: "vit_small_patch16_224", pretrain: "pretrain_videomae_small_patch16_224" },
  b: { vit: "vit_base_patch16_224", pretrain: "pretrain_videomae_base_patch16_224" },
  tiny: { vit: "tiny_test_vit", pretrain: "tiny_test_pretrain" },
};

export function modelName(w: Pick<Workload, "kind" | "size">): ModelName {
  return w.kind === "inference" ? NAMES[w.size].vit : NAMES[w.size].pretrain;
}

export function makeWorkload(kind: WorkloadKind, size: ModelSize, dtype: BenchDtype, decoder?: DecoderMask): Workload {
  const tag = size === "tiny" ? "tiny" : `vit-${size}`;
  if (kind === "inference") return { id: `${tag} infer ${dtype}`, kind, size, dtype, batch: 1 };
  const d = decoder ?? "run_cell";
  return { id: `${tag} pretrain-${d === "run_cell" ? "dual" : "v1"} ${dtype}`, kind, size, dtype, batch: 2, decoder: d };
}

/** Every workload of a run: sizes × (inference, dual, V1) × (fp32, bf16). */
export function workloadList(sizes: ModelSize[]): Workload[] {
  const out: Workload[] = [];
  for (const kind of ["inference", "pretrain"] as const) {
    for (const size of sizes) {
      const decoders: (DecoderMask | undefined)[] = kind === "inference" ? [undefined] : ["run_cell", "none"];
      for (const d of decoders) for (const dtype of ["fp32", "bf16"] as const) out.push(makeWorkload(kind, size, dtype, d));
    }
  }
  return out;
}

export function workloadConfig(w: Workload): VitConfig | PretrainConfig {
  return createConfig(modelName(w)) as VitConfig | PretrainConfig;
}

/** The config as videomae_reference.py's dict (camelCase, flat; decoder fields for pre-training). */
export function referenceConfig(w: Workload): Record<string, number | boolean> {
  const cfg = workloadConfig(w);
  const b = cfg.kind === "vit" ? cfg : cfg.encoder;
  const out: Record<string, number | boolean> = {
    imgSize: b.imgSize,
    numFrames: b.numFrames,
    tubeletSize: b.tubeletSize,
    patchSize: b.patchSize,
    embedDim: b.embedDim,
    depth: b.depth,
    numHeads: b.numHeads,
    mlpRatio: b.mlpRatio,
    initValues: b.initValues,
  };
  if (cfg.kind === "vit") Object.assign(out, { numClasses: cfg.numClasses, useMeanPooling: cfg.useMeanPooling });
  else Object.assign(out, { decoderEmbedDim: cfg.decoderEmbedDim, decoderDepth: cfg.decoderDepth, decoderNumHeads: cfg.decoderNumHeads });
  return out;
}

/**
 * Work per clip, the convention of every GFLOP/s figure: multiply-accumulates of one forward pass
 * from `modelReport` (src/models/counting.ts: matmuls and attention only), FLOP = 2·MAC, and a
 * training iteration counted as 3× its forward (forward + backward for activations and weights).
 * The 3× slightly over-counts pre-training: the patch embedding needs no input gradient.
 */
export function workPerClip(w: Workload): { forwardMacs: number; flop: number; tokens: number; seqLen: number } {
  const r = modelReport(modelName(w), w.kind === "pretrain" ? { encoderRatio: 0.9, decoderRatio: w.decoder === "none" ? 0 : 0.5 } : {});
  const passes = w.kind === "pretrain" ? 3 : 1;
  return { forwardMacs: r.macs.total, flop: 2 * passes * r.macs.total, tokens: r.numTokens, seqLen: r.encoderSeqLen };
}

/** The protocol request both servers answer (bench_server.py / model_worker.ts). */
export function workloadRequest(w: Workload, reps: number, warmup = 1): Record<string, unknown> {
  return {
    op: w.kind === "inference" ? "model_inference" : "pretrain_step",
    size: w.size,
    dtype: w.dtype,
    batch: w.batch,
    ...(w.decoder ? { decoder: w.decoder } : {}),
    reps,
    warmup,
    config: referenceConfig(w),
    ...(w.device && w.device !== "cpu" ? { device: w.device } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Our side

/**
 * True when our LayerNorm cannot take a bf16 input under autocast (libtorch 1.13's CPU autocast
 * leaves layer_norm out of its policy and the kernel rejects bf16 input with float32 weights).
 */
export function layerNormNeedsAutocastShim(): boolean {
  return tidy(() => {
    const ln = new LayerNorm(4);
    try {
      noGrad(() => autocast(() => ln.forward(zeros([1, 4]).to("bfloat16"))));
      return false;
    } catch {
      return true;
    } finally {
      ln.dispose();
    }
  });
}

export const LAYER_NORM_SHIM = "layer_norm input upcast to float32 under autocast (libtorch 1.13 CPU autocast lacks it)";

/** Applies the shim to every LayerNorm of `model`: as if layer_norm were on autocast's fp32 list. */
export function shimLayerNorms(model: Module): number {
  let n = 0;
  for (const [, m] of model.namedModules()) {
    if (!(m instanceof LayerNorm)) continue;
    const ln = m;
    ln.forward = (x: Tensor) => F.layerNorm(x.dtype === "float32" ? x : x.to("float32"), [ln.dim], ln.weight, ln.bias, ln.eps);
    n++;
  }
  return n;
}

/** Runs one phase of a step; the profiler passes a timing version (src/bench/profile.ts). */
export type PhaseFn = <T>(name: string, fn: () => T) => T;
const direct: PhaseFn = (_name, fn) => fn();

export interface OursWorkload {
  readonly info: Record<string, number | string>;
  readonly model: Module;
  /** One repetition; returns a checksum (inference) or the loss (pre-training). */
  step(phase?: PhaseFn): number;
  dispose(): void;
}

/**
 * Builds our model, input, masks and optimizer for a workload. `beforeOptimizer` runs between
 * backward and the optimizer step of a pre-training rep (phase "all_reduce": the data-parallel
 * benchmark averages gradients there).
 */
export function buildOurs(w: Workload, opts: { shim?: boolean; beforeOptimizer?: (model: Module) => void } = {}): OursWorkload {
  const bf16 = w.dtype === "bf16";
  const device = w.device ?? "cpu";
  // CUDA autocast keeps layer_norm in float32 by itself; only 1.13's CPU autocast needs the shim.
  const shimmed = bf16 && device === "cpu" && (opts.shim ?? layerNormNeedsAutocastShim());
  const withPrecision = <T>(f: () => T): T => (bf16 ? autocast(f, "bfloat16", deviceType(device)) : f());
  if (w.kind === "inference") {
    const model = createModel(modelName(w), {}) as VisionTransformer;
    model.eval();
    if (shimmed) shimLayerNorms(model);
    model.to(device);
    const cfg = model.config;
    const x = randn([w.batch, 3, cfg.numFrames, cfg.imgSize, cfg.imgSize], { device });
    return {
      info: { params: model.numParameters(), ...(shimmed ? { shim: LAYER_NORM_SHIM } : {}) },
      model,
      step: (phase = direct) => noGrad(() => tidy(() => phase("forward", () => withPrecision(() => model.forward(x))).float().sum().item())),
      dispose: () => {
        x.dispose();
        model.dispose();
      },
    };
  }
  const model = createModel(modelName(w), {}) as PretrainVisionTransformer;
  model.train();
  if (shimmed) shimLayerNorms(model);
  model.to(device);
  const cfg = model.config;
  const enc = cfg.encoder;
  const x = randn([w.batch, 3, enc.numFrames, enc.imgSize, enc.imgSize], { device });
  const masks = new DualMaskGenerator({
    window: gridSize(cfg),
    encoder: "tube",
    encoderRatio: 0.9,
    ...(w.decoder === "none" ? { decoder: "none" as const } : { decoder: "run_cell" as const, decoderRatio: 0.5 }),
  }).generate(w.batch, new Rng(0));
  const dec = w.decoder === "none" ? undefined : masks.decoder;
  const groups = parameterGroups(model.namedParameters(), { weightDecay: 0.05, skip: ["mask_token", "pos_embed", "cls_token"] });
  const opt = new AdamW(groups, { lr: 1.5e-4, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.05 });
  const topts = targetOptions(cfg);
  return {
    info: {
      params: model.numParameters(),
      visible: masks.numVisible,
      kept: masks.numDecoderKept,
      ...(shimmed ? { shim: LAYER_NORM_SHIM } : {}),
    },
    model,
    step: (phase = direct) => {
      const loss = tidy(() => {
        const l = withPrecision(() => {
          const pred = phase("forward", () => model.forward(x, masks.encoder, dec));
          return phase("loss", () => pretrainLoss(x, pred, masks.encoder, dec, topts).loss);
        });
        phase("backward", () => l.backward()); // outside autocast, as torch: backward ops follow the forward's dtypes
        return l.item();
      });
      if (opts.beforeOptimizer) phase("all_reduce", () => opts.beforeOptimizer!(model));
      phase("optimizer", () => opt.step());
      phase("zero_grad", () => opt.zeroGrad());
      return loss;
    },
    dispose: () => {
      x.dispose();
      opt.zeroGrad();
      for (const t of [...opt.stateDict().expAvg, ...opt.stateDict().expAvgSq]) t?.dispose();
      model.dispose();
    },
  };
}
