/**
 * The official per-iteration cosine schedule (VideoMAE utils.cosine_scheduler, spec §5.1):
 * linear warm-up from `startWarmupValue` (0 in practice: the scaled warmup_lr is never used)
 * to `base` over warmupEpochs·itersPerEpoch steps — numpy linspace, both ends inclusive — then
 * a half cosine from `base` to `final` over the remaining steps.
 *
 *   cosineSchedule({ base: 1e-3, final: 1e-6, epochs: 10, itersPerEpoch: 100, warmupEpochs: 1 })
 *   // → Float64Array(1000): [0, 1.0101e-5, …, 1e-3 (step 99), 1e-3 (step 100), …, ≈1e-6]
 */
export interface CosineScheduleOptions {
  base: number;
  final: number;
  epochs: number;
  itersPerEpoch: number;
  warmupEpochs?: number;
  /** Overrides warmupEpochs·itersPerEpoch when > 0 (the official `warmup_steps`). */
  warmupSteps?: number;
  startWarmupValue?: number;
}

export function cosineSchedule(o: CosineScheduleOptions): Float64Array {
  const total = o.epochs * o.itersPerEpoch;
  const warmup = o.warmupSteps && o.warmupSteps > 0 ? o.warmupSteps : Math.trunc((o.warmupEpochs ?? 0) * o.itersPerEpoch);
  if (warmup > total) throw new RangeError(`cosineSchedule: ${warmup} warm-up steps exceed the ${total} total steps`);
  const start = o.startWarmupValue ?? 0;
  const out = new Float64Array(total);
  for (let i = 0; i < warmup; i++) {
    // numpy.linspace(start, base, warmup): endpoint included.
    out[i] = warmup === 1 ? start : start + ((o.base - start) * i) / (warmup - 1);
  }
  const rest = total - warmup;
  for (let i = 0; i < rest; i++) {
    out[warmup + i] = o.final + 0.5 * (o.base - o.final) * (1 + Math.cos((Math.PI * i) / rest));
  }
  return out;
}
