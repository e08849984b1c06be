// The data loader: batch layout, determinism across worker counts, bad input, worker crashes,
// back-pressure and shutdown. Real decoding on tiny videos (32 px, 20–40 frames); the
// decode-free synthetic dataset (synthetic-dataset.ts) where only the loader logic matters.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { DataError, DataLoader, PretrainDataset, VideoClsDataset, type Batch } from "../../src/data/index.ts";
import { workerExecArgv } from "../../src/data/pool.ts";
import { checkInputPath, NotAVideoFileError } from "../../src/video/input-file.ts";
import { tempDir } from "../video/fixtures.ts";
import { indexVideo, logSink, writeList } from "./data-fixtures.ts";
import { createDataset } from "./synthetic-dataset.ts";

const tmp = tempDir("loader");
after(tmp.cleanup);
const root = join(import.meta.dirname, "..", "..");
const GOOD = ["a", "b", "c", "d", "e", "f", "g"];

before(async () => {
  await Promise.all(GOOD.map((name, i) => indexVideo(join(tmp.dir, `${name}.mp4`), 20 + 3 * i)));
  writeList(tmp.dir, "pretrain.csv", GOOD.slice(0, 6).map((n) => `${n}.mp4 0 -1`));
  writeList(tmp.dir, "train.csv", GOOD.slice(0, 5).map((n, i) => `${n}.mp4 ${i % 3}`));
  // Bad input: garbage bytes, an empty file, a missing file, a truncated file, among good ones.
  writeFileSync(join(tmp.dir, "corrupt.mp4"), Buffer.from("this is not a video file at all ".repeat(40)));
  writeFileSync(join(tmp.dir, "empty.mp4"), Buffer.alloc(0));
  const whole = readFileSync(join(tmp.dir, "g.mp4"));
  writeFileSync(join(tmp.dir, "truncated.mp4"), whole.subarray(0, Math.floor(whole.length / 3)));
  writeList(tmp.dir, "mixed.csv", ["a.mp4 0 -1", "b.mp4 0 -1", "corrupt.mp4 0 -1", "c.mp4 0 -1", "empty.mp4 0 -1", "d.mp4 0 -1", "missing.mp4 0 -1", "e.mp4 0 -1", "truncated.mp4 0 -1", "f.mp4 0 -1"]);
  writeList(tmp.dir, "mostly-bad.csv", ["a.mp4 0 -1", "gone1.mp4 0 -1", "gone2.mp4 0 -1", "gone3.mp4 0 -1"]);
});

const pretrain = (list = "pretrain.csv", numSample = 2) =>
  new PretrainDataset({ list: join(tmp.dir, list), numFrames: 4, samplingRate: 3, inputSize: 32, numSample, masking: { patchSize: 8, tubeletSize: 2 } });

async function collect(loader: DataLoader, epoch = 0, opts?: { startBatch?: number }): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.epoch(epoch, opts)) {
    b.dispose();
    out.push(b);
  }
  return out;
}

/** What must be identical between runs: values, masks, labels and ids. */
const fingerprint = (bs: Batch[]) =>
  bs.map((b) => ({
    video: Buffer.from(b.videoData.buffer, b.videoData.byteOffset, b.videoData.byteLength).toString("base64"),
    enc: b.encoderMask?.join(""),
    dec: b.decoderMask?.join(""),
    labels: b.labels?.join(),
    positions: b.positions.join(),
    items: b.items.join(),
  }));

describe("batch layout", () => {
  test("pre-training: video float32 (B·V, C, T, H, W), masks (B·V, N) with the generator's counts, no labels", async () => {
    const ds = pretrain();
    const counts = ds.masks!.counts;
    const loader = new DataLoader(ds, { batchSize: 2, numWorkers: 2, seed: 1, log: () => {} });
    assert.equal(loader.numBatches(), 3);
    const batches: Batch[] = [];
    for await (const b of loader.epoch(0)) {
      assert.deepEqual(b.video!.shape, [4, 3, 4, 32, 32]);
      assert.equal(b.video!.dtype, "float32");
      assert.deepEqual(Array.from(b.video!.reshape([-1]).slice(0, 0, 8).data() as Float32Array), Array.from(b.videoData.subarray(0, 8)));
      assert.equal(b.label, null);
      assert.equal(b.labels, null);
      assert.equal(b.numTokens, 2 * 4 * 4);
      assert.equal(b.encoderMask!.length, 4 * 32);
      for (let r = 0; r < 4; r++) {
        const enc: Uint8Array = b.encoderMask!.subarray(r * 32, (r + 1) * 32);
        const dec: Uint8Array = b.decoderMask!.subarray(r * 32, (r + 1) * 32);
        assert.equal(32 - enc.reduce((x, y) => x + y, 0), counts.numVisible);
        assert.equal(32 - dec.reduce((x, y) => x + y, 0), counts.numDecoderKept);
      }
      assert.deepEqual(Array.from(b.views), [0, 1, 0, 1], "views of a sample are adjacent rows");
      assert.equal(b.positions[0], b.positions[1]);
      b.dispose();
      batches.push(b);
    }
    assert.equal(batches.length, 3);
    assert.equal(new Set(batches.flatMap((b) => Array.from(b.items))).size, 6, "every item once per epoch");
    const s = loader.stats;
    assert.equal(s.samples, 6);
    assert.equal(s.views, 12);
    assert.ok(s.samplesPerSec > 0 && s.decodeMsMean > 0);
  });

  test("fine-tuning: labels int64 (B·V) repeated per view; no drop_last keeps the partial batch", async () => {
    const train = new VideoClsDataset({ list: join(tmp.dir, "train.csv"), mode: "train", numFrames: 4, samplingRate: 2, inputSize: 24, numSample: 2 });
    const tl = new DataLoader(train, { batchSize: 2, numWorkers: 0, seed: 2 });
    assert.equal(tl.dropLast, true);
    let n = 0;
    for await (const b of tl.epoch(0)) {
      n++;
      assert.deepEqual(b.video!.shape, [4, 3, 4, 24, 24]);
      assert.equal(b.label!.dtype, "int64");
      assert.deepEqual(b.label!.shape, [4]);
      assert.deepEqual(Array.from(b.label!.data() as BigInt64Array, Number), Array.from(b.labels!));
      assert.equal(b.labels![0], b.labels![1]);
      assert.equal(b.labels![0], b.items[0]! % 3);
      b.dispose();
    }
    assert.equal(n, 2, "5 samples, batch 2, drop_last → 2 batches");
    const val = new VideoClsDataset({ list: join(tmp.dir, "train.csv"), mode: "validation", numFrames: 4, samplingRate: 2, inputSize: 24 });
    const vb = await collect(new DataLoader(val, { batchSize: 2, numWorkers: 0 }));
    assert.deepEqual(vb.map((b) => b.size), [2, 2, 1]);
    assert.deepEqual(vb.flatMap((b) => Array.from(b.items)), [0, 1, 2, 3, 4], "evaluation keeps list order");
  });
});

describe("determinism", () => {
  test("same seed → identical batches with 0, 1 and 2 workers; resuming mid-epoch reproduces the rest", async () => {
    const runs = [];
    for (const numWorkers of [0, 1, 2]) runs.push(fingerprint(await collect(new DataLoader(pretrain(), { batchSize: 2, numWorkers, seed: 3 }), 1)));
    assert.deepEqual(runs[1], runs[0], "1 worker vs in-process");
    assert.deepEqual(runs[2], runs[0], "2 workers vs in-process");
    const resumed = fingerprint(await collect(new DataLoader(pretrain(), { batchSize: 2, numWorkers: 0, seed: 3 }), 1, { startBatch: 1 }));
    assert.deepEqual(resumed, runs[0]!.slice(1));
    const other = fingerprint(await collect(new DataLoader(pretrain(), { batchSize: 2, numWorkers: 0, seed: 4 }), 1));
    assert.notDeepEqual(other, runs[0], "another seed gives other batches");
  });
});

describe("data-parallel sharding", () => {
  test("2 ranks × batch 1 see exactly the batches of 1 process × batch 2, split in rank order; resume too", async () => {
    const whole = await collect(new DataLoader(pretrain("pretrain.csv", 1), { batchSize: 2, numWorkers: 0, seed: 5, tensors: false }), 1);
    const shards: Batch[][] = [];
    for (const rank of [0, 1]) shards.push(await collect(new DataLoader(pretrain("pretrain.csv", 1), { batchSize: 1, numWorkers: 0, seed: 5, rank, worldSize: 2, tensors: false }), 1));
    assert.equal(whole.length, 3);
    assert.deepEqual(shards.map((s) => s.length), [3, 3]);
    const joined = whole.map((_, b) => [...Array.from(shards[0]![b]!.positions), ...Array.from(shards[1]![b]!.positions)].join());
    assert.deepEqual(joined, whole.map((b) => b.positions.join()));
    // Same pixels and masks per position: batch b of the whole = rank 0's batch b, then rank 1's.
    const rows = (b: Batch) => fingerprint([b])[0]!;
    for (let b = 0; b < 3; b++) {
      const [r0, r1, w] = [rows(shards[0]![b]!), rows(shards[1]![b]!), rows(whole[b]!)];
      assert.equal(Buffer.concat([Buffer.from(r0.video, "base64"), Buffer.from(r1.video, "base64")]).toString("base64"), w.video);
      assert.equal(r0.enc! + r1.enc!, w.enc);
      assert.equal(r0.dec! + r1.dec!, w.dec);
    }
    const resumed = await collect(new DataLoader(pretrain("pretrain.csv", 1), { batchSize: 1, numWorkers: 0, seed: 5, rank: 1, worldSize: 2, tensors: false }), 1, { startBatch: 2 });
    assert.deepEqual(fingerprint(resumed), fingerprint(shards[1]!.slice(2)));
  });

  test("without dropLast the last global batch is split as far as it goes (a rank may get none)", async () => {
    const val = () => new VideoClsDataset({ list: join(tmp.dir, "train.csv"), mode: "validation", numFrames: 4, samplingRate: 2, inputSize: 24 });
    const got = [];
    for (const rank of [0, 1]) {
      const l = new DataLoader(val(), { batchSize: 2, numWorkers: 0, rank, worldSize: 2, tensors: false });
      assert.equal(l.numBatches(), 2);
      got.push((await collect(l)).map((b) => Array.from(b.items)));
    }
    // 5 videos, global batch 4: rank 0 → [0,1] [4]; rank 1 → [2,3] and nothing.
    assert.deepEqual(got, [[[0, 1], [4]], [[2, 3]]]);
    assert.throws(() => new DataLoader(val(), { batchSize: 2, rank: 2, worldSize: 2 }), /rank must be in 0\.\.1/);
  });
});

describe("bad input", () => {
  test("corrupt, empty, missing and truncated videos are retried, replaced, counted and logged; the epoch completes", async () => {
    const results = [];
    for (const numWorkers of [2, 0]) {
      const sink = logSink();
      const loader = new DataLoader(pretrain("mixed.csv", 1), { batchSize: 2, numWorkers, seed: 5, log: sink.log, maxBadFraction: 0.9 });
      const batches = await collect(loader);
      assert.equal(batches.length, 5);
      assert.ok(batches.every((b) => b.size === 2));
      const bad = new Set(loader.badSamples.map((f) => f.path.split("/").pop()));
      assert.deepEqual([...bad].sort(), ["corrupt.mp4", "empty.mp4", "missing.mp4", "truncated.mp4"]);
      assert.ok(batches.every((b) => b.paths.every((p) => /\/[a-f]\.mp4$/.test(p))), "only good videos reach the batches");
      assert.equal(loader.stats.badSamples, loader.badSamples.length);
      for (const f of loader.badSamples) {
        assert.match(f.error, /VideoDecodeError|VideoFileNotFoundError/);
        assert.ok(sink.lines.some((l) => l.includes(f.path) && l.includes(`mixed.csv:${f.line}`)), `logged: ${f.path}`);
      }
      results.push({ batches: fingerprint(batches), bad: loader.badSamples.map((f) => [f.position, f.attempt, f.item]) });
    }
    assert.deepEqual(results[0], results[1], "bad-input handling is the same with workers and in-process");
  });

  test("too many bad samples → DataError naming them; workers are stopped", async () => {
    const loader = new DataLoader(pretrain("mostly-bad.csv", 1), { batchSize: 1, numWorkers: 1, seed: 0, log: () => {} });
    await assert.rejects(collect(loader), (err: unknown) => {
      assert.ok(err instanceof DataError, String(err));
      assert.match(err.message, /3 distinct unreadable files in epoch 0 \(more than 50% of its 4 files\)/);
      assert.match(err.message, /raise --max-bad-fraction \(now 0\.5/);
      assert.match(err.message, /gone\d\.mp4/);
      return true;
    });
    assert.deepEqual(loader.workerThreadIds, []);

    const synth = createDataset({ n: 10, failItems: [0, 1, 2, 3, 4] });
    const strict = new DataLoader(synth, { batchSize: 1, numWorkers: 0, maxConsecutiveBad: 2, maxBadFraction: 1, log: () => {} });
    await assert.rejects(collect(strict), /3 positions in a row were unreadable/);
  });

  test("the maxBadFraction abort counts distinct files, not the retries and replacements that met them", async () => {
    // 4 of 10 files fail. Replacements are drawn from the whole epoch, so they meet the same bad
    // files again and again: counting failed attempts (as before) exceeded 4, counting files does not.
    const sink = logSink();
    const loader = new DataLoader(createDataset({ n: 10, failItems: [0, 1, 2, 3], shuffle: true }), { batchSize: 1, numWorkers: 0, seed: 3, maxBadFraction: 0.4, log: sink.log, tensors: false });
    assert.equal((await collect(loader)).length, 10);
    assert.ok(loader.badSamples.length > 4, `failed attempts ${loader.badSamples.length}`);
    assert.equal(loader.stats.badFiles, 4);
    assert.equal(loader.stats.badFilesTotal, 4);
    assert.deepEqual(loader.badFiles.sort(), [0, 1, 2, 3].map((i) => `/synthetic/${i}.mp4`));
    // A second epoch meets them again: 4 this epoch, still 4 in the run.
    await collect(loader, 1);
    assert.deepEqual([loader.stats.badFiles, loader.stats.badFilesTotal], [4, 4]);
    // One more bad file than the fraction allows stops the epoch.
    const over = new DataLoader(createDataset({ n: 10, failItems: [0, 1, 2, 3, 4] }), { batchSize: 1, numWorkers: 0, maxBadFraction: 0.4, log: () => {}, tensors: false });
    await assert.rejects(collect(over), /5 distinct unreadable files in epoch 0 \(more than 40% of its 10 files\)/);
    assert.throws(() => new DataLoader(createDataset({ n: 4 }), { batchSize: 1, maxBadFraction: 2 }), /maxBadFraction must be in \[0, 1\]/);
  });

  test("a FIFO, a device or a directory in a list is refused before decoding (no stall), each with its own message", async () => {
    const fifo = join(tmp.dir, "pipe.mp4");
    const made = spawnSync("mkfifo", [fifo]);
    assert.equal(made.status, 0, `mkfifo: ${made.stderr}`);
    mkdirSync(join(tmp.dir, "folder.mp4"), { recursive: true });
    // The shared check every reader calls, on its own.
    await assert.rejects(checkInputPath(fifo), (e: unknown) => e instanceof NotAVideoFileError && e.message.startsWith(`${fifo}: is a named pipe (FIFO)`));
    await assert.rejects(checkInputPath(join(tmp.dir, "folder.mp4")), /folder\.mp4: is a directory, not a video file/);
    await assert.rejects(checkInputPath("/dev/null"), /\/dev\/null: is a character device, not a video file/);
    await assert.rejects(checkInputPath(join(tmp.dir, "a.mp4"), "directory"), /a\.mp4: is a file, not a folder of frames/);
    // In a list: skipped and replaced like any unreadable file, and the epoch completes.
    writeList(tmp.dir, "special.csv", ["a.mp4 0 -1", "pipe.mp4 0 -1", "b.mp4 0 -1", "folder.mp4 0 -1", "/dev/zero 0 -1", "c.mp4 0 -1"]);
    const loader = new DataLoader(pretrain("special.csv", 1), { batchSize: 2, numWorkers: 0, seed: 1, maxBadFraction: 0.5, log: () => {} });
    assert.equal((await collect(loader)).length, 3);
    const errors = new Map(loader.badSamples.map((f) => [f.path.split("/").pop(), f.error]));
    assert.match(errors.get("pipe.mp4")!, /NotAVideoFileError: .*is a named pipe \(FIFO\)/);
    assert.match(errors.get("folder.mp4")!, /NotAVideoFileError: .*is a directory/);
    assert.match(errors.get("zero")!, /NotAVideoFileError: .*is a character device/);
    assert.equal(loader.stats.badFiles, 3);
  });

  test("a worker that dies is restarted; an item that kills two workers is replaced and counted", async () => {
    const sink = logSink();
    const ds = createDataset({ n: 6, crashItem: 2 });
    const loader = new DataLoader(ds, { batchSize: 2, numWorkers: 1, seed: 0, log: sink.log, tensors: false });
    const batches = await collect(loader);
    assert.equal(batches.length, 3);
    const items = batches.flatMap((b) => Array.from(b.items));
    assert.equal(items.length, 6);
    assert.notEqual(items[2], 2, "position 2 holds a replacement");
    assert.deepEqual([items[0], items[1], items[3], items[4], items[5]], [0, 1, 3, 4, 5]);
    assert.equal(loader.stats.workerRestarts, 2);
    assert.equal(loader.badSamples.length, 1);
    assert.equal(loader.badSamples[0]!.path, "/synthetic/2.mp4");
    assert.match(loader.badSamples[0]!.error, /worker crashed: Error: simulated crash on item 2/);
    assert.equal(sink.lines.filter((l) => l.includes("died while loading /synthetic/2.mp4")).length, 2);
  });
});

describe("worker start-up", () => {
  test("a dataset the worker cannot build fails the epoch with a DataError", async () => {
    const ds = { ...createDataset({ n: 4 }), toSpec: () => ({ kind: "custom" as const, module: join(tmp.dir, "no-such-module.ts"), options: {} }) };
    const loader = new DataLoader(ds, { batchSize: 2, numWorkers: 1, tensors: false });
    await assert.rejects(collect(loader), (err: unknown) => err instanceof DataError && /in a data worker: .*no-such-module/.test(err.message));
    assert.deepEqual(loader.workerThreadIds, []);
  });

  test("only flags a worker accepts are passed on", () => {
    assert.deepEqual(
      workerExecArgv(["--import", "tsx", "--input-type=module", "--test", "--enable-source-maps", "-C", "dev", "--max-old-space-size=4096", "--inspect"]),
      ["--enable-source-maps", "-C", "dev", "--max-old-space-size=4096"],
    );
  });
});

describe("back-pressure and shutdown", () => {
  test("the producer stays within prefetchBatches · batchSize of the consumer", async () => {
    // In-process: count the loads actually started while the consumer sits on a batch.
    const ds = createDataset({ n: 20 });
    const loader = new DataLoader(ds, { batchSize: 2, numWorkers: 0, prefetchBatches: 1, tensors: false });
    let seen = 0;
    for await (const b of loader.epoch(0)) {
      if (seen++ === 0) {
        await sleep(100); // give a runaway producer the chance to run ahead
        assert.equal(b.index, 0);
        assert.ok(ds.loads <= 4, `loads started while holding batch 0: ${ds.loads}`);
      }
    }
    assert.equal(ds.loads, 20);
    assert.ok(loader.stats.maxOutstanding <= 2);

    // Workers: the dispatched-but-unconsumed count never passes the bound.
    const wl = new DataLoader(createDataset({ n: 40 }), { batchSize: 4, numWorkers: 2, prefetchBatches: 2, tensors: false });
    let first = true;
    for await (const _ of wl.epoch(0)) {
      if (first) await sleep(200);
      first = false;
      const s = wl.stats;
      assert.equal(s.outstandingLimit, 8);
      assert.ok(s.outstanding <= 8 && s.maxOutstanding <= 8, JSON.stringify(s));
    }
  });

  test("workers stop when the epoch ends or the consumer breaks out; persistent workers survive until close()", async () => {
    const loader = new DataLoader(createDataset({ n: 12 }), { batchSize: 2, numWorkers: 2, tensors: false });
    for await (const b of loader.epoch(0)) {
      assert.equal(loader.workerThreadIds.length, 2);
      if (b.index === 1) break;
    }
    assert.deepEqual(loader.workerThreadIds, []);
    assert.equal((await collect(loader, 1)).length, 6, "a new epoch starts new workers");
    assert.deepEqual(loader.workerThreadIds, []);

    const persistent = new DataLoader(createDataset({ n: 4 }), { batchSize: 2, numWorkers: 1, tensors: false, persistentWorkers: true });
    await collect(persistent, 0);
    const ids = persistent.workerThreadIds;
    assert.equal(ids.length, 1);
    await collect(persistent, 1);
    assert.deepEqual(persistent.workerThreadIds, ids, "same worker across epochs");
    await persistent.close();
    assert.deepEqual(persistent.workerThreadIds, []);
    assert.throws(() => new DataLoader(createDataset({ n: 4 }), { batchSize: 0 }), /batchSize must be a positive integer/);
  });

  test("a process started like bin/videomae.mjs (tsx register(), no --import) runs workers and exits on its own", () => {
    const code = `
      import { register } from "tsx/esm/api";
      register();
      const { PretrainDataset, DataLoader } = await import("./src/data/index.ts");
      const ds = new PretrainDataset({ list: ${JSON.stringify(join(tmp.dir, "pretrain.csv"))}, numFrames: 4, samplingRate: 2, inputSize: 32, numSample: 2, masking: { patchSize: 8 } });
      const loader = new DataLoader(ds, { batchSize: 2, numWorkers: 2, seed: 1, tensors: false, persistentWorkers: true });
      for await (const b of loader.epoch(0)) {
        console.log(JSON.stringify({ rows: b.size, shape: b.viewShape, masks: b.encoderMask.length }));
        break; // no close(): idle persistent workers must not keep the process alive
      }`;
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: root, env, encoding: "utf8", timeout: 60_000 });
    assert.equal(r.signal, null, `the process hung and was killed; stderr: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim()), { rows: 4, shape: [3, 4, 32, 32], masks: 4 * 32 });
  });
});
