"""Fixture for test/eval/ava_map.test.ts: a transcription of ActivityNet's AVA frame-mAP
(Evaluation/get_ava_performance.py: read_csv with its top-k heap, read_labelmap, excluded keys)
and of the TF object-detection Pascal evaluator pieces it runs (per-image greedy matching after a
score sort, VOC all-point AP, nanmean), written from their documented behaviour with numpy only.

Run once with /usr/bin/python3 (numpy); writes test/fixtures/ava/{groundtruth,detections,
excluded}.csv, labelmap.pbtxt and expected.json. Scores are distinct, so the unstable numpy sort
of the reference cannot order ties differently from ours.
"""
import csv
import heapq
import json
import os
from collections import defaultdict

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "../../test/fixtures/ava")


def make_key(video_id, timestamp):
    return "%s,%04d" % (video_id, int(timestamp))


def read_csv(path, class_whitelist, capacity=0):
    entries = defaultdict(list)
    boxes, labels, scores = defaultdict(list), defaultdict(list), defaultdict(list)
    with open(path) as f:
        for row in csv.reader(f):
            assert len(row) in (7, 8)
            key = make_key(row[0], row[1])
            x1, y1, x2, y2 = [float(n) for n in row[2:6]]
            action_id = int(row[6])
            if class_whitelist and action_id not in class_whitelist:
                continue
            score = float(row[7]) if len(row) == 8 else 1.0
            if capacity < 1 or len(entries[key]) < capacity:
                heapq.heappush(entries[key], (score, action_id, y1, x1, y2, x2))
            elif score > entries[key][0][0]:
                heapq.heapreplace(entries[key], (score, action_id, y1, x1, y2, x2))
    for key in entries:
        for score, action_id, y1, x1, y2, x2 in sorted(entries[key], key=lambda t: -t[0]):
            boxes[key].append([y1, x1, y2, x2])
            labels[key].append(action_id)
            scores[key].append(score)
    return boxes, labels, scores


def read_labelmap(path):
    out, name = [], ""
    for line in open(path):
        if line.startswith("  name:"):
            name = line.split('"')[1]
        elif line.startswith("  id:") or line.startswith("  label_id:"):
            out.append({"id": int(line.strip().split(" ")[-1]), "name": name})
    return out


def iou(a, b):  # [M,4], [N,4] in (y1,x1,y2,x2), no +1
    ya1, xa1, ya2, xa2 = np.split(a, 4, axis=1)
    yb1, xb1, yb2, xb2 = np.split(b, 4, axis=1)
    ih = np.maximum(0.0, np.minimum(ya2, yb2.T) - np.maximum(ya1, yb1.T))
    iw = np.maximum(0.0, np.minimum(xa2, xb2.T) - np.maximum(xa1, xb1.T))
    inter = ih * iw
    area_a = (ya2 - ya1) * (xa2 - xa1)
    area_b = (yb2 - yb1) * (xb2 - xb1)
    return inter / (area_a + area_b.T - inter)


def tp_fp_single_class(det_boxes, det_scores, gt_boxes, thresh=0.5):
    valid = np.logical_and(det_boxes[:, 0] < det_boxes[:, 2], det_boxes[:, 1] < det_boxes[:, 3])
    det_boxes, det_scores = det_boxes[valid], det_scores[valid]
    if det_boxes.shape[0] == 0:
        return np.array([]), np.array([], dtype=bool)
    order = np.argsort(det_scores)[::-1]  # sort_by_field, then NMS at IoU 1.0 = no suppression
    det_boxes, det_scores = det_boxes[order], det_scores[order]
    tp = np.zeros(det_boxes.shape[0], dtype=bool)
    if gt_boxes.shape[0] == 0:
        return det_scores, tp
    m = iou(det_boxes, gt_boxes)
    best = np.argmax(m, axis=1)
    taken = np.zeros(gt_boxes.shape[0], dtype=bool)
    for i in range(det_boxes.shape[0]):
        g = best[i]
        if m[i, g] >= thresh and not taken[g]:
            tp[i] = True
            taken[g] = True
    return det_scores, tp


def average_precision(scores, tp, num_gt):
    if num_gt == 0:
        return float("nan")
    if scores.size == 0:
        return 0.0
    order = np.argsort(scores)[::-1]
    tpl = tp[order].astype(float)
    cum_tp = np.cumsum(tpl)
    cum_fp = np.cumsum(1 - tpl)
    precision = cum_tp / (cum_tp + cum_fp)
    recall = cum_tp / num_gt
    recall = np.concatenate([[0], recall, [1]])
    precision = np.concatenate([[0], precision, [0]])
    for i in range(len(precision) - 2, -1, -1):
        precision[i] = max(precision[i], precision[i + 1])
    idx = np.where(recall[1:] != recall[:-1])[0] + 1
    return float(np.sum((recall[idx] - recall[idx - 1]) * precision[idx]))


def evaluate(gt_path, det_path, labelmap_path, excluded_path, capacity):
    cats = read_labelmap(labelmap_path)
    whitelist = set(c["id"] for c in cats)
    excluded = set(make_key(r[0], r[1]) for r in csv.reader(open(excluded_path)))
    gb, gl, _ = read_csv(gt_path, whitelist, 0)
    db, dl, ds = read_csv(det_path, whitelist, capacity)
    num_gt = defaultdict(int)
    scores, tps = defaultdict(list), defaultdict(list)
    gt_keys = set(k for k in gb if k not in excluded)
    for k in gt_keys:
        for c in gl[k]:
            num_gt[c] += 1
    for k in db:
        if k in excluded:
            continue
        d_boxes, d_labels, d_scores = np.array(db[k]), np.array(dl[k]), np.array(ds[k])
        g_boxes = np.array(gb[k]).reshape(-1, 4) if k in gt_keys else np.zeros((0, 4))
        g_labels = np.array(gl[k]) if k in gt_keys else np.zeros(0, dtype=int)
        for c in whitelist:
            sel = d_labels == c
            if not sel.any():
                continue
            s, t = tp_fp_single_class(d_boxes[sel], d_scores[sel], g_boxes[g_labels == c])
            scores[c].append(s)
            tps[c].append(t)
    per = []
    for cat in cats:
        c = cat["id"]
        s = np.concatenate(scores[c]) if scores[c] else np.array([])
        t = np.concatenate(tps[c]) if tps[c] else np.array([], dtype=bool)
        per.append({"id": c, "ap": average_precision(s, t, num_gt[c])})
    aps = np.array([p["ap"] for p in per])
    return {"mAP": float(np.nanmean(aps)), "perClass": [{"id": p["id"], "ap": None if np.isnan(p["ap"]) else p["ap"]} for p in per]}


def make_case(rng):
    """Three videos × a few keyframes; overlapping GT, duplicates, invalid and far-off boxes,
    a keyframe with 70 detections (past the top-50 cap), classes outside the label map."""
    classes = [1, 3, 4, 7, 9]  # label map; 2 and 5 appear in the files but are not evaluated
    gt, det = [], []
    keys = [("vidA", t) for t in (902, 903, 904)] + [("vidB", t) for t in (902, 905)] + [("vid_C-1", 1000)]
    used = set()

    def score(lo=0.001, hi=0.999):
        while True:
            s = round(float(rng.uniform(lo, hi)), 6)
            if s not in used:
                used.add(s)
                return s

    for vid, ts in keys:
        people = [np.sort(rng.uniform(0, 1, 2)) for _ in range(rng.randint(1, 4))]
        people = [(float(x[0]), float(y[0]), float(x[1]), float(y[1])) for x, y in ((p, np.sort(rng.uniform(0, 1, 2))) for p in people)]
        for pid, b in enumerate(people):
            for c in rng.choice([1, 2, 3, 4, 5, 7, 9], size=rng.randint(1, 4), replace=False):
                gt.append([vid, ts, *b, int(c), pid])
        crowded = (vid, ts) == ("vidA", 903)  # 60 high-scored misses, then hits the top-50 cap drops
        n_det = 75 if crowded else rng.randint(3, 15)
        for i in range(n_det):
            kind = (3 if i < 60 else 0) if crowded else rng.randint(0, 5)
            if kind <= 2 and people:  # jittered GT box
                b = np.array(people[rng.randint(len(people))]) + rng.normal(0, 0.04, 4)
            elif kind == 3:  # random box, sometimes invalid (x1 ≥ x2)
                b = rng.uniform(0, 1, 4)
            else:  # exact duplicate of a GT box
                b = np.array(people[0])
            det.append([vid, ts, *[float(v) for v in b], int(rng.choice([1, 2, 3, 4, 7, 9])), score(0.5, 0.999) if crowded and i < 60 else score(0.001, 0.5) if crowded else score()])
    # a keyframe with detections but no ground truth
    for _ in range(4):
        det.append(["vidB", 906, *[float(v) for v in np.sort(rng.uniform(0, 1, 4))], 1, score()])
    return classes, gt, det, [("vidB", 905)]


def main():
    rng = np.random.RandomState(20261202)
    classes, gt, det, excluded = make_case(rng)
    os.makedirs(OUT, exist_ok=True)
    fmt = lambda r: "%s,%04d,%.6f,%.6f,%.6f,%.6f,%d,%s" % (r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] if isinstance(r[7], int) else "%.6f" % r[7])
    open(os.path.join(OUT, "groundtruth.csv"), "w").write("".join(fmt(r) + "\n" for r in gt))
    open(os.path.join(OUT, "detections.csv"), "w").write("".join(fmt(r) + "\n" for r in det))
    open(os.path.join(OUT, "excluded.csv"), "w").write("".join("%s,%04d\n" % e for e in excluded))
    names = {1: "bend/bow (at the waist)", 3: "crouch/kneel", 4: "dance", 7: "jump/leap", 9: "lie/sleep"}
    open(os.path.join(OUT, "labelmap.pbtxt"), "w").write("".join('item {\n  name: "%s"\n  id: %d\n}\n' % (names[c], c) for c in classes))
    p = lambda f: os.path.join(OUT, f)
    expected = {
        "capacity0": evaluate(p("groundtruth.csv"), p("detections.csv"), p("labelmap.pbtxt"), p("excluded.csv"), 0),
        "capacity50": evaluate(p("groundtruth.csv"), p("detections.csv"), p("labelmap.pbtxt"), p("excluded.csv"), 50),
    }
    json.dump(expected, open(p("expected.json"), "w"), indent=1)
    print(json.dumps(expected))


if __name__ == "__main__":
    main()
