/**
 * Data benchmark: decode + augment + mask throughput of the pre-training loader (16×224² clips
 * at stride 4, tube + running-cell masks, 2 worker threads) against the speed of a ViT-S
 * pre-training step (batch 2, dual masking, AdamW) — does the loader keep up with the model?
 * Both are measured alone; in a real run they share the cores.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DataLoader, HybridDataset } from "../data/index.ts";
import { generateSynthDataset } from "../data/synth/dataset.ts";
import { DualMaskGenerator } from "../masking/index.ts";
import { gridSize } from "../models/config.ts";
import { createModel, pretrainLoss, targetOptions, type PretrainVisionTransformer } from "../models/index.ts";
import { AdamW } from "../optim/index.ts";
import { randn, tidy } from "../torch/index.ts";
import { Rng } from "../util/rng.ts";
import { disposing } from "../data/collate.ts";
import { nowSeconds } from "./stats.ts";
import { runDecodeBench, type DecodeBenchRow } from "./decode.ts";

export interface DataBenchResult {
  videos: number;
  workers: number;
  /** First epoch: every video probed and decoded from disk (ffmpeg per clip). */
  coldClipsPerSecond: number;
  /** Later epochs with persistent workers. */
  warmClipsPerSecond: number;
  decodeMsPerClip: number;
  augmentMsPerClip: number;
  modelClipsPerSecond: number;
  /** loader / model throughput: ≥ 1 means the loader keeps up. */
  ratio: number;
  verdict: string;
  /** Decoder comparison (ours vs PyAV vs ffmpeg processes) on made-up 340p/720p clips; see decode.ts. */
  decode?: { rows: DecodeBenchRow[]; note: string };
}

export async function runDataBench(o: { dir?: string; quick?: boolean; log?: (s: string) => void } = {}): Promise<DataBenchResult> {
  const log = o.log ?? (() => {});
  const decode = await runDecodeBench({ quick: o.quick, log });
  const dir = o.dir ?? join(".bench", "data-videos");
  const videos = o.quick ? 8 : 16;
  if (!existsSync(join(dir, "pretrain.csv"))) log(`data: generating synthetic 256² × 64-frame videos in ${dir}`);
  await generateSynthDataset({ out: dir, classes: 2, videosPerClass: videos / 2 + 2, size: 256, frames: 64, seed: 0 });
  const dataset = new HybridDataset({
    sources: [{ list: join(dir, "pretrain.csv") }],
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
    let clips = 0;
    for await (const b of disposing(loader.epoch(e))) clips += b.size;
    return clips / (nowSeconds() - t);
  };
  let cold = 0, warm = 0;
  try {
    cold = await epoch(0);
    warm = await epoch(1);
  } finally {
    await loader.close();
  }
  const stats = loader.stats;
  log(`data: loader ${cold.toFixed(2)} clips/s cold, ${warm.toFixed(2)} warm (decode ${stats.decodeMsMean.toFixed(0)} ms, augment+mask ${stats.transformMsMean.toFixed(0)} ms per clip)`);

  // One ViT-S pre-training step at batch 2 (dual masking, AdamW), measured alone.
  const model = createModel("pretrain_videomae_small_patch16_224") as PretrainVisionTransformer;
  const opt = new AdamW(model.parameters(), { lr: 1e-4, betas: [0.9, 0.95] });
  const masks = new DualMaskGenerator({ window: gridSize(model.config), encoder: "tube", encoderRatio: 0.9, decoder: "run_cell", decoderRatio: 0.5 });
  const x = randn([2, 3, 16, 224, 224]);
  const step = () => {
    const m = masks.generate(2, new Rng(1));
    tidy(() => {
      const pred = model.forward(x, m.encoder, m.decoder);
      pretrainLoss(x, pred, m.encoder, m.decoder, targetOptions(model.config)).loss.backward();
      return undefined;
    });
    opt.step();
    opt.zeroGrad();
  };
  step();
  const reps = o.quick ? 1 : 3;
  const t = nowSeconds();
  for (let i = 0; i < reps; i++) step();
  const modelCps = (2 * reps) / (nowSeconds() - t);
  model.dispose();
  x.dispose();
  const ratio = warm / modelCps;
  const verdict =
    ratio >= 1
      ? `the loader keeps up (${ratio.toFixed(2)}× the model's ${modelCps.toFixed(2)} clips/s)`
      : `the loader falls behind: ${warm.toFixed(2)} vs ${modelCps.toFixed(2)} clips/s (${(1 / ratio).toFixed(2)}× slower); more workers or a faster decoder would close it`;
  log(`data: ViT-S pre-training step ${modelCps.toFixed(2)} clips/s → ${verdict}`);
  return {
    videos: loader.epochSize(0),
    workers,
    coldClipsPerSecond: cold,
    warmClipsPerSecond: warm,
    decodeMsPerClip: stats.decodeMsMean,
    augmentMsPerClip: stats.transformMsMean,
    modelClipsPerSecond: modelCps,
    ratio,
    verdict,
    decode,
  };
}
