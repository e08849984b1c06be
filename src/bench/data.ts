/**
 * Data benchmark: does the pre-training loader keep the model fed, and at what CPU cost?
 *
 *   1. decode: ours vs PyAV vs the ffmpeg-process reader on the same requests (decode.ts);
 *   2. the loader: 16×224² clips at stride 4 with the full pre-training augmentation (multi-scale
 *      crop, flip, normalise) and dual masks (tube 0.9 + running cell 0.5), 2 worker threads,
 *      batch 2, read from distinct 10 s 454×340 H.264 files at 1 Mbit/s (the clip): clips/s
 *      and the CPU time the whole process spends per clip (workers, decoding threads, collation);
 *   3. a ViT-S and a ViT-B pre-training step (the model bench's workload: batch 2, dual masking,
 *      AdamW, fp32), each measured alone.
 * The loader's demand on the machine when it feeds a model = its CPU per clip × the model's clips/s
 * ÷ the cores: the share of the machine's CPU time the loader takes at the model's speed. The
 * issue's bar: ViT-S kept fed with at most a quarter of the machine's CPU.
 */
import { availableParallelism } from "node:os";
import { writeFileSync } from "node:fs";
import { resolve, join } from "node:path";
import { DataLoader, HybridDataset } from "../data/index.ts";
import { disposing } from "../data/collate.ts";
import { getNumThreads } from "../torch/index.ts";
import { nowSeconds } from "./stats.ts";
import { buildOurs, makeWorkload, modelName } from "./workloads.ts";
import { loaderClips, makeClips, runDecodeBench, type DecodeBenchRow } from "./decode.ts";

export interface ModelDemand {
  model: string;
  /** The pre-training step alone, all threads, batch 2. */
  clipsPerSecond: number;
  /** Loader clips/s ÷ the model's: ≥ 1 means the 2 workers keep up. */
  loaderRatio: number;
  /** Share of the machine's CPU time the loader takes when it delivers the model's clips/s. */
  cpuShare: number;
}

export interface DataBenchResult {
  videos: number;
  workers: number;
  /** What the loader reads. */
  clips: string;
  /** First epoch: every video opened and probed. */
  coldClipsPerSecond: number;
  /** Later epochs with persistent workers. */
  warmClipsPerSecond: number;
  /** CPU ms of the whole process per clip in the warm epoch (workers, decoding threads, main thread). */
  loaderCpuMsPerClip: number;
  decodeMsPerClip: number;
  augmentMsPerClip: number;
  cores: number;
  models: ModelDemand[];
  verdict: string;
  /** Decoder comparison (ours vs PyAV vs ffmpeg processes); see decode.ts. */
  decode?: { rows: DecodeBenchRow[]; note: string };
}

export async function runDataBench(o: { dir?: string; quick?: boolean; log?: (s: string) => void } = {}): Promise<DataBenchResult> {
  const log = o.log ?? (() => {});
  const decode = await runDecodeBench({ quick: o.quick, log });
  const dir = resolve(o.dir ?? join(".bench", "loader-clips"));
  const files = makeClips(dir, log, loaderClips(o.quick ? 4 : 8));
  // Each file twice per epoch (different random clips): 16 clips, 8 in a quick run.
  const list = join(dir, "pretrain.csv");
  writeFileSync(list, [...files, ...files].map((f) => `${f} 0 -1`).join("\n") + "\n");
  const dataset = new HybridDataset({
    sources: [{ list }],
    numFrames: 16,
    samplingRate: 4,
    inputSize: 224,
    numSample: 1,
    masking: { patchSize: 16, tubeletSize: 2, encoder: "tube", encoderRatio: 0.9, decoder: "run_cell", decoderRatio: 0.5 },
  });
  const workers = 2;
  const loader = new DataLoader(dataset, { batchSize: 2, numWorkers: workers, seed: 0, shuffle: true, dropLast: true, persistentWorkers: true });
  const epoch = async (e: number) => {
    const t = nowSeconds();
    const c = process.cpuUsage();
    let clips = 0;
    for await (const b of disposing(loader.epoch(e))) clips += b.size;
    const cpu = process.cpuUsage(c);
    return { clipsPerSecond: clips / (nowSeconds() - t), cpuMsPerClip: (cpu.user + cpu.system) / 1000 / clips };
  };
  let cold = { clipsPerSecond: 0, cpuMsPerClip: 0 };
  let warm = { clipsPerSecond: 0, cpuMsPerClip: 0 };
  try {
    cold = await epoch(0);
    warm = await epoch(1);
  } finally {
    await loader.close();
  }
  const stats = loader.stats;
  log(
    `data: loader ${cold.clipsPerSecond.toFixed(2)} clips/s cold, ${warm.clipsPerSecond.toFixed(2)} warm, ${warm.cpuMsPerClip.toFixed(0)} CPU ms per clip ` +
      `(decode ${stats.decodeMsMean.toFixed(0)} ms, augment+mask ${stats.transformMsMean.toFixed(0)} ms per clip)`,
  );

  const cores = availableParallelism();
  const models: ModelDemand[] = [];
  for (const size of ["s", "b"] as const) {
    const name = modelName({ kind: "pretrain", size });
    const cps = pretrainStepClipsPerSecond(size, o.quick ? 1 : 3);
    const demand: ModelDemand = {
      model: name,
      clipsPerSecond: cps,
      loaderRatio: warm.clipsPerSecond / cps,
      cpuShare: (warm.cpuMsPerClip * cps) / 1000 / cores,
    };
    models.push(demand);
    log(
      `data: ${name} step ${cps.toFixed(2)} clips/s (${getNumThreads()} threads); the loader delivers ${demand.loaderRatio.toFixed(2)}× that ` +
        `and feeding it takes ${(100 * demand.cpuShare).toFixed(1)}% of the machine's CPU`,
    );
  }
  const s = models[0]!;
  const verdict =
    (s.loaderRatio >= 1 ? `the loader keeps ViT-S fed (${s.loaderRatio.toFixed(2)}× its ${s.clipsPerSecond.toFixed(2)} clips/s)` : `the loader falls behind ViT-S (${s.loaderRatio.toFixed(2)}× its clips/s)`) +
    ` with ${(100 * s.cpuShare).toFixed(1)}% of the machine's CPU (target ≤ 25%)`;
  return {
    videos: loader.epochSize(0),
    workers,
    clips: `${files.length} distinct 10 s 454×340 H.264 files at 1 Mbit/s, GOP 60, each read twice per epoch`,
    coldClipsPerSecond: cold.clipsPerSecond,
    warmClipsPerSecond: warm.clipsPerSecond,
    loaderCpuMsPerClip: warm.cpuMsPerClip,
    decodeMsPerClip: stats.decodeMsMean,
    augmentMsPerClip: stats.transformMsMean,
    cores,
    models,
    verdict,
    decode,
  };
}

/** Clips/s of the bench's pre-training workload (batch 2, dual masking, AdamW) after one warm-up step. */
function pretrainStepClipsPerSecond(size: "s" | "b", reps: number): number {
  const w = makeWorkload("pretrain", size, "fp32", "run_cell");
  const work = buildOurs(w);
  try {
    work.step();
    const t = nowSeconds();
    for (let i = 0; i < reps; i++) work.step();
    return (w.batch * reps) / (nowSeconds() - t);
  } finally {
    work.dispose();
  }
}
