/**
 * Frame-mAP@0.5 of AVA action detection, as ActivityNet's `get_ava_performance.py` computes it
 * with the TF object-detection Pascal evaluator (spec §4):
 *
 *  1. read ground truth and detections, keep only the label map's classes; optionally keep only
 *     the top `capacity` (box, class) rows by score per keyframe (ActivityNet: 50; the VideoMAE
 *     detection code: no cap); skip excluded keyframes on both sides;
 *  2. per keyframe and class: drop detections with x1 ≥ x2 or y1 ≥ y2, sort by score, and match
 *     greedily — each detection takes its highest-IoU ground-truth box; TP iff IoU ≥ 0.5 and that
 *     box is still unmatched, otherwise FP (a duplicate stays FP, there is no fall-back to the
 *     second-best box); on keyframes without ground truth of the class every detection is FP;
 *  3. per class: all detections sorted by score → precision/recall (recall over #GT) → VOC
 *     all-point AP (precision made non-increasing from the right, Σ Δrecall·precision); a class
 *     without ground truth is NaN, one with ground truth but no detections 0;
 *  4. mAP = mean over the classes that are not NaN.
 *
 * Ties in score: the reference sorts with numpy's (unstable) quicksort, so their order there is an
 * implementation accident; here ties keep file order (stable sort). Scores from a network almost
 * never tie.
 */
import { iou } from "../data/ava/boxes.ts";
import { keyframeKey, parseAvaCsv, readExcluded, readLabelMap, type AvaRow, type Box, type LabelMapEntry } from "../data/ava/csv.ts";

export interface AvaMapOptions {
  /** Keep the top-N (box, class) rows by score per keyframe of the detections; 0 = no cap. */
  capacity?: number;
  iouThreshold?: number;
}

export interface AvaMapResult {
  /** nanmean of `perClass`. */
  mAP: number;
  /** AP per label-map class (NaN: no ground truth), in label-map order. */
  perClass: { id: number; name: string; ap: number; groundTruth: number; detections: number }[];
}

interface Scored {
  box: Box;
  score: number;
}

/** keyframe → class → boxes. */
type Grouped = Map<string, Map<number, Scored[]>>;

function push(g: Grouped, key: string, cls: number, s: Scored): void {
  let byClass = g.get(key);
  if (!byClass) g.set(key, (byClass = new Map()));
  let list = byClass.get(cls);
  if (!list) byClass.set(cls, (list = []));
  list.push(s);
}

/**
 * Groups rows by keyframe and class after the class filter and the optional per-keyframe cap.
 * The cap follows ActivityNet's heap: a row enters a full keyframe only with a score strictly
 * above the lowest kept one, which it then replaces (the lowest by (score, class, y1, x1, y2, x2)).
 */
function group(rows: readonly AvaRow[], classes: ReadonlySet<number>, capacity: number, isDetection: boolean): Grouped {
  const kept = new Map<string, AvaRow[]>();
  const order = (a: AvaRow, b: AvaRow) =>
    a.last - b.last || a.actionId - b.actionId || a.box[1] - b.box[1] || a.box[0] - b.box[0] || a.box[3] - b.box[3] || a.box[2] - b.box[2];
  for (const r of rows) {
    if (!classes.has(r.actionId)) continue;
    const key = keyframeKey(r.videoId, r.timestamp);
    let list = kept.get(key);
    if (!list) kept.set(key, (list = []));
    if (capacity < 1 || list.length < capacity) list.push(r);
    else {
      let low = 0;
      for (let i = 1; i < list.length; i++) if (order(list[i]!, list[low]!) < 0) low = i;
      if (r.last > list[low]!.last) list[low] = r;
    }
  }
  const g: Grouped = new Map();
  for (const [key, list] of kept) for (const r of list) push(g, key, r.actionId, { box: r.box, score: isDetection ? r.last : 1 });
  return g;
}

export { iou };

/** TP/FP labels of one keyframe's detections of one class (step 2), in score order. */
export function matchKeyframe(detections: readonly Scored[], groundTruth: readonly Box[], threshold = 0.5): { score: number; tp: boolean }[] {
  const valid = detections.filter((d) => d.box[0] < d.box[2] && d.box[1] < d.box[3]);
  const sorted = [...valid].sort((a, b) => b.score - a.score);
  const taken = new Array<boolean>(groundTruth.length).fill(false);
  return sorted.map((d) => {
    if (!groundTruth.length) return { score: d.score, tp: false };
    let best = 0;
    let bestIou = -Infinity;
    groundTruth.forEach((g, j) => {
      const v = iou(d.box, g);
      if (v > bestIou) [best, bestIou] = [j, v]; // first maximum, as numpy's argmax
    });
    if (bestIou >= threshold && !taken[best]) {
      taken[best] = true;
      return { score: d.score, tp: true };
    }
    return { score: d.score, tp: false };
  });
}

/** VOC all-point average precision of labelled detections against `numGt` ground-truth boxes (step 3). */
export function averagePrecision(labelled: readonly { score: number; tp: boolean }[], numGt: number): number {
  if (numGt === 0) return NaN;
  if (!labelled.length) return 0;
  const sorted = [...labelled].sort((a, b) => b.score - a.score);
  const recall = [0];
  const precision = [0];
  let tp = 0;
  sorted.forEach((d, i) => {
    if (d.tp) tp++;
    recall.push(tp / numGt);
    precision.push(tp / (i + 1));
  });
  recall.push(1);
  precision.push(0);
  for (let i = precision.length - 2; i >= 0; i--) precision[i] = Math.max(precision[i]!, precision[i + 1]!);
  let ap = 0;
  for (let i = 1; i < recall.length; i++) if (recall[i] !== recall[i - 1]) ap += (recall[i]! - recall[i - 1]!) * precision[i]!;
  return ap;
}

/** Frame-mAP of detection rows against ground-truth rows over the label map's classes. */
export function avaFrameMap(
  groundTruth: readonly AvaRow[],
  detections: readonly AvaRow[],
  labelMap: readonly LabelMapEntry[],
  excluded: ReadonlySet<string> = new Set(),
  o: AvaMapOptions = {},
): AvaMapResult {
  const classes = new Set(labelMap.map((e) => e.id));
  const gt = group(groundTruth, classes, 0, false);
  const det = group(detections, classes, o.capacity ?? 0, true);
  for (const k of excluded) gt.delete(k), det.delete(k);
  const labelled = new Map<number, { score: number; tp: boolean }[]>();
  const numGt = new Map<number, number>();
  for (const byClass of gt.values()) for (const [c, boxes] of byClass) numGt.set(c, (numGt.get(c) ?? 0) + boxes.length);
  for (const [key, byClass] of det) {
    for (const [c, ds] of byClass) {
      const gtBoxes = (gt.get(key)?.get(c) ?? []).map((g) => g.box);
      let list = labelled.get(c);
      if (!list) labelled.set(c, (list = []));
      list.push(...matchKeyframe(ds, gtBoxes, o.iouThreshold ?? 0.5));
    }
  }
  const perClass = labelMap.map((e) => ({
    id: e.id,
    name: e.name,
    ap: averagePrecision(labelled.get(e.id) ?? [], numGt.get(e.id) ?? 0),
    groundTruth: numGt.get(e.id) ?? 0,
    detections: labelled.get(e.id)?.length ?? 0,
  }));
  const finite = perClass.filter((p) => !Number.isNaN(p.ap));
  return { mAP: finite.length ? finite.reduce((s, p) => s + p.ap, 0) / finite.length : NaN, perClass };
}

/** avaFrameMap on files: ground-truth CSV, detections CSV, pbtxt label map, optional excluded CSV. */
export function avaFrameMapFiles(files: { groundTruth: string; detections: string; labelMap: string; excluded?: string | null }, o: AvaMapOptions = {}): AvaMapResult {
  return avaFrameMap(parseAvaCsv(files.groundTruth), parseAvaCsv(files.detections), readLabelMap(files.labelMap), readExcluded(files.excluded), o);
}

/** The report: mAP and one line per class (AP, #GT, #detections). */
export function formatAvaMap(r: AvaMapResult): string {
  const lines = [`frame-mAP@0.5: ${(100 * r.mAP).toFixed(2)} % over ${r.perClass.filter((p) => !Number.isNaN(p.ap)).length} classes with ground truth`];
  const w = Math.max(...r.perClass.map((p) => p.name.length));
  for (const p of r.perClass) {
    lines.push(`  ${String(p.id).padStart(3)} ${p.name.padEnd(w)}  AP ${Number.isNaN(p.ap) ? "   n/a" : (100 * p.ap).toFixed(2).padStart(6)}  gt ${p.groundTruth}  det ${p.detections}`);
  }
  return lines.join("\n");
}
