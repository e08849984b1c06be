/**
 * Multi-view evaluation as the official `merge` does it (spec §4.3): per video, the softmax of
 * each view's logits, averaged over views (clips × crops); then argmax → top-1 / top-5, plus
 * per-class accuracy and a confusion matrix.
 */
export interface VideoPrediction {
  id: string;
  label: number;
  /** Mean of the per-view softmax probabilities. */
  probs: Float32Array;
  views: number;
}

/** Accumulates per-view logits by video id. */
export class ViewAggregator {
  private readonly sums = new Map<string, { label: number; sum: Float64Array; views: number }>();

  constructor(readonly numClasses: number) {}

  /** Adds one view's logits (length numClasses) for a video. */
  add(id: string, label: number, logits: ArrayLike<number>): void {
    if (logits.length !== this.numClasses) throw new RangeError(`logits have ${logits.length} classes, expected ${this.numClasses}`);
    let e = this.sums.get(id);
    if (!e) {
      e = { label, sum: new Float64Array(this.numClasses), views: 0 };
      this.sums.set(id, e);
    }
    const p = softmax(logits);
    for (let k = 0; k < this.numClasses; k++) e.sum[k]! += p[k]!;
    e.views++;
  }

  predictions(): VideoPrediction[] {
    return [...this.sums].map(([id, e]) => ({
      id,
      label: e.label,
      views: e.views,
      probs: Float32Array.from(e.sum, (v) => v / e.views),
    }));
  }
}

export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i]! - max);
  for (let i = 0; i < logits.length; i++) out[i]! /= sum;
  return out;
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topk(values: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i)
    .sort((a, b) => values[b]! - values[a]! || a - b)
    .slice(0, k);
}

export interface EvalReport {
  videos: number;
  top1: number;
  top5: number;
  meanClassAccuracy: number;
  perClassAccuracy: (number | null)[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
}

export function evaluatePredictions(preds: VideoPrediction[], numClasses: number): EvalReport {
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let top1 = 0;
  let top5 = 0;
  for (const p of preds) {
    const best = topk(p.probs, Math.min(5, numClasses));
    if (best[0] === p.label) top1++;
    if (best.includes(p.label)) top5++;
    confusion[p.label]![best[0]!]!++;
  }
  const perClassAccuracy = confusion.map((row, c) => {
    const n = row.reduce((a, b) => a + b, 0);
    return n ? row[c]! / n : null;
  });
  const present = perClassAccuracy.filter((a): a is number => a !== null);
  return {
    videos: preds.length,
    top1: preds.length ? top1 / preds.length : 0,
    top5: preds.length ? top5 / preds.length : 0,
    meanClassAccuracy: present.length ? present.reduce((a, b) => a + b, 0) / present.length : 0,
    perClassAccuracy,
    confusion,
  };
}
