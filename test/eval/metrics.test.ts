import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { evaluatePredictions, softmax, topk, ViewAggregator } from "../../src/eval/metrics.ts";
import { assertClose } from "../helpers.ts";

describe("multi-view aggregation", () => {
  test("softmax per view, then the mean over views (not the mean of logits)", () => {
    const agg = new ViewAggregator(3);
    agg.add("v", 2, [10, 0, 0]); // confident class 0
    agg.add("v", 2, [0, 1, 1.2]); // mild preference for class 2
    agg.add("v", 2, [0, 1, 1.2]);
    const [p] = agg.predictions();
    const a = softmax([10, 0, 0]);
    const b = softmax([0, 1, 1.2]);
    assertClose(p!.probs, [0, 1, 2].map((k) => (a[k]! + 2 * b[k]!) / 3), 1e-6, 1e-6, "mean of softmaxes");
    assert.equal(p!.views, 3);
    // A case where the two rules disagree: one very confident view against three mild ones.
    const agg2 = new ViewAggregator(2);
    agg2.add("w", 1, [8, 0]);
    for (let i = 0; i < 3; i++) agg2.add("w", 1, [0, 1]);
    const q = agg2.predictions()[0]!.probs;
    assert.ok(q[1]! > q[0]!, "three mildly confident views outvote one very confident view under softmax averaging");
    assert.ok((8 + 0) / 4 > 3 / 4, "while the mean logit would still favour class 0");
  });

  test("top-1/top-5, per-class accuracy and confusion", () => {
    const preds = [
      { id: "a", label: 0, views: 1, probs: Float32Array.from([0.7, 0.2, 0.1, 0, 0, 0]) },
      { id: "b", label: 1, views: 1, probs: Float32Array.from([0.5, 0.4, 0.1, 0, 0, 0]) },
      { id: "c", label: 5, views: 1, probs: Float32Array.from([0.3, 0.2, 0.1, 0.2, 0.15, 0.05]) },
    ];
    const r = evaluatePredictions(preds, 6);
    assert.equal(r.top1, 1 / 3);
    assert.equal(r.top5, 2 / 3); // c's true class is ranked 6th
    assert.deepEqual(r.confusion[1], [1, 0, 0, 0, 0, 0]);
    assert.deepEqual(r.perClassAccuracy, [1, 0, null, null, null, 0]);
    assert.deepEqual(topk([0.1, 0.5, 0.5, 0.2], 3), [1, 2, 3]);
  });
});
