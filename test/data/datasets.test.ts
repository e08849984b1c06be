// Datasets on tiny generated videos whose frames show their index. With augmentations that are
// the identity (full-frame crops at the input size, no flip/RandAugment/erasing, no
// normalisation) the float views still show which frames were sampled, so sampling is checked
// end to end; with the real augmentations shapes, dtypes, masks and determinism are checked.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import {
  datasetFromSpec,
  HybridDataset,
  PretrainDataset,
  RawFrameClsDataset,
  sampleRng,
  Stream,
  VideoClsDataset,
  type SampleKey,
} from "../../src/data/index.ts";
import { denseTestClips, denseTrainIndices, denseValIndices, pretrainIndices, segmentTestClips, segmentValIndices } from "../../src/data/samplers.ts";
import { FfmpegReader } from "../../src/video/index.ts";
import { clipIndices, tempDir } from "../video/fixtures.ts";
import { indexFrameFolder, indexVideo, viewIndices, writeList } from "./data-fixtures.ts";

const tmp = tempDir("datasets");
after(tmp.cleanup);
const key = (position: number, epoch = 0, seed = 7): SampleKey => ({ seed, epoch, position, attempt: 0 });
const IDENTITY_AUG = { scale: [1, 1] as const, ratio: [1, 1] as const, flip: false, randAug: false, erasing: false as const, norm: "none" as const };

before(async () => {
  await Promise.all([indexVideo(join(tmp.dir, "v40.mp4"), 40), indexVideo(join(tmp.dir, "v23.mp4"), 23), indexFrameFolder(join(tmp.dir, "ff48"), 48)]);
  writeList(tmp.dir, "train.csv", ["v40.mp4 1", "v23.mp4 0"]);
  writeList(tmp.dir, "ssv2.csv", ["ff48 48 2"]);
  writeList(tmp.dir, "pretrain.csv", ["v40.mp4 0 -1", "ff48 1 48"]);
});

describe("VideoClsDataset (dense sampling)", () => {
  const base = { list: "", numFrames: 8, samplingRate: 2, inputSize: 32, augment: IDENTITY_AUG };

  test("validation: the centred linspace window, one view, label, float32 (C, T, H, W)", async () => {
    const ds = new VideoClsDataset({ ...base, list: join(tmp.dir, "train.csv"), mode: "validation" });
    assert.equal(ds.numItems, 2);
    assert.equal(ds.viewsPerSample, 1);
    for (const [item, frames, label] of [[0, 40, 1], [1, 23, 0]] as const) {
      const s = await ds.load(item, key(item));
      assert.deepEqual(s.shape, [3, 8, 32, 32]);
      assert.ok(s.video instanceof Float32Array && s.video.length === 3 * 8 * 32 * 32);
      assert.equal(s.label, label);
      assert.equal(s.encoderMask, null);
      assert.deepEqual(viewIndices(s.video, 0, s.shape), denseValIndices(frames, { numFrames: 8, rate: 2 }));
    }
  });

  test("train: numSample views of one temporal clip; frames = denseTrainIndices drawn from the clip stream", async () => {
    const ds = new VideoClsDataset({ ...base, list: join(tmp.dir, "train.csv"), mode: "train", numSample: 3 });
    assert.ok(ds.shuffleByDefault);
    for (const position of [0, 1, 2, 3]) {
      const s = await ds.load(0, key(position));
      assert.equal(s.numViews, 3);
      const want = denseTrainIndices(40, { numFrames: 8, rate: 2 }, sampleRng(key(position), Stream.clip));
      assert.deepEqual(ds.frameIndices(0, 40, key(position)), want);
      for (let v = 0; v < 3; v++) assert.deepEqual(viewIndices(s.video, v, s.shape), want, `position ${position} view ${v}`);
    }
  });

  test("train with the real augmentation: views differ, same key → same bytes, rebuilt-from-spec dataset agrees", async () => {
    const ds = new VideoClsDataset({ list: join(tmp.dir, "train.csv"), mode: "train", numFrames: 8, samplingRate: 2, inputSize: 24, numSample: 2 });
    const a = await ds.load(1, key(5));
    const b = await ds.load(1, key(5));
    assert.deepEqual(a.shape, [3, 8, 24, 24]);
    assert.deepEqual(a.video, b.video);
    const per = a.video.length / 2;
    assert.notDeepEqual(a.video.subarray(0, per), a.video.subarray(per));
    const copy = await datasetFromSpec(structuredClone(ds.toSpec()));
    assert.deepEqual((await copy.load(1, key(5))).video, a.video);
    assert.notDeepEqual((await ds.load(1, key(5, 1))).video, a.video, "another epoch draws again");
  });

  test("test: items are (video, clip) pairs with 3 crops each, exact-stride clips", async () => {
    const ds = new VideoClsDataset({ ...base, list: join(tmp.dir, "train.csv"), mode: "test", testNumClips: 3 });
    assert.equal(ds.numItems, 6);
    assert.equal(ds.viewsPerSample, 3);
    const clips = denseTestClips(23, { numFrames: 8, rate: 2, numClips: 3 });
    for (let clip = 0; clip < 3; clip++) {
      const s = await ds.load(3 + clip, key(0));
      assert.deepEqual([s.entry, s.clip, s.numViews, s.label], [1, clip, 3, 0]);
      for (let v = 0; v < 3; v++) assert.deepEqual(viewIndices(s.video, v, s.shape), clips[clip]);
    }
  });

  test("label maps are applied at construction and checked against numClasses", () => {
    const ds = new VideoClsDataset({ list: join(tmp.dir, "train.csv"), mode: "validation", labelMap: [5, 9], numClasses: 10 });
    assert.deepEqual(ds.entries.map((e) => e.label), [9, 5]);
    assert.throws(() => new VideoClsDataset({ list: join(tmp.dir, "train.csv"), mode: "validation", numClasses: 1 }), /train\.csv:1: label 1 is out of range for 1 classes/);
    assert.throws(() => new VideoClsDataset({ list: join(tmp.dir, "train.csv"), mode: "validation", labelMap: [3] }), /label 1 is out of range for the 1-class label map/);
  });
});

describe("RawFrameClsDataset (segment sampling, frame folders)", () => {
  test("validation takes segment centres; test takes segment starts and mid-points; list frame counts are used", async () => {
    const opts = { list: join(tmp.dir, "ssv2.csv"), numFrames: 8, inputSize: 32, augment: IDENTITY_AUG };
    const val = new RawFrameClsDataset({ ...opts, mode: "validation" });
    assert.equal(val.options.sampling, "segment");
    assert.equal(val.options.augment.flip, false);
    const s = await val.load(0, key(0));
    assert.equal(s.label, 2);
    assert.deepEqual(viewIndices(s.video, 0, s.shape), segmentValIndices(48, { numSegments: 8 }));

    const testDs = new RawFrameClsDataset({ ...opts, mode: "test" });
    assert.equal(testDs.numItems, 2, "2 test clips by default for segment sampling");
    const clips = segmentTestClips(48, { numSegments: 8, numClips: 2 });
    for (let clip = 0; clip < 2; clip++) {
      const t = await testDs.load(clip, key(0));
      assert.deepEqual(viewIndices(t.video, 2, t.shape), clips[clip]);
    }
  });
});

describe("PretrainDataset / HybridDataset", () => {
  test("one clip at an exact stride, numSample views each with its own masks; videos and frame folders", async () => {
    const ds = new PretrainDataset({
      list: join(tmp.dir, "pretrain.csv"),
      numFrames: 8,
      samplingRate: 2,
      inputSize: 32,
      numSample: 3,
      masking: { patchSize: 8, tubeletSize: 2 },
      transform: { scales: [1], norm: "none" },
    });
    const counts = ds.masks!.counts;
    assert.equal(counts.numTokens, 4 * 4 * 4);
    for (const [item, frames] of [[0, 40], [1, 48]] as const) {
      const s = await ds.load(item, key(item + 10));
      assert.equal(s.label, -1);
      assert.deepEqual(s.shape, [3, 8, 32, 32]);
      const want = pretrainIndices(frames, { numFrames: 8, stride: 2 }, sampleRng(key(item + 10), Stream.clip));
      for (let v = 0; v < 3; v++) assert.deepEqual(viewIndices(s.video, v, s.shape), want);
      assert.equal(s.encoderMask!.length, 3 * 64);
      const rows = [0, 1, 2].map((v) => s.encoderMask!.subarray(v * 64, (v + 1) * 64));
      for (let v = 0; v < 3; v++) {
        assert.equal(64 - rows[v]!.reduce((a, b) => a + b, 0), counts.numVisible);
        const dec = s.decoderMask!.subarray(v * 64, (v + 1) * 64);
        assert.equal(64 - dec.reduce((a, b) => a + b, 0), counts.numDecoderKept);
      }
      assert.ok(rows.some((r) => r.join() !== rows[0]!.join()), "views draw their own masks");
    }
  });

  test("stride: SomethingV2 paths use 2, a source stride overrides", () => {
    const entries = [{ path: "/x/SomethingV2/1", kind: "frames" as const, label: -1, totalFrames: 40, startIndex: 1, source: "l", line: 1 }];
    assert.equal(new PretrainDataset({ entries }).strideOf(0), 2);
    assert.equal(new PretrainDataset({ entries: [{ ...entries[0]!, path: "/k400/a.mp4" }] }).strideOf(0), 4);
    assert.equal(new PretrainDataset({ entries, stride: 3 }).strideOf(0), 3);
  });

  test("hybrid mix: weights give the epoch proportions; the order is deterministic under the seed", () => {
    const fake = (name: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({ path: `/${name}/${i}.mp4`, kind: "video" as const, label: -1, totalFrames: -1, startIndex: null, source: name, line: i + 1 }));
    const ds = new HybridDataset({
      sources: [
        { name: "k710", entries: fake("k710", 40), weight: 1 },
        { name: "ssv2", entries: fake("ssv2", 10), weight: 2 },
        { name: "ava", entries: fake("ava", 40), weight: 0.25 },
        { name: "off", entries: fake("off", 5), weight: 0 },
      ],
      masking: false,
    });
    assert.deepEqual(
      ds.mix().map((m) => [m.name, m.perEpoch, m.fraction]),
      [["k710", 40, 40 / 70], ["ssv2", 20, 20 / 70], ["ava", 10, 10 / 70], ["off", 0, 0]],
    );
    const sourceOf = (item: number) => ds.describe(item).source;
    for (const epoch of [0, 1]) {
      const order = ds.epochOrder(epoch, 42, true);
      assert.equal(order.length, 70);
      const tally: Record<string, number> = {};
      for (const it of order) tally[sourceOf(it)] = (tally[sourceOf(it)] ?? 0) + 1;
      assert.deepEqual(tally, { k710: 40, ssv2: 20, ava: 10 });
      const ssv2 = Array.from(order).filter((it) => sourceOf(it) === "ssv2");
      assert.equal(new Set(ssv2).size, 10, "weight 2: every ssv2 clip exactly twice");
      assert.deepEqual(ds.epochOrder(epoch, 42, true), order, "same seed and epoch → same order");
    }
    assert.notDeepEqual(ds.epochOrder(0, 42, true), ds.epochOrder(1, 42, true));
    assert.notDeepEqual(ds.epochOrder(0, 42, true), ds.epochOrder(0, 43, true));
    const avaSubset = (e: number) => Array.from(ds.epochOrder(e, 42, true)).filter((it) => sourceOf(it) === "ava").sort((a, b) => a - b);
    assert.notDeepEqual(avaSubset(0), avaSubset(1), "a fractional weight takes a different subset each epoch");
    assert.throws(() => new HybridDataset({ sources: [{ entries: fake("a", 2), weight: -1 }] }), /weight must be a finite number ≥ 0/);
  });
});

describe("reader-level check of the fixtures", () => {
  test("the test videos decode to their own indices", async () => {
    const clip = await new FfmpegReader().readFrames(join(tmp.dir, "v23.mp4"), [0, 5, 22]);
    assert.deepEqual(clipIndices(clip), [0, 5, 22]);
  });
});
