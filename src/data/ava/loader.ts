/**
 * Batches of AVA keyframes for training and testing, read in this process with our decoder.
 * Every random choice of a sample is a function of (seed, epoch, keyframe index), so an epoch can
 * be re-created and skipped into for exact resume; with data parallelism each rank takes every
 * worldSize-th keyframe of the same shuffled order. The next batch is decoded while the current
 * one is used.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { VideoReader } from "../../video/reader.ts";
import { rngFromKeys } from "../seeds.ts";
import { AvaFileError } from "./csv.ts";
import { collateAva, readKeyframeClip, testSample, trainSample, type AvaBatch, type AvaKeyframe, type ClipSettings, type TrainAugment } from "./clips.ts";

export interface AvaLoaderOptions {
  reader: VideoReader;
  /** Folder of whole videos named `<video_id>.<videoExt>`. */
  videoDir: string;
  videoExt: string;
  clip: ClipSettings;
  /** null = test views (full frame, extended boxes). */
  augment: TrainAugment | null;
  batchSize: number;
  /** Pad clips to multiples of this (the patch size). */
  multiple: number;
  seed: number;
  shuffle: boolean;
  dropLast: boolean;
  rank?: number;
  worldSize?: number;
}

export class AvaLoader {
  constructor(
    readonly keyframes: readonly AvaKeyframe[],
    readonly o: AvaLoaderOptions,
  ) {
    const missing = [...new Set(keyframes.map((k) => k.videoId))].filter((v) => !existsSync(this.videoPath(v)));
    if (missing.length) {
      throw new AvaFileError(o.videoDir, 0, `${missing.length} videos of the annotations are missing, e.g. ${this.videoPath(missing[0]!)}; put the whole videos there as <video_id>.${o.videoExt} (or set --video-ext)`);
    }
  }

  videoPath(videoId: string): string {
    return join(this.o.videoDir, `${videoId}.${this.o.videoExt}`);
  }

  /** This rank's keyframe indices in epoch order. */
  private order(epoch: number): number[] {
    const idx = this.keyframes.map((_, i) => i);
    if (this.o.shuffle) rngFromKeys(this.o.seed, epoch, 0x617661).shuffle(idx);
    const world = this.o.worldSize ?? 1;
    const per = this.o.dropLast ? Math.floor(idx.length / world) : Math.ceil(idx.length / world);
    return idx.filter((_, j) => j % world === (this.o.rank ?? 0)).slice(0, per);
  }

  numBatches(epoch = 0): number {
    const n = this.order(epoch).length;
    return this.o.dropLast ? Math.floor(n / this.o.batchSize) : Math.ceil(n / this.o.batchSize);
  }

  private async batch(epoch: number, indices: number[]): Promise<AvaBatch> {
    const samples = await Promise.all(
      indices.map(async (i) => {
        const kf = this.keyframes[i]!;
        const clip = await readKeyframeClip(this.o.reader, this.videoPath(kf.videoId), kf, this.o.clip);
        return this.o.augment ? trainSample(kf, clip, this.o.augment, rngFromKeys(this.o.seed, epoch, i, 0x62)) : testSample(kf, clip);
      }),
    );
    return collateAva(samples, this.o.multiple);
  }

  /** The batches of an epoch from `startBatch` on; batch b+1 is being read while b is used. */
  async *epoch(epoch: number, startBatch = 0): AsyncIterable<AvaBatch> {
    const order = this.order(epoch);
    const n = this.numBatches(epoch);
    const indicesOf = (b: number) => order.slice(b * this.o.batchSize, (b + 1) * this.o.batchSize);
    let next = startBatch < n ? this.batch(epoch, indicesOf(startBatch)) : null;
    for (let b = startBatch; b < n; b++) {
      const current = await next!;
      next = b + 1 < n ? this.batch(epoch, indicesOf(b + 1)) : null;
      yield current;
    }
  }
}
