/**
 * AdamW (decoupled weight decay, Loshchilov & Hutter) with parameter groups, as
 * torch.optim.AdamW: per group an lr scale (layer-wise lr decay) and a weight decay.
 *
 * Each step runs one fused native pass per parameter (native/src/ops_nn.cc adamwStep):
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + eps)
 * Parameters without a gradient are skipped (their step count does not advance), as PyTorch.
 */
import { zerosLike } from "../torch/creation.ts";
import { adamwStep } from "../torch/functional.ts";
import { keep } from "../torch/scope.ts";
import type { Tensor } from "../torch/tensor.ts";

export interface ParamGroup {
  params: Tensor[];
  /** Multiplies the optimizer's lr for this group (layer decay). Default 1. */
  lrScale?: number;
  /** Weight decay of this group; default the optimizer's. 0 for biases/norms. */
  weightDecay?: number;
  /** For logs. */
  name?: string;
}

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

interface ParamState {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
}

/** What `stateDict()` returns: per parameter (in group order) its step and moment tensors. */
export interface AdamWState {
  lr: number;
  weightDecay: number;
  steps: number[];
  expAvg: (Tensor | null)[];
  expAvgSq: (Tensor | null)[];
}

export class AdamW {
  readonly groups: Required<ParamGroup>[];
  /** Base learning rate; each group uses lr × its lrScale. Set it every iteration from a schedule. */
  lr: number;
  /** Weight decay applied to groups whose own decay is > 0 (as the official schedule does). */
  weightDecay: number;
  readonly betas: [number, number];
  readonly eps: number;
  private readonly state = new Map<Tensor, ParamState>();

  constructor(params: Tensor[] | ParamGroup[], opts: AdamWOptions) {
    this.lr = opts.lr;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    const groups: ParamGroup[] = params.length && "params" in (params[0] as object) ? (params as ParamGroup[]) : [{ params: params as Tensor[] }];
    this.groups = groups.map((g, i) => ({
      params: g.params,
      lrScale: g.lrScale ?? 1,
      weightDecay: g.weightDecay ?? this.weightDecay,
      name: g.name ?? `group${i}`,
    }));
    const seen = new Set<Tensor>();
    for (const g of this.groups) {
      for (const p of g.params) {
        if (seen.has(p)) throw new Error(`AdamW: a parameter appears in two groups (${g.name})`);
        seen.add(p);
        if (p.dtype !== "float32") throw new TypeError(`AdamW keeps float32 master weights; got a ${p.dtype} parameter in ${g.name}`);
      }
    }
  }

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    const [beta1, beta2] = this.betas;
    for (const g of this.groups) {
      // Official schedule: groups with decay 0 stay 0; the others follow the optimizer's value.
      const wd = g.weightDecay > 0 ? this.weightDecay : 0;
      const lr = this.lr * g.lrScale;
      for (const p of g.params) {
        const grad = p.grad;
        if (!grad) continue;
        let s = this.state.get(p);
        if (!s) {
          s = { step: 0, expAvg: keep(zerosLike(p)), expAvgSq: keep(zerosLike(p)) };
          this.state.set(p, s);
        }
        s.step += 1;
        adamwStep(p, grad, s.expAvg, s.expAvgSq, { lr, beta1, beta2, eps: this.eps, weightDecay: wd, step: s.step });
        grad.dispose();
      }
    }
  }

  /** Clears every gradient (set to none). */
  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) p.zeroGrad();
  }

  /** Every parameter, in group order. */
  params(): Tensor[] {
    return this.groups.flatMap((g) => g.params);
  }

  /** The optimizer state (references to the live moment tensors; serialise them to save). */
  stateDict(): AdamWState {
    const ps = this.params();
    return {
      lr: this.lr,
      weightDecay: this.weightDecay,
      steps: ps.map((p) => this.state.get(p)?.step ?? 0),
      expAvg: ps.map((p) => this.state.get(p)?.expAvg ?? null),
      expAvgSq: ps.map((p) => this.state.get(p)?.expAvgSq ?? null),
    };
  }

  /** Restores a state saved by stateDict() for the same parameter list (values are copied). */
  loadStateDict(st: AdamWState): void {
    const ps = this.params();
    if (st.steps.length !== ps.length) {
      throw new Error(`AdamW.loadStateDict: state has ${st.steps.length} parameters, optimizer has ${ps.length}`);
    }
    this.lr = st.lr;
    this.weightDecay = st.weightDecay;
    ps.forEach((p, i) => {
      const m = st.expAvg[i];
      const v = st.expAvgSq[i];
      if (!m || !v || st.steps[i] === 0) {
        this.state.delete(p);
        return;
      }
      const shape = p.shape;
      if (m.shape.join() !== shape.join() || v.shape.join() !== shape.join()) {
        throw new Error(`AdamW.loadStateDict: moment shape [${m.shape}] does not match parameter ${i} [${shape}]`);
      }
      const s = this.state.get(p) ?? { step: 0, expAvg: keep(zerosLike(p)), expAvgSq: keep(zerosLike(p)) };
      s.step = st.steps[i]!;
      s.expAvg.copy_(m);
      s.expAvgSq.copy_(v);
      this.state.set(p, s);
    });
  }
}
