/**
 * The AVA frame-mAP evaluator: hand-computed APs on small cases, and the committed fixture of the
 * Python transcription of ActivityNet's evaluator (tools/reference/ava_map_reference.py).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { AvaFileError, parseAvaCsv, readLabelMap, type AvaRow, type Box } from "../../src/data/ava/csv.ts";
import { averagePrecision, avaFrameMap, avaFrameMapFiles, iou } from "../../src/eval/ava_map.ts";
import { readFileSync } from "node:fs";

// No tensors here: the evaluator needs no addon (helpers.ts would load it).
const fixtures = join(import.meta.dirname, "../fixtures");
const readJson = (...p: string[]) => JSON.parse(readFileSync(join(fixtures, ...p), "utf8"));

const row = (videoId: string, timestamp: number, box: Box, actionId: number, last = 1): AvaRow => ({ videoId, timestamp, box, actionId, last });
const LABELS = [
  { id: 1, name: "a" },
  { id: 2, name: "b" },
  { id: 3, name: "c" },
];
const A: Box = [0.1, 0.1, 0.4, 0.5];
const B: Box = [0.5, 0.2, 0.9, 0.8];

describe("AVA frame-mAP: hand-computed cases", () => {
  test("IoU without +1", () => {
    assert.equal(iou([0, 0, 2, 2], [1, 1, 3, 3]), 1 / 7);
    assert.equal(iou([0, 0, 1, 1], [2, 2, 3, 3]), 0);
  });

  test("a duplicate is a false positive; VOC all-point interpolation", () => {
    const gt = [row("v", 902, A, 1), row("v", 902, B, 1)];
    const det = [row("v", 902, A, 1, 0.9), row("v", 902, A, 1, 0.8), row("v", 902, B, 1, 0.7)];
    // TP, FP, TP → (r, p) = (.5, 1), (.5, .5), (1, 2/3); AP = .5·1 + .5·2/3
    const r = avaFrameMap(gt, det, LABELS, new Set());
    assert.ok(Math.abs(r.perClass[0]!.ap - (0.5 + 0.5 * (2 / 3))) < 1e-12);
    assert.ok(Number.isNaN(r.perClass[1]!.ap)); // no ground truth
    assert.equal(r.mAP, r.perClass[0]!.ap); // nanmean over the one class with ground truth
  });

  test("no fall-back to the second-best ground truth", () => {
    const near: Box = [0.1, 0.1, 0.4, 0.48]; // IoU .95 with A, 0 with B
    const between: Box = [0.1, 0.1, 0.42, 0.5]; // best match A again (taken) → FP although B is free
    const gt = [row("v", 902, A, 2), row("v", 902, [0.1, 0.1, 0.45, 0.5], 2)];
    const det = [row("v", 902, near, 2, 0.9), row("v", 902, between, 2, 0.8)];
    const { perClass } = avaFrameMap(gt, det, LABELS);
    // between's IoU: with A 0.3·0.4/(0.32·0.4)=.9375, with the second box .32/.35=.914 → takes A (taken): FP
    assert.ok(Math.abs(perClass[1]!.ap - 0.5) < 1e-12, String(perClass[1]!.ap));
  });

  test("excluded keyframes, invalid boxes, keyframes without ground truth, classes outside the map", () => {
    const gt = [row("v", 902, A, 3), row("v", 903, A, 3), row("v", 902, A, 9)];
    const det = [
      row("v", 902, A, 3, 0.5), // TP
      row("v", 903, A, 3, 0.99), // excluded keyframe: ignored on both sides
      row("v", 902, [0.4, 0.1, 0.4, 0.5], 3, 0.95), // x1 = x2: dropped
      row("v", 904, A, 3, 0.6), // no ground truth there: FP
      row("v", 902, A, 9, 0.9), // class 9 is not in the label map
    ];
    const r = avaFrameMap(gt, det, LABELS, new Set(["v,0903"]));
    // FP (0.6) then TP (0.5): (r, p) = (0, 0), (1, .5) → AP .5
    assert.equal(r.perClass[2]!.ap, 0.5);
    assert.equal(r.perClass[2]!.groundTruth, 1);
    assert.equal(r.perClass[2]!.detections, 2);
  });

  test("a class with ground truth but no detections scores 0; AP of nothing is NaN", () => {
    assert.equal(averagePrecision([], 3), 0);
    assert.ok(Number.isNaN(averagePrecision([{ score: 1, tp: false }], 0)));
  });

  test("the top-N cap per keyframe keeps the highest scores over all classes", () => {
    const gt = [row("v", 902, A, 1), row("v", 902, B, 2)];
    const det = [row("v", 902, B, 1, 0.9), row("v", 902, A, 1, 0.2), row("v", 902, B, 2, 0.3)];
    assert.equal(avaFrameMap(gt, det, LABELS, new Set(), { capacity: 2 }).perClass[0]!.ap, 0); // A,1 (0.2) cut
    assert.equal(avaFrameMap(gt, det, LABELS, new Set(), { capacity: 0 }).perClass[0]!.ap, 0.5);
  });
});

describe("AVA frame-mAP: ActivityNet transcription fixture", () => {
  const dir = join(fixtures, "ava");
  const files = { groundTruth: join(dir, "groundtruth.csv"), detections: join(dir, "detections.csv"), labelMap: join(dir, "labelmap.pbtxt"), excluded: join(dir, "excluded.csv") };
  const expected = readJson("ava", "expected.json");
  for (const cap of [0, 50]) {
    test(`capacity ${cap}: per-class AP and mAP within 1e-6`, () => {
      const want = expected[`capacity${cap}`];
      const got = avaFrameMapFiles(files, { capacity: cap });
      assert.ok(Math.abs(got.mAP - want.mAP) <= 1e-6, `mAP ${got.mAP} vs ${want.mAP}`);
      want.perClass.forEach((p: { id: number; ap: number | null }, i: number) => {
        assert.equal(got.perClass[i]!.id, p.id);
        if (p.ap === null) assert.ok(Number.isNaN(got.perClass[i]!.ap));
        else assert.ok(Math.abs(got.perClass[i]!.ap - p.ap) <= 1e-6, `class ${p.id}: ${got.perClass[i]!.ap} vs ${p.ap}`);
      });
    });
  }
  test("the fixture's cap changes the result (so the cap is exercised)", () => {
    assert.notEqual(expected.capacity0.mAP, expected.capacity50.mAP);
  });
});

describe("AVA files: errors name the file and line", () => {
  test("bad CSV rows", () => {
    assert.throws(() => parseAvaCsv("gt.csv", "v,902,0,0,1,1,3,0\nv,902,0,0,1\n"), (e: unknown) => e instanceof AvaFileError && /gt\.csv:2: expected 7 or 8 columns/.test(e.message));
    assert.throws(() => parseAvaCsv("gt.csv", "v,902,0,zero,1,1,3\n"), /gt\.csv:1: y1 'zero' is not a number/);
    assert.throws(() => parseAvaCsv("gt.csv", "v,902,0,0,1,1,0\n"), /gt\.csv:1: action_id must be a positive integer/);
  });
  test("label map", () => {
    assert.deepEqual(readLabelMap("m.pbtxt", 'item {\n  name: "bend/bow (at the waist)"\n  id: 1\n}\nitem {\n  name: "x"\n  label_id: 3\n}\n'), [
      { id: 1, name: "bend/bow (at the waist)" },
      { id: 3, name: "x" },
    ]);
    assert.throws(() => readLabelMap("m.pbtxt", "nothing"), /m\.pbtxt: no items/);
    assert.throws(() => parseAvaCsv("/no/such/file.csv"), /file\.csv: cannot read \(ENOENT\)/);
  });
});
