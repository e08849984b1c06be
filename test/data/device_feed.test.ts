/** feedDevice: batches handed to the step on the training device, with the loader wait measured. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Batch } from "../../src/data/collate.ts";
import { feedDevice } from "../../src/data/device_feed.ts";
import { cudaAvailable, tensor } from "../../src/torch/index.ts";

function fakeBatch(i: number): Batch {
  const video = tensor(new Float32Array(2 * 3 * 2 * 4 * 4).fill(i), { shape: [2, 3, 2, 4, 4] });
  const label = tensor([i, i + 1], { dtype: "int64" });
  let disposed = false;
  return {
    kind: "labelled", epoch: 0, index: i, numSamples: 2, size: 2, viewsPerSample: 1, viewShape: [3, 2, 4, 4], videoData: new Float32Array(0), video, labels: Int32Array.from([i, i + 1]),
    label, encoderMask: null, decoderMask: null, numTokens: 0, positions: new Int32Array(2), items: new Int32Array(2), entries: new Int32Array(2), clips: new Int32Array(2),
    views: new Int32Array(2), paths: ["a", "b"],
    dispose: () => {
      if (disposed) return;
      disposed = true;
      video.dispose();
      label.dispose();
    },
  };
}

async function* source(n: number, delayMs: number): AsyncGenerator<Batch> {
  for (let i = 0; i < n; i++) {
    await new Promise((r) => setTimeout(r, delayMs));
    yield fakeBatch(i);
  }
}

for (const device of ["cpu", "cuda:0"] as const) {
  test(`feedDevice on ${device}: every batch in order, on the device, with the loader wait`, { skip: device !== "cpu" && !cudaAvailable() ? "no usable CUDA GPU here" : false }, async () => {
    const seen: number[] = [];
    for await (const b of feedDevice(source(3, 20), device)) {
      assert.equal(b.video.device, device);
      assert.equal(b.label!.device, device);
      seen.push(b.video.toDevice("cpu").toArray()[0]!);
      assert.deepEqual(b.label!.toDevice("cpu").toArray(), [b.batch.index, b.batch.index + 1]);
      assert.ok(b.waitSeconds >= 0.01, `waited ${b.waitSeconds} s for a loader that takes 20 ms`);
      b.dispose();
    }
    assert.deepEqual(seen, [0, 1, 2]);
  });
}
