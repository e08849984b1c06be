/**
 * A decode-free dataset for loader tests, loadable in workers as a custom dataset module. Each
 * view is filled with `item + u` for a u drawn from the view stream (so values show both the item
 * and the randomness); `failItems` throw like a corrupt file; `crashItem` kills the worker thread
 * that loads it (an uncaught exception, as a native crash or OOM would), but never the main thread.
 */
import { isMainThread } from "node:worker_threads";

import { defaultEpochOrder, sampleRng, Stream, type Dataset, type Sample } from "../../src/data/index.ts";
import { VideoDecodeError } from "../../src/video/index.ts";

export interface SyntheticOptions {
  n: number;
  views?: number;
  failItems?: number[];
  crashItem?: number;
  shuffle?: boolean;
}

const SHAPE: [number, number, number, number] = [3, 2, 4, 4];

export function createDataset(o: SyntheticOptions): Dataset & { loads: number } {
  const views = o.views ?? 1;
  return {
    loads: 0,
    numItems: o.n,
    viewsPerSample: views,
    labelled: true,
    shuffleByDefault: o.shuffle ?? false,
    describe: (item) => ({ path: `/synthetic/${item}.mp4`, source: "synthetic.csv", line: item + 1 }),
    epochOrder: (epoch, seed, shuffle) => defaultEpochOrder(o.n, epoch, seed, shuffle),
    async load(item, key): Promise<Sample> {
      this.loads++;
      if (item === o.crashItem && !isMainThread) {
        setImmediate(() => {
          throw new Error(`simulated crash on item ${item}`);
        });
        return new Promise<Sample>(() => undefined);
      }
      if (o.failItems?.includes(item)) throw new VideoDecodeError(`/synthetic/${item}.mp4`, "simulated corrupt file");
      const per = SHAPE.reduce((a, b) => a * b, 1);
      const video = new Float32Array(views * per);
      for (let v = 0; v < views; v++) video.fill(item + sampleRng(key, Stream.view, v).float(), v * per, (v + 1) * per);
      return {
        item, entry: item, path: `/synthetic/${item}.mp4`, clip: 0, numViews: views, shape: [...SHAPE], video, label: item % 5,
        encoderMask: null, decoderMask: null, decodeMs: 0, transformMs: 0,
      };
    },
    toSpec: () => ({ kind: "custom", module: import.meta.url, options: o }),
  };
}
