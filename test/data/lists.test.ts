// List files (spec §4.1–4.2) and label maps (spec §5.4): formats, path resolution, and errors
// that name the file and line at construction time.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";

import { LabelIndexMap, LabelMapError, ListFileError, mergeLabelledLists, parseLabelNames, parseList, readLabelNames, readList } from "../../src/data/index.ts";
import { tempDir } from "../video/fixtures.ts";

const tmp = tempDir("lists");
after(tmp.cleanup);

describe("list files", () => {
  test("fine-tune `path label`: relative paths resolve against the list's folder, absolute kept, blank lines skipped", () => {
    const dir = join(tmp.dir, "ft");
    mkdirSync(dir);
    writeFileSync(join(dir, "train.csv"), "videos/a.mp4 3\n\n/abs/b.mp4 0\r\nc.mp4\t12  \n\n");
    const entries = readList(join(dir, "train.csv"), "video-label");
    assert.deepEqual(
      entries.map((e) => [e.path, e.label, e.kind, e.line, e.totalFrames]),
      [
        [join(dir, "videos/a.mp4"), 3, "video", 1, -1],
        ["/abs/b.mp4", 0, "video", 3, -1],
        [join(dir, "c.mp4"), 12, "video", 4, -1],
      ],
    );
    assert.equal(entries[0]!.source, join(dir, "train.csv"));
  });

  test("a data root prefixes relative paths (and is itself resolved against the working directory)", () => {
    const e = parseList("x/a.mp4 1\n/abs/b.mp4 2\n", "video-label", { dataRoot: "data/k400", source: "l.csv" });
    assert.equal(e[0]!.path, resolve("data/k400", "x/a.mp4"));
    assert.equal(e[1]!.path, "/abs/b.mp4");
  });

  test("pre-training: `path 0 -1` is a video, `folder start total` a frame folder, V1 `path label` a video", () => {
    const e = parseList("k400/a.mp4 0 -1\nssv2/123 1 48\nold.mp4 7\n", "pretrain", { baseDir: "/d" });
    assert.deepEqual(
      e.map((x) => [x.path, x.kind, x.startIndex, x.totalFrames, x.label]),
      [
        ["/d/k400/a.mp4", "video", null, -1, -1],
        ["/d/ssv2/123", "frames", 1, 48, -1],
        ["/d/old.mp4", "video", null, -1, -1],
      ],
    );
  });

  test("SSv2 frame folders `folder total_frames label`", () => {
    const e = parseList("1234 48 17\n99 30 0\n", "frames-label", { baseDir: "/f" });
    assert.deepEqual(e.map((x) => [x.path, x.kind, x.totalFrames, x.label, x.startIndex]), [
      ["/f/1234", "frames", 48, 17, null],
      ["/f/99", "frames", 30, 0, null],
    ]);
  });

  const bad: [string, string, import("../../src/data/lists.ts").ListFormat, number, RegExp][] = [
    ["missing label", "a.mp4 1\nb.mp4\n", "video-label", 2, /1 field; expected "path label"/],
    ["non-integer label", "a.mp4 1\n\nb.mp4 x\n", "video-label", 3, /not all integers/],
    ["negative label", "a.mp4 -1\n", "video-label", 1, /non-negative/],
    ["frames list read as video list", "f 48 3\n", "video-label", 1, /3 fields/],
    ["label out of range", "a.mp4 1\nb.mp4 5\n", "video-label", 2, /out of range for 5 classes/],
    ["pretrain with 4 fields", "a.mp4 0 -1\nb.mp4 0 -1 9\n", "pretrain", 2, /4 fields/],
    ["frame folder with 0 frames", "f 1 0\n", "pretrain", 1, /total_frames ≥ 1/],
    ["frames-label with a float", "f 4.5 1\n", "frames-label", 1, /not all integers/],
  ];
  for (const [what, text, format, line, re] of bad) {
    test(`malformed (${what}) → ListFileError naming file and line ${line}`, () => {
      const file = join(tmp.dir, `bad-${what.replace(/\W+/g, "_")}.csv`);
      writeFileSync(file, text);
      assert.throws(
        () => readList(file, format, { numClasses: 5 }),
        (err: unknown) => {
          assert.ok(err instanceof ListFileError);
          assert.equal(err.line, line);
          assert.equal(err.file, file);
          assert.ok(err.message.startsWith(`${file}:${line}: `), err.message);
          assert.match(err.message, re);
          return true;
        },
      );
    });
  }

  test("missing or empty list files fail with the file name", () => {
    assert.throws(() => readList(join(tmp.dir, "nope.csv"), "video-label"), /nope\.csv: list file not found/);
    const empty = join(tmp.dir, "empty.csv");
    writeFileSync(empty, "\n\n");
    assert.throws(() => readList(empty, "pretrain"), (e: unknown) => e instanceof ListFileError && /empty/.test(e.message));
  });
});

describe("label names", () => {
  test("text lines, JSON array and JSON {name: index} give the same names", () => {
    const want = ["abseiling", "air drumming", "zumba"];
    assert.deepEqual(parseLabelNames("abseiling\nair drumming\r\nzumba\n\n"), want);
    assert.deepEqual(parseLabelNames(JSON.stringify(want)), want);
    assert.deepEqual(parseLabelNames(JSON.stringify({ zumba: 2, abseiling: 0, "air drumming": 1 })), want);
    const file = join(tmp.dir, "labels.txt");
    writeFileSync(file, want.join("\n"));
    assert.deepEqual(readLabelNames(file), want);
  });

  test("gaps, duplicates and bad indices are errors naming the file", () => {
    assert.throws(() => parseLabelNames("a\n\nb\n", "l.txt"), /l\.txt: line 2 is blank/);
    assert.throws(() => parseLabelNames("a\nb\na\n", "l.txt"), /"a" appears twice \(classes 0 and 2\)/);
    assert.throws(() => parseLabelNames('{"a": 0, "b": 0}', "m.json"), /index 0 is used by "a" and "b"/);
    assert.throws(() => parseLabelNames('{"a": 0, "b": 5}', "m.json"), /"b": index 5 must be an integer in 0\.\.1/);
    assert.throws(() => parseLabelNames("[1, 2", "m.json"), (e: unknown) => e instanceof LabelMapError && /invalid JSON/.test(e.message));
  });
});

describe("label index maps (710 → 400 style)", () => {
  // A 6-class "full" space; the subset's class i is full class indices[i].
  const full = ["a", "b", "c", "d", "e", "f"];
  const subset = ["e", "a", "c"];

  test("gathers head rows and maps labels both ways", () => {
    const map = LabelIndexMap.parse("[4, 0, 2]", "map.json", { fullSize: 6 });
    assert.equal(map.size, 3);
    const weight = Float32Array.from({ length: 6 * 2 }, (_, i) => i); // row r = [2r, 2r+1]
    assert.deepEqual(Array.from(map.gatherRows(weight, 2)), [8, 9, 0, 1, 4, 5]);
    assert.deepEqual(Array.from(map.gatherRows(Float32Array.from([10, 11, 12, 13, 14, 15]), 1)), [14, 10, 12]); // bias
    assert.deepEqual([0, 1, 2].map((l) => map.toFull(l)), [4, 0, 2]);
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((f) => map.fromFull(f)), [1, -1, 2, -1, 0, -1]);
    assert.deepEqual(LabelIndexMap.fromNames(full, subset).toJSON(), [4, 0, 2]);
    assert.throws(() => map.toFull(3), RangeError);
  });

  test("validation: out of range, duplicates, non-integers, unknown names", () => {
    assert.throws(() => LabelIndexMap.parse("[4, 0, 9]", "m.json", { fullSize: 6 }), /m\.json: entry 2 = 9 is out of range for a 6-class/);
    assert.throws(() => LabelIndexMap.parse("[4, 0, 4]", "m.json"), /entries 0 and 2 both map to 4/);
    assert.throws(() => LabelIndexMap.parse("[1, -1]", "m.json"), /entry 1 is -1/);
    assert.throws(() => LabelIndexMap.parse("[1.5]", "m.json"), /entry 0 is 1\.5/);
    assert.throws(() => LabelIndexMap.parse('{"a": 1}', "m.json"), /expected a JSON list/);
    assert.throws(() => LabelIndexMap.parse("[0, 1, 2]", "m.json", { fullSize: 2 }), /smaller than the 3 classes/);
    assert.throws(() => LabelIndexMap.fromNames(full, ["a", "zz"], "k400.txt"), /k400\.txt: class 1 "zz" is not in the full label list/);
  });

  test("merging labelled lists into one label space (K710 style)", () => {
    const k4 = parseList("a.mp4 0\nb.mp4 2\n", "video-label", { source: "k400.csv", baseDir: "/" });
    const k6 = parseList("c.mp4 1\n", "video-label", { source: "k600.csv", baseDir: "/" });
    const merged = mergeLabelledLists([
      { entries: k4, map: new LabelIndexMap([4, 0, 2], { fullSize: 6 }) },
      { entries: k6, map: new LabelIndexMap([5, 3], { fullSize: 6 }) },
    ]);
    assert.deepEqual(merged.map((e) => [e.path, e.label, e.source]), [["/a.mp4", 4, "k400.csv"], ["/b.mp4", 2, "k400.csv"], ["/c.mp4", 3, "k600.csv"]]);
    assert.equal(k4[1]!.label, 2, "inputs unchanged");
    const bad = parseList("x.mp4 7\n", "video-label", { source: "k700.csv", baseDir: "/" });
    assert.throws(() => mergeLabelledLists([{ entries: bad, map: new LabelIndexMap([0, 1]) }]), /k700\.csv: line 1: label 7 is out of range/);
    assert.throws(
      () => mergeLabelledLists([{ entries: k4, map: new LabelIndexMap([0, 1, 2], { fullSize: 6 }) }, { entries: k6, map: new LabelIndexMap([0, 1], { fullSize: 7 }) }]),
      /different label spaces/,
    );
  });
});
